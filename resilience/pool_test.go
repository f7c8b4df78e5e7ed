package resilience

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// newTestPool returns a pool over members named names, each with a
// default executor.
func newTestPool(t *testing.T, names ...string) *Pool {
	t.Helper()
	var ms []PoolMember
	for _, n := range names {
		e, err := NewResilientExecutor(ResilientConfig{}, WithName(n))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, PoolMember{Name: n, Executor: e})
	}
	p, err := NewPool("p", ms)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPoolErrors(t *testing.T) {
	e, _ := NewResilientExecutor(ResilientConfig{})
	cases := map[string][]PoolMember{
		"has no members":       nil,
		"listed twice":         {{Name: "a", Executor: e}, {Name: "a", Executor: e}},
		"empty name":           {{Executor: e}},
		"must be a finite":     {{Name: "a", Executor: e, Weight: -2}},
		"has 65 members":       make([]PoolMember, 65),
		"Weight NaN must be a": {{Name: "a", Executor: e, Weight: nan()}},
	}
	for want, ms := range cases {
		if _, err := NewPool("p", ms); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewPool(%v) = %v; want an error containing %q", ms, err, want)
		}
	}
}

func nan() float64 { z := 0.0; return z / z }

// A deployment whose circuit is open or that cools down is not sent to;
// when every one is out, the call is refused once, at once.
func TestPoolSkipsDeploymentsThatAreOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a", "b", "c")
		calls := map[string]int{}
		op := func(codes map[string]aierrors.StandardErrorCode) func(context.Context, string) error {
			return func(_ context.Context, m string) error {
				calls[m]++
				if code, ok := codes[m]; ok {
					return &aierrors.Error{Code: code, HTTPStatus: code.HTTPStatus()}
				}
				return nil
			}
		}
		// a: out of quota (cooldown); b: revoked key (cooldown). Whichever
		// order the pool tries them in, the call ends on c.
		if err := p.Execute(t.Context(), op(map[string]aierrors.StandardErrorCode{"a": aierrors.QuotaExhausted, "b": aierrors.Authentication})); err != nil {
			t.Fatal(err)
		}
		clear(calls)
		for range 6 {
			if err := p.Execute(t.Context(), op(nil)); err != nil {
				t.Fatal(err)
			}
		}
		if calls["a"] != 0 || calls["b"] != 0 || calls["c"] != 6 {
			t.Fatalf("calls = %v; want all 6 on c", calls)
		}
		if s := p.Signals(); s.Available != 1 || s.Ready != 1 {
			t.Errorf("Signals = %d available, %d ready; want 1, 1", s.Available, s.Ready)
		}
		// c out of quota too: the call is refused by one deployment at
		// once, with when it is back.
		if err := p.Execute(t.Context(), op(map[string]aierrors.StandardErrorCode{"c": aierrors.QuotaExhausted})); !errors.Is(err, aierrors.QuotaExhausted) {
			t.Fatal(err)
		}
		clear(calls)
		start := time.Now()
		err := p.Execute(t.Context(), op(nil))
		var ae *aierrors.Error
		if !errors.As(err, &ae) || !errors.Is(err, ErrTargetPaused) || ae.RetryAfter <= 0 || !aierrors.IsFallbackable(err) {
			t.Fatalf("Execute with every deployment out = %v; want a fallbackable ErrTargetPaused with RetryAfter", err)
		}
		if len(calls) != 0 || time.Since(start) != 0 {
			t.Errorf("calls %v after %v; want none, at once", calls, time.Since(start))
		}
	})
}

// The pool routes a deployment by its stated limit before any 429, and
// stops believing a stated limit the provider is seen to exceed.
func TestPoolRoutesByStatedLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a", "b")
		a := p.members[0].Executor
		h := http.Header{}
		h.Set("x-ratelimit-limit-requests", "60") // 1 a second
		a.ObserveHeader(h)
		calls := map[string]int{}
		op := func(_ context.Context, m string) error { calls[m]++; return nil }
		for range 10 {
			if err := p.Execute(t.Context(), op); err != nil {
				t.Fatal(err)
			}
		}
		if calls["a"] != 1 || calls["b"] != 9 {
			t.Fatalf("calls within one instant = %v; want a 1 (its stated 1/s), b 9", calls)
		}
		time.Sleep(time.Second)
		clear(calls)
		for range 10 {
			_ = p.Execute(t.Context(), op)
		}
		if calls["a"] != 1 {
			t.Fatalf("calls a second later = %v; want a 1", calls)
		}

		// A stated limit that is a burst, not a rate: the provider
		// accepts far more, and the pool stops routing by it.
		p2 := newTestPool(t, "a")
		h.Set("x-ratelimit-limit-requests", "2")
		p2.members[0].Executor.ObserveHeader(h)
		for range 5 {
			if err := p2.Execute(t.Context(), op); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if w := p2.members[0].Executor.limiter.routeWait(time.Now()); w != 0 {
			t.Errorf("route wait after the provider took 5 calls in 50ms with a stated 2/min = %v; want 0 (not believed)", w)
		}
	})
}

