package sharedtest

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience/shared"
)

// Options tune the suite to an implementation.
type Options struct {
	// Synctest runs each case inside a testing/synctest bubble: set it for
	// an implementation that reads time.Now and does no network I/O.
	Synctest bool
	// Slack is the timing tolerance of the cases: the time one operation
	// may take, plus the store's clock granularity; 0 means 25ms (0 inside
	// a bubble).
	Slack time.Duration
}

func (o Options) slack() time.Duration {
	switch {
	case o.Synctest:
		return 0
	case o.Slack > 0:
		return o.Slack
	}
	return 25 * time.Millisecond
}

func (o Options) run(t *testing.T, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		if o.Synctest {
			synctest.Test(t, f)
			return
		}
		f(t)
	})
}

// wait lets d pass (on fake time inside a bubble).
func wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	<-t.C
}

// TestLimiter runs the conformance cases of [shared.Limiter]:
// newLimiter returns a limiter of rate units a second with bursts of burst
// units, whose keys hold no state yet (called inside the bubble when
// Options.Synctest is set).
func TestLimiter(t *testing.T, newLimiter func(t *testing.T, rate, burst int) shared.Limiter, opts Options) {
	t.Helper()
	slack := opts.slack()
	const rate, burst = 10, 3
	const interval = time.Second / rate
	ctx := context.Background()

	reserve := func(t *testing.T, l shared.Limiter, key string, cost int, maxWait time.Duration) (time.Duration, bool) {
		t.Helper()
		w, ok, err := l.Reserve(ctx, key, cost, maxWait)
		if err != nil {
			t.Fatalf("Reserve(%q, %d, %v) error = %v; want nil", key, cost, maxWait, err)
		}
		return w, ok
	}
	within := func(t *testing.T, what string, got, lo, hi time.Duration) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s = %v; want in [%v, %v]", what, got, lo, hi)
		}
	}

	opts.run(t, "burst then paced", func(t *testing.T) {
		l := newLimiter(t, rate, burst)
		for i := range burst {
			if w, ok := reserve(t, l, "k", 1, 0); !ok || w != 0 {
				t.Fatalf("Reserve #%d within the burst = %v, %v; want 0, true", i+1, w, ok)
			}
		}
		w, ok := reserve(t, l, "k", 1, 0)
		if ok {
			t.Fatalf("Reserve beyond the burst with maxWait 0 = %v, true; want false", w)
		}
		within(t, "wait beyond the burst", w, interval-slack, interval)
		w, ok = reserve(t, l, "k", 1, time.Second)
		if !ok {
			t.Fatalf("Reserve beyond the burst with maxWait 1s = %v, false; want true", w)
		}
		within(t, "reserved wait", w, interval-slack, interval)
		w, _ = reserve(t, l, "k", 1, time.Second)
		within(t, "next reserved wait", w, 2*interval-slack, 2*interval)
	})

	opts.run(t, "refused takes nothing", func(t *testing.T) {
		l := newLimiter(t, rate, burst)
		reserve(t, l, "k", burst, 0)
		w1, ok1 := reserve(t, l, "k", 1, 0)
		w2, ok2 := reserve(t, l, "k", 1, 0)
		if ok1 || ok2 {
			t.Fatalf("Reserve beyond the burst = %v, %v; want false, false", ok1, ok2)
		}
		within(t, "second refused wait", w2, w1-slack, w1)
	})

	opts.run(t, "weighted cost", func(t *testing.T) {
		l := newLimiter(t, rate, burst)
		if w, ok := reserve(t, l, "k", burst, 0); !ok || w != 0 {
			t.Fatalf("Reserve(cost %d) = %v, %v; want 0, true", burst, w, ok)
		}
		if _, ok := reserve(t, l, "k", 1, 0); ok {
			t.Fatal("Reserve after a cost of the whole burst = true; want false")
		}
		w, ok := reserve(t, l, "k", 5, 10*time.Second)
		if !ok {
			t.Fatal("Reserve(cost 5, maxWait 10s) = false; want true")
		}
		within(t, "wait for cost 5", w, 5*interval-slack, 5*interval)
	})

	opts.run(t, "refill", func(t *testing.T) {
		l := newLimiter(t, rate, burst)
		reserve(t, l, "k", burst, 0)
		wait(interval + slack)
		if w, ok := reserve(t, l, "k", 1, 0); !ok || w != 0 {
			t.Fatalf("Reserve one interval after the burst = %v, %v; want 0, true", w, ok)
		}
	})

	opts.run(t, "keys are independent", func(t *testing.T) {
		l := newLimiter(t, rate, burst)
		reserve(t, l, "a", burst, 0)
		if w, ok := reserve(t, l, "b", burst, 0); !ok || w != 0 {
			t.Fatalf("Reserve(b) after a's burst = %v, %v; want 0, true", w, ok)
		}
	})

	opts.run(t, "concurrent reservations are all served in turn", func(t *testing.T) {
		l := newLimiter(t, 100, 1)
		const n = 20
		waits := make([]time.Duration, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { waits[i], _ = reserve(t, l, "k", 1, time.Minute) })
		}
		wg.Wait()
		var longest time.Duration
		for _, w := range waits {
			longest = max(longest, w)
		}
		// n reservations at 100/s, burst 1: the last waits (n-1)·10ms.
		within(t, "longest of 20 concurrent waits", longest, (n-1)*10*time.Millisecond-slack, (n-1)*10*time.Millisecond)
	})

	opts.run(t, "cancelled ctx", func(t *testing.T) {
		l := newLimiter(t, rate, burst)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := l.Reserve(cctx, "k", 1, 0); err == nil {
			t.Error("Reserve(cancelled ctx) error = nil; want an error")
		}
	})
}

