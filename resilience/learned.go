package resilience

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// learnedTTLWindows is how many of the provider's windows a learned limit
// outlives the last answer that reported it (at least
// DefaultLearnedLimitTTL), unless RateLimiterConfig.LearnedLimitTTL is set.
const learnedTTLWindows = 3

// learnedBucket is the provider's request limit as a token bucket, learned
// from the rate-limit headers of its answers.
//
// Providers (OpenAI's x-ratelimit-*-requests, Anthropic's
// anthropic-ratelimit-requests-*) report a limit L, the requests R
// remaining now, and the time T until the limit is fully replenished:
// their buckets refill continuously, so they refill L-R requests in T, at
// (L-R)/T per second. Each answer anchors the bucket: its tokens drop to R
// if they were above (never rise: requests sent since the provider counted
// are not in R), its size is L, and its rate is the best estimate so far.
//
// A provider floors R (it had R plus a fraction) and rounds T, so one
// answer's (L-R)/T is an upper bound of the true rate, loosest when L-R is
// small. The estimate kept is the one with the largest L-R seen, the
// lowest rate among equals (so under load, when R is 0 answer after
// answer, it closes in on the true rate from above); one with a smaller
// L-R replaces it only once the largest was last seen two windows (L/rate)
// ago. A changed L starts over.
type learnedBucket struct {
	active atomic.Bool // a rate is known and has not expired; read on the fast path

	mu       sync.Mutex // guards the fields below
	rate     float64    // tokens per second
	burst    float64    // the provider's limit L
	tokens   float64    // at last; negative when attempts have reserved tokens ahead
	last     time.Time  // tokens are as of last (may be ahead of now after a drain)
	observed time.Time  // when the provider last reported its limit
	ttl      time.Duration
	fixedTTL time.Duration // RateLimiterConfig.LearnedLimitTTL; 0 = from the window
	est      rateEstimate
}

// rateEstimate is one answer's (L-R)/T.
type rateEstimate struct {
	deficit int     // L-R
	rate    float64 // per second; 0 = none
	at      time.Time
}

// advance brings tokens to now (never backwards); mu must be held.
func (b *learnedBucket) advance(now time.Time) {
	if now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// tokensAt returns the tokens at now without changing anything; mu must be
// held.
func (b *learnedBucket) tokensAt(now time.Time) float64 {
	t := b.tokens
	if now.After(b.last) {
		t = math.Min(b.burst, t+now.Sub(b.last).Seconds()*b.rate)
	}
	return t
}

// waitAt is how long after now one token is available; mu must be held.
func (b *learnedBucket) waitAt(now time.Time) time.Duration {
	var d time.Duration
	from := now
	if b.last.After(now) {
		d, from = b.last.Sub(now), b.last
	}
	if t := b.tokensAt(from); t < 1 {
		d += durationForTokens(b.rate, 1-t)
	}
	return d
}

// expire turns the bucket off when the provider stopped reporting its
// limit; it reports whether the bucket is (still) on. mu must be held.
func (b *learnedBucket) expire(now time.Time) bool {
	if !b.active.Load() {
		return false
	}
	if now.Sub(b.observed) > b.ttl {
		b.active.Store(false)
		b.est = rateEstimate{}
		return false
	}
	return true
}

// allow takes a token if one is available now: the fast path.
func (b *learnedBucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) {
		return true
	}
	b.advance(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// reserve takes a token, possibly ahead of time, and returns how long to
// wait for it. When the wait would not end before deadline (if any), it
// takes nothing and returns ok false with the wait needed.
func (b *learnedBucket) reserve(now, deadline time.Time, hasDeadline bool) (wait time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) {
		return 0, true
	}
	wait = b.waitAt(now)
	if wait > 0 && hasDeadline && !now.Add(wait).Before(deadline) {
		return wait, false
	}
	b.advance(now)
	b.tokens--
	return wait, true
}

// cancel gives back a token taken by reserve whose attempt did not go.
func (b *learnedBucket) cancel() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active.Load() {
		b.tokens = math.Min(b.burst, b.tokens+1)
	}
}

// wait is the time from at (now or later) until a token is available; 0
// when the bucket is off.
func (b *learnedBucket) wait(now, at time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) {
		return 0
	}
	return b.waitAt(at)
}

// state returns the learned rate, burst and the tokens available now;
// +Inf, 0, +Inf when nothing is learned.
func (b *learnedBucket) state(now time.Time) (rate float64, burst int, tokens float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) {
		return math.Inf(1), 0, math.Inf(1)
	}
	t := b.tokensAt(now)
	if b.last.After(now) {
		t = math.Min(t, 0) // drained until last
	}
	return b.rate, int(b.burst), t
}

// drainUntil leaves at most one token at t and none before: the provider
// asked for no request before t (a 429 with a wait).
func (b *learnedBucket) drainUntil(now, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.expire(now) || !t.After(now) {
		return
	}
	b.advance(now)
	if t.After(b.last) {
		b.tokens = math.Min(b.tokensAt(t), 1)
		b.last = t
	}
}

// observe applies one answer's report: limit L (<= 0 when not reported:
// the last known one is used), remaining R (>= 0) and the time until the
// limit is fully replenished (0 when not reported). It reports whether the
// bucket is on afterwards.
func (b *learnedBucket) observe(now time.Time, limit, remaining int, reset time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	on := b.expire(now)
	if limit <= 0 {
		if b.burst <= 0 {
			return on // no limit known: nothing to pace by
		}
		limit = int(b.burst)
	}
	if float64(limit) != b.burst {
		b.burst, b.est = float64(limit), rateEstimate{} // a new limit: start estimating afresh
	}
	remaining = min(remaining, limit)
	if d := limit - remaining; d > 0 && reset > 0 {
		e := rateEstimate{deficit: d, rate: float64(d) / reset.Seconds(), at: now}
		switch {
		case b.est.rate == 0 || d > b.est.deficit || now.Sub(b.est.at).Seconds() > 2*b.burst/b.est.rate:
			b.est = e
		case d == b.est.deficit:
			b.est.rate, b.est.at = min(b.est.rate, e.rate), now
		}
	}
	if b.est.rate == 0 {
		return on // a limit but no rate yet (a full bucket says nothing of its refill)
	}
	b.observed = now
	b.rate = b.est.rate
	window := time.Duration(b.burst / b.rate * float64(time.Second))
	b.ttl = b.fixedTTL
	if b.ttl == 0 {
		b.ttl = max(learnedTTLWindows*window, DefaultLearnedLimitTTL)
	}
	if !on {
		b.tokens, b.last = float64(remaining), now
		b.active.Store(true)
		return true
	}
	b.advance(now)
	b.tokens = math.Min(b.tokens, float64(remaining))
	return true
}
