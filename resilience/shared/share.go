package shared

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// RateReporter is implemented by a [Limiter] that can say what its limit
// is. The executor uses it to pace a replica at its share of the limit
// while the limiter is unreachable (see [Share]).
type RateReporter interface {
	// Rate returns the limit's rate, units a second, and its burst.
	Rate() (perSecond float64, burst int)
}

// Membership counts the live replicas of a group (a shared limit's key).
// A [Limiter] that also implements it lets the executor know its share of
// the limit: each replica joins the group under an id of its own and
// refreshes its membership while the store answers.
//
// An implementation must be safe for concurrent use.
type Membership interface {
	// Join marks member live in group for ttl (a refresh, if it was
	// already), forgets members whose ttl has passed, and returns how many
	// are live (member included) and member's rank among them (0-based,
	// in an order every member sees alike: by id).
	Join(ctx context.Context, group, member string, ttl time.Duration) (live, rank int, err error)
}

// Share paces one replica at its share of a shared limit while the shared
// limiter is unreachable (degraded mode):
//
//   - the share is the limit's rate divided by the live replicas (the
//     last count [Membership] gave), less a margin of 10% (the replicas'
//     phases are no longer coordinated), with the burst divided alike (at
//     least 1);
//   - it starts with the debt of what the shared limiter granted: places
//     granted by the shared limiter still go out after the store is lost,
//     so the local places begin after the latest of them
//     ([Share.Granted]), staggered by the replica's rank so that the
//     replicas' first places follow one another at the limit's pace
//     rather than all at once, and each keeps to that grid of places
//     when it idles;
//   - when the store answers again, [Share.Debt] is what this replica took
//     locally that has not gone out yet, to be taken from the shared
//     limiter (so that the shared limiter, perhaps restarted empty, does
//     not grant those places twice), without making those calls wait
//     again.
//
// Times are the caller's: pass time.Now(). The zero Share has no limit
// (Reserve admits everything) until [Share.SetLimit]. A Share is safe for
// concurrent use.
type Share struct {
	mu       sync.Mutex
	interval time.Duration // of the whole limit; 0: no limit known
	burst    int
	live     int // replicas sharing the limit, at least 1
	rank     int // this replica's, 0 ≤ rank < live
	granted  time.Time
	tat      time.Time // theoretical arrival time of the next local place
}

// SetLimit sets the whole limit: perSecond units a second, bursts of
// burst. A rate that is not a positive finite number means no limit.
func (s *Share) SetLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interval, s.burst = 0, max(burst, 1)
	if perSecond > 0 && !math.IsInf(perSecond, 1) && !math.IsNaN(perSecond) {
		s.interval = max(time.Duration(math.Round(float64(time.Second)/perSecond)), 1)
	}
}

// SetMembers records the live replicas (live < 1 counts as 1) and this
// replica's rank among them.
func (s *Share) SetMembers(live, rank int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = max(live, 1)
	s.rank = min(max(rank, 0), s.live-1)
}

// Members returns the live replicas last recorded (1 when none was).
func (s *Share) Members() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.live, 1)
}

// Granted records that the shared limiter gave a place going out at at (a
// refusal's "wait needed" counts too: it is one interval after the last
// place given). Local pacing never starts before the latest.
func (s *Share) Granted(at time.Time) {
	s.mu.Lock()
	if at.After(s.granted) {
		s.granted = at
	}
	s.mu.Unlock()
}

// Interval is the time between two places of the whole limit (0: none).
func (s *Share) Interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

// params are the share's interval and burst, under s.mu.
func (s *Share) params() (every time.Duration, burst int) {
	live := max(s.live, 1)
	return s.interval * time.Duration(live) * 10 / 9, max(s.burst/live, 1)
}

// Reserve takes a place of this replica's share at now, to go out after
// the returned wait; when the wait would exceed maxWait it takes nothing
// and returns ok false with the wait needed.
func (s *Share) Reserve(now time.Time, maxWait time.Duration) (wait time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interval == 0 {
		return 0, true
	}
	every, burst := s.params()
	tat := s.tat
	// The first local place goes out (rank+1) intervals of the whole limit
	// after the last shared place: the replicas interleave.
	if !s.granted.IsZero() {
		floor := s.granted.Add(time.Duration(s.rank+1)*s.interval + time.Duration(burst-1)*every)
		if floor.After(tat) {
			tat = floor
		}
	}
	switch {
	case tat.IsZero():
		tat = now
	case tat.Before(now):
		// An idle replica resumes on its own grid of places (every apart
		// from where they started), not at now as a plain GCRA would:
		// the replicas' grids were interleaved, and a replica that
		// restarts its pacing at an arbitrary instant can land on
		// another's places, and stay there (same interval), which the
		// provider's burst answers with a 429 for one place in three.
		tat = tat.Add((now.Sub(tat) + every - 1) / every * every)
	}
	next := tat.Add(every)
	wait = next.Add(-time.Duration(burst) * every).Sub(now)
	if wait > maxWait {
		return wait, false
	}
	s.tat = next
	return max(wait, 0), true
}

// Debt returns how many places Reserve gave that have not gone out at now,
// and forgets them: the caller takes that many from the shared limiter.
func (s *Share) Debt(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interval == 0 {
		return 0
	}
	every, burst := s.params()
	last := s.tat.Add(-time.Duration(burst) * every) // the last place's time
	n := 0
	if last.After(now) {
		n = int(last.Sub(now)/every) + 1
	}
	// What the shared limiter grants from now on is after those places.
	s.tat = time.Time{}
	if last.After(s.granted) {
		s.granted = last
	}
	return n
}

// MemoryMembership is a [Membership] kept in this process, for tests and
// for executors of one process.
type MemoryMembership struct {
	mu sync.Mutex
	m  map[string]map[string]time.Time // group → member → expiry
}

// NewMemoryMembership returns an empty membership.
func NewMemoryMembership() *MemoryMembership {
	return &MemoryMembership{m: map[string]map[string]time.Time{}}
}

// Join implements [Membership]. It never fails unless ctx is done.
func (m *MemoryMembership) Join(ctx context.Context, group, member string, ttl time.Duration) (live, rank int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.m[group]
	if g == nil {
		g = map[string]time.Time{}
		m.m[group] = g
	}
	g[member] = now.Add(ttl)
	ids := make([]string, 0, len(g))
	for id, exp := range g {
		if !exp.After(now) {
			delete(g, id)
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return len(ids), slices.Index(ids, member), nil
}

// Rate implements [RateReporter].
func (l *MemoryLimiter) Rate() (perSecond float64, burst int) {
	if l.interval == 0 {
		return math.Inf(1), l.burst
	}
	return 1 / l.interval, l.burst
}

var (
	_ RateReporter = (*MemoryLimiter)(nil)
	_ Membership   = (*MemoryMembership)(nil)
)
