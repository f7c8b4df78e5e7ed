package resilience

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/cenkalti/backoff/v4"
)

// ResilientExecutor runs calls to one target (one provider + model) with
// retry, rate limiting, circuit breaking and an in-flight cap, composed per
// attempt in the order the package doc describes. Its state is per target:
// use one executor per target, never one for several.
//
// A ResilientExecutor is safe for concurrent use and holds no goroutine or
// timer between calls; it needs no Close. Build it with
// [NewResilientExecutor]. A nil *ResilientExecutor runs op once and
// classifies its error.
type ResilientExecutor struct {
	name    string
	hooks   Hooks
	logger  *slog.Logger
	retry   *retryPolicy    // nil: no retry
	limiter *RateLimiter    // nil: no rate limit, no learning
	breaker *CircuitBreaker // nil: no breaker
	bp      *Backpressure   // never nil; no semaphore when uncapped
	limits  *limitsRecord   // provider-reported limits (the limiter's when present)
	timing  bool            // OnAttemptEnd or a logger needs attempt durations
	shared  *sharedGate     // nil: no shared limiter or state (WithSharedLimiter, WithSharedState)
	budget  *retryBudget    // nil: no retry budget
	cool    *cooldown       // nil: no target cooldown
	hedge   *hedger         // nil: no hedging
}

// retryPolicy is a RetryConfig with defaults resolved.
type retryPolicy struct {
	maxRetries    int
	initial       time.Duration
	maxDelay      time.Duration
	multiplier    float64
	jitter        float64
	maxRetryAfter time.Duration
}

func (p *retryPolicy) newBackOff() *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.initial,
		RandomizationFactor: p.jitter,
		Multiplier:          p.multiplier,
		MaxInterval:         p.maxDelay,
		MaxElapsedTime:      0, // the ctx deadline bounds the call, not backoff
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	return b
}

// NewResilientExecutor validates cfg (every problem, joined) and returns
// an executor for one target. cfg is copied: later changes to it have no
// effect. Options: [WithName], [WithHooks], [WithLogger].
func NewResilientExecutor(cfg ResilientConfig, opts ...Option) (*ResilientExecutor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := buildOptions(opts)
	e := &ResilientExecutor{
		name:   o.name,
		hooks:  o.hooks,
		logger: o.logger,
		timing: o.hooks.OnAttemptEnd != nil || o.logger != nil,
	}
	if r := cfg.Retry; r != nil {
		e.retry = &retryPolicy{
			maxRetries:    r.MaxRetries,
			initial:       orDuration(r.InitialDelay, DefaultInitialDelay),
			maxDelay:      orDuration(r.MaxDelay, DefaultMaxDelay),
			multiplier:    orFloat(r.BackoffMultiplier, DefaultBackoffMultiplier),
			jitter:        r.Jitter,
			maxRetryAfter: orDuration(r.MaxRetryAfter, DefaultMaxRetryAfter),
		}
	}
	if cfg.RateLimiter != nil {
		e.limiter = newRateLimiter(*cfg.RateLimiter, o)
		e.limits = e.limiter.limits
	} else {
		e.limits = newLimitsRecord()
	}
	if cfg.CircuitBreaker != nil {
		e.breaker = newCircuitBreaker(*cfg.CircuitBreaker, o)
	}
	var bp BackpressureConfig
	if cfg.Backpressure != nil {
		bp = *cfg.Backpressure
	}
	e.bp = newBackpressure(bp, o)
	e.shared = newSharedGate(o, cfg)
	e.budget = newRetryBudget(cfg.Retry)
	e.cool = newCooldown(cfg.Cooldown, cfg.Retry)
	e.hedge = newHedger(cfg.Hedge)
	return e, nil
}

// Name returns the target name given with [WithName].
func (e *ResilientExecutor) Name() string {
	if e == nil {
		return ""
	}
	return e.name
}

// CircuitBreaker returns the executor's breaker; nil when disabled.
func (e *ResilientExecutor) CircuitBreaker() *CircuitBreaker {
	if e == nil {
		return nil
	}
	return e.breaker
}

