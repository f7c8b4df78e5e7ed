package resilience

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
	"unsafe"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/cenkalti/backoff/v4"
)

// ResilientExecutor runs calls to one target (one provider and model) with
// retry, pacing, a circuit breaker, cooldowns and an in-flight cap, composed
// per attempt as the package doc describes. Its state is per target: use
// one executor per target, never one for several.
//
// A ResilientExecutor is safe for concurrent use, starts no goroutine and
// holds no timer between calls; it needs no Close. Build it with
// [NewResilientExecutor]. A nil *ResilientExecutor runs op once and
// classifies its error.
type ResilientExecutor struct {
	name    string
	hooks   Hooks
	logger  *slog.Logger
	retry   *retryPolicy    // nil: one attempt per call
	limiter *RateLimiter    // nil: disabled
	breaker *CircuitBreaker // nil: disabled
	bp      *Backpressure   // never nil; no semaphore when uncapped
	budget  *retryBudget    // nil: no retry budget
	cool    *cooldown       // nil: disabled
	shared  *sharedGate     // nil: no shared limiter or state
	latency atomic.Int64    // smoothed attempt duration, ns; 0 until measured
	latVar  atomic.Int64    // smoothed mean deviation of the attempt duration, ns
}

// retryPolicy is a RetryConfig with its defaults resolved.
type retryPolicy struct {
	maxRetries    int
	initial       time.Duration
	maxDelay      time.Duration
	multiplier    float64
	jitter        float64
	maxRetryAfter time.Duration
}

// NewResilientExecutor validates cfg (every problem, joined, each naming
// the field) and returns an executor for one target. A nil member of cfg
// means its defaults (see [ResilientConfig]); cfg is copied.
func NewResilientExecutor(cfg ResilientConfig, opts ...Option) (*ResilientExecutor, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.clone()
	o := buildOptions(opts)
	e := &ResilientExecutor{name: o.name, hooks: o.hooks, logger: o.logger}
	if r := cfg.Retry; !r.Disabled {
		e.retry = &retryPolicy{
			maxRetries:    r.MaxRetries,
			initial:       or(r.InitialDelay, defaultInitialDelay),
			maxDelay:      or(r.MaxDelay, defaultMaxDelay),
			multiplier:    or(r.BackoffMultiplier, defaultBackoffMultiplier),
			jitter:        r.Jitter,
			maxRetryAfter: or(r.MaxRetryAfter, defaultMaxRetryAfter),
		}
		e.budget = newRetryBudget(r)
	}
	if !cfg.RateLimiter.Disabled {
		e.limiter = newRateLimiter(*cfg.RateLimiter, o)
		e.limiter.likelyNow = e.likelyAttempt
	}
	if !cfg.CircuitBreaker.Disabled {
		e.breaker = newCircuitBreaker(*cfg.CircuitBreaker, o)
	}
	e.bp = newBackpressure(*cfg.Backpressure, o)
	e.cool = newCooldown(cfg.Cooldown, cfg.Retry)
	e.shared = newSharedGate(o, cfg)
	if e.shared != nil {
		e.shared.local = e.limiter
	}
	return e, nil
}

// CallOption changes one [ResilientExecutor.Execute] or [Do] call:
// [WithTokens], [WithStream].
type CallOption interface{ callOption() }

type callOptions struct {
	tokens int  // token estimate per attempt; 0: none
	used   *int // tokens really used, written by op; nil or < 0: the estimate
	finish *func(error)
	once   bool // one attempt: a Pool moves the retry to another deployment
	// retries caps the call's retries (WithMaxRetries); -1: the config's.
	retries int
	// noFallback: an open circuit is waited out (WithNoFallback).
	noFallback bool
}

// The call options are a closed set of small values, read by a type
// switch (collectCallOptions) rather than applied through a method or a
// closure: nothing then escapes, and a call with options allocates nothing
// for them.
type (
	tokensOption struct {
		estimate int
		used     *int
	}
	streamOption     struct{ finish *func(error) }
	retriesOption    int
	noFallbackOption struct{}
)

