package resilience

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// A provider's limits belong to an API key, not to a process: twenty
// replicas each limited to 10 requests a second send 200 into a key that
// allows 10, and each replica has to find a dead provider on its own. The
// interfaces below let the replicas of a target share one rate limit
// ([SharedLimiter]) and one circuit and pause state ([SharedState]), kept in
// a store every replica reaches, such as Redis (the nested module
// github.com/ailib-go/ailib/resilience/redisstore) or, within one process,
// [MemoryLimiter] and [MemoryState]. See "Scale-out" in the package doc.

// Defaults of the shared limiter and state.
const (
	// DefaultSharedTimeout bounds each operation on a shared limiter or
	// state (see [WithSharedTimeout]).
	DefaultSharedTimeout = 50 * time.Millisecond
	// DefaultSharedMaxWait is the longest wait for a shared rate token an
	// attempt accepts when its ctx has no deadline (or a later one).
	DefaultSharedMaxWait = 60 * time.Second
	// DefaultQuotaPause is how long the replicas of a target stop calling
	// it after one of them saw quota_exhausted without a Retry-After.
	DefaultQuotaPause = 60 * time.Second
	// DefaultProbeTimeout is how long a shared half_open phase waits for
	// the report of a probe ([SharedState]) before it ends on its own.
	DefaultProbeTimeout = 60 * time.Second
)

// Between checks of a store that failed, the executor waits from
// sharedRecheckMin, doubling to sharedRecheckMax.
const (
	sharedRecheckMin = 100 * time.Millisecond
	sharedRecheckMax = 2 * time.Second
)

// ErrTargetPaused is the sentinel of a local rejection because the target
// is paused in the shared state after quota_exhausted (by this replica or
// another): code QuotaExhausted (fallbackable, not retryable), RetryAfter
// the pause left.
var ErrTargetPaused = errors.New("resilience: target paused")

// SharedLimiter is a rate limit shared by every executor that uses it with
// the same key, in one process or many (the limit itself is the
// limiter's: its rate and burst). Implementations: [MemoryLimiter] in
// process, redisstore.Limiter (a GCRA in Redis) across processes.
//
// An implementation must be safe for concurrent use.
type SharedLimiter interface {
	// Reserve takes cost units of the limit named key, possibly ahead of
	// time, and returns how long the caller must wait before it goes (0:
	// at once). When that wait would be longer than maxWait, it takes
	// nothing and returns ok false with the wait needed. An error means
	// the limit could not be read; the caller goes on without it.
	Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (wait time.Duration, ok bool, err error)
}

// SharedState is circuit and pause state shared by the replicas of a
// target (the key), so that one replica's findings protect the others:
//
//   - "open for d": a replica whose breaker opened publishes it with Open;
//     every replica then rejects the target at its next attempt, without
//     reaching the provider, until d has passed;
//   - half_open: when the open period ends, at most maxProbes attempts
//     across all replicas (Admit's Probe) may go; the first probe's report
//     closes the circuit everywhere (Close, on success) or opens it again
//     (Open, on a counted failure); Release gives back the slot of an
//     attempt that says nothing about the provider. The half_open phase
//     ends on its own (closed) when no probe reports for a while
//     ([DefaultProbeTimeout] in the implementations here);
//   - "paused for d": after a provider's 429 with Retry-After, or
//     quota_exhausted, no replica calls the target until d has passed
//     (Pause).
//
// Durations are relative to the store's clock, so replicas need no
// synchronized clocks. Nothing is held across a provider call: every
// method is one short operation. Implementations: [MemoryState] in
// process, redisstore.State across processes.
//
// An implementation must be safe for concurrent use.
type SharedState interface {
	// Admit reads key's state for an attempt about to start. When the
	// circuit is half_open it takes one of maxProbes probe slots (Probe),
	// or reports them all taken (ProbesFull). When the circuit is open or
	// the target paused, it takes nothing.
	Admit(ctx context.Context, key string, maxProbes int) (SharedAdmission, error)
	// Open opens key's circuit for d (never shortening a longer open
	// period) and starts a new half_open phase after it, with every probe
	// slot free.
	Open(ctx context.Context, key string, d time.Duration) error
	// Close closes key's circuit: no open period, no half_open phase.
	Close(ctx context.Context, key string) error
	// Release gives back a probe slot taken by Admit.
	Release(ctx context.Context, key string) error
	// Pause stops every replica from calling key for d (never shortening
	// a longer pause), for the reason code (RateLimited or QuotaExhausted).
	Pause(ctx context.Context, key string, d time.Duration, code aierrors.StandardErrorCode) error
}