// RateLimiter returns the executor's limiter; nil when disabled.
func (e *ResilientExecutor) RateLimiter() *RateLimiter {
	if e == nil {
		return nil
	}
	return e.limiter
}

// Backpressure returns the executor's in-flight limiter (never nil for a
// non-nil executor; uncapped when disabled).
func (e *ResilientExecutor) Backpressure() *Backpressure {
	if e == nil {
		return nil
	}
	return e.bp
}

// ObserveHeader feeds the provider's rate-limit headers of any answer
// (success or error) to the target's limiter: the limits become visible in
// [ResilientExecutor.Signals] and, when the rate limiter is enabled (even
// without a rate of its own), the reported request limit, remaining
// requests and reset time become the learned bucket that paces attempts
// (see [RateLimiter]); "0 tokens remaining until reset" pauses the target
// until the reset. Call it for every answer, before returning its error
// from op.
func (e *ResilientExecutor) ObserveHeader(h http.Header) {
	if e == nil {
		return
	}
	if e.limiter != nil {
		e.limiter.ObserveHeader(h)
		return
	}
	e.limits.observe(h, time.Now())
}

// Execute runs op with the executor's patterns, attempt after attempt,
// until op succeeds, an error is not retryable, retries run out, or ctx
// ends. ctx bounds the whole call, retries included.
//
// Every attempt goes through, in order: the circuit check (fail fast when
// open), a rate token, an in-flight permit, the breaker's admission, op,
// the permit's release, classification and recording. The backoff sleep
// between attempts holds nothing.
//
// An error from op that is not an *aierrors.Error is classified with
// [aierrors.ClassifyTransport]. If ctx is done when op returns, the outcome
// is never counted by the breaker and never retried. When retries run out
// the error unwraps to [ErrRetriesExhausted] and to the last attempt's
// error. Local rejections are *aierrors.Error values wrapping
// [ErrCircuitOpen], [ErrRateLimitWait] or [ErrQueueFull].
//
// op must not retain ctx after it returns.
func (e *ResilientExecutor) Execute(ctx context.Context, op func(ctx context.Context) error) error {
	if e != nil && e.hedge != nil {
		_, err := e.runCost(ctx, nil, func(ctx context.Context, _ int) error { return op(ctx) }, nil, 0)
		return err
	}
	return e.run(ctx, op, nil)
}

// Do is [ResilientExecutor.Execute] for an op that returns a value. On
// error it returns the zero T.
func Do[T any](ctx context.Context, e *ResilientExecutor, op func(ctx context.Context) (T, error)) (T, error) {
	v, _, err := doCost(ctx, e, 0, func(ctx context.Context) (T, int, error) {
		r, err := op(ctx)
		return r, 0, err
	})
	return v, err
}

// DoTokens is [Do] for a call that spends provider tokens, for the token
// limit (RateLimiterConfig.TokensPerMinute, and the token limit learned
// from the provider): each attempt reserves estimate tokens before it goes
// (waiting for them as for a rate token), a failed attempt gives them
// back, and the successful one replaces the estimate by the usage op
// returns (used < 0: keep the estimate). A good estimate is the input's
// token count plus the answer's max_tokens. estimate <= 0 makes it Do.
func DoTokens[T any](ctx context.Context, e *ResilientExecutor, estimate int, op func(ctx context.Context) (v T, used int, err error)) (T, error) {
	v, used, err := doCost(ctx, e, estimate, op)
	if err == nil && estimate > 0 && used >= 0 {
		e.SettleTokens(estimate, used)
	}
	return v, err
}

// doCost runs op with cost tokens per attempt, hedged when the executor
// hedges; it returns the winning attempt's value and usage.
func doCost[T any](ctx context.Context, e *ResilientExecutor, cost int, op func(ctx context.Context) (T, int, error)) (T, int, error) {
	var zero T
	if e != nil && e.hedge != nil {
		n := 1 + e.hedge.maxHedges
		vals := make([]T, n)
		used := make([]int, n)
		slot, err := e.runCost(ctx, nil, func(ctx context.Context, slot int) error {
			r, u, err := op(ctx)
			if err == nil {
				vals[slot], used[slot] = r, u
			}
			return err
		}, nil, cost)
		if err != nil {
			return zero, 0, err
		}
		return vals[slot], used[slot], nil
	}
	var v T
	var used int
	_, err := e.runCost(ctx, func(ctx context.Context) error {
		r, u, err := op(ctx)
		if err == nil {
			v, used = r, u
		}
		return err
	}, nil, nil, cost)
	if err != nil {
		return zero, 0, err
	}
	return v, used, nil
}