func (tokensOption) callOption()     {}
func (streamOption) callOption()     {}
func (retriesOption) callOption()    {}
func (noFallbackOption) callOption() {}

// WithNoFallback says nothing follows the call's target: when the call
// meets an open circuit (at admission, or its own failure opened it), it
// sleeps until the circuit lets its next probe through and tries again,
// holding nothing and sending nothing meanwhile, if a retry is left, the
// circuit opens for no longer than the longest backoff
// (RetryConfig.MaxDelay), and the wait plus an attempt ends before ctx's
// deadline. Such a call brings the next probe forward to 1s (or Cooldown,
// when shorter) after the circuit opened, however long the grown interval;
// a refusal at admission that sent nothing (another call's probe is out,
// or, when ctx has a deadline to bound the wait, the circuit is open) is
// not one of its attempts, nor, with a deadline, is a probe it sent that
// failed (the circuit paces the probes). Otherwise, and
// without the option, it fails at once with the time left open as
// RetryAfter, so that a fallback chain moves on. A plain retry loop
// reaches a provider's recovery by sending its retries into the outage;
// a call with this option reaches it with the breaker's probes only.
// The client package passes it for the last target of an AiClient's chain.
func WithNoFallback() CallOption { return noFallbackOption{} }

// WithMaxRetries caps the call's retries at n when that is fewer than the
// config's MaxRetries: for a target a fallback follows, say, where one
// retry is worth its backoff and a third is not (the fallback answers
// sooner than the third backoff ends). n < 0 counts as 0.
func WithMaxRetries(n int) CallOption { return retriesOption(max(n, 0)) }

// WithTokens says the call spends provider tokens: each attempt takes
// estimate tokens from the token limits before it goes (waiting for them as
// for a request token), a failed attempt gives them back, and after a
// successful one the estimate is replaced by *used when op set it (>= 0).
// A good estimate is the input's token count plus the answer's max tokens.
func WithTokens(estimate int, used *int) CallOption {
	return tokensOption{estimate: estimate, used: used}
}

// WithStream keeps a successful attempt open after op returns, for a
// result that outlives op such as a response stream: its in-flight permit
// stays taken and its outcome is not recorded until *finish(err) is called
// (nil: success; any other error is classified and counted like an op
// error). An attempt that was a half_open circuit's single probe
// (HalfOpenMaxRequests 1, the default) answers it when op succeeds (the
// provider answered): the circuit closes then, and the outcome at finish
// counts as an attempt of the closed circuit. Execute or Do set *finish
// on success; the caller must call it exactly once (later calls do
// nothing), for example from the stream's Close. Retries happen only
// before op succeeds.
func WithStream(finish *func(err error)) CallOption {
	return streamOption{finish: finish}
}

// Execute runs op with the executor's patterns, attempt after attempt,
// until op succeeds, an error is not retryable, retries run out, or ctx
// ends. ctx bounds the whole call, retries included. op must not retain
// ctx after it returns.
//
// An error from op that is not an *aierrors.Error is classified with
// [aierrors.ClassifyTransport]. Once ctx is done the call returns a
// Cancelled (or Timeout) error matching ctx's error, whatever else was
// about to happen. When retries run out the error unwraps to
// [ErrRetriesExhausted] and to the last attempt's error.
func (e *ResilientExecutor) Execute(ctx context.Context, op func(ctx context.Context) error, opts ...CallOption) error {
	return e.run(ctx, op, collectCallOptions(opts))
}

func collectCallOptions(opts []CallOption) callOptions {
	o := callOptions{retries: -1}
	for _, opt := range opts {
		switch opt := opt.(type) {
		case tokensOption:
			o.tokens, o.used = max(opt.estimate, 0), opt.used
		case streamOption:
			o.finish = opt.finish
		case onceOption:
			o.once = true
		case retriesOption:
			o.retries = int(opt)
		case noFallbackOption:
			o.noFallback = true
		}
	}
	return o
}

