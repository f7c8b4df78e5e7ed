package resilience

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	aierrors "github.com/ailib-go/ailib/errors"
)

// FallbackChain tries targets in order ("openai/gpt-4o",
// "anthropic/claude-3-5-sonnet", ...), moving on only when the error is
// fallbackable or the target's circuit is open; any other error is
// returned at once (a bad request is just as bad on the next provider).
// Once ctx is done the chain stops and returns a Cancelled (or Timeout)
// error, whatever it was about to do.
//
// When every target failed, the error names each target's error;
// errors.Is and errors.As see the last target's error first, so a switch
// on errors.Is answers for the error that decided the outcome, and every
// target's error stays reachable through errors.As on [*aierrors.Error]
// values in its Unwrap list.
//
// A FallbackChain is immutable and safe for concurrent use.
type FallbackChain struct {
	targets []string
}

// NewFallbackChain returns a chain over targets, in order.
func NewFallbackChain(targets ...string) *FallbackChain {
	return &FallbackChain{targets: slices.Clone(targets)}
}

// Execute calls op with each target in turn until one succeeds. Of opts,
// [WithHooks] applies: OnFallback reports every hop, the first included.
func (c *FallbackChain) Execute(ctx context.Context, op func(ctx context.Context, target string) error, opts ...Option) error {
	if len(c.targets) == 0 {
		return errors.New("resilience: fallback chain has no targets")
	}
	hooks := buildOptions(opts).hooks
	hop := func(h FallbackHop) {
		if hooks.OnFallback != nil {
			hooks.OnFallback(h)
		}
	}
	hop(FallbackHop{To: c.targets[0], Index: -1})
	var errs []error
	for i, target := range c.targets {
		err := op(ctx, target)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return doneError(ctx, target, err)
		}
		if !aierrors.IsFallbackable(err) && !errors.Is(err, ErrCircuitOpen) {
			return err
		}
		errs = append(errs, err)
		next := ""
		if i+1 < len(c.targets) {
			next = c.targets[i+1]
		}
		hop(FallbackHop{From: target, To: next, Err: err, Index: i})
		if ctx.Err() != nil { // a hook may have cancelled
			return doneError(ctx, target, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return &chainError{targets: c.targets, errs: errs}
}

// chainError is every target's error, in target order.
type chainError struct {
	targets []string
	errs    []error
}

func (e *chainError) Error() string {
	var b strings.Builder
	b.WriteString("resilience: all ")
	b.WriteString(strconv.Itoa(len(e.errs)))
	b.WriteString(" targets failed")
	for i, err := range e.errs {
		b.WriteString("; ")
		b.WriteString(e.targets[i])
		b.WriteString(": ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the errors last target first: errors.Is and errors.As
// find the deciding error first.
func (e *chainError) Unwrap() []error {
	out := slices.Clone(e.errs)
	slices.Reverse(out)
	return out
}
