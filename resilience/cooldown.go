package resilience

import (
	"errors"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Defaults of the target cooldown (see [CooldownConfig]).
const (
	// DefaultQuotaCooldown is how long a target is skipped after it answered
	// quota_exhausted without saying when the quota comes back.
	DefaultQuotaCooldown = 60 * time.Second
	// DefaultAuthCooldown is how long a target is skipped after it refused
	// the credentials (authentication).
	DefaultAuthCooldown = 5 * time.Minute
	// DefaultMaxCooldown caps any cooldown, a provider's Retry-After
	// included.
	DefaultMaxCooldown = time.Hour
)

// CooldownConfig configures the cooldown of a target: after an answer that
// says the target will not work for a while, the executor rejects its
// attempts at once, without a provider request, until then. The rejection
// is a local *aierrors.Error with the code of the answer that started the
// cooldown (QuotaExhausted, Authentication or RateLimited, all
// fallbackable), [ErrTargetPaused] in Err and RetryAfter the time left, so
// a [FallbackChain] goes straight to the next target, and
// [ResilientExecutor.Preflight] and [SignalsSnapshot] (CoolingDownFor,
// CoolingDownReason) show it. Three answers start one:
//
//   - quota_exhausted: for the provider's Retry-After when it gave one,
//     else Quota;
//   - authentication (401): for Authentication; a key does not fix itself
//     within seconds, but it may be rotated, hence not forever;
//   - any answer with a Retry-After longer than Retry.MaxRetryAfter (the
//     executor would not wait for it): for that Retry-After.
//
// Every cooldown is capped by Max. A cooldown never shortens a longer one.
// A zero field takes its default.
type CooldownConfig struct {
	// Quota is the cooldown after quota_exhausted without a Retry-After;
	// 0 = DefaultQuotaCooldown.
	Quota time.Duration
	// Authentication is the cooldown after an authentication failure;
	// 0 = DefaultAuthCooldown.
	Authentication time.Duration
	// Max caps every cooldown; 0 = DefaultMaxCooldown.
	Max time.Duration
}

// cooldown is the resolved CooldownConfig and the target's current
// cooldown. A nil *cooldown never cools down.
type cooldown struct {
	quota, auth, maxD time.Duration
	maxRetryAfter     time.Duration // a longer Retry-After starts a cooldown

	until  atomic.Int64 // Unix ns; 0 = never cooled down
	reason atomic.Int32 // aierrors.StandardErrorCode of the answer that started it
}

func newCooldown(c *CooldownConfig, r *RetryConfig) *cooldown {
	if c == nil {
		return nil
	}
	cd := &cooldown{
		quota:         orDuration(c.Quota, DefaultQuotaCooldown),
		auth:          orDuration(c.Authentication, DefaultAuthCooldown),
		maxD:          orDuration(c.Max, DefaultMaxCooldown),
		maxRetryAfter: DefaultMaxRetryAfter,
	}
	if r != nil {
		cd.maxRetryAfter = orDuration(r.MaxRetryAfter, DefaultMaxRetryAfter)
	}
	return cd
}

// localRejection reports whether ae is a rejection made in this package
// rather than a provider's answer.
func localRejection(ae *aierrors.Error) bool {
	return errors.Is(ae.Err, ErrRateLimitWait) || errors.Is(ae.Err, ErrTargetPaused) ||
		errors.Is(ae.Err, ErrCircuitOpen) || errors.Is(ae.Err, ErrQueueFull)
}

// observe starts a cooldown when the provider's answer ae calls for one;
// it returns the cooldown started (0: none).
func (c *cooldown) observe(ae *aierrors.Error, now time.Time) time.Duration {
	if c == nil || ae == nil || localRejection(ae) {
		return 0
	}
	var d time.Duration
	switch {
	case ae.Code == aierrors.QuotaExhausted:
		d = c.quota
		if ae.RetryAfter > 0 {
			d = ae.RetryAfter
		}
	case ae.Code == aierrors.Authentication:
		d = c.auth
	case ae.RetryAfter > c.maxRetryAfter && ae.Code.Fallbackable():
		d = ae.RetryAfter
	default:
		return 0
	}
	d = min(d, c.maxD)
	until := now.Add(d).UnixNano()
	for {
		cur := c.until.Load()
		if cur >= until {
			return 0
		}
		if c.until.CompareAndSwap(cur, until) {
			c.reason.Store(int32(ae.Code))
			return d
		}
	}
}

// active reports whether a cooldown may be in force: one atomic load, for
// the success path.
func (c *cooldown) active() bool { return c != nil && c.until.Load() != 0 }

// left returns the cooldown left at now and its reason; 0 when none.
func (c *cooldown) left(now time.Time) (time.Duration, aierrors.StandardErrorCode) {
	if c == nil {
		return 0, 0
	}
	u := c.until.Load()
	if n := now.UnixNano(); u > n {
		return time.Duration(u - n), aierrors.StandardErrorCode(c.reason.Load())
	}
	return 0, 0
}

// reject returns the rejection of an attempt during the cooldown; nil when
// none is in force at now.
func (c *cooldown) reject(target string, now time.Time) *aierrors.Error {
	d, code := c.left(now)
	if d <= 0 {
		return nil
	}
	return rejection(target, code, ErrTargetPaused, d, "target cooling down after "+code.Name())
}