// Do is [ResilientExecutor.Execute] for an op that returns a value. On
// error it returns the zero T.
func Do[T any](ctx context.Context, e *ResilientExecutor, op func(ctx context.Context) (T, error), opts ...CallOption) (T, error) {
	var v T
	err := e.Execute(ctx, func(ctx context.Context) error {
		r, err := op(ctx)
		if err == nil {
			v = r
		}
		return err
	}, opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// run is Execute's loop: a Call driven by op, on the stack. Between
// attempts Next sleeps the backoff, holding nothing. A nil executor's
// single attempt holds nothing to give back if op panics.
func (e *ResilientExecutor) run(ctx context.Context, op func(ctx context.Context) error, o callOptions) error {
	var c Call
	c.init(e, ctx, o)
	for c.Next() {
		if e == nil {
			c.Done(op(ctx))
			continue
		}
		c.Done(c.a.call(op))
	}
	return c.err
}

// circuitWait is how long a call with nowhere else to go ([WithNoFallback])
// sleeps for the open circuit ae reported: at least delay, and until the
// circuit lets a probe through. ok is false, and the call should fail with
// ae at once, for a call that has a fallback, or when the wait and an
// attempt would not end before ctx's deadline, or the circuit stays open
// longer than the longest backoff (RetryConfig.MaxDelay).
func (e *ResilientExecutor) circuitWait(ctx context.Context, delay time.Duration, ae *aierrors.Error, o callOptions) (time.Duration, bool) {
	if !o.noFallback || e.retry == nil {
		return 0, false
	}
	left := ae.RetryAfter
	if left > 0 {
		left = min(left, e.breaker.probeSooner(time.Now()))
	}
	if left > e.retry.maxDelay {
		return 0, false
	}
	delay = max(delay, left)
	return delay, fits(ctx, time.Now(), delay+e.expected())
}

// errNoRetry: the error is final as it is (not retryable, or the wait
// for a retry cannot fit).
var errNoRetry = errors.New("resilience: not retried")

// retryDelay decides whether to retry after attempt n failed with err, and
// how long to sleep first. why is nil for a retry, errNoRetry to return err
// as it is, or the sentinel of an exhausted retry.
func (e *ResilientExecutor) retryDelay(ctx context.Context, n int, err error, bo **backoff.ExponentialBackOff, o callOptions) (time.Duration, error) {
	ae, _ := classify(err, e.name)
	p := e.retry
	limit := o.retries
	// Flags come from the code (and the provider's x-should-retry), never
	// from a status list. An open circuit goes to the fallback chain; with
	// none (WithNoFallback), the call waits for the circuit's next probe
	// as for a Retry-After: no request is sent meanwhile, so the retry
	// budget, which keeps retries from multiplying load, does not apply.
	open := ae != nil && errors.Is(ae.Err, ErrCircuitOpen)
	if p == nil || ae == nil || !ae.Retryable() || open && !o.noFallback {
		return 0, errNoRetry
	}
	if n > p.maxRetries || limit >= 0 && n > limit {
		if n > 1 {
			return 0, ErrRetriesExhausted
		}
		return 0, errNoRetry
	}
	if open {
		return 0, nil // the wait is the circuit's, decided by circuitWait
	}
	if *bo == nil {
		*bo = &backoff.ExponentialBackOff{
			InitialInterval:     p.initial,
			RandomizationFactor: p.jitter,
			Multiplier:          p.multiplier,
			MaxInterval:         p.maxDelay,
			Stop:                backoff.Stop,
			Clock:               backoff.SystemClock,
		}
		(*bo).Reset()
	}
	delay := min((*bo).NextBackOff(), p.maxDelay) // jitter can push past MaxInterval
	if errors.Is(ae.Err, ErrAttemptTimeout) {
		delay = 0 // one slow attempt is not overload: retry it at once
	}
	if ra := ae.RetryAfter; ra > 0 {
		if ra > p.maxRetryAfter {
			return 0, errNoRetry // not worth sleeping for: let the fallback chain move on
		}
		delay = max(delay, ra)
	}
	if !fits(ctx, time.Now(), delay+e.expected()) {
		return 0, errNoRetry // the retry could not finish before the deadline
	}
	if !e.budget.allows() {
		rej := &aierrors.Error{Code: ae.Code, Provider: ae.Provider, Model: ae.Model, Message: "retry refused by the retry budget", Err: ErrRetryBudgetExhausted}
		reportRejection(e.hooks, e.logger, e.name, rej)
		return 0, ErrRetryBudgetExhausted
	}
	return delay, nil
}

func (e *ResilientExecutor) reportRetry(ctx context.Context, n int, delay time.Duration, err error) {
	if e.hooks.OnRetry != nil {
		e.hooks.OnRetry(RetryScheduled{Target: e.name, Attempt: n, Delay: delay, Err: err})
	}
	if e.logger != nil {
		ae, _ := classify(err, e.name)
		attrs := []slog.Attr{slog.String("target", e.name), slog.Int("attempt", n),
			slog.String("code", ae.Code.Code()), slog.Duration("delay", delay)}
		if ae.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", ae.RequestID))
		}
		e.logger.LogAttrs(ctx, slog.LevelInfo, "resilience: retry scheduled", attrs...)
	}
}

// minExpected is the floor of an attempt's expected duration: a wait is
// admitted only if it leaves at least this much before the deadline.
const minExpected = 10 * time.Millisecond

// expected is how long an attempt is expected to take: 1.5 times the
// smoothed duration of recent attempts, at least minExpected.
func (e *ResilientExecutor) expected() time.Duration {
	return max(minExpected, time.Duration(e.latency.Load())*3/2)
}

// observeLatency folds one attempt's duration into the smoothed one
// (weight 1/8, as TCP's SRTT).
func (e *ResilientExecutor) observeLatency(d time.Duration) {
	old := e.latency.Load()
	if old == 0 {
		e.latency.Store(int64(d))
		return
	}
	dev := int64(d) - old
	if dev < 0 {
		dev = -dev
	}
	v := e.latVar.Load()
	e.latVar.Store(v + (dev-v)/4)
	e.latency.Store(old + (int64(d)-old)/8)
}

// slowAttempt is how long a slow attempt may take: TCP's retransmission
// timeout (RFC 6298), the smoothed duration plus four smoothed mean
// deviations, at least expected. The deviation starts at zero, not at
// half the first duration as RFC 6298's: until a second duration differs,
// the wait is judged as before (a first inflated estimate shifted three
// replicas' phases in TestSharedDegradedPacesAtTheShare, whose busiest
// second then broke its bound one run in fifteen). A wait for the learned rate is admitted
// only if it leaves that much before the deadline: under load, each place
// goes to a call that has waited about as long as it may, and an attempt
// its deadline cuts in flight has spent the provider's token for nothing.
// With answers of 300ms, 30% of them 1.5s, 1.5 times the mean admitted
// waits that left 0.5s, into which every slow answer ran: a quarter of the
// requests the provider accepted were cut (the scenario family's
// rate-limit points so played: 52.5% mean success, the plain loop 54.1%;
// so, 54.2%; with 10% of slow answers, or none, no change). (A retry's
// wait is judged on expected: the call alone pays for it, not the others.)
func (e *ResilientExecutor) slowAttempt() time.Duration {
	return max(e.expected(), time.Duration(e.latency.Load()+4*e.latVar.Load()))
}

// likelyAttempt is how long an attempt takes at most, but for about one
// in ten: the smoothed duration plus two smoothed mean deviations (about
// the 90th percentile for durations that are exponential, log-normal or
// two-valued), at least expected.
func (e *ResilientExecutor) likelyAttempt() time.Duration {
	return max(e.expected(), time.Duration(e.latency.Load()+2*e.latVar.Load()))
}

// attempt is one request to the provider, from admission to finish. It
// runs the steps of the package doc in order:
//
//	admit:  1. cooling down? circuit open (local or shared)? → refuse at once
//	        2. wait for request and token budget (local, then shared), only
//	           if the wait plus the attempt ends before the deadline
//	        3. take an in-flight permit
//	        4. take the breaker's admission (a half_open probe slot, local
//	           and shared, is taken only now)
//	call:   5. run op
//	finish: 6. give the permit back
//	        7. classify the outcome
//	        8. record it: breaker, shared state, limiter, budget, cooldown
//
// A stream's attempt is the same attempt, finished later (keepOpen).
type attempt struct {
	e        *ResilientExecutor
	ctx      context.Context
	n        int
	cost     int
	used     *int
	grant    grant // tokens taken, to settle
	shared   sharedTicket
	breaker  ticket      // the breaker's admission
	admitted bool        // steps 1–4 done: finish has things to give back
	stripe   uint8       // the in-flight count's stripe this attempt wrote
	start    time.Time   // zero unless timed
	finished atomic.Bool // a kept stream attempt was finished
}

// admit is steps 1 to 4. On error nothing is held.
func (a *attempt) admit() error {
	e, ctx := a.e, a.ctx
	if ctx.Err() != nil {
		return doneError(ctx, e.name, nil)
	}
	// The clock is read once, and only if a step needs it: on the clean
	// success path with the defaults none does (a clock read is a large
	// part of that path's cost).
	var clk clock
	// 1. Refusals that need no waiting.
	if ae := e.cool.check(e.name, &clk); ae != nil {
		return e.refused(ae)
	}
	if ae := e.breaker.check(&clk); ae != nil {
		return e.refused(ae)
	}
	if ae := e.shared.check(&clk); ae != nil {
		return e.refused(ae)
	}
	// 2. Pacing.
	need := time.Duration(0)
	if dl, ok := ctx.Deadline(); ok {
		need = e.slowAttempt()
		if short := e.limiter.shortWait(); short > 0 {
			// Whatever the slow attempt's duration, a wait of two places
			// is admitted if a typical attempt fits after it: see
			// RateLimiter.shortWait.
			need = min(need, max(dl.Sub(clk.now())-short, e.expected()))
		}
	}
	g, ae := e.limiter.wait(ctx, &clk, a.cost, need+e.shared.slack())
	if ae != nil {
		return ae
	}
	a.grant = g
	if ae := e.shared.reserve(ctx, a.cost, need); ae != nil {
		e.limiter.settle(g, 0)
		return ae
	}
	// 3. In-flight permit.
	a.stripe = stripeOf(unsafe.Pointer(&clk))
	if ae := e.bp.acquire(ctx, a.stripe); ae != nil {
		e.limiter.settle(g, 0)
		return ae
	}
	// 4. Admissions: the breaker's, then the shared probe slot.
	if e.breaker != nil {
		if a.breaker, ae = e.breaker.allow(&clk); ae != nil {
			e.bp.release(a.stripe)
			e.limiter.settle(g, 0)
			return e.refused(ae)
		}
	}
	if a.shared, ae = e.shared.admit(ctx); ae != nil {
		e.breaker.record(a.breaker, outcomeIgnored)
		e.bp.release(a.stripe)
		e.limiter.settle(g, 0)
		return e.refused(ae)
	}
	a.admitted = true
	a.grant.seq = e.limiter.logSend()
	return nil
}

// clock reads the time once, when first asked: admission's steps share
// one reading, and skip it when none needs it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	if c.t.IsZero() {
		c.t = time.Now()
	}
	return c.t
}

