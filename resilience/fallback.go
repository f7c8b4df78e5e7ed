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
// "anthropic/claude-3-5-sonnet", ...). It moves to the next target only
// when the error is fallbackable ([aierrors.IsFallbackable]) or the
// target's circuit is open ([ErrCircuitOpen]); any other error, and any
// error once ctx is done, is returned at once (a bad request is just as bad
// on the next provider). Every hop is reported to OnFallback, the start on
// the first target included (see [FallbackHop]).
//
// The chain only sequences: the per-target state (one [ResilientExecutor]
// per target) belongs to op. A FallbackChain is safe for concurrent use
// once WithHooks has been called.
type FallbackChain struct {
	targets []string
	hooks   Hooks
}

// NewFallbackChain returns a chain over a copy of targets.
func NewFallbackChain(targets ...string) *FallbackChain {
	return &FallbackChain{targets: slices.Clone(targets)}
}

// WithHooks sets the hooks (only OnFallback is used) and returns c. Call it
// before the chain is used.
func (c *FallbackChain) WithHooks(h Hooks) *FallbackChain {
	c.hooks = h
	return c
}

// Targets returns a copy of the chain's targets.
func (c *FallbackChain) Targets() []string { return slices.Clone(c.targets) }

// Execute calls op for each target in turn, as described on
// [FallbackChain]. When every target failed, the error unwraps to each
// target's error, the last one first: [aierrors.CodeOf] reports the last
// target's code and errors.Is matches it.
func (c *FallbackChain) Execute(ctx context.Context, op func(ctx context.Context, target string) error) error {
	if len(c.targets) == 0 {
		return errors.New("resilience: fallback chain has no targets")
	}
	c.hop(FallbackHop{To: c.targets[0], Index: -1})
	var errs []error
	for i, target := range c.targets {
		err := op(ctx, target)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !(aierrors.IsFallbackable(err) || errors.Is(err, ErrCircuitOpen)) {
			return err
		}
		errs = append(errs, err)
		next := ""
		if i+1 < len(c.targets) {
			next = c.targets[i+1]
		}
		c.hop(FallbackHop{From: target, To: next, Err: err, Index: i})
	}
	return &chainError{targets: c.targets, errs: errs}
}

func (c *FallbackChain) hop(h FallbackHop) {
	if c.hooks.OnFallback != nil {
		c.hooks.OnFallback(h)
	}
}

// chainError is every target's failure.
type chainError struct {
	targets []string
	errs    []error // in target order
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

// Unwrap returns the targets' errors, the last target's first.
func (e *chainError) Unwrap() []error {
	out := slices.Clone(e.errs)
	slices.Reverse(out)
	return out
}
