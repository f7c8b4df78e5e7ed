package resilience

import (
	"math"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// SignalsSnapshot is how one target is doing right now. Reading it has no
// side effects: no token, permit or probe slot is taken. The first fields
// are the ones every ailib library reports; the rest are grouped per part.
type SignalsSnapshot struct {
	Target          string
	CircuitState    CircuitState
	CurrentInflight int     // attempts holding a permit (streams until finished)
	MaxInflight     int     // 0 when unlimited
	RateRemaining   float64 // tokens an attempt could use now (the fewest of the buckets); +Inf when unlimited

	Circuit CircuitSignals
	Rate    RateSignals
	Retry   RetrySignals
	Shared  SharedSignals
}

// CircuitSignals is the breaker's part of a [SignalsSnapshot].
type CircuitSignals struct {
	ConsecutiveFailures int           // counted failures since the last success or state change
	WindowAttempts      int           // counted attempts in the rolling window
	FailureRate         float64       // counted failures / counted attempts in the window (0 when none)
	OpenFor             time.Duration // what is left of the open interval; 0 when not open
	FailedProbes        int           // failed probes since the circuit last closed (the open interval doubles per probe)

	// CooldownFor is how long the target is still skipped after quota
	// exhaustion, an authentication failure or a long Retry-After (see
	// [CooldownConfig]), whatever the circuit's state; 0 when not.
	CooldownFor    time.Duration
	CooldownReason aierrors.StandardErrorCode // the code of the answer that started it; 0 when none
}

// RateSignals is the limiter's part of a [SignalsSnapshot].
type RateSignals struct {
	Limit      float64       // the caller's requests per second; +Inf when none
	Learned    float64       // requests per second learned from the provider; +Inf when none yet
	PausedFor  time.Duration // what is left of a pause the provider asked for
	TokenLimit float64       // the caller's tokens per minute; +Inf when none
	TokensLeft float64       // tokens a call could take now (the fewer of the caller's and the learned bucket); +Inf when neither
	Provider   ProviderLimits
}

// RetrySignals is the retry budget's part of a [SignalsSnapshot].
type RetrySignals struct {
	Budget     int     // the budget's size, in attempts; 0 when there is no budget
	BudgetLeft float64 // retries flow while more than half of Budget is left
	Refused    int64   // retries the budget refused since the executor was built
}

// SharedSignals is the shared store's part of a [SignalsSnapshot].
type SharedSignals struct {
	Enabled   bool          // a shared limiter or state is configured
	Degraded  bool          // the store failed: the target runs on local state until it answers again
	Error     string        // the store's last error while degraded
	OpenFor   time.Duration // the shared circuit is open for this long
	PausedFor time.Duration // the shared pause left
}

// Signals returns the target's state now.
func (e *ResilientExecutor) Signals() SignalsSnapshot {
	if e == nil {
		_, r := (*RateLimiter)(nil).signals(time.Time{})
		return SignalsSnapshot{RateRemaining: math.Inf(1), Rate: r}
	}
	now := time.Now()
	s := SignalsSnapshot{
		Target:          e.name,
		CircuitState:    e.breaker.State(),
		CurrentInflight: int(e.bp.inflightNow()),
		MaxInflight:     e.bp.max,
	}
	s.RateRemaining, s.Rate = e.limiter.signals(now)
	if b := e.breaker; b != nil {
		c := b.cb.Counts()
		s.Circuit = CircuitSignals{
			ConsecutiveFailures: int(c.ConsecutiveFailures),
			WindowAttempts:      int(c.TotalSuccesses + c.TotalFailures),
			FailedProbes:        int(b.failedProbes.Load()),
		}
		if n := c.TotalSuccesses + c.TotalFailures; n > 0 {
			s.Circuit.FailureRate = float64(c.TotalFailures) / float64(n)
		}
		if s.CircuitState == StateOpen {
			s.Circuit.OpenFor = b.cooldownAt(now)
		}
	}
	s.Retry = e.budget.signals()
	s.Circuit.CooldownFor, s.Circuit.CooldownReason = e.cool.left(now)
	s.Shared = e.shared.signals(now)
	return s
}

// PreflightChecker says whether an attempt would be admitted now, and if
// not, why and when to try again, without taking anything: a nil error
// means it would go at once. [ResilientExecutor] implements it.
type PreflightChecker interface {
	Preflight() *aierrors.Error
}

var _ PreflightChecker = (*ResilientExecutor)(nil)

// Preflight checks, in the attempt's order, the cooldown, the circuit
// (local and shared), the pacing and the permits.
func (e *ResilientExecutor) Preflight() *aierrors.Error {
	if e == nil {
		return nil
	}
	clk := clock{time.Now()}
	if ae := e.cool.check(e.name, &clk); ae != nil {
		return ae
	}
	if ae := e.breaker.preflight(); ae != nil {
		return ae
	}
	if ae := e.shared.check(&clk); ae != nil {
		return ae
	}
	if ae := e.limiter.preflight(); ae != nil {
		return ae
	}
	return e.bp.preflight()
}