// SharedAdmission is what [SharedState.Admit] found.
type SharedAdmission struct {
	OpenFor    time.Duration              // > 0: the circuit is open for this long; the attempt is rejected
	ProbesFull bool                       // half_open with every probe slot taken; the attempt is rejected
	Probe      bool                       // the attempt took a probe slot: report its outcome (Close, Open or Release)
	PausedFor  time.Duration              // > 0: the target is paused for this long; nothing was taken
	PauseCode  aierrors.StandardErrorCode // why it is paused: RateLimited or QuotaExhausted
}

// SharedStateChange reports that a target's shared store (limiter or
// state) failed, so that the target now runs on its local limiter and
// breaker alone (Degraded), or that it answers again (not Degraded).
type SharedStateChange struct {
	Target   string
	Degraded bool
	Err      error // the failure, when Degraded
}

// sharedOptions are the options of the shared limiter and state.
type sharedOptions struct {
	limiter  SharedLimiter
	limKey   string
	tokens   SharedLimiter // WithSharedTokenLimiter
	tokKey   string
	state    SharedState
	stateKey string
	timeout  time.Duration
}

func (o *options) sharedOpts() *sharedOptions {
	if o.shared == nil {
		o.shared = &sharedOptions{}
	}
	return o.shared
}

// WithSharedLimiter makes every attempt of the executor (retries included)
// take one unit from l under key, before the in-flight permit, waiting as
// long as l says. key "" means the target's name ([WithName]), so
// executors of the same target in every replica share one limit; give each
// target its own key. Only [NewResilientExecutor] uses it.
//
// While the store answers, l stands in for the caller's own bucket
// (RateLimiterConfig.RequestsPerSecond and Burst), which then applies only
// while the store is degraded: set it to the share of the budget a replica
// may use on its own (the budget divided by the replicas, say), or leave
// it 0 to go unlimited then. The limit learned from the provider's headers
// and its pauses apply in every case.
//
// A wait that cannot end before the ctx deadline (or within
// [DefaultSharedMaxWait]) is not started: the attempt fails at once with a
// RateLimited error wrapping [ErrRateLimitWait]. A wait cut short by ctx
// loses its unit (it is not given back). When l fails or is slower than
// [WithSharedTimeout], the attempt goes on without it (see
// [WithSharedState] on degradation).
func WithSharedLimiter(l SharedLimiter, key string) Option {
	return optionFunc(func(o *options) {
		so := o.sharedOpts()
		so.limiter, so.limKey = l, key
	})
}

// WithSharedTokenLimiter makes every attempt that says what it will spend
// ([DoTokens], [DoStreamTokens]; the client's calls) take its token
// estimate from l under key, a limit of provider tokens shared by every
// replica (key "" means the target's name followed by "/tokens"; give it
// the limit of the API key, such as redisstore.PerMinute(30000)). While
// the store answers, it stands in for RateLimiterConfig.TokensPerMinute,
// which applies only while the store is degraded; the token limit learned
// from the provider's headers applies in every case. When an answer used
// more tokens than estimated, the excess is charged to l (without
// waiting); an overestimate is not refunded ([SharedLimiter] has no
// refund), so estimate close to the usage. The store's own burst is not
// known here, so a reservation bigger than it is not clamped: it waits
// (estimate - burst) intervals, a finite time. Waits, deadlines and
// degradation are as for [WithSharedLimiter].
func WithSharedTokenLimiter(l SharedLimiter, key string) Option {
	return optionFunc(func(o *options) {
		so := o.sharedOpts()
		so.tokens, so.tokKey = l, key
	})
}

// WithSharedState shares the target's circuit and provider pauses with
// every executor that uses s with the same key (key "" means the target's
// name). At each attempt the executor reads the shared state (one
// operation on s): an open circuit fails the attempt at once with
// [ErrCircuitOpen], as a local one does; while half_open, at most
// HalfOpenMaxRequests probes go across all replicas; a pause is waited for
// like a provider pause (rejected with [ErrRateLimitWait] when it cannot
// end before the deadline), except after quota_exhausted, which rejects at
// once with [ErrTargetPaused] so a fallback chain moves on. The executor
// publishes its breaker opening, its probes' outcomes, and each 429 with
// Retry-After and quota_exhausted answer.
//
// # Degradation
//
// Every operation on the store (shared limiter or state) is bounded by
// [WithSharedTimeout]. When one fails or times out, the executor marks
// the store degraded ([SignalsSnapshot].SharedStateDegraded, the
// OnSharedState hook, a Warn log), and its attempts run on the local
// limiter and breaker alone. A store failure never fails a call by itself.
// The store is tried again by one attempt after a pause that grows from
// 100ms to 2s; when it answers, sharing resumes (the hook reports it). No
// goroutine runs in the background.
func WithSharedState(s SharedState, key string) Option {
	return optionFunc(func(o *options) {
		so := o.sharedOpts()
		so.state, so.stateKey = s, key
	})
}

