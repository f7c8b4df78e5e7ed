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
}

// Signals returns the target's live state, computed from the clock.
func (e *ResilientExecutor) Signals() SignalsSnapshot {
	if e == nil {
		return SignalsSnapshot{RateRemaining: math.Inf(1), RateLimit: math.Inf(1), LearnedRateLimit: math.Inf(1), Provider: unknownLimits()}
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

// Preflight checks the circuit, then the rate tokens (and any provider
// pause), then the in-flight permits, without consuming any, and returns
// the first rejection a call would meet now; nil when it would be admitted.
func (e *ResilientExecutor) Preflight() *aierrors.Error {
	if e == nil {
		return nil
	}
	if ae := e.breaker.Preflight(); ae != nil {
		return ae
	}
	if ae := e.limiter.Preflight(); ae != nil {
		return ae
	}
	return e.bp.Preflight()
}
