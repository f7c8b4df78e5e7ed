package shared_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/resilience/shared"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Three replicas of a 30/s limit (burst 3) lose the store while the
// shared limiter had given places up to 2s ahead: no local place goes
// before those, then the three together go at 30/s, one after another.
func TestShareStartsAfterTheDebtAndInterleaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		last := now.Add(2 * time.Second) // the last shared place
		var reps [3]shared.Share
		for i := range reps {
			reps[i].SetLimit(30, 3)
			reps[i].SetMembers(3, i)
			reps[i].Granted(last)
			reps[i].Granted(now) // an older grant changes nothing
		}
		var at []time.Duration
		for round := range 4 {
			for i := range reps {
				w, ok := reps[i].Reserve(now, time.Hour)
				if !ok {
					t.Fatalf("replica %d round %d: Reserve refused", i, round)
				}
				at = append(at, w)
			}
		}
		const step = time.Second / 30
		for k, w := range at {
			round, i := k/3, k%3
			want := 2*time.Second + time.Duration(i+1)*step + time.Duration(round)*3*step*10/9
			if d := w - want; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("replica %d place %d goes after %v; want %v", i, round, w, want)
			}
		}
		// The deadline rule: a wait past maxWait takes nothing.
		if w, ok := reps[0].Reserve(now, time.Second); ok || w < 2*time.Second {
			t.Errorf("Reserve(maxWait 1s) = %v, %v; want refused with a wait over 2s", w, ok)
		}
	})
}

// A replica that idles resumes on its grid: its places stay between the
// other replicas' places instead of landing on them.
func TestShareKeepsItsGridWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		var s shared.Share
		s.SetLimit(20, 1)
		s.SetMembers(3, 1)
		s.Granted(now) // grid: now + 100ms + k × 166.7ms (3 × 50ms + 10%)
		if w, _ := s.Reserve(now, time.Hour); w != 100*time.Millisecond {
			t.Fatalf("first place after %v; want 100ms", w)
		}
		every := 3 * 50 * time.Millisecond * 10 / 9
		for _, idle := range []time.Duration{1234 * time.Millisecond, 5 * time.Second, 77 * time.Millisecond} {
			time.Sleep(idle)
			w, ok := s.Reserve(time.Now(), time.Hour)
			at := time.Since(now) + w
			if !ok || w >= every || (at-100*time.Millisecond)%every != 0 {
				t.Errorf("after idling %v: place at %v (wait %v); want the next place of the grid 100ms + k × %v", idle, at, w, every)
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
	})
}

// Debt counts the places given that have not gone out, once.
func TestShareDebt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s shared.Share
		s.SetLimit(10, 1)
		s.SetMembers(1, 0)
		now := time.Now()
		for range 5 {
			s.Reserve(now, time.Hour) // at 0, 111ms, ..., 444ms (10/s less 10%)
		}
		time.Sleep(150 * time.Millisecond)
		if got := s.Debt(time.Now()); got != 3 {
			t.Errorf("Debt after 150ms = %d; want 3 (at 222, 333, 444ms)", got)
		}
		if got := s.Debt(time.Now()); got != 0 {
			t.Errorf("Debt again = %d; want 0", got)
		}
		// Local pacing after it starts after those places.
		if w, _ := s.Reserve(time.Now(), time.Hour); w < 349*time.Millisecond {
			t.Errorf("Reserve after Debt waits %v; want at least 350ms (after the place at 400ms)", w)
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