// refused reports a local rejection and returns it.
func (e *ResilientExecutor) refused(ae *aierrors.Error) error {
	if ae.Code != aierrors.Cancelled && ae.Code != aierrors.Timeout {
		reportRejection(e.hooks, e.logger, e.name, ae)
	}
	return ae
}

// begin reports the attempt's start (step 5 begins): hooks, and the
// clock when something will read the attempt's duration.
func (a *attempt) begin() {
	e := a.e
	if e.hooks.OnAttemptStart != nil {
		e.hooks.OnAttemptStart(AttemptStart{Target: e.name, Attempt: a.n})
	}
	if e.hooks.OnAttemptEnd != nil || e.logger != nil || hasDeadline(a.ctx) {
		a.start = time.Now()
	}
}

// call is step 5 for Execute's op. If op panics, the attempt is finished
// (everything it holds given back, nothing recorded about the provider)
// before the panic goes on.
func (a *attempt) call(op func(ctx context.Context) error) (err error) {
	panicked := true
	defer func() {
		if panicked {
			a.release(outcomeIgnored)
		}
	}()
	err = op(a.ctx)
	panicked = false
	return err
}

func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

// finish is steps 6 to 8 for an op that returned opErr; it returns the
// error the call sees for this attempt (nil on success).
func (a *attempt) finish(opErr error) error {
	e := a.e
	ae, err := classify(opErr, e.name) // 7
	o := e.breaker.outcomeOf(a.ctx, ae)
	a.giveBack(o, ae)
	var d time.Duration
	if !a.start.IsZero() {
		d = time.Since(a.start)
		if ae == nil {
			e.observeLatency(d)
		}
	}
	e.limiter.sent(a.grant, sendStateOf(ae))
	if ae == nil { // 8, success
		e.limiter.onSuccess()
		e.budget.onSuccess()
		if a.used != nil && *a.used >= 0 {
			e.limiter.settle(a.grant, *a.used)
		}
	} else {
		e.learn(a.ctx, ae, o, a.grant.released)
	}
	e.attemptEnd(a, err, ae, d)
	return err
}

