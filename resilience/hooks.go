package resilience

import (
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Hooks are functions called on each decision of an executor, a standalone
// part or a [FallbackChain]. A nil func is skipped. Hooks are called
// synchronously on the goroutine that made the decision, never while a
// lock is held, so a hook may call back into the executor (for example
// [ResilientExecutor.Signals]). A hook must not block for long: it delays
// the call that triggered it. Hook arguments never contain credentials.
type Hooks struct {
	OnAttemptStart func(AttemptStart)   // an attempt passed admission and op is about to run
	OnAttemptEnd   func(AttemptEnd)     // op returned (for a stream: done was called)
	OnRetry        func(RetryScheduled) // a retry was scheduled, before the backoff sleep
	OnStateChange  func(StateChange)    // the circuit changed state
	OnLimiterWait  func(LimiterWait)    // an attempt is about to wait for a rate token or a provider pause
	OnRejection    func(Rejection)      // an attempt was refused locally: circuit open, rate wait, queue
	OnFallback     func(FallbackHop)    // a fallback chain moved to another target (or ran out)

	// OnSharedState reports that the shared limiter or state (see
	// [WithSharedState]) failed, so the target runs on local state alone,
	// or that it answers again.
	OnSharedState func(SharedStateChange)

	// OnRetryBudget reports a retry or hedge not sent because the target's
	// retry budget was spent (see RetryConfig.BudgetPercent).
	OnRetryBudget func(RetryBudgetExhausted)
}

// RetryBudgetExhausted reports a retry (or a hedge) refused by the retry
// budget: the call returns its last error instead (for a hedge, the
// attempt just goes on without one).
type RetryBudgetExhausted struct {
	Target          string
	Attempt         int  // the attempt that failed (or, for a hedge, the one running)
	Hedge           bool // a hedge was refused, not a retry
	RetriesInFlight int  // retries and hedges in flight on the target
	Budget          int  // retries and hedges the budget allows now
}

// AttemptStart reports an attempt that passed admission.
type AttemptStart struct {
	Target  string
	Attempt int // 1-based, per Execute call
}

// AttemptEnd reports the end of an attempt. For a [DoStream] success it is
// reported when done is called, with the stream's final error.
type AttemptEnd struct {
	Target   string
	Attempt  int
	Err      error // nil on success
	Duration time.Duration
}

// RetryScheduled reports a retry about to wait for Delay.
type RetryScheduled struct {
	Target  string
	Attempt int           // the attempt that failed
	Delay   time.Duration // sleep before the next attempt
	Err     error         // why: the failed attempt's error
}

// StateChange reports a circuit state change. Transitions computed from
// the clock (open → half_open) are reported when the breaker is next used
// or read.
type StateChange struct {
	Target   string
	From, To CircuitState
}

// LimiterWait reports an attempt about to wait for a rate token or for a
// pause the provider asked for. It is reported once per wait, before the
// wait starts; Wait is the first stretch the limiter expects to sleep (a
// wait can grow when the provider extends its pause meanwhile).
type LimiterWait struct {
	Target string
	Wait   time.Duration
}

// Rejection reports an attempt refused locally, before reaching the
// provider: open circuit ([ErrCircuitOpen]), a rate wait that cannot meet
// the deadline ([ErrRateLimitWait]) or no in-flight permit in time
// ([ErrQueueFull]).
type Rejection struct {
	Target string
	Err    *aierrors.Error
}

// FallbackHop reports a [FallbackChain] moving from one target to the next.
//
// The first hop of every Execute is the start on the first target: From is
// "", To the first target, Err nil and Index -1. Each later hop has From =
// the target that failed, Index its position (0-based), Err its error, and
// To the next target, or "" when none is left (the chain gives up).
type FallbackHop struct {
	From, To string
	Err      error
	Index    int
}
