// The learned bucket's queue of a lone target: the attempts waiting for
// their places, in place order, and the spacing of their releases.

package resilience

import (
	"container/list"
	"context"
	"time"

	"golang.org/x/time/rate"
)

// giveBackPlace returns the learned bucket's token of an attempt that
// reached its place but will not be sent: x/time/rate cannot cancel a
// reservation whose time has come, so the refund is a reservation of -1.
func (l *RateLimiter) giveBackPlace(now time.Time) {
	if l.learned.Limit() == rate.Inf {
		return
	}
	v, _ := l.clock.at(now)
	l.learned.ReserveN(v, -1)
}

// spacing keeps the attempts the learned bucket releases at least one
// interval of the current learned rate apart, and returns how much longer
// the attempt released at now (its place in the buckets: place) must wait
// for that (0: none). x/time/rate
// keeps the time of a place once given: after a cut, the places already
// given (calls queued up to their deadline: seconds of them) still follow
// each other at the old, refused pace, and each pair of them would meet a
// provider bucket of one with a 429. Spacing them again as they are
// released is the one thing the library cannot do.
//
// A place that will not be used (the spacing would end too late for the
// call's deadline) is given back to the learned bucket by giveBackPlace,
// and q, the attempt's entry in the queue, leaves it: the next attempt
// queued takes the place when it comes (handOn).
func (l *RateLimiter) spacing(ctx context.Context, now, place time.Time, need time.Duration, q *queued) (time.Duration, bool) {
	if l.learned.Limit() == rate.Inf || l.pooled.Load() {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if q != nil && q.elem != nil {
		l.queue.Remove(q.elem) // it has its place: the next in the queue is now first
		q.elem = nil
		defer l.handOn(now)
	}
	if l.est <= 0 {
		return 0, true
	}
	// The times kept are the ones intended, not the ones a timer fired
	// at: timers fire late (by a millisecond, on a busy machine), and
	// spacing each attempt from its predecessor's lateness would add the
	// lateness up, attempt after attempt, below the learned rate.
	at := l.lastRelease.Add(time.Duration(float64(time.Second) / l.est))
	if place.After(at) {
		at = place
	}
	if !at.Before(l.stepAt) {
		if l.stepReleases == 0 {
			l.stepFirst = at
		}
		l.stepReleases++
	}
	if !now.Before(at) {
		if q != nil && l.handsOn(ctx, now, need) {
			return 0, false
		}
		l.lastRelease = at
		return 0, true
	}
	if !fits(ctx, at, need) || q != nil && l.handsOn(ctx, at, need) {
		return at.Sub(now), false
	}
	l.lastRelease = at
	return at.Sub(now), true
}

// handsOn reports whether an attempt the queue releases at t should
// give its place to the next one instead of going. Its wait was judged
// on the estimate of a slow attempt (need) of a second or more before
// (the queue's length); when answers have grown slower since, so that the
// attempt would no longer leave even a likely attempt's duration (the
// 90th percentile or so: likelyNow) before its deadline, its answer would
// likely run past the deadline: the provider's token spent for nothing. If another attempt waits behind it, that one takes the place
// (handOn), with a later deadline. With nobody behind, the place would be
// lost: the attempt goes on the estimate it was admitted on. (The
// scenario family's rate-limit points with answers of 300ms, 30% of them
// 1.5s: attempts cut by their deadline fell from 8.8% to 3.6% of those
// the provider accepted; with answers at once, nothing changes.)
func (l *RateLimiter) handsOn(ctx context.Context, t time.Time, need time.Duration) bool {
	if need <= 0 || l.likelyNow == nil || l.queue.Len() == 0 {
		return false
	}
	likely := l.likelyNow()
	return likely > need && !fits(ctx, t, likely)
}

// queued is an attempt waiting for its place in a lone target's learned
// bucket.
type queued struct {
	learnedV time.Time     // its place (virtual time)
	wake     chan struct{} // closed when the queue ahead left a place free (handOn)
	elem     *list.Element // nil once it left the queue
	handed   bool          // wake is closed (under l.mu)
	free     time.Time     // the place left free it takes instead (set before wake is closed)
}

// enqueue puts an attempt with a place to wait for in the learned bucket
// (r, at virtual time v, after vnow) in the queue; nil when the bucket does
// not make it wait or the target is a pool's deployment (which keeps
// x/time/rate's places).
//
// x/time/rate keeps the time of a place once given. When the places
// ahead are not used (their calls gave up: a cut of the rate made them
// too late for their deadlines), or were given at a slower pace than the
// rate now learned, the next place would come later than the learned
// rate allows: the provider's capacity goes unused while calls wait.
// Waking the first of the queue then (handOn) lets it take the free
// place: the queue is served at the learned rate, earliest place first,
// and a call that cannot be served in time learns it when its turn
// comes. The library has no such queue of waiters; this is the least
// of one: a list in place order, one wake per free place.
func (l *RateLimiter) enqueue(r *rate.Reservation, v, vnow time.Time) *queued {
	if r == nil || !v.After(vnow) || l.pooled.Load() {
		return nil
	}
	q := &queued{learnedV: v, wake: make(chan struct{})}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.queue.Back()
	for e != nil && e.Value.(*queued).learnedV.After(v) {
		e = e.Prev()
	}
	if e == nil {
		q.elem = l.queue.PushFront(q)
	} else {
		q.elem = l.queue.InsertAfter(q, e)
	}
	return q
}

// leave takes an attempt out of the queue (when it did not get its place:
// refused or cancelled), and lets the next take a place it left free.
func (l *RateLimiter) leave(q *queued) {
	if q == nil || q.elem == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queue.Remove(q.elem)
	q.elem = nil
	l.handOn(time.Now())
}

// handOn wakes the first attempt of the queue when its place comes later
// than the learned rate allows after the last release (see enqueue),
// under l.mu.
func (l *RateLimiter) handOn(now time.Time) {
	f := l.queue.Front()
	if f == nil || l.est <= 0 {
		return
	}
	q := f.Value.(*queued)
	if q.handed {
		return
	}
	_, shift := l.clock.at(now)
	next := maxTime(now, l.lastRelease.Add(time.Duration(float64(time.Second)/l.est)))
	if q.learnedV.Add(shift).After(next) {
		q.handed, q.free = true, next
		close(q.wake)
	}
}

func chanClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