// giveBack is step 6 and the recording part of 8 that must happen exactly
// once per admitted attempt: permit, breaker admission, shared probe slot.
func (a *attempt) giveBack(o outcome, ae *aierrors.Error) {
	e := a.e
	if !a.admitted {
		return
	}
	a.admitted = false
	e.bp.release(a.stripe)
	e.breaker.record(a.breaker, o)
	e.shared.after(a.ctx, a.shared, ae, o, e.breaker)
	if ae != nil {
		// A failed attempt gives its tokens back, unless it says what it
		// spent (a stream cut after it started did spend tokens).
		used := 0
		if a.used != nil && *a.used >= 0 {
			used = *a.used
		}
		e.limiter.settle(a.grant, used)
	}
}

// release ends an attempt whose op panicked: everything given back,
// nothing learned.
func (a *attempt) release(o outcome) {
	a.giveBack(o, nil)
	a.e.limiter.settle(a.grant, 0)
	a.e.limiter.sent(a.grant, sendOther)
}

// sendStateOf is what an attempt's outcome says of the provider's bucket
// (see gapLog): a success took a token, a provider's rate limit found
// none, anything else says nothing.
func sendStateOf(ae *aierrors.Error) sendState {
	switch {
	case ae == nil:
		return sendAccepted
	case ae.Code == aierrors.RateLimited && !localRejection(ae):
		return sendRefused
	}
	return sendOther
}

