package shared_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/resilience/shared"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Three replicas of a 30/s limit (burst 3) lose the store while the
// shared limiter had given places up to 2s ahead: no local place goes
// before those, then the three together go at 30/s less 10%, one after
// another (never two within an interval of the whole limit), although
// each heard of the last shared place at a different time.
func TestShareStartsAfterTheDebtAndInterleaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		const step = time.Second / 30
		last := now.Add(2 * time.Second) // the last shared place
		var reps [3]shared.Share
		for i := range reps {
			reps[i].SetLimit(30, 3)
			reps[i].SetMembers(3, i)
			reps[i].Granted(last.Add(-time.Duration(i) * step)) // heard at different times
			reps[i].Granted(now)                                // an older grant changes nothing
		}
		every := 3 * step * 10 / 9
		var all []time.Time
		for round := range 4 {
			for i := range reps {
				w, ok := reps[i].Reserve(now, time.Hour)
				if !ok {
					t.Fatalf("replica %d round %d: Reserve refused", i, round)
				}
				at := now.Add(w)
				if at.Before(last.Add(-time.Duration(i) * step)) {
					t.Errorf("replica %d place %d at %v; want after the last shared place it heard of", i, round, w)
				}
				if round == 0 && at.After(last.Add(every+step)) {
					t.Errorf("replica %d first place at %v; want within %v of the last shared place", i, w, every+step)
				}
				all = append(all, at)
			}
		}
		slices.SortFunc(all, time.Time.Compare)
		for k := 1; k < len(all); k++ {
			if d := all[k].Sub(all[k-1]); d < step-time.Microsecond {
				t.Errorf("places %d and %d of all replicas %v apart; want at least %v (interleaved)", k-1, k, d, step)
			}
		}
		// The deadline rule: a wait past maxWait takes nothing.
		if w, ok := reps[0].Reserve(now, time.Second); ok || w < 2*time.Second {
			t.Errorf("Reserve(maxWait 1s) = %v, %v; want refused with a wait over 2s", w, ok)
		}
	})
}

// A replica whose own last shared place lay 1s ahead, while the store's
// queue ran 1.9s ahead when it last answered (the other replicas' places),
// starts local pacing after the queue's end, not after its own places.
func TestShareLostStartsAfterTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		var s shared.Share
		s.SetLimit(30, 3)
		s.SetMembers(3, 1)
		s.Granted(now.Add(time.Second))
		s.Lost(now, 1900*time.Millisecond)
		if w, _ := s.Reserve(now, time.Hour); w < 1900*time.Millisecond {
			t.Errorf("first local place after %v; want after the queue's end, 1.9s", w)
		}
		var fresh shared.Share
		fresh.SetLimit(30, 3)
		fresh.SetMembers(3, 1)
		fresh.Lost(now, 0) // no queue: nothing to wait for
		if w, _ := fresh.Reserve(now, time.Hour); w > 100*time.Millisecond {
			t.Errorf("first local place after %v with no queue ahead; want within a place of the grid", w)
		}
	})
}

// A replica that idles resumes on its grid: its places stay between the
// other replicas' places instead of landing on them.
func TestShareKeepsItsGridWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 50 * time.Millisecond
		every := 3 * interval * 10 / 9
		var s shared.Share
		s.SetLimit(20, 1)
		s.SetMembers(3, 1) // grid: 50ms past the multiples of every
		for _, idle := range []time.Duration{0, 1234 * time.Millisecond, 5 * time.Second, 77 * time.Millisecond, 0} {
			time.Sleep(idle)
			now := time.Now()
			w, ok := s.Reserve(now, time.Hour)
			at := now.Add(w)
			if !ok || (idle > 0 && w >= every) || (at.UnixNano()-int64(interval))%int64(every) != 0 {
				t.Errorf("after idling %v: wait %v, place %v past a multiple of %v; want the next place of the grid, %v past one",
					idle, w, time.Duration((at.UnixNano()-int64(interval))%int64(every)+int64(interval)), every, interval)
			}
		}
	})
}

// Without a shared debt, one replica of four gets a quarter of the rate
// less 10%, and a quarter of the burst (at least 1).
func TestShareFollowsMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s shared.Share
		if w, ok := s.Reserve(time.Now(), 0); !ok || w != 0 {
			t.Fatalf("zero Share Reserve = %v, %v; want no limit", w, ok)
		}
		s.SetLimit(20, 2)
		s.SetMembers(4, 3)
		start := time.Now()
		n := 0
		for time.Since(start) < 10*time.Second {
			w, ok := s.Reserve(time.Now(), time.Hour)
			if !ok {
				t.Fatal("Reserve refused")
			}
			time.Sleep(w)
			n++
		}
		if n < 44 || n > 47 {
			t.Errorf("places in 10s at 90%% of a quarter of 20/s = %d; want about 45", n)
		}
		if s.Members() != 4 {
			t.Errorf("Members() = %d; want 4", s.Members())
		}
		if got, want := s.Spacing(), 4*(50*time.Millisecond)*10/9; got != want {
			t.Errorf("Spacing() = %v; want %v (four replicas of 20/s, less 10%%)", got, want)
		}
	})
}

// Last is when the last place given goes out.
func TestShareLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s shared.Share
		s.SetLimit(10, 1)
		s.SetMembers(1, 0)
		if !s.Last().IsZero() {
			t.Errorf("Last before any place = %v; want the zero time", s.Last())
		}
		now := time.Now()
		var w time.Duration
		for range 5 {
			w, _ = s.Reserve(now, time.Hour)
		}
		if got, want := s.Last(), now.Add(w); !got.Equal(want) {
			t.Errorf("Last = now + %v; want now + %v (the fifth place)", got.Sub(now), w)
		}
	})
}

func TestMemoryMembership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := shared.NewMemoryMembership()
		ctx := context.Background()
		m.Join(ctx, "g", "b", time.Second)
		m.Join(ctx, "g", "c", 3*time.Second)
		if live, rank, _ := m.Join(ctx, "g", "a", 3*time.Second); live != 3 || rank != 0 {
			t.Errorf("Join(a) = %d, %d; want 3 live, rank 0", live, rank)
		}
		time.Sleep(2 * time.Second) // b expires
		if live, rank, _ := m.Join(ctx, "g", "c", 3*time.Second); live != 2 || rank != 1 {
			t.Errorf("Join(c) after b expired = %d, %d; want 2 live, rank 1", live, rank)
		}
		if live, _, _ := m.Join(ctx, "other", "x", time.Second); live != 1 {
			t.Errorf("Join in another group = %d live; want 1", live)
		}
	})
}