// A 429 moves the attempt at once; the deployment chosen last gets the
// executor's retries.
func TestPoolMovesThenRetriesTheLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a", "b")
		calls := map[string]int{}
		err := p.Execute(t.Context(), func(_ context.Context, m string) error {
			calls[m]++
			if calls[m] <= 1 {
				return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 503}
			}
			return nil
		})
		if err != nil || calls["a"] != 1 || calls["b"] != 2 {
			t.Fatalf("Execute = %v, calls %v; want success after a once and b twice", err, calls)
		}
	})
}

// When the last deployment left is out by the time the call comes to it,
// the others having each answered a 429 that asks for a short wait, the
// call waits for the first of those and runs there with its executor's
// retries, as a lone target would: the pool gave up on it before (seen
// with replicas over Redis, where another replica's 429 paused the third
// deployment between two picks).
func TestPoolRetriesWhereTheLastChoiceIsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a", "b", "c")
		calls := map[string]int{}
		var order []string
		start := time.Now()
		var at time.Duration
		err := p.Execute(t.Context(), func(_ context.Context, m string) error {
			calls[m]++
			if calls[m] > 1 {
				at = time.Since(start)
				return nil
			}
			order = append(order, m)
			if len(order) == 2 {
				// The deployment not tried yet goes out of quota meanwhile.
				for _, other := range []string{"a", "b", "c"} {
					if other != order[0] && other != order[1] {
						e := p.members[slices.Index(p.Members(), other)].Executor
						_ = e.Execute(t.Context(), func(context.Context) error {
							return &aierrors.Error{Code: aierrors.QuotaExhausted, HTTPStatus: 429}
						})
					}
				}
			}
			return &aierrors.Error{Code: aierrors.RateLimited, HTTPStatus: 429, RetryAfter: time.Duration(len(order)) * 20 * time.Millisecond}
		})
		if err != nil {
			t.Fatalf("Execute = %v after %v; want success on %s after its 20ms Retry-After", err, order, order[0])
		}
		if calls[order[0]] != 2 || at != 20*time.Millisecond {
			t.Errorf("calls %v, success at %v; want a second call to %s (the shorter Retry-After) at 20ms", calls, at, order[0])
		}
	})
}

// A pool's deployments after a lull learn from the burst, not from the
// lull: ten minutes of a call a second, then 30 calls a second on two
// deployments that take 10 each (buckets of one). Cut from the lull's
// average, both stayed near 1 a second (2 calls served a second of 20).
func TestPoolLearnsFromABurstAfterALull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a", "b")
		const c = 10.0
		var mu sync.Mutex
		tokens := map[string]float64{"a": 1, "b": 1}
		last := map[string]time.Time{"a": time.Now(), "b": time.Now()}
		served := 0
		counting := false
		op := func(_ context.Context, m string) error {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			tokens[m], last[m] = min(1, tokens[m]+now.Sub(last[m]).Seconds()*c), now
			if tokens[m] < 1 {
				return &aierrors.Error{Code: aierrors.RateLimited, HTTPStatus: 429}
			}
			tokens[m]--
			if counting {
				served++
			}
			return nil
		}
		for range 600 {
			time.Sleep(time.Second)
			_ = p.Execute(t.Context(), op)
		}
		var wg sync.WaitGroup
		for i := range 5 * 30 {
			if i == 30 { // count from the burst's second second
				mu.Lock()
				counting = true
				mu.Unlock()
			}
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				defer cancel()
				_ = p.Execute(ctx, op)
			})
			time.Sleep(time.Second / 30)
		}
		wg.Wait()
		if served < 60 {
			t.Errorf("served %d calls from the burst's second second on (about 4s of two deployments taking 10 a second each, less the calls' deadlines); want ≥ 60", served)
		}
	})
}