// WithSharedTimeout bounds each operation on the shared limiter and state;
// 0 or less means [DefaultSharedTimeout] (50ms). It should be well above
// the store's usual latency (a loopback Redis answers in ~0.1ms).
func WithSharedTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.sharedOpts().timeout = d })
}

// sharedTicket is what an attempt took from the shared state: a half_open
// probe slot whose outcome it must report.
type sharedTicket struct{ probe bool }

// sharedGate is an executor's view of its shared limiter and state, with
// the store's health. A nil *sharedGate means no sharing.
type sharedGate struct {
	target    string
	hooks     Hooks
	logger    *slog.Logger
	timeout   time.Duration
	limiter   SharedLimiter // nil: none
	limKey    string
	tokens    SharedLimiter // nil: no shared token limit
	tokKey    string
	state     SharedState // nil: none
	stateKey  string
	maxProbes int
	cooldown  time.Duration // of a failed probe
	maxPause  time.Duration // cap of a published rate-limit pause

	// Health of the store. degraded is read on every attempt; retryAt
	// (Unix ns) is when a degraded store may be tried again, by the one
	// attempt that sets checking.
	degraded atomic.Bool
	checking atomic.Bool
	retryAt  atomic.Int64
	mu       sync.Mutex // guards lastErr and failures
	lastErr  error
	failures int

	// What the store said last (local Unix ns; 0 = not), for Signals and
	// Preflight, and the local open period last published.
	openUntil   atomic.Int64
	pausedUntil atomic.Int64
	pauseCode   atomic.Int32
	published   atomic.Int64
}

func newSharedGate(o options, cfg ResilientConfig) *sharedGate {
	so := o.shared
	if so == nil || (so.limiter == nil && so.state == nil && so.tokens == nil) {
		return nil
	}
	g := &sharedGate{
		target:    o.name,
		hooks:     o.hooks,
		logger:    o.logger,
		timeout:   so.timeout,
		limiter:   so.limiter,
		limKey:    so.limKey,
		tokens:    so.tokens,
		tokKey:    so.tokKey,
		state:     so.state,
		stateKey:  so.stateKey,
		maxProbes: DefaultHalfOpenMaxRequests,
		cooldown:  DefaultCooldown,
		maxPause:  DefaultMaxPause,
	}
	if g.timeout <= 0 {
		g.timeout = DefaultSharedTimeout
	}
	if g.limKey == "" {
		g.limKey = o.name
	}
	if g.stateKey == "" {
		g.stateKey = o.name
	}
	if g.tokKey == "" {
		g.tokKey = o.name + "/tokens"
	}
	if cb := cfg.CircuitBreaker; cb != nil {
		g.maxProbes = orInt(cb.HalfOpenMaxRequests, DefaultHalfOpenMaxRequests)
		g.cooldown = orDuration(cb.Cooldown, DefaultCooldown)
	}
	if rl := cfg.RateLimiter; rl != nil {
		g.maxPause = orDuration(rl.MaxPause, DefaultMaxPause)
	}
	return g
}

// limiting reports whether the shared limiter stands in for the caller's
// local bucket: configured, and the store not degraded.
func (g *sharedGate) limiting() bool {
	return g != nil && g.limiter != nil && !g.degraded.Load()
}

// tokenLimiting reports whether the shared token limiter stands in for the
// caller's local token bucket.
func (g *sharedGate) tokenLimiting() bool {
	return g != nil && g.tokens != nil && !g.degraded.Load()
}

// chargeTokens takes n more tokens from the shared token limit, without
// waiting: an answer used more than its estimate.
func (g *sharedGate) chargeTokens(n int) {
	if g == nil || g.tokens == nil || n <= 0 {
		return
	}
	g.publish(context.Background(), func(c context.Context) error {
		_, _, err := g.tokens.Reserve(c, g.tokKey, n, 24*time.Hour)
		return err
	})
}