// TestState runs the conformance cases of [shared.State]:
// newState returns a state whose keys hold nothing yet (called inside the
// bubble when Options.Synctest is set).
func TestState(t *testing.T, newState func(t *testing.T) shared.State, opts Options) {
	t.Helper()
	slack := opts.slack()
	ctx := context.Background()
	admit := func(t *testing.T, s shared.State, key string, maxProbes int) shared.Admission {
		t.Helper()
		a, err := s.Admit(ctx, key, maxProbes)
		if err != nil {
			t.Fatalf("Admit(%q, %d) error = %v; want nil", key, maxProbes, err)
		}
		return a
	}
	must := func(t *testing.T, what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s error = %v; want nil", what, err)
		}
	}
	const open = 200 * time.Millisecond

	opts.run(t, "closed by default", func(t *testing.T) {
		s := newState(t)
		if a := admit(t, s, "k", 1); a != (shared.Admission{}) {
			t.Errorf("Admit on a new key = %+v; want zero", a)
		}
	})

	opts.run(t, "open, never shortened, then half_open with capped probes", func(t *testing.T) {
		s := newState(t)
		must(t, "Open", s.Open(ctx, "k", open))
		must(t, "Open (shorter)", s.Open(ctx, "k", open/4))
		a := admit(t, s, "k", 2)
		if a.OpenFor < open-slack || a.OpenFor > open || a.Probe || a.ProbesFull {
			t.Fatalf("Admit while open = %+v; want OpenFor in [%v, %v]", a, open-slack, open)
		}
		if b := admit(t, s, "other", 2); b != (shared.Admission{}) {
			t.Fatalf("Admit(other key) = %+v; want zero", b)
		}
		wait(a.OpenFor + time.Millisecond)
		for i := range 2 {
			if a := admit(t, s, "k", 2); !a.Probe || a.OpenFor != 0 {
				t.Fatalf("Admit #%d after the open period = %+v; want a probe", i+1, a)
			}
		}
		if a := admit(t, s, "k", 2); !a.ProbesFull || a.Probe {
			t.Fatalf("Admit with every probe slot taken = %+v; want ProbesFull", a)
		}
		must(t, "Release", s.Release(ctx, "k"))
		if a := admit(t, s, "k", 2); !a.Probe {
			t.Fatalf("Admit after Release = %+v; want a probe", a)
		}
		must(t, "Close", s.Close(ctx, "k"))
		for range 3 {
			if a := admit(t, s, "k", 2); a != (shared.Admission{}) {
				t.Fatalf("Admit after Close = %+v; want zero", a)
			}
		}
	})

	opts.run(t, "a failed probe opens again with every slot free", func(t *testing.T) {
		s := newState(t)
		must(t, "Open", s.Open(ctx, "k", open/4))
		wait(open/4 + time.Millisecond)
		if a := admit(t, s, "k", 1); !a.Probe {
			t.Fatalf("Admit after the open period = %+v; want a probe", a)
		}
		must(t, "Open", s.Open(ctx, "k", open/4))
		if a := admit(t, s, "k", 1); a.OpenFor <= 0 {
			t.Fatalf("Admit after Open = %+v; want OpenFor > 0", a)
		}
		wait(open/4 + time.Millisecond)
		if a := admit(t, s, "k", 1); !a.Probe {
			t.Fatalf("Admit after the second open period = %+v; want a probe", a)
		}
	})

	opts.run(t, "probes are capped under concurrency", func(t *testing.T) {
		s := newState(t)
		must(t, "Open", s.Open(ctx, "k", open/4))
		wait(open/4 + time.Millisecond)
		const n = 20
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			probes int
		)
		for range n {
			wg.Go(func() {
				if a := admit(t, s, "k", 1); a.Probe {
					mu.Lock()
					probes++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if probes != 1 {
			t.Errorf("probes taken by %d concurrent Admit(maxProbes 1) = %d; want 1", n, probes)
		}
	})

	opts.run(t, "pause", func(t *testing.T) {
		s := newState(t)
		must(t, "Pause", s.Pause(ctx, "k", open, aierrors.RateLimited))
		must(t, "Pause (shorter)", s.Pause(ctx, "k", open/4, aierrors.RateLimited))
		a := admit(t, s, "k", 1)
		if a.PausedFor < open-slack || a.PausedFor > open || a.PauseCode != aierrors.RateLimited || a.Probe {
			t.Fatalf("Admit while paused = %+v; want PausedFor in [%v, %v], RateLimited", a, open-slack, open)
		}
		must(t, "Pause (longer, quota)", s.Pause(ctx, "k", 2*open, aierrors.QuotaExhausted))
		if a := admit(t, s, "k", 1); a.PauseCode != aierrors.QuotaExhausted || a.PausedFor <= open {
			t.Fatalf("Admit after a longer quota pause = %+v; want QuotaExhausted for more than %v", a, open)
		}
		must(t, "Open", s.Open(ctx, "k", open/4))
		if a := admit(t, s, "k", 1); a.OpenFor <= 0 {
			t.Fatalf("Admit while open and paused = %+v; want OpenFor > 0", a)
		}
		wait(2*open + time.Millisecond)
		if a := admit(t, s, "k", 1); a.PausedFor != 0 || a.OpenFor != 0 {
			t.Fatalf("Admit after the pause = %+v; want neither open nor paused", a)
		}
	})

	opts.run(t, "pause for another code", func(t *testing.T) {
		s := newState(t)
		must(t, "Pause", s.Pause(ctx, "k", open, aierrors.Authentication))
		if a := admit(t, s, "k", 1); a.PauseCode != aierrors.Authentication || a.PausedFor <= 0 {
			t.Fatalf("Admit after an authentication pause = %+v; want Authentication", a)
		}
	})

	opts.run(t, "cancelled ctx", func(t *testing.T) {
		s := newState(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Admit(cctx, "k", 1); err == nil {
			t.Error("Admit(cancelled ctx) error = nil; want an error")
		}
	})

	opts.run(t, "membership", func(t *testing.T) {
		m, ok := newState(t).(shared.Membership)
		if !ok {
			t.Skip("the state does not implement shared.Membership")
		}
		testMembership(t, m, open, slack)
	})
}

// testMembership checks a [shared.Membership]: members counted while
// live, ranked by id alike for all, forgotten once their ttl has passed.
func testMembership(t *testing.T, m shared.Membership, ttl, slack time.Duration) {
	t.Helper()
	ctx := context.Background()
	join := func(member string) (int, int) {
		t.Helper()
		live, rank, err := m.Join(ctx, "g", member, ttl)
		if err != nil {
			t.Fatalf("Join(%q) = %v", member, err)
		}
		return live, rank
	}
	if live, rank := join("b"); live != 1 || rank != 0 {
		t.Fatalf("first Join = %d live, rank %d; want 1, 0", live, rank)
	}
	if live, rank := join("a"); live != 2 || rank != 0 {
		t.Fatalf("second Join(a) = %d live, rank %d; want 2, 0", live, rank)
	}
	if live, rank := join("b"); live != 2 || rank != 1 {
		t.Fatalf("refresh Join(b) = %d live, rank %d; want 2, 1", live, rank)
	}
	if live, _, err := m.Join(ctx, "other", "a", ttl); err != nil || live != 1 {
		t.Fatalf("Join in another group = %d, %v; want 1 (groups are apart)", live, err)
	}
	wait(ttl + slack + time.Millisecond)
	if live, rank := join("c"); live != 1 || rank != 0 {
		t.Fatalf("Join after the others' ttl = %d live, rank %d; want 1, 0", live, rank)
	}
}
