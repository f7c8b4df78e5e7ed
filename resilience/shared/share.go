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
//     ([Share.Granted]), and after as far ahead as the store's queue last
//     ran, for the places it gave the others ([Share.Lost]);
//   - each replica's places keep to a grid of its own, offset by its rank
//     and anchored on the wall clock, so that the replicas' places follow
//     one another at the limit's pace rather than fall together;
//   - when the store answers again, the places this replica took locally
//     still go out, up to [Share.Last]; each is taken from the shared
//     limiter as it goes (so that the shared limiter, perhaps restarted
//     empty, counts it when it goes out), without making the call wait
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

// Lost records that the shared limiter stopped answering at now, when the
// last place it gave (or asked a refused call to wait for) lay ahead of its
// answer: the other replicas may hold places up to now+ahead, given after
// this replica last asked, and local pacing starts after them too. Taken
// from this replica's own places only, a replica whose callers all held
// places for a second had not asked since, and paced 10/s on top of the
// others' last second of places at the whole 30/s. An estimate: the queue
// may have grown or shrunk since, by what the others asked meanwhile.
func (s *Share) Lost(now time.Time, ahead time.Duration) {
	if ahead > 0 {
		s.Granted(now.Add(ahead))
	}
}

// Interval is the time between two places of the whole limit (0: none).
func (s *Share) Interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

// Spacing is the time between two of this replica's places (0: no limit
// known).
func (s *Share) Spacing() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interval == 0 {
		return 0
	}
	every, _ := s.params()
	return every
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
	// No local place before the last shared one.
	if !s.granted.IsZero() {
		floor := s.granted.Add(s.interval + time.Duration(burst-1)*every)
		if floor.After(tat) {
			tat = floor
		}
	}
	if tat.Before(now) {
		tat = now
	}
	tat = s.onGrid(tat, every)
	next := tat.Add(every)
	wait = next.Add(-time.Duration(burst) * every).Sub(now)
	if wait > maxWait {
		return wait, false
	}
	s.tat = next
	return max(wait, 0), true
}

// onGrid returns the first of this replica's places at or after t. The
// places of replica rank are rank intervals (of the whole limit) past the
// multiples of every, counted from the Unix epoch: the replicas share a
// clock, not state, so their grids interleave without a word between them,
// whatever each last heard from the store. A plain GCRA restarts its pacing
// wherever a call comes; replicas pacing alike can then fall onto the same
// instants and stay there (same interval), which a provider's small burst
// answers with a 429 for every place but one.
func (s *Share) onGrid(t time.Time, every time.Duration) time.Time {
	off := t.UnixNano() - int64(s.rank)*int64(s.interval)
	if r := off % int64(every); r != 0 {
		if r < 0 {
			r += int64(every)
		}
		t = t.Add(every - time.Duration(r))
	}
	return t
}

// Last returns when the last place Reserve gave goes out (the zero time
// when none was given).
func (s *Share) Last() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interval == 0 || s.tat.IsZero() {
		return time.Time{}
	}
	every, burst := s.params()
	return s.tat.Add(-time.Duration(burst) * every)
}

// MemoryMembership is a [Membership] kept in this process, for tests and
// for executors of one process. Its zero value is ready to use.
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
	if m.m == nil {
		m.m = map[string]map[string]time.Time{}
	}
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