// use reports whether an operation may go to the store now; probing is
// true for the one attempt that checks a degraded store.
func (g *sharedGate) use() (ok, probing bool) {
	if !g.degraded.Load() {
		return true, false
	}
	if time.Now().UnixNano() < g.retryAt.Load() {
		return false, false
	}
	if g.checking.CompareAndSwap(false, true) {
		return true, true
	}
	return false, false
}

// succeeded records a store operation that answered.
func (g *sharedGate) succeeded(probing bool) {
	if !probing {
		return // a healthy store stays healthy; a call that raced a failure proves little
	}
	g.mu.Lock()
	was := g.degraded.Load()
	g.degraded.Store(false)
	g.failures, g.lastErr = 0, nil
	g.mu.Unlock()
	g.checking.Store(false)
	if was {
		g.report(false, nil)
	}
}

// failed records a store operation that failed or timed out.
func (g *sharedGate) failed(err error, probing bool) {
	g.mu.Lock()
	was := g.degraded.Load()
	if was && !probing {
		g.mu.Unlock()
		return // started before the store was marked degraded
	}
	g.failures = min(g.failures+1, 16)
	g.lastErr = err
	g.retryAt.Store(time.Now().Add(min(sharedRecheckMin<<(g.failures-1), sharedRecheckMax)).UnixNano())
	g.degraded.Store(true)
	g.mu.Unlock()
	if probing {
		g.checking.Store(false)
	}
	if !was {
		g.report(true, err)
	}
}

// settled ends a probing operation that told nothing (the caller's ctx
// ended).
func (g *sharedGate) settled(probing bool) {
	if probing {
		g.checking.Store(false)
	}
}

// done records the result of a store operation run for an attempt with
// ctx; it reports whether the store answered.
func (g *sharedGate) done(ctx context.Context, err error, probing bool) bool {
	switch {
	case err == nil:
		g.succeeded(probing)
		return true
	case callerDone(ctx):
		g.settled(probing)
	default:
		g.failed(err, probing)
	}
	return false
}

func (g *sharedGate) report(degraded bool, err error) {
	if g.logger != nil {
		if degraded {
			g.logger.LogAttrs(context.Background(), slog.LevelWarn, "resilience: shared state unreachable, running on local state",
				slog.String("target", g.target), slog.String("error", err.Error()))
		} else {
			g.logger.LogAttrs(context.Background(), slog.LevelInfo, "resilience: shared state reachable again",
				slog.String("target", g.target))
		}
	}
	if g.hooks.OnSharedState != nil {
		g.hooks.OnSharedState(SharedStateChange{Target: g.target, Degraded: degraded, Err: err})
	}
}

// admit reads the shared state and takes a shared rate unit: the shared
// part of steps 1 and 2. On a rejection nothing is held.
func (g *sharedGate) admit(ctx context.Context, cost int) (sharedTicket, *aierrors.Error) {
	var t sharedTicket
	if g == nil {
		return t, nil
	}
	for g.state != nil {
		a, answered, ae := g.admitState(ctx)
		if ae != nil {
			return t, ae
		}
		if !answered {
			break
		}
		if a.OpenFor > 0 || a.ProbesFull {
			msg := "circuit open (shared)"
			if a.OpenFor <= 0 {
				msg = "circuit half_open (shared): every probe slot taken"
			}
			return t, g.reject(rejection(g.target, aierrors.Overloaded, ErrCircuitOpen, max(a.OpenFor, 0), msg))
		}
		if a.PausedFor > 0 {
			if a.PauseCode == aierrors.QuotaExhausted {
				return t, g.reject(rejection(g.target, aierrors.QuotaExhausted, ErrTargetPaused, a.PausedFor, "target paused (shared): quota exhausted"))
			}
			if a.PausedFor > sharedMaxWait(ctx) {
				return t, g.reject(rejection(g.target, aierrors.RateLimited, ErrRateLimitWait, a.PausedFor, "shared provider pause exceeds the deadline"))
			}
			if ae := g.sleep(ctx, a.PausedFor); ae != nil {
				return t, ae
			}
			continue // the pause may have been extended meanwhile
		}
		t.probe = a.Probe
		break
	}
	if g.limiter != nil {
		if ae := g.reserve(ctx, g.limiter, g.limKey, 1); ae != nil {
			g.release(ctx, t)
			return sharedTicket{}, ae
		}
	}
	if g.tokens != nil && cost > 0 {
		if ae := g.reserve(ctx, g.tokens, g.tokKey, cost); ae != nil {
			g.release(ctx, t)
			return sharedTicket{}, ae
		}
	}
	return t, nil
}

