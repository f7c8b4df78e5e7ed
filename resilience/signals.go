package resilience

import (
	"math"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// SignalsSnapshot is how one target is doing right now. Reading it has no
// side effects: no token, permit or probe slot is taken.
type SignalsSnapshot struct {
	Target              string
	CircuitState        CircuitState
	ConsecutiveFailures int           // counted failures since the last success or state change
	CooldownRemaining   time.Duration // until open turns half_open; 0 when not open
	CurrentInflight     int           // attempts holding a permit (streams until done)
	MaxInflight         int           // 0 when unlimited
	RateRemaining       float64       // tokens an attempt could use now (the fewer of both buckets); +Inf when unlimited
	RateLimit           float64       // configured requests per second; +Inf when unlimited
	RatePausedFor       time.Duration // what is left of a pause the provider asked for
	Provider            ProviderLimits

	// Added with the failure-rate rule and the learning limiter.

	FailureRate      float64 // counted failures / counted attempts in the breaker's window; 0 when none or the rule is off
	WindowAttempts   int     // counted attempts in the breaker's window
	LearnedRateLimit float64 // requests per second learned from the provider's headers; +Inf when none is in force
	LearnedBurst     int     // the provider's request limit, the learned bucket's size; 0 when none is in force

	// Added with the shared limiter and state (WithSharedLimiter,
	// WithSharedState). SharedOpenFor and SharedPausedFor are what the
	// store said at this executor's last attempt.

	Shared              bool          // a shared limiter or state is configured
	SharedStateDegraded bool          // the store failed or was slow: the target runs on local state until it answers again
	SharedError         string        // the store's last error while degraded; "" otherwise
	SharedOpenFor       time.Duration // the shared circuit is open for this long; 0 when not
	SharedPausedFor     time.Duration // the shared pause left; 0 when not paused

	// Added with the retry budget, token limits, cooldowns and hedging.

	RetriesInFlight  int   // retries and hedges in flight (see RetryConfig.BudgetPercent)
	RetryBudget      int   // retries and hedges the budget allows now; 0 when there is no budget
	RetriesRefused   int64 // retries and hedges the budget refused since the executor was built
	AttemptsInFlight int   // attempts in flight, from admission until op returns (counted only with a budget)

	TokenLimit        float64 // the caller's tokens per minute; +Inf when unlimited
	TokensRemaining   float64 // tokens a call could reserve now (the fewer of both token buckets); +Inf when unlimited
	LearnedTokenLimit float64 // tokens per minute learned from the provider's headers; +Inf when none is in force
	LearnedTokenBurst int     // the provider's token limit, the learned token bucket's size; 0 when none

	CoolingDownFor    time.Duration              // the target is skipped for this long (see CooldownConfig); 0 when not
	CoolingDownReason aierrors.StandardErrorCode // the code of the answer that started the cooldown; 0 when none
	HedgeDelay        time.Duration              // the current hedge delay; 0 when hedging is off
}

// Signals returns the target's live state, computed from the clock.
func (e *ResilientExecutor) Signals() SignalsSnapshot {
	if e == nil {
		return SignalsSnapshot{RateRemaining: math.Inf(1), RateLimit: math.Inf(1), LearnedRateLimit: math.Inf(1), Provider: unknownLimits(),
			TokenLimit: math.Inf(1), TokensRemaining: math.Inf(1), LearnedTokenLimit: math.Inf(1)}
	}
	now := time.Now()
	s := SignalsSnapshot{
		Target:          e.name,
		CurrentInflight: e.bp.Inflight(),
		MaxInflight:     e.bp.MaxInflight(),
		RateRemaining:   e.limiter.tokensAt(now),
		RateLimit:       e.limiter.Limit(),
		RatePausedFor:   e.limiter.pausedAt(now),
		Provider:        e.limits.get(),
	}
	s.LearnedRateLimit, s.LearnedBurst = math.Inf(1), 0
	if e.limiter != nil {
		s.LearnedRateLimit, s.LearnedBurst, _ = e.limiter.learned.state(now)
	}
	if b := e.breaker; b != nil {
		s.CircuitState = b.State()
		s.ConsecutiveFailures = b.ConsecutiveFailures()
		s.FailureRate, s.WindowAttempts = b.failureRateAt(now)
		if s.CircuitState == StateOpen {
			s.CooldownRemaining = b.cooldownAt(now)
		}
	}
	e.shared.signals(&s, now)
	if b := e.budget; b != nil {
		s.RetriesInFlight, s.RetryBudget, s.RetriesRefused = b.snapshot()
		s.AttemptsInFlight = int(b.attempts.Load())
	}
	s.TokenLimit, _ = e.limiter.TokenLimit()
	s.TokensRemaining = e.limiter.TokensAvailable()
	s.LearnedTokenLimit, s.LearnedTokenBurst = e.limiter.LearnedTokenLimit()
	s.CoolingDownFor, s.CoolingDownReason = e.cool.left(now)
	if e.hedge != nil {
		s.HedgeDelay = e.hedge.currentDelay()
	}
	return s
}

// PreflightChecker is an admission gate checked without side effects.
// Preflight returns nil when a call would be admitted now, or the
// *aierrors.Error it would be rejected with: its code says whether to retry
// or fall back, and RetryAfter when (0 when not known).
// [ResilientExecutor], [CircuitBreaker], [RateLimiter] and [Backpressure]
// implement it.
type PreflightChecker interface {
	Preflight() *aierrors.Error
}

var (
	_ PreflightChecker = (*ResilientExecutor)(nil)
	_ PreflightChecker = (*CircuitBreaker)(nil)
	_ PreflightChecker = (*RateLimiter)(nil)
	_ PreflightChecker = (*Backpressure)(nil)
)

// Preflight checks the target's cooldown (QuotaExhausted, Authentication or
// RateLimited wrapping [ErrTargetPaused], RetryAfter the time left), the
// circuit, then the rate tokens (and any provider pause), then the
// in-flight permits, without consuming any, and returns
// the first rejection a call would meet now; nil when it would be admitted.
// With [WithSharedState] it also checks the shared circuit and pause as the
// store reported them at the last attempt (Preflight does no I/O).
func (e *ResilientExecutor) Preflight() *aierrors.Error {
	if e == nil {
		return nil
	}
	if ae := e.cool.reject(e.name, time.Now()); ae != nil {
		return ae
	}
	if ae := e.breaker.Preflight(); ae != nil {
		return ae
	}
	if ae := e.shared.preflight(time.Now()); ae != nil {
		return ae
	}
	if ae := e.limiter.Preflight(); ae != nil {
		return ae
	}
	return e.bp.Preflight()
}
