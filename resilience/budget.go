package resilience

import (
	"sync/atomic"
)

// defaultBudget is RetryConfig.Budget's default (see the package doc,
// "The retry budget").
const defaultBudget = 40

// retryBudget is a token bucket of retries, as gRPC's retry throttle, with
// a ratio of 1: every successful attempt adds a token, every failed one
// takes one, and a retry may go only while more than half of the bucket is
// left. Independent failures at any rate below one in two keep the bucket
// near full (a random walk with an upward drift rarely loses half of it),
// so retries flow and noise is retried; a storm (failures outnumbering
// successes) drains it after about half a bucket of failed attempts, and
// from then on each call makes one attempt until successes refill it.
//
// Tokens are counted in halves to keep the arithmetic in one atomic.
type retryBudget struct {
	max     int64 // in half-tokens
	tokens  atomic.Int64
	refused atomic.Int64
}

func newRetryBudget(r *RetryConfig) *retryBudget {
	if r.Budget < 0 {
		return nil
	}
	b := &retryBudget{max: 2 * int64(or(r.Budget, defaultBudget))}
	b.tokens.Store(b.max)
	return b
}

// onSuccess adds a token (nil-safe; no write when the bucket is full, so
// the success path does not contend on it).
func (b *retryBudget) onSuccess() {
	if b == nil || b.tokens.Load() >= b.max {
		return
	}
	if b.tokens.Add(2) > b.max {
		b.tokens.Store(b.max)
	}
}

// onFailure takes a token.
func (b *retryBudget) onFailure() {
	if b == nil {
		return
	}
	if b.tokens.Add(-2) < 0 {
		b.tokens.Store(0)
	}
}

// allows reports whether a retry may go now; a refusal is counted.
func (b *retryBudget) allows() bool {
	if b == nil || b.tokens.Load() > b.max/2 {
		return true
	}
	b.refused.Add(1)
	return false
}

func (b *retryBudget) signals() RetrySignals {
	if b == nil {
		return RetrySignals{}
	}
	return RetrySignals{Budget: int(b.max / 2), BudgetLeft: float64(b.tokens.Load()) / 2, Refused: b.refused.Load()}
}
