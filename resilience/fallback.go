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
// "anthropic/claude-sonnet-4-5", ...), moving on only when the error is
// fallbackable or the target's circuit is open; any other error ends the
// call at once (a bad request is just as bad on the next provider).
// Once ctx is done the chain stops and returns a Cancelled (or Timeout)
// error, whatever it was about to do.
//
// When the call failed, the error's text names each target tried and its
// error ("resilience: all 3 targets failed; ...", or "2 of 3" when one
// ended the call early), and the last target's error decides: errors.Is
// matches only it (an earlier target's code does not match, so a switch
// on errors.Is answers for the outcome, whatever the order of its cases),
// errors.As finds it first, and [aierrors.CodeOf] returns its code. Every
// target's error stays reachable through errors.As: with one target the
// error is that target's own; with more, errors.As(err, &all) for a
// variable all of type interface{ Unwrap() []error } finds the chain's
// error, whose Unwrap lists the last target's error, then each earlier
// target's in target order; errors.As on each of those reaches its
// [*aierrors.Error].
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
	var w ChainCall
	w.init(c, ctx, opts)
	for w.Next() {
		w.Done(op(ctx, w.Target()))
	}
	return w.Err()
}

// ChainCall is one call through a [FallbackChain] driven by its caller,
// as [Call] is for an executor, and for the same reason (the chain's
// frames are not under the request while it waits):
//
//	w := chain.Begin(ctx, opts...)
//	for w.Next() {
//		w.Done(op(ctx, w.Target()))
//	}
//	err := w.Err()
//
// Execute is this loop; every rule of Execute holds. A ChainCall is used
// by one goroutine and holds nothing: it needs no Close.
type ChainCall struct {
	c          *FallbackChain
	ctx        context.Context
	onFallback func(FallbackHop)
	i          int // the target Next returned last; -1 before the first
	errs       []error
	err        error
	state      callState
}

// Begin starts a call through the chain; see [ChainCall]. Of opts,
// [WithHooks] applies: OnFallback reports every hop, the first included.
func (c *FallbackChain) Begin(ctx context.Context, opts ...Option) *ChainCall {
	w := &ChainCall{}
	w.init(c, ctx, opts)
	return w
}

func (w *ChainCall) init(c *FallbackChain, ctx context.Context, opts []Option) {
	w.c, w.ctx, w.i = c, ctx, -1
	for _, o := range opts {
		if h, ok := o.(hooksOption); ok {
			w.onFallback = h.OnFallback
		}
	}
	if len(c.targets) == 0 {
		w.err, w.state = errors.New("resilience: fallback chain has no targets"), callEnded
		return
	}
	w.hop(FallbackHop{To: c.targets[0], Index: -1})
}

func (w *ChainCall) hop(h FallbackHop) {
	if w.onFallback != nil {
		w.onFallback(h)
	}
}

// Next reports whether to try the next target (Target names it): false
// once one succeeded, one failed in a way no other target would fix, or
// every target failed; Err then says which.
func (w *ChainCall) Next() bool {
	if !w.state.mayStep("ChainCall") {
		return false
	}
	if w.i+1 >= len(w.c.targets) { // every target failed
		w.state = callEnded
		w.err = chainOf(w.c.targets, w.errs, len(w.c.targets), "")
		return false
	}
	w.i++
	w.state = callSending
	return true
}

// Target is the target Next said to try.
func (w *ChainCall) Target() string {
	if w.i < 0 || w.i >= len(w.c.targets) {
		return ""
	}
	return w.c.targets[w.i]
}

// Done records the result of trying Target: nil for success.
func (w *ChainCall) Done(err error) {
	if w.state != callSending {
		panic("resilience: ChainCall.Done called without Next")
	}
	w.state = callBetween
	target := w.c.targets[w.i]
	switch {
	case err == nil:
		w.err, w.state = nil, callEnded
		return
	case w.ctx.Err() != nil:
		if doneAnswer(w.ctx, err) == nil {
			err = doneError(w.ctx, target, err)
		} // else already the answer, kept whole: a pool's keeps its deployments' errors
		w.err, w.state = w.ended(err), callEnded
		return
	case !aierrors.IsFallbackable(err) && !errors.Is(err, ErrCircuitOpen):
		w.err, w.state = w.ended(err), callEnded
		return
	}
	w.errs = append(w.errs, err)
	next := ""
	if w.i+1 < len(w.c.targets) {
		next = w.c.targets[w.i+1]
	}
	w.hop(FallbackHop{From: target, To: next, Err: err, Index: w.i})
	if w.ctx.Err() != nil { // a hook may have cancelled
		w.errs = w.errs[:len(w.errs)-1]
		w.err, w.state = w.ended(doneError(w.ctx, target, err)), callEnded
	}
}

// ended is the call's error when err, the current target's, ends it before
// the last target: with the earlier targets' errors, if any, so that none
// is lost (a primary out of quota, then a fallback that answers 404).
func (w *ChainCall) ended(err error) error {
	return chainOf(w.c.targets, append(w.errs, err), len(w.c.targets), "")
}

// Err returns the call's error once Next has returned false: nil when a
// target succeeded.
func (w *ChainCall) Err() error {
	if w.state != callEnded {
		return nil
	}
	return w.err
}

// chainError is the error of each target tried, in target order; the last
// decides.
type chainError struct {
	targets []string // the targets, in order: targets[i] failed with errs[i]
	errs    []error
	total   int    // the number of targets: more than len(errs) when one ended the call early
	what    string // what failed: "targets" when empty
}

// chainOf is the error of a call whose targets failed with errs, in order,
// of total targets: the one error itself when only one was tried.
func chainOf(targets []string, errs []error, total int, what string) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return &chainError{targets: targets, errs: errs, total: total, what: what}
}

func (e *chainError) Error() string {
	var b strings.Builder
	b.WriteString("resilience: ")
	if e.total > len(e.errs) {
		b.WriteString(strconv.Itoa(len(e.errs)))
		b.WriteString(" of ")
		b.WriteString(strconv.Itoa(e.total))
	} else {
		b.WriteString("all ")
		b.WriteString(strconv.Itoa(len(e.errs)))
	}
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