// keepOpen hands a successful stream attempt to the caller: the returned
// func finishes it (steps 6–8) when the stream ends.
func (a *attempt) keepOpen() func(error) {
	// The provider took the request: the gap log reads that now, not when
	// the stream ends (it reads the sends in order, and a stream of a
	// minute would hold every later send unread for that minute).
	a.e.limiter.sent(a.grant, sendAccepted)
	// A probe that opened a stream has its answer: the provider answered.
	// Recorded now, it closes the circuit (here and in the shared state),
	// so that the target's other calls need not wait for the stream's end:
	// minutes for a long answer, and for ever when the stream's own caller
	// calls the target before closing it. The stream's end is then recorded
	// as an attempt of the closed circuit (a cut counts as one failure).
	// Only when this success closes the circuit (one probe, the default):
	// with more, the circuit stays half_open, other probes have slots, and
	// the stream's end must still answer as a probe (a cut reopens).
	if a.breaker.probe && a.e.breaker.maxProbes == 1 {
		a.e.breaker.record(a.breaker, outcomeSuccess)
		a.breaker = ticket{}
	}
	if a.shared.probe && a.e.shared.maxProbes == 1 {
		a.e.shared.after(a.ctx, a.shared, nil, outcomeSuccess, a.e.breaker)
		a.shared = sharedTicket{}
	}
	kept := &attempt{e: a.e, ctx: a.ctx, n: a.n, cost: a.cost, used: a.used, grant: a.grant,
		shared: a.shared, breaker: a.breaker, admitted: a.admitted, stripe: a.stripe, start: a.start}
	kept.grant.seq = 0 // read
	if kept.start.IsZero() {
		kept.start = time.Now()
	}
	return func(err error) {
		if kept.finished.CompareAndSwap(false, true) { // the first call counts
			kept.finish(err)
		}
	}
}

