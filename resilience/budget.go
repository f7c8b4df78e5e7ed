package resilience

import (
	"errors"
	"math"
	"sync/atomic"
)

// Defaults of the retry budget (see RetryConfig.BudgetPercent).
const (
	// DefaultRetryBudgetPercent is the share, in percent, of a target's
	// attempts in flight that may be retries or hedges.
	DefaultRetryBudgetPercent = 20.0
	// DefaultMinRetryConcurrency is the number of retries and hedges in
	// flight a target always allows, whatever its load.
	DefaultMinRetryConcurrency = 3
)

// ErrRetryBudgetExhausted is found with [errors.Is] in the error of a call
// whose retry was refused because the target's retry budget was spent: too
// many of its attempts in flight were already retries or hedges. The error
// also unwraps to the last attempt's *aierrors.Error (retryable, and
// fallbackable as its code says), so a fallback chain moves on as usual.
var ErrRetryBudgetExhausted = errors.New("resilience: retry budget exhausted")

// retryBudget caps the retries and hedges in flight on one target at a
// share of all its attempts in flight, as Envoy's retry budget does
// (budget_percent of the active requests, at least min_retry_concurrency):
// when a provider struggles, retries cannot multiply its load. Attempts
// count from the start of admission until op returns. Atomics only: the
// success path pays two atomic adds.
type retryBudget struct {
	pct      float64 // share of attempts, in [0, 1)
	min      int64
	attempts atomic.Int64 // attempts in flight, first ones, retries and hedges
	retries  atomic.Int64 // retries and hedges in flight
	denied   atomic.Int64 // retries refused since the executor was built
}

func newRetryBudget(r *RetryConfig) *retryBudget {
	if r == nil || r.BudgetPercent >= 100 {
		return nil
	}
	return &retryBudget{
		pct: orFloat(r.BudgetPercent, DefaultRetryBudgetPercent) / 100,
		min: int64(orInt(r.MinRetryConcurrency, DefaultMinRetryConcurrency)),
	}
}

// limitFor is the retries allowed with total attempts in flight.
func (b *retryBudget) limitFor(total int64) int64 {
	return max(b.min, int64(math.Floor(b.pct*float64(total))))
}

// allows reports whether one more retry would be admitted now, taking
// nothing (checked before a backoff sleep, so that a call whose retry
// cannot go does not sleep for it).
func (b *retryBudget) allows() bool {
	if b == nil {
		return true
	}
	r := b.retries.Load()
	return r+1 <= b.limitFor(b.attempts.Load()+1)
}

// acquire takes a retry slot, counting the retry itself among the
// attempts; false when the budget is spent (nothing is taken).
func (b *retryBudget) acquire() bool {
	if b == nil {
		return true
	}
	for {
		r := b.retries.Load()
		if r+1 > b.limitFor(b.attempts.Load()+1) {
			b.denied.Add(1)
			return false
		}
		if b.retries.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

func (b *retryBudget) releaseRetry() {
	if b != nil {
		b.retries.Add(-1)
	}
}

func (b *retryBudget) startAttempt() {
	if b != nil {
		b.attempts.Add(1)
	}
}

func (b *retryBudget) endAttempt() {
	if b != nil {
		b.attempts.Add(-1)
	}
}

// snapshot returns the retries in flight, the retries the budget allows
// now, and the retries refused so far.
func (b *retryBudget) snapshot() (inflight, budget int, denied int64) {
	if b == nil {
		return 0, 0, 0
	}
	return int(b.retries.Load()), int(b.limitFor(b.attempts.Load())), b.denied.Load()
}
