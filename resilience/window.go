package resilience

import (
	"sync/atomic"
	"time"
)

// windowBuckets is the number of buckets the failure-rate window is kept in.
const windowBuckets = 10

// Layout of a window counter: the bucket's key (its index, modulo 2^40) in
// the high 40 bits, the count in the low 24 bits. One word per counter
// keeps the count and the bucket it belongs to consistent without a lock.
const (
	countBits = 24
	countMask = 1<<countBits - 1 // a count saturates here (16.7M per bucket)
	keyBits   = 64 - countBits
	keyMask   = 1<<keyBits - 1
)

// failureWindow counts the successes and counted failures that ended in the
// last Window, in windowBuckets buckets of Window/windowBuckets each: the
// current bucket and the windowBuckets-1 before it. Times are durations
// since origin (read with time.Since, which costs one monotonic clock read,
// about half of time.Now); bucket i covers [i·span, (i+1)·span).
//
// Adding is lock-free (a CAS on one word), so the breaker's success path can
// record a success without gobreaker's mutex. reset runs under gobreaker's
// mutex (from its state-change callback) and clears every counter; an add
// that races with it (a success admitted before the circuit opened and
// finishing as it closes again) may land in the new period: at most one
// count per such attempt, which gobreaker would have dropped.
type failureWindow struct {
	span   int64     // bucket length, ns (> 0)
	origin time.Time // start of bucket 0, with a monotonic reading
	succ   [windowBuckets]atomic.Uint64
	fail   [windowBuckets]atomic.Uint64
}

func newFailureWindow(window time.Duration, now time.Time) *failureWindow {
	return &failureWindow{span: max(int64(window)/windowBuckets, 1), origin: now}
}

// since returns the time elapsed since origin, the window's clock.
func (w *failureWindow) since() int64 { return int64(time.Since(w.origin)) }

// at returns the window's clock at t.
func (w *failureWindow) at(t time.Time) int64 { return int64(t.Sub(w.origin)) }

// index is the bucket index of the window time d, floored, so times before
// origin (a clock set back) still have a consistent index.
func (w *failureWindow) index(d int64) int64 {
	i := d / w.span
	if d < 0 && d%w.span != 0 {
		i--
	}
	return i
}

func slot(i int64) int { return int(uint64(i) % windowBuckets) }

// add records one success (fail false) or counted failure ending at the
// window time t.
func (w *failureWindow) add(t int64, fail bool) {
	i := w.index(t)
	c := &w.succ[slot(i)]
	if fail {
		c = &w.fail[slot(i)]
	}
	key := uint64(i) & keyMask
	for {
		old := c.Load()
		var next uint64
		switch k, n := old>>countBits, old&countMask; {
		case n == 0 || older(k, key):
			next = key<<countBits | 1 // a free or stale counter starts this bucket
		case k == key:
			if n == countMask {
				return
			}
			next = old + 1
		default:
			return // the counter already holds a later bucket: t is stale
		}
		if c.CompareAndSwap(old, next) {
			return
		}
	}
}

// older reports whether key k comes before key cur (modulo 2^40).
func older(k, cur uint64) bool {
	d := (cur - k) & keyMask
	return d != 0 && d < 1<<(keyBits-1)
}

// counts returns the successes and failures of the window ending at the
// window time t.
func (w *failureWindow) counts(t int64) (successes, failures int) {
	cur := uint64(w.index(t)) & keyMask
	in := func(v uint64) int {
		n := v & countMask
		if n == 0 || (cur-v>>countBits)&keyMask >= windowBuckets {
			return 0
		}
		return int(n)
	}
	for i := range windowBuckets {
		successes += in(w.succ[i].Load())
		failures += in(w.fail[i].Load())
	}
	return successes, failures
}

// reset empties the window.
func (w *failureWindow) reset() {
	for i := range windowBuckets {
		w.succ[i].Store(0)
		w.fail[i].Store(0)
	}
}
