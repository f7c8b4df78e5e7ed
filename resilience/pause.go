// A pause the provider asked for (a long Retry-After): the buckets' clock
// stands still until it ends.

package resilience

import (
	"sync"
	"sync/atomic"
	"time"
)

// pause stops the target until now+d (capped by MaxPause; never
// shortened): the buckets' clock stands still until then.
func (l *RateLimiter) pause(now time.Time, d time.Duration) {
	if l.clock.pause(now, now.Add(min(d, l.maxPause))) {
		l.active.Store(true)
	}
}

func (l *RateLimiter) pausedFor(now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	return l.clock.left(now)
}

// pauseClock is the buckets' clock: real time, standing still while the
// provider asks for a pause. Feeding the rate.Limiters this clock is what
// makes a pause a pause: no token accrues during it, a place taken before
// it moves by its length, and the places taken during it follow one
// another at the learned pace after it, so waiters are released at that
// pace rather than all at once.
type pauseClock struct {
	until  atomic.Int64 // Unix ns the pause in force ends; 0: never paused
	mu     sync.Mutex   // guards the fields below
	start  time.Time    // the last pause's start
	end    time.Time    // its end
	before time.Duration
}

// at returns the clock's time at now, and how far it lags real time once
// the pause in force (if any) has ended.
func (c *pauseClock) at(now time.Time) (time.Time, time.Duration) {
	if c.until.Load() == 0 {
		return now, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	lag := c.before + c.end.Sub(c.start)
	if now.Before(c.end) {
		return c.start.Add(-c.before), lag
	}
	return now.Add(-lag), lag
}

// pause makes the clock stand still until end (extending a pause in
// force, never shortening it); false when end adds nothing.
func (c *pauseClock) pause(now, end time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !end.After(c.end) {
		return false
	}
	if !c.end.IsZero() && now.Before(c.end) {
		c.end = end // the pause in force goes on
	} else {
		c.before += c.end.Sub(c.start)
		c.start, c.end = now, end
	}
	c.until.Store(end.UnixNano())
	return true
}

func (c *pauseClock) left(now time.Time) time.Duration {
	if u := c.until.Load(); u > now.UnixNano() {
		return time.Duration(u - now.UnixNano())
	}
	return 0
}