// SettleTokens replaces a reservation of estimate tokens, made by
// [DoTokens] or [DoStreamTokens], by the tokens really used (0: a refund;
// more than estimate: the difference is charged, and later attempts wait
// for it). DoTokens calls it itself; after DoStreamTokens call it once the
// stream has reported its usage (or with used 0 if it never does). With a
// shared token limiter ([WithSharedTokenLimiter]) only an excess is
// charged to the store: the store cannot refund.
func (e *ResilientExecutor) SettleTokens(estimate, used int) {
	if e == nil || estimate <= 0 {
		return
	}
	e.limiter.settleTokens(estimate, used)
	if used > estimate {
		e.shared.chargeTokens(used - estimate)
	}
}

// DoStream is [Do] for results that outlive op, such as a response
// stream. Errors returned by op are retried and classified exactly as in
// Do. On success the attempt stays open: its in-flight permit is kept and
// the breaker records nothing until done(finalErr) is called (nil =
// success, any other error is classified and counted like an op error).
// done is idempotent (the first call counts) and must be called exactly
// once by the caller, for example from the stream's Close. If ctx ends
// first, the breaker ignores the attempt; the permit is still held until
// done.
func DoStream[T any](ctx context.Context, e *ResilientExecutor, op func(ctx context.Context) (T, error)) (v T, done func(error), err error) {
	return DoStreamTokens(ctx, e, 0, op)
}

// DoStreamTokens is [DoStream] for a stream that spends provider tokens:
// each attempt reserves estimate tokens, as in [DoTokens], and a failed one
// gives them back. When the stream has reported its usage, call
// [ResilientExecutor.SettleTokens](estimate, used). Streams are never
// hedged.
func DoStreamTokens[T any](ctx context.Context, e *ResilientExecutor, estimate int, op func(ctx context.Context) (T, error)) (v T, done func(error), err error) {
	st := &streamState{}
	var val T
	_, err = e.runCost(ctx, func(ctx context.Context) error {
		r, err := op(ctx)
		if err == nil {
			val = r
		}
		return err
	}, nil, st, max(estimate, 0))
	if err != nil {
		var zero T
		return zero, nil, err
	}
	return val, st.done, nil
}

// run is the retry loop. st is nil except for DoStream; cost is the
// token estimate of each attempt (0: the token limit does not apply).
func (e *ResilientExecutor) run(ctx context.Context, op func(ctx context.Context) error, st *streamState) error {
	_, err := e.runCost(ctx, op, nil, st, 0)
	return err
}

