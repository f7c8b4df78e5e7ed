package resilience

import (
	"context"
	"errors"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/cenkalti/backoff/v4"
)

// Call is one call through a [ResilientExecutor] driven by its caller:
// the caller sends each attempt itself, from its own frame, instead of
// handing the executor a callback.
//
//	call := exec.Begin(ctx, opts...)
//	defer call.Close()
//	for call.Next() {
//		call.Done(send(ctx))
//	}
//	if err := call.Err(); err != nil {
//		...
//	}
//
// Next does everything before an attempt (the backoff after a failed
// one, admission: cooldown, circuit, pacing, permit) and reports whether
// to send; Done records what the attempt returned. Execute is this loop
// with its op as send, and every rule of Execute holds for a Call.
//
// Why it exists: a callback runs on top of the executor's frames, and a
// call waiting for its answer keeps all of them on its goroutine's stack.
// With thousands of calls in flight, a stack past the first size class
// doubles (to 8 KB) and, through the runtime's adaptive starting size,
// makes net/http's own goroutines start larger too. Driven from the
// caller, the executor's frames are gone while the request waits.
//
// A Call is used by one goroutine. Close must be called, once, when the
// caller is done with it (after Err): it gives back what an attempt that
// was never Done (a panic in send) still holds.
type Call struct {
	e     *ResilientExecutor
	ctx   context.Context
	o     callOptions
	a     attempt
	bo    *backoff.ExponentialBackOff // made at the first retry: the success path allocates nothing
	last  error                       // the last attempt's own error, kept reachable if ctx ends later
	err   error                       // the failed attempt's error before Next; the call's once ended
	state callState
}

type callState uint8

const (
	callBetween callState = iota // before the first attempt, or after one failed
	callSending                  // Next said send; Done not yet called
	callEnded
)

// mayStep is the check at the top of a Next of type typ: false once the
// call has ended; a panic when the step Next started was never Done,
// which is a bug in the caller's loop, not a state to recover from.
func (s callState) mayStep(typ string) bool {
	switch s {
	case callEnded:
		return false
	case callSending:
		panic("resilience: " + typ + ".Next called before Done")
	}
	return true
}

// Begin starts a call with the executor's patterns; see [Call]. ctx
// bounds the whole call, retries included. A nil *ResilientExecutor
// gives a Call of one attempt whose error is classified.
func (e *ResilientExecutor) Begin(ctx context.Context, opts ...CallOption) *Call {
	c := &Call{}
	c.init(e, ctx, collectCallOptions(opts))
	return c
}

func (c *Call) init(e *ResilientExecutor, ctx context.Context, o callOptions) {
	c.e, c.ctx, c.o = e, ctx, o
}

// Next prepares the next attempt and reports whether to send it. It
// returns false when the call has ended: with success, or with the error
// Err returns. Between a failed attempt and the next it sleeps the
// backoff, holding nothing; it returns early, false, when ctx ends.
func (c *Call) Next() bool {
	if !c.state.mayStep("Call") {
		return false
	}
	e := c.e
	if e == nil { // no patterns: one attempt
		if c.a.n > 0 {
			c.state = callEnded
			return false
		}
		if c.ctx.Err() != nil {
			c.end(doneError(c.ctx, "", nil))
			return false
		}
		c.a.n, c.state = 1, callSending
		return true
	}
	for {
		if c.err != nil && !c.retry() {
			return false
		}
		c.a = attempt{e: e, ctx: c.ctx, n: c.a.n + 1, cost: c.o.tokens, used: c.o.used}
		if err := c.a.admit(); err != nil {
			c.err = err
			if c.o.noFallback && (probeInFlight(err) || hasDeadline(c.ctx) && circuitOpen(err)) {
				// Nothing was sent: waiting for the circuit's probe is
				// not an attempt of this call's (see retry), and the
				// deadline bounds the wait. Without a deadline, each
				// failed probe the call waited for counts as a retry.
				c.a.n--
			}
			continue
		}
		c.a.begin()
		c.state = callSending
		return true
	}
}