// admitState runs Admit on the store; answered is false when the store was
// skipped (degraded) or failed.
func (g *sharedGate) admitState(ctx context.Context) (a SharedAdmission, answered bool, ae *aierrors.Error) {
	ok, probing := g.use()
	if !ok {
		return a, false, nil
	}
	opCtx, cancel := context.WithTimeout(ctx, g.timeout)
	a, err := g.state.Admit(opCtx, g.stateKey, g.maxProbes)
	cancel()
	if !g.done(ctx, err, probing) {
		if callerDone(ctx) {
			return a, false, g.ctxError(ctx)
		}
		return SharedAdmission{}, false, nil
	}
	now := time.Now()
	g.openUntil.Store(untilNs(now, a.OpenFor))
	g.pausedUntil.Store(untilNs(now, a.PausedFor))
	g.pauseCode.Store(int32(a.PauseCode))
	return a, true, nil
}

// reserve takes cost units of the shared limit l under key, waiting for
// them.
func (g *sharedGate) reserve(ctx context.Context, l SharedLimiter, key string, cost int) *aierrors.Error {
	ok, probing := g.use()
	if !ok {
		return nil
	}
	maxWait := sharedMaxWait(ctx)
	opCtx, cancel := context.WithTimeout(ctx, g.timeout)
	wait, taken, err := l.Reserve(opCtx, key, cost, maxWait)
	cancel()
	if !g.done(ctx, err, probing) {
		if callerDone(ctx) {
			return g.ctxError(ctx)
		}
		return nil
	}
	if !taken {
		return g.reject(rejection(g.target, aierrors.RateLimited, ErrRateLimitWait, wait, "shared rate limit wait exceeds the deadline"))
	}
	if wait > 0 {
		return g.sleep(ctx, wait)
	}
	return nil
}

// after reports an attempt's outcome to the shared state: a pause the
// provider asked for, the local circuit opening, the probe's result.
func (g *sharedGate) after(ctx context.Context, t sharedTicket, ae *aierrors.Error, b *CircuitBreaker) {
	if g == nil || g.state == nil || (ae == nil && !t.probe) {
		return
	}
	o := healthOutcome(ctx, ae, b)
	if ae != nil {
		g.publishPause(ctx, ae)
	}
	opened := false
	if o == outcomeFailure && b != nil {
		now := time.Now().UnixNano()
		if u := b.openUntil.Load(); u > now && g.published.Swap(u) != u {
			opened = true
			d := time.Duration(u - now)
			g.publish(ctx, func(c context.Context) error { return g.state.Open(c, g.stateKey, d) })
			g.openUntil.Store(u)
		}
	}
	if !t.probe || opened {
		return
	}
	switch o {
	case outcomeSuccess:
		g.publish(ctx, func(c context.Context) error { return g.state.Close(c, g.stateKey) })
		g.openUntil.Store(0)
	case outcomeFailure:
		g.publish(ctx, func(c context.Context) error { return g.state.Open(c, g.stateKey, g.cooldown) })
		g.openUntil.Store(untilNs(time.Now(), g.cooldown))
	default:
		g.publish(ctx, func(c context.Context) error { return g.state.Release(c, g.stateKey) })
	}
}

// release gives back a probe slot of an attempt that did not run.
func (g *sharedGate) release(ctx context.Context, t sharedTicket) {
	if g == nil || !t.probe {
		return
	}
	g.publish(ctx, func(c context.Context) error { return g.state.Release(c, g.stateKey) })
}

// publishPause shares a provider's request to wait: a 429 with a wait, or
// quota_exhausted.
func (g *sharedGate) publishPause(ctx context.Context, ae *aierrors.Error) {
	if errors.Is(ae.Err, ErrRateLimitWait) || errors.Is(ae.Err, ErrTargetPaused) ||
		errors.Is(ae.Err, ErrCircuitOpen) || errors.Is(ae.Err, ErrQueueFull) {
		return // a local rejection, not the provider's answer
	}
	var d time.Duration
	switch {
	case ae.Code == aierrors.RateLimited && ae.RetryAfter > 0:
		d = min(ae.RetryAfter, g.maxPause)
	case ae.Code == aierrors.QuotaExhausted:
		d = DefaultQuotaPause
		if ae.RetryAfter > 0 {
			d = min(ae.RetryAfter, max(g.maxPause, DefaultQuotaPause))
		}
	default:
		return
	}
	code := ae.Code
	g.publish(ctx, func(c context.Context) error { return g.state.Pause(c, g.stateKey, d, code) })
	now := time.Now()
	if u := untilNs(now, d); u > g.pausedUntil.Load() {
		g.pausedUntil.Store(u)
		g.pauseCode.Store(int32(code))
	}
}