// runCost is run; with hop (hedging on, st nil) attempts run hop and the
// winning slot is returned.
func (e *ResilientExecutor) runCost(ctx context.Context, op func(ctx context.Context) error, hop func(ctx context.Context, slot int) error, st *streamState, cost int) (int, error) {
	if e == nil {
		if err := ctx.Err(); err != nil {
			return 0, ctxError(ctx, "")
		}
		var opErr error
		if hop != nil {
			opErr = hop(ctx, 0)
		} else {
			opErr = op(ctx)
		}
		_, err := classify(opErr, "")
		if st != nil && err == nil {
			st.ctx = ctx
		}
		return 0, err
	}
	var bo *backoff.ExponentialBackOff // created at the first retry: the success path allocates nothing
	for attempt := 1; ; attempt++ {
		var err error
		var ae *aierrors.Error
		slot := 0
		switch {
		case st != nil:
			ae, err = e.attemptStream(ctx, attempt, op, st, cost)
		case hop != nil:
			slot, ae, err = e.hedgedAttempt(ctx, attempt, hop, cost)
		default:
			ae, err = e.attemptCost(ctx, attempt, op, cost)
		}
		if attempt > 1 {
			e.budget.releaseRetry()
		}
		if err == nil {
			return slot, nil
		}
		delay, retry, exhausted := e.nextDelay(ctx, attempt, ae, &bo)
		if retry && !e.budget.allows() {
			e.budget.denied.Add(1)
			e.reportBudget(ctx, attempt, false)
			return 0, &exhaustedError{attempts: attempt, last: err, budget: true}
		}
		if !retry {
			if exhausted {
				return 0, &exhaustedError{attempts: attempt, last: err}
			}
			return 0, err
		}
		if e.hooks.OnRetry != nil {
			e.hooks.OnRetry(RetryScheduled{Target: e.name, Attempt: attempt, Delay: delay, Err: err})
		}
		if e.logger != nil {
			attrs := []slog.Attr{slog.String("target", e.name), slog.Int("attempt", attempt),
				slog.String("code", ae.Code.Code()), slog.Duration("delay", delay)}
			if ae.RequestID != "" {
				attrs = append(attrs, slog.String("request_id", ae.RequestID))
			}
			e.logger.LogAttrs(ctx, slog.LevelInfo, "resilience: retry scheduled", attrs...)
		}
		if delay > 0 && !sleepCtx(ctx, delay) {
			return 0, ctxError(ctx, e.name)
		}
		if !e.budget.acquire() {
			e.reportBudget(ctx, attempt, false)
			return 0, &exhaustedError{attempts: attempt, last: err, budget: true}
		}
	}
}

// reportBudget tells the hooks and the log that a retry (or a hedge) was
// not sent because the retry budget was spent.
func (e *ResilientExecutor) reportBudget(ctx context.Context, attempt int, hedge bool) {
	inflight, budget, _ := e.budget.snapshot()
	if e.hooks.OnRetryBudget != nil {
		e.hooks.OnRetryBudget(RetryBudgetExhausted{Target: e.name, Attempt: attempt, Hedge: hedge, RetriesInFlight: inflight, Budget: budget})
	}
	if e.logger != nil {
		e.logger.LogAttrs(ctx, slog.LevelInfo, "resilience: retry budget exhausted, not retrying",
			slog.String("target", e.name), slog.Int("attempt", attempt), slog.Bool("hedge", hedge),
			slog.Int("retries_in_flight", inflight), slog.Int("budget", budget))
	}
}

