package resilience

import (
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Hooks are functions called on each decision of an executor, a
// standalone part or a [FallbackChain]. A nil func is skipped. Hooks run
// synchronously on the goroutine that made the decision, never while a
// lock is held, so a hook may call back into the executor (for example
// [ResilientExecutor.Signals]). A hook must not block for long: it delays
// the call that triggered it. Hook arguments never contain credentials.
type Hooks struct {
	OnAttemptStart func(AttemptStart)      // an attempt was admitted and op is about to run
	OnAttemptEnd   func(AttemptEnd)        // an attempt finished (a stream: when it was finished)
	OnRetry        func(RetryScheduled)    // a retry was scheduled, before the backoff sleep
	OnStateChange  func(StateChange)       // the circuit changed state
	OnLimiterWait  func(LimiterWait)       // an attempt is about to wait for a rate token or a provider pause
	OnRejection    func(Rejection)         // an attempt or a retry was refused locally
	OnFallback     func(FallbackHop)       // a fallback chain moved to another target (or ran out)
	OnPoolSwitch   func(PoolSwitch)        // a pool chose a deployment for an attempt
	OnSharedState  func(SharedStateChange) // the shared store failed (local state only) or answers again
}

// AttemptStart is passed to Hooks.OnAttemptStart.
type AttemptStart struct {
	Target  string
	Attempt int // 1-based, per call
}

// AttemptEnd is passed to Hooks.OnAttemptEnd.
type AttemptEnd struct {
	Target   string
	Attempt  int
	Err      error // nil on success
	Duration time.Duration
}

// RetryScheduled is passed to Hooks.OnRetry.
type RetryScheduled struct {
	Target  string
	Attempt int           // the attempt that failed
	Delay   time.Duration // sleep before the next attempt
	Err     error         // the failed attempt's error
}

// StateChange is passed to Hooks.OnStateChange.
type StateChange struct {
	Target   string
	From, To CircuitState
}

// LimiterWait is passed to Hooks.OnLimiterWait.
type LimiterWait struct {
	Target string
	Wait   time.Duration
}

// Rejection is passed to Hooks.OnRejection: an attempt refused by the
// executor itself (circuit open, cooldown, a rate wait that cannot end in
// time, a full queue) or a retry refused by the retry budget (Err then
// wraps [ErrRetryBudgetExhausted]).
type Rejection struct {
	Target string
	Err    *aierrors.Error
}

// FallbackHop is passed to Hooks.OnFallback. The first target's hop has
// Index -1 and no From; a hop with no To means every target failed.
type FallbackHop struct {
	From, To string
	Err      error // why From was left; nil for the first hop
	Index    int   // From's position in the chain
}

// PoolSwitch is passed to Hooks.OnPoolSwitch each time a [Pool] chooses
// a deployment: From is empty for a call's first, and Err says why From
// was left.
type PoolSwitch struct {
	Pool     string
	From, To string
	Err      error
}

// SharedStateChange is passed to Hooks.OnSharedState.
type SharedStateChange struct {
	Target   string
	Degraded bool  // true: running on local state; false: the store answers again
	Err      error // the store's failure, when Degraded
}