// A conflict is retryable but not fallbackable: it is retried on the
// same deployment, not moved.
func TestPoolRetriesConflictInPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a", "b")
		var seen []string
		err := p.Execute(t.Context(), func(_ context.Context, m string) error {
			seen = append(seen, m)
			if len(seen) == 1 {
				return &aierrors.Error{Code: aierrors.Conflict, HTTPStatus: 409}
			}
			return nil
		})
		if err != nil || strings.Join(seen, ",") != "a,a" {
			t.Fatalf("Execute = %v, attempts on %v; want a twice", err, seen)
		}
	})
}

func TestPoolCancelled(t *testing.T) {
	p := newTestPool(t, "a", "b")
	ctx, cancel := context.WithCancel(t.Context())
	err := p.Execute(ctx, func(context.Context, string) error {
		cancel()
		return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 503}
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, aierrors.Cancelled) {
		t.Fatalf("Execute = %v; want Cancelled", err)
	}
}

// While the pool is short, a deployment grows toward the rate its last
// 429 refused, not past it; past it only when every one is at its ceiling
// and a queue builds.
func TestPoolShortageGrowsToCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestPool(t, "a")
		l := p.members[0].Executor.limiter
		l.mu.Lock()
		l.setEstimate(time.Now(), 5)
		l.ceil, l.lastCut = 8, time.Now()
		l.mu.Unlock()
		for range 100 {
			time.Sleep(shortageGap)
			l.onShortage(time.Now(), false)
		}
		if got := l.learnedRate(); got != ceilShare*8 {
			t.Fatalf("learned rate after a long shortage = %v; want %v (ceilShare of the ceiling)", got, ceilShare*8)
		}
		time.Sleep(shortageGap)
		if l.onShortage(time.Now(), false) {
			t.Error("onShortage at the ceiling grew")
		}
		l.onShortage(time.Now(), true)
		if got := l.learnedRate(); got <= ceilShare*8 {
			t.Errorf("explore did not grow past the ceiling: %v", got)
		}
	})
}

// Two replicas sharing a stated limit route on interleaved grids: each at
// its share, and together never three requests within the limit's
// interval (a place may be taken up to one interval late, so two may go
// together, as a provider's burst of 2 allows).
func TestPoolReplicasRouteOnInterleavedGrids(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.Header{}
		h.Set("x-ratelimit-limit-requests", "600") // 10 a second for both
		var ls []*RateLimiter
		for rank := range 2 {
			p := newTestPool(t, "a")
			l := p.members[0].Executor.limiter
			p.members[0].Executor.ObserveHeader(h)
			l.setReplicas(2, rank)
			ls = append(ls, l)
		}
		var sent []time.Time
		start := time.Now()
		for time.Since(start) < 2*time.Second {
			for _, l := range ls {
				if l.routeWait(time.Now()) == 0 {
					l.routed(time.Now())
					sent = append(sent, time.Now())
				}
			}
			time.Sleep(time.Millisecond)
		}
		if n := len(sent); n < 19 || n > 21 {
			t.Errorf("%d requests in 2s; want 20 (the stated 10/s)", n)
		}
		for i := 2; i < len(sent); i++ {
			if gap := sent[i].Sub(sent[i-2]); gap < 100*time.Millisecond {
				t.Fatalf("requests %d to %d within %v; want three to span the limit's 100ms at least", i-2, i, gap)
			}
		}
	})
}

// TestPoolEndedEarlyKeepsEarlierErrors: as a chain's, a pool's call ended
// by a deployment's error that no other deployment would fix keeps the
// errors of the deployments tried before it.
func TestPoolEndedEarlyKeepsEarlierErrors(t *testing.T) {
	p := newTestPool(t, "openai/east", "openai/west", "openai/north")
	var order []string
	err := p.Execute(t.Context(), func(_ context.Context, member string) error {
		order = append(order, member)
		if len(order) == 1 {
			return targetErr(member, aierrors.QuotaExhausted)
		}
		return targetErr(member, aierrors.InvalidRequest)
	})
	if len(order) != 2 {
		t.Fatalf("deployments called: %v; want 2 (an invalid request ends the call)", order)
	}
	if !errors.Is(err, aierrors.InvalidRequest) || errors.Is(err, aierrors.QuotaExhausted) {
		t.Errorf("errors.Is(err, InvalidRequest) = %v, errors.Is(err, QuotaExhausted) = %v; want true, false",
			errors.Is(err, aierrors.InvalidRequest), errors.Is(err, aierrors.QuotaExhausted))
	}
	want := "resilience: 2 of 3 deployments of p failed; ailib: openai/" + strings.TrimPrefix(order[0], "openai/") + ": E2002 quota_exhausted"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q; want it to start %q", err, want)
	}
}