// nextDelay decides whether to retry after attempt failed with ae, and
// how long to sleep first. exhausted reports that a retryable error is
// given up on because retries ran out (after at least one retry).
func (e *ResilientExecutor) nextDelay(ctx context.Context, attempt int, ae *aierrors.Error, bo **backoff.ExponentialBackOff) (delay time.Duration, retry, exhausted bool) {
	p := e.retry
	if p == nil || ctx.Err() != nil || ae == nil {
		return 0, false, false
	}
	// A circuit-open rejection is never retried on the same target: it
	// goes to the fallback chain. Flags otherwise come from the code (and
	// the provider's x-should-retry), never from a status list.
	if errors.Is(ae.Err, ErrCircuitOpen) || !ae.Retryable() {
		return 0, false, false
	}
	if attempt > p.maxRetries {
		return 0, false, attempt > 1
	}
	if *bo == nil {
		*bo = p.newBackOff()
	}
	delay = (*bo).NextBackOff()
	if delay < 0 || delay > p.maxDelay { // jitter can push past MaxInterval
		delay = p.maxDelay
	}
	if errors.Is(ae.Err, ErrAttemptTimeout) {
		// One slow attempt is not overload evidence: retry it at once (the
		// retry budget still caps retries when many attempts time out).
		delay = 0
	}
	if ra := ae.RetryAfter; ra > 0 {
		if ra > p.maxRetryAfter {
			return 0, false, false // not worth sleeping for: let the fallback chain move on
		}
		delay = max(delay, ra)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Add(delay).Before(dl) {
		return 0, false, false // the next attempt could not start before the deadline
	}
	return delay, true, false
}

// admit is steps 1 to 3 of an attempt: circuit check, rate token (local,
// then shared), in-flight permit. On nil the caller holds a permit, and
// the shared probe slot the ticket says.
func (e *ResilientExecutor) admit(ctx context.Context, cost int) (sharedTicket, *aierrors.Error) {
	if ctx.Err() != nil {
		return sharedTicket{}, ctxError(ctx, e.name)
	}
	if e.cool.active() {
		if ae := e.cool.reject(e.name, time.Now()); ae != nil {
			reportRejection(e.hooks, e.logger, e.name, ae)
			return sharedTicket{}, ae
		}
	}
	if e.limiter != nil || e.breaker.mayBeOpen() {
		// One clock read serves steps 1 and 2 (a clock read is a large part
		// of the success path's cost).
		now := time.Now()
		if ae := e.breaker.rejectIfOpen(now); ae != nil {
			reportRejection(e.hooks, e.logger, e.name, ae)
			return sharedTicket{}, ae
		}
		if ae := e.limiter.waitFor(ctx, now, e.shared.limiting()); ae != nil {
			return sharedTicket{}, ae
		}
		if cost > 0 {
			if ae := e.limiter.waitTokens(ctx, cost, e.shared.tokenLimiting()); ae != nil {
				return sharedTicket{}, ae
			}
		}
	}
	var tk sharedTicket
	if e.shared != nil {
		var ae *aierrors.Error
		if tk, ae = e.shared.admit(ctx, cost); ae != nil {
			e.limiter.settleTokens(cost, 0)
			return sharedTicket{}, ae
		}
	}
	if ae := e.bp.acquire(ctx); ae != nil {
		e.shared.release(ctx, tk)
		e.limiter.settleTokens(cost, 0)
		return sharedTicket{}, ae
	}
	return tk, nil
}

// attemptCost runs one attempt of Execute/Do, taking cost tokens of the
// token limit (0: none), given back when the attempt fails. On success it
// allocates nothing.
func (e *ResilientExecutor) attemptCost(ctx context.Context, n int, op func(ctx context.Context) error, cost int) (*aierrors.Error, error) {
	e.budget.startAttempt()
	defer e.budget.endAttempt()
	tk, rej := e.admit(ctx, cost)
	if rej != nil {
		return rej, rej
	}
	held := true
	defer func() {
		if held { // op panicked: give the permit back before the panic goes on
			e.bp.release()
		}
	}()
	var (
		err   error
		ae    *aierrors.Error
		start time.Time
	)
	run := func() outcome {
		e.attemptStart(n)
		if e.timing {
			start = time.Now()
		}
		opErr := op(ctx)
		held = false
		e.bp.release()
		ae, err = classify(opErr, e.name)
		if ae != nil {
			e.learnFrom(ctx, ae, cost)
		}
		return e.breaker.outcomeOf(ctx, ae)
	}
	if e.breaker == nil {
		run()
	} else if !e.breaker.execute(run) {
		held = false
		e.bp.release()
		e.shared.release(ctx, tk)
		e.limiter.settleTokens(cost, 0)
		rej := e.breaker.openError(time.Now())
		reportRejection(e.hooks, e.logger, e.name, rej)
		return rej, rej
	}
	if e.shared != nil {
		e.shared.after(ctx, tk, ae, e.breaker)
	}
	if e.timing {
		e.attemptEnd(ctx, n, err, ae, time.Since(start))
	}
	return ae, err
}

// attemptStream is attempt for DoStream: on success the permit and the
// breaker's admission stay with st until st.done.
func (e *ResilientExecutor) attemptStream(ctx context.Context, n int, op func(ctx context.Context) error, st *streamState, cost int) (*aierrors.Error, error) {
	e.budget.startAttempt()
	defer e.budget.endAttempt()
	tk, rej := e.admit(ctx, cost)
	if rej != nil {
		return rej, rej
	}
	var h *heldAdmission
	if e.breaker != nil {
		if h, rej = e.breaker.hold(ctx); rej != nil {
			e.bp.release()
			e.shared.release(ctx, tk)
			e.limiter.settleTokens(cost, 0)
			reportRejection(e.hooks, e.logger, e.name, rej)
			return rej, rej
		}
	}
	e.attemptStart(n)
	start := time.Now()
	held := true
	defer func() {
		if held { // op panicked
			e.bp.release()
			if h != nil {
				h.record(outcomeIgnored)
			}
		}
	}()
	opErr := op(ctx)
	held = false
	if opErr == nil {
		*st = streamState{e: e, ctx: ctx, attempt: n, start: start, held: h, permit: true, ticket: tk}
		return nil, nil
	}
	e.bp.release()
	ae, err := classify(opErr, e.name)
	e.learnFrom(ctx, ae, cost)
	o := e.breaker.outcomeOf(ctx, ae)
	if h != nil {
		h.record(o)
	}
	if e.shared != nil {
		e.shared.after(ctx, tk, ae, e.breaker)
	}
	if e.timing {
		e.attemptEnd(ctx, n, err, ae, time.Since(start))
	}
	return ae, err
}

// streamState is a DoStream attempt left open after op succeeded.
type streamState struct {
	e        *ResilientExecutor
	ctx      context.Context
	attempt  int
	start    time.Time
	held     *heldAdmission
	permit   bool
	ticket   sharedTicket
	finished atomic.Bool
}

// done closes the attempt: the permit is released and finalErr recorded.
func (s *streamState) done(finalErr error) {
	if !s.finished.CompareAndSwap(false, true) || s.e == nil {
		return
	}
	e := s.e
	if s.permit {
		e.bp.release()
	}
	ae, err := classify(finalErr, e.name)
	if ae != nil {
		e.learnFrom(s.ctx, ae, 0)
	}
	if s.held != nil {
		s.held.record(e.breaker.outcomeOf(s.ctx, ae))
	}
	if e.shared != nil {
		e.shared.after(s.ctx, s.ticket, ae, e.breaker)
	}
	if e.timing {
		e.attemptEnd(s.ctx, s.attempt, err, ae, time.Since(s.start))
	}
}

// learnFrom feeds a failed attempt's rate-limit information to the limiter
// (a 429 with a wait pauses the bucket until then), starts a cooldown when
// the answer calls for one, and gives back the attempt's cost tokens.
func (e *ResilientExecutor) learnFrom(ctx context.Context, ae *aierrors.Error, cost int) {
	if cost > 0 {
		e.limiter.settleTokens(cost, 0)
	}
	if e.limiter != nil && ae.Code == aierrors.RateLimited && ae.RetryAfter > 0 && !errors.Is(ae.Err, ErrRateLimitWait) {
		e.limiter.Pause(ae.RetryAfter)
	}
	if e.cool != nil && ctx.Err() == nil {
		if d := e.cool.observe(ae, time.Now()); d > 0 && e.logger != nil {
			e.logger.LogAttrs(ctx, slog.LevelWarn, "resilience: target cooling down",
				slog.String("target", e.name), slog.String("code", ae.Code.Code()), slog.Duration("for", d))
		}
	}
}

func (e *ResilientExecutor) attemptStart(n int) {
	if e.hooks.OnAttemptStart != nil {
		e.hooks.OnAttemptStart(AttemptStart{Target: e.name, Attempt: n})
	}
}

func (e *ResilientExecutor) attemptEnd(ctx context.Context, n int, err error, ae *aierrors.Error, d time.Duration) {
	if e.hooks.OnAttemptEnd != nil {
		e.hooks.OnAttemptEnd(AttemptEnd{Target: e.name, Attempt: n, Err: err, Duration: d})
	}
	if e.logger != nil && e.logger.Enabled(ctx, slog.LevelDebug) {
		code, requestID := "ok", ""
		if ae != nil {
			code, requestID = ae.Code.Code(), ae.RequestID
		}
		attrs := []slog.Attr{slog.String("target", e.name), slog.Int("attempt", n),
			slog.String("code", code), slog.Duration("duration", d)}
		if requestID != "" {
			attrs = append(attrs, slog.String("request_id", requestID))
		}
		e.logger.LogAttrs(ctx, slog.LevelDebug, "resilience: attempt", attrs...)
	}
}
