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
// When every target failed, the error's text names each target and its
// error, and the last target's error decides: errors.Is matches only it
// (an earlier target's code does not match, so a switch on errors.Is
// answers for the outcome, whatever the order of its cases), errors.As
// finds it first, and [aierrors.CodeOf] returns its code. Every target's
// error stays reachable through errors.As: with one target the error is
// that target's own; with more, errors.As(err, &all) for a variable all of
// type interface{ Unwrap() []error } finds the chain's error, whose Unwrap
// lists the last target's error, then each earlier target's in target
// order; errors.As on each of those reaches its [*aierrors.Error].
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
	var hooks Hooks
	for _, o := range opts {
		if h, ok := o.(hooksOption); ok {
			hooks = Hooks(h)
		}
	}
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

// chainError is every target's error, in target order; the last decides.
type chainError struct {
	targets []string
	errs    []error
	what    string // what failed: "targets" when empty
}

func (e *chainError) Error() string {
	var b strings.Builder
	b.WriteString("resilience: all ")
	b.WriteString(strconv.Itoa(len(e.errs)))
	b.WriteString(" ")
	b.WriteString(or(e.what, "targets"))
	b.WriteString(" failed")
	for i, err := range e.errs {
		b.WriteString("; ")
		text := err.Error()
		if !strings.Contains(text, e.targets[i]) { // an *aierrors.Error names its target
			b.WriteString(e.targets[i])
			b.WriteString(": ")
		}
		b.WriteString(text)
	}
	return b.String()
}

// Unwrap returns the last target's error, then each earlier target's in
// target order, each hidden from errors.Is: errors.Is sees only the
// deciding error, errors.As finds it first and reaches the others.
func (e *chainError) Unwrap() []error {
	last := len(e.errs) - 1
	out := make([]error, 0, len(e.errs))
	out = append(out, e.errs[last])
	for _, err := range e.errs[:last] {
		out = append(out, earlierError{err})
	}
	return out
}

// earlierError is a target's error that did not decide the outcome. It
// has no Unwrap, so errors.Is stops at it (and compares it to nothing);
// its As lets errors.As reach into it.
type earlierError struct{ err error }

func (e earlierError) Error() string      { return e.err.Error() }
func (e earlierError) As(target any) bool { return errors.As(e.err, target) }