// learn is step 8 for a failed attempt: what the answer says about the
// provider's limits and about the target.
func (e *ResilientExecutor) learn(ctx context.Context, ae *aierrors.Error, o outcome, released time.Time) {
	if localRejection(ae) || ctx.Err() != nil {
		return
	}
	if o == outcomeFailure || ae.Code == aierrors.RateLimited {
		e.budget.onFailure()
	}
	if ae.Code == aierrors.RateLimited {
		e.limiter.onRateLimited(time.Now(), ae.RetryAfter, e.bp.admittedTotal(), e.bp.inflightNow(), released)
	} else if ae.HTTPStatus > 0 {
		e.limiter.onAnswered()
	}
	if d := e.cool.observe(ae, time.Now()); d > 0 {
		e.shared.publishCooldown(ctx, d, ae.Code)
		if e.logger != nil {
			e.logger.LogAttrs(ctx, slog.LevelWarn, "resilience: target cooling down",
				slog.String("target", e.name), slog.String("code", ae.Code.Code()), slog.Duration("for", d))
		}
	}
}

func (e *ResilientExecutor) attemptEnd(a *attempt, err error, ae *aierrors.Error, d time.Duration) {
	if e.hooks.OnAttemptEnd != nil {
		e.hooks.OnAttemptEnd(AttemptEnd{Target: e.name, Attempt: a.n, Err: err, Duration: d})
	}
	if e.logger != nil && e.logger.Enabled(a.ctx, slog.LevelDebug) {
		code, requestID := "ok", ""
		if ae != nil {
			code, requestID = ae.Code.Code(), ae.RequestID
		}
		attrs := []slog.Attr{slog.String("target", e.name), slog.Int("attempt", a.n),
			slog.String("code", code), slog.Duration("duration", d)}
		if requestID != "" {
			attrs = append(attrs, slog.String("request_id", requestID))
		}
		e.logger.LogAttrs(a.ctx, slog.LevelDebug, "resilience: attempt", attrs...)
	}
}

// ObserveHeader feeds the rate-limit headers of any provider answer
// (success or error) to the target's limiter, as hints: see the package doc
// ("Learning the provider's limit"). Call it for every answer, before op
// returns.
func (e *ResilientExecutor) ObserveHeader(h http.Header) {
	if e == nil || len(h) == 0 {
		return
	}
	e.limiter.observe(h, time.Now())
}
