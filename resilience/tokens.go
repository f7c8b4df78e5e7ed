package resilience

import (
	"context"
	"math"
	"sync"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// tokenBucket is the caller's tokens-per-minute limit
// (RateLimiterConfig.TokensPerMinute): a token bucket whose reservations
// may run it negative (the attempt then waits until it is back at zero),
// and whose reservations are settled against the real usage afterwards.
type tokenBucket struct {
	rate  float64 // tokens per second
	burst float64

	mu     sync.Mutex // guards tokens and last
	tokens float64
	last   time.Time
}

func newTokenBucket(tpm float64, burst int) *tokenBucket {
	if tpm <= 0 {
		return nil
	}
	b := float64(burst)
	if burst <= 0 {
		b = math.Ceil(tpm)
	}
	return &tokenBucket{rate: tpm / 60, burst: b, tokens: b}
}

// advance brings tokens to now; mu must be held.
func (b *tokenBucket) advance(now time.Time) {
	if b.last.IsZero() {
		b.last = now
	}
	if now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// reserve takes n tokens (clamped to the bucket size, so that a request
// bigger than the bucket waits for a full bucket rather than forever) and
// returns how long to wait until they are there.
func (b *tokenBucket) reserve(now time.Time, n float64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.tokens -= math.Min(n, b.burst)
	if b.tokens >= 0 {
		return 0
	}
	return durationForTokens(b.rate, -b.tokens)
}

// settle gives back a reservation of estimate tokens and charges used
// instead (used 0: a refund).
func (b *tokenBucket) settle(now time.Time, estimate, used float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.tokens = math.Min(b.burst, b.tokens+math.Min(estimate, b.burst)-used)
}

func (b *tokenBucket) available(now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	return b.tokens
}

// waitTokens is the token part of step 2: it reserves cost tokens from the
// caller's token bucket (unless a shared token limiter stands in for it)
// and from the token limit learned from the provider, and waits for the
// later of the two. A wait that cannot end before the ctx deadline is
// refused at once (RateLimited, [ErrRateLimitWait]) and gives the tokens
// back.
func (l *RateLimiter) waitTokens(ctx context.Context, cost int, skipCfg bool) *aierrors.Error {
	if l == nil || cost <= 0 {
		return nil
	}
	now := time.Now()
	n := float64(cost)
	var need time.Duration
	cfg := l.tok != nil && !skipCfg
	if cfg {
		need = l.tok.reserve(now, n)
	}
	learned := false
	if l.tokLearned.active.Load() {
		if d, on := l.tokLearned.reserveN(now, n); on {
			learned = true
			need = max(need, d)
		}
	}
	if need <= 0 {
		return nil
	}
	giveBack := func() {
		if cfg {
			l.tok.settle(time.Now(), n, 0)
		}
		if learned {
			l.tokLearned.settleN(time.Now(), n, 0)
		}
	}
	if dl, ok := ctx.Deadline(); ok && !now.Add(need).Before(dl) {
		giveBack()
		return l.reject(need, "token limit wait exceeds the deadline")
	}
	if err := l.sleep(ctx, need); err != nil {
		giveBack()
		return err
	}
	return nil
}

// settleTokens replaces a reservation of estimate tokens by the usage
// (0: a refund) in both token buckets.
func (l *RateLimiter) settleTokens(estimate, used int) {
	if l == nil || estimate <= 0 && used <= 0 {
		return
	}
	now := time.Now()
	if l.tok != nil {
		l.tok.settle(now, float64(max(estimate, 0)), float64(max(used, 0)))
	}
	if l.tokLearned.active.Load() {
		l.tokLearned.settleN(now, float64(max(estimate, 0)), float64(max(used, 0)))
	}
}

// TokenLimit returns the caller's token limit, per minute, and its bucket
// size; +Inf and 0 when there is none (RateLimiterConfig.TokensPerMinute).
func (l *RateLimiter) TokenLimit() (perMinute float64, burst int) {
	if l == nil || l.tok == nil {
		return math.Inf(1), 0
	}
	return l.tok.rate * 60, int(l.tok.burst)
}

// LearnedTokenLimit returns the token rate (per minute) and bucket size
// learned from the provider's x-ratelimit-*-tokens or
// anthropic-ratelimit-tokens-* headers; +Inf and 0 when none is in force.
func (l *RateLimiter) LearnedTokenLimit() (perMinute float64, burst int) {
	if l == nil {
		return math.Inf(1), 0
	}
	rps, b, _ := l.tokLearned.state(time.Now())
	return rps * 60, b
}

// TokensAvailable returns the tokens a call could reserve now: the fewer
// of the caller's token bucket and the learned one; +Inf when neither
// limits. It may be negative while reservations are ahead of the refill.
func (l *RateLimiter) TokensAvailable() float64 {
	if l == nil {
		return math.Inf(1)
	}
	now := time.Now()
	t := math.Inf(1)
	if l.tok != nil {
		t = l.tok.available(now)
	}
	if l.tokLearned.active.Load() {
		_, _, lt := l.tokLearned.state(now)
		t = math.Min(t, lt)
	}
	return t
}

// reserveN takes n tokens (clamped to the learned limit), possibly ahead
// of time, and returns the wait; on is false when the bucket is off.
func (b *learnedBucket) reserveN(now time.Time, n float64) (wait time.Duration, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) {
		return 0, false
	}
	b.advance(now)
	var d time.Duration
	if b.last.After(now) {
		d = b.last.Sub(now) // drained until last by a pause
	}
	b.tokens -= math.Min(n, b.burst)
	if b.tokens < 0 {
		d += durationForTokens(b.rate, -b.tokens)
	}
	return d, true
}

// settleN gives back a reservation of estimate tokens and charges used.
func (b *learnedBucket) settleN(now time.Time, estimate, used float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) {
		return
	}
	b.advance(now)
	b.tokens = math.Min(b.burst, b.tokens+math.Min(estimate, b.burst)-used)
}
