package resilience

import (
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// cooldown skips a target after an answer that says trying it again soon
// is pointless (see [CooldownConfig]). Nil when disabled.
type cooldown struct {
	quota, auth, maxD time.Duration
	maxRetryAfter     time.Duration // a longer Retry-After starts a cooldown

	until  atomic.Int64 // Unix ns; 0 = never cooled down
	reason atomic.Int32 // the code of the answer that started it
}

func newCooldown(c *CooldownConfig, r *RetryConfig) *cooldown {
	if c.Disabled {
		return nil
	}
	return &cooldown{
		quota:         or(c.Quota, defaultQuotaCooldown),
		auth:          or(c.Authentication, defaultAuthCooldown),
		maxD:          or(c.Max, defaultLongCooldown),
		maxRetryAfter: or(r.MaxRetryAfter, defaultMaxRetryAfter),
	}
}

// observe starts (or extends, never shortens) a cooldown when ae calls for
// one, and returns its length (0: none).
func (c *cooldown) observe(ae *aierrors.Error, now time.Time) time.Duration {
	if c == nil || ae == nil || localRejection(ae) {
		return 0
	}
	var d time.Duration
	switch {
	case ae.Code == aierrors.QuotaExhausted:
		d = or(ae.RetryAfter, c.quota)
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

// left is the cooldown left at now and the code that started it.
func (c *cooldown) left(now time.Time) (time.Duration, aierrors.StandardErrorCode) {
	if c == nil {
		return 0, 0
	}
	if u := c.until.Load(); u > now.UnixNano() {
		return time.Duration(u - now.UnixNano()), aierrors.StandardErrorCode(c.reason.Load())
	}
	return 0, 0
}

// check is the cooldown's part of step 1.
func (c *cooldown) check(target string, clk *clock) *aierrors.Error {
	if c == nil || c.until.Load() == 0 {
		return nil
	}
	d, code := c.left(clk.now())
	if d <= 0 {
		return nil
	}
	return rejection(target, code, ErrTargetPaused, d, "target cooling down after "+code.Name())
}