// publish runs one write to the store, bounded by the timeout and not cut
// short by the caller's ctx ending (what it reports is still true).
func (g *sharedGate) publish(ctx context.Context, op func(context.Context) error) {
	ok, probing := g.use()
	if !ok {
		return
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	err := op(opCtx)
	cancel()
	g.done(context.Background(), err, probing) // any failure is the store's: the caller's ctx was not used
}

func (g *sharedGate) reject(ae *aierrors.Error) *aierrors.Error {
	reportRejection(g.hooks, g.logger, g.target, ae)
	return ae
}

// sleep waits d or until ctx is done, reporting the wait first.
func (g *sharedGate) sleep(ctx context.Context, d time.Duration) *aierrors.Error {
	return limiterSleep(ctx, g.hooks, g.logger, g.target, "resilience: shared rate limiter wait", d)
}

// preflight is the shared part of Preflight, from what the store said
// last: no I/O.
func (g *sharedGate) preflight(now time.Time) *aierrors.Error {
	if g == nil {
		return nil
	}
	n := now.UnixNano()
	if u := g.openUntil.Load(); u > n {
		return rejection(g.target, aierrors.Overloaded, ErrCircuitOpen, time.Duration(u-n), "circuit open (shared)")
	}
	if u := g.pausedUntil.Load(); u > n {
		if aierrors.StandardErrorCode(g.pauseCode.Load()) == aierrors.QuotaExhausted {
			return rejection(g.target, aierrors.QuotaExhausted, ErrTargetPaused, time.Duration(u-n), "target paused (shared): quota exhausted")
		}
		return rejection(g.target, aierrors.RateLimited, ErrRateLimitWait, time.Duration(u-n), "shared provider pause")
	}
	return nil
}

// signals fills the shared part of a snapshot.
func (g *sharedGate) signals(s *SignalsSnapshot, now time.Time) {
	if g == nil {
		return
	}
	s.Shared = true
	s.SharedStateDegraded = g.degraded.Load()
	if s.SharedStateDegraded {
		g.mu.Lock()
		if g.lastErr != nil {
			s.SharedError = g.lastErr.Error()
		}
		g.mu.Unlock()
	}
	n := now.UnixNano()
	if u := g.openUntil.Load(); u > n {
		s.SharedOpenFor = time.Duration(u - n)
	}
	if u := g.pausedUntil.Load(); u > n {
		s.SharedPausedFor = time.Duration(u - n)
	}
}

// callerDone reports whether the caller's ctx has ended, or is about to:
// its deadline has passed but its timer has not fired yet (a store client
// that sets socket deadlines from ctx can fail first). A store operation
// that fails then says nothing of the store.
func callerDone(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// ctxError is the error of an attempt whose ctx ended during a store
// operation (waiting for its deadline's timer if it has not fired yet).
func (g *sharedGate) ctxError(ctx context.Context) *aierrors.Error {
	if ctx.Err() == nil {
		<-ctx.Done() // the deadline has passed: the timer fires at once
	}
	return ctxError(ctx, g.target)
}

// healthOutcome is how an attempt's result counts for the shared circuit:
// as for the local breaker (b's settings, or the defaults without one).
func healthOutcome(ctx context.Context, ae *aierrors.Error, b *CircuitBreaker) outcome {
	if ctx.Err() != nil {
		return outcomeIgnored
	}
	if ae == nil {
		return outcomeSuccess
	}
	if b == nil {
		b = &CircuitBreaker{}
	}
	return b.failureOutcome(ae)
}

// sharedMaxWait is the longest shared wait an attempt with ctx accepts: one
// that ends before the deadline, at most DefaultSharedMaxWait.
func sharedMaxWait(ctx context.Context) time.Duration {
	d := DefaultSharedMaxWait
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)-1)
	}
	return max(d, 0)
}

func untilNs(now time.Time, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return now.Add(d).UnixNano()
}