// Done records the result of the attempt Next said to send: nil for
// success, else the error (one that is not an *aierrors.Error is
// classified with aierrors.ClassifyTransport). With [WithStream], a
// successful attempt stays open: *finish is set.
func (c *Call) Done(err error) {
	if c.state != callSending {
		panic("resilience: Call.Done called without Next")
	}
	c.state = callBetween
	if c.e == nil {
		_, err = classify(err, "")
		if f := c.o.finish; err == nil && f != nil {
			*f = func(error) {}
		}
		c.end(err)
		return
	}
	if err == nil && c.o.finish != nil {
		*c.o.finish = c.a.keepOpen()
		c.end(nil)
		return
	}
	probe := c.a.breaker.probe
	if err = c.a.finish(err); err == nil {
		c.end(nil)
		return
	}
	if probe && c.o.noFallback && hasDeadline(c.ctx) && !circuitOpen(err) {
		// The call sent the circuit's probe, and it failed: like a
		// failed probe it waited for, not one of its retries (the
		// circuit paces the probes, the deadline bounds the wait).
		c.a.n--
	}
	c.err = err
}

// Err returns the call's error once Next has returned false: nil when
// an attempt succeeded; otherwise as [ResilientExecutor.Execute] returns.
func (c *Call) Err() error {
	if c.state != callEnded {
		return nil
	}
	return c.err
}

// Close ends the call. An attempt Next said to send and that was never
// Done (send panicked) gives back its permit, breaker admission and
// tokens, and records nothing about the provider.
func (c *Call) Close() {
	if c.state == callSending && c.e != nil {
		c.a.release(outcomeIgnored)
	}
	c.state = callEnded
}

func (c *Call) end(err error) {
	c.err, c.state = err, callEnded
}

// retry decides, after the attempt that failed with c.err, whether to
// try again, and sleeps the backoff if so. It reports false, with the
// call ended, when not.
func (c *Call) retry() bool {
	e, ctx, o, err := c.e, c.ctx, c.o, c.err
	n := c.a.n
	c.err = nil
	if c.last == nil || fromProvider(ctx, err) {
		c.last = err
	}
	if ctx.Err() != nil {
		c.end(doneError(ctx, e.name, c.last)) // the provider's last answer stays reachable
		return false
	}
	if o.once {
		c.end(err)
		return false
	}
	if o.noFallback && probeInFlight(err) {
		// Another call's probe is out: wait for its answer (about an
		// attempt's time), woken early when it fails and the circuit
		// opens again, whose new interval is then waited as any open
		// circuit's (Next did not count this refusal as an attempt).
		d := e.expected()
		if !fits(ctx, time.Now(), 2*d) {
			c.end(withCause(err, c.last))
			return false
		}
		if !sleep(ctx, d, e.breaker.openCh()) {
			c.end(doneError(ctx, e.name, c.last))
			return false
		}
		return true
	}
	delay, why := e.retryDelay(ctx, n, err, &c.bo, o)
	if why != nil {
		err = withCause(err, c.last)
		if why != errNoRetry {
			err = &exhaustedError{attempts: n, last: err, why: why}
		}
		c.end(err)
		return false
	}
	if ae := e.breaker.check(&clock{}); ae != nil {
		// This failure opened the circuit: don't sleep toward it, fall
		// back; with no fallback, wait for its next probe if that fits.
		var ok bool
		if delay, ok = e.circuitWait(ctx, delay, ae, o); !ok {
			c.end(withCause(ae, c.last))
			return false
		}
	}
	e.reportRetry(ctx, n, delay, err)
	for {
		if !sleep(ctx, delay, e.breaker.openCh()) {
			c.end(doneError(ctx, e.name, c.last))
			return false
		}
		ae := e.breaker.check(&clock{})
		if ae == nil {
			return true
		}
		// It opened while we slept: don't wait for it, fall back; with
		// no fallback, wait for its next probe if that fits.
		var ok bool
		if delay, ok = e.circuitWait(ctx, 0, ae, o); !ok {
			c.end(withCause(ae, c.last))
			return false
		}
	}
}

// probeInFlight reports whether err is the breaker's refusal while its
// probe slots are taken (half_open): no time is left on the open
// interval, the circuit waits for a probe's answer.
func probeInFlight(err error) bool {
	return circuitOpen(err) && err.(*aierrors.Error).RetryAfter == 0
}

// circuitOpen reports whether err is the breaker's refusal.
func circuitOpen(err error) bool {
	ae, ok := err.(*aierrors.Error)
	return ok && errors.Is(ae.Err, ErrCircuitOpen)
}
