package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/sony/gobreaker/v2"
)

// refBreaker is the reference model of the breaker's trip rules: a plain
// gobreaker told every outcome (no fast path), with the failure-rate window
// kept as a list of (end time, failed) since the circuit last closed and
// counted naively, bucket by bucket.
type refBreaker struct {
	cb        *gobreaker.CircuitBreaker[struct{}]
	origin    time.Time
	span      time.Duration
	rate      float64
	minReq    int
	threshold uint32 // 0: consecutive rule off
	useRate   bool
	closed    bool
	events    []refEvent
}

type refEvent struct {
	at     time.Duration // since origin
	failed bool
}

func newRefBreaker(cfg CircuitBreakerConfig) *refBreaker {
	r := &refBreaker{
		origin:  time.Now(),
		span:    orDuration(cfg.Window, DefaultWindow) / windowBuckets,
		rate:    orFloat(cfg.FailureRateThreshold, DefaultFailureRateThreshold),
		minReq:  orInt(cfg.MinRequests, DefaultMinRequests),
		useRate: cfg.Trip.failureRate(),
		closed:  true,
	}
	if cfg.Trip.consecutive() {
		r.threshold = uint32(orInt(cfg.FailureThreshold, DefaultFailureThreshold))
	}
	r.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		MaxRequests: uint32(orInt(cfg.HalfOpenMaxRequests, DefaultHalfOpenMaxRequests)),
		Timeout:     orDuration(cfg.Cooldown, DefaultCooldown) - 1,
		IsExcluded:  func(err error) bool { return err == errIgnoredOutcome },
		IsSuccessful: func(err error) bool {
			if r.closed {
				r.events = append(r.events, refEvent{time.Since(r.origin), err != nil})
			}
			return err == nil
		},
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if r.threshold > 0 && c.ConsecutiveFailures >= r.threshold {
				return true
			}
			if !r.useRate {
				return false
			}
			rate, n := r.failureRate()
			return n >= r.minReq && rate >= r.rate
		},
		OnStateChange: func(_ string, _, to gobreaker.State) {
			r.closed = to == gobreaker.StateClosed
			if r.closed {
				r.events = nil
			}
		},
	})
	return r
}

// failureRate counts the events of the current bucket and the 9 before it.
func (r *refBreaker) failureRate() (float64, int) {
	if !r.useRate {
		return 0, 0
	}
	bucket := func(d time.Duration) int64 { return int64(d / r.span) }
	cur := bucket(time.Since(r.origin))
	var n, f int
	for _, e := range r.events {
		if b := bucket(e.at); b <= cur && b > cur-windowBuckets {
			n++
			if e.failed {
				f++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(f) / float64(n), n
}

// The failure-rate window (lock-free buckets, successes recorded without
// gobreaker on the fast path, counts restarted when the circuit closes)
// matches the reference model step by step: same admissions, state,
// consecutive failures, failure rate and attempt count, for both rules and
// the failure rate alone.
func TestBreakerMatchesReferenceModel(t *testing.T) {
	configs := []CircuitBreakerConfig{
		{Trip: TripOnEither, FailureThreshold: 4, FailureRateThreshold: 0.6, MinRequests: 6, Window: 10 * time.Second, Cooldown: 5 * time.Second, HalfOpenMaxRequests: 2},
		{Trip: TripOnFailureRate, FailureRateThreshold: 0.5, MinRequests: 8, Window: 3 * time.Second, Cooldown: 2 * time.Second},
		{}, // the defaults
	}
	for i, cfg := range configs {
		opens := 0
		for seed := range uint64(10) {
			synctest.Test(t, func(t *testing.T) {
				b, err := NewCircuitBreaker(cfg, WithHooks(Hooks{OnStateChange: func(s StateChange) {
					if s.To == StateOpen {
						opens++
					}
				}}))
				if err != nil {
					t.Fatal(err)
				}
				ref := newRefBreaker(cfg)
				r := rand.New(rand.NewPCG(seed, uint64(i)))
				answers := []struct {
					err error // what op returns
					ref error // what gobreaker is told
				}{
					{nil, nil},
					{providerErr(aierrors.ServerError), errCountedFailure},
					{providerErr(aierrors.InvalidRequest), errIgnoredOutcome},
				}
				window := orDuration(cfg.Window, DefaultWindow)
				for step := range 600 {
					time.Sleep(time.Duration(r.Int64N(int64(window / 8))))
					// Failures come in phases, so that the rate rule trips now and then.
					pFail := 0.3
					if (step/60)%2 == 1 {
						pFail = 0.8
					}
					a := answers[0]
					switch u := r.Float64(); {
					case u < pFail:
						a = answers[1]
					case u < pFail+0.1:
						a = answers[2]
					}
					_, refErr := ref.cb.Execute(func() (struct{}, error) { return struct{}{}, a.ref })
					err := b.Execute(context.Background(), func(context.Context) error { return a.err })
					refRejected := errors.Is(refErr, gobreaker.ErrOpenState) || errors.Is(refErr, gobreaker.ErrTooManyRequests)
					if rejected := errors.Is(err, ErrCircuitOpen); rejected != refRejected {
						t.Fatalf("config %d seed %d step %d: rejected = %v; reference rejected = %v", i, seed, step, rejected, refRejected)
					}
					if got, want := b.State(), fromGobreaker(ref.cb.State()); got != want {
						t.Fatalf("config %d seed %d step %d: State() = %v; reference says %v", i, seed, step, got, want)
					}
					if got, want := b.ConsecutiveFailures(), int(ref.cb.Counts().ConsecutiveFailures); got != want {
						t.Fatalf("config %d seed %d step %d: ConsecutiveFailures() = %d; reference says %d", i, seed, step, got, want)
					}
					gotRate, gotN := b.FailureRate()
					wantRate, wantN := ref.failureRate()
					if gotRate != wantRate || gotN != wantN {
						t.Fatalf("config %d seed %d step %d: FailureRate() = %v, %d; reference says %v, %d", i, seed, step, gotRate, gotN, wantRate, wantN)
					}
				}
			})
		}
		if opens < 10 {
			t.Errorf("config %d: the circuit opened %d times in 10 runs; want at least 10 (the comparison must cover trips)", i, opens)
		}
	}
}

// The rate rule: it waits for MinRequests attempts, then opens at the
// first failure that brings the rate to the threshold; old outcomes leave
// the window bucket by bucket.
func TestFailureRateRuleOpensCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		b, err := NewCircuitBreaker(CircuitBreakerConfig{
			Trip: TripOnFailureRate, FailureRateThreshold: 0.5, MinRequests: 10, Window: 10 * time.Second,
		}, WithHooks(ev.hooks()))
		if err != nil {
			t.Fatal(err)
		}
		ok := func(context.Context) error { return nil }
		fail := func(context.Context) error { return providerErr(aierrors.ServerError) }
		for range 5 {
			_ = b.Execute(context.Background(), ok)
		}
		// 4 failures: 4 of 9 attempts, below MinRequests anyway.
		for range 4 {
			_ = b.Execute(context.Background(), fail)
		}
		if s := b.State(); s != StateClosed {
			t.Fatalf("after 5 successes and 4 failures State() = %v; want closed", s)
		}
		if rate, n := b.FailureRate(); n != 9 || rate != 4.0/9 {
			t.Errorf("FailureRate() = %v, %d; want 4/9, 9", rate, n)
		}
		// The 10th attempt is the 5th failure: 50% of 10.
		_ = b.Execute(context.Background(), fail)
		if s := b.State(); s != StateOpen {
			t.Fatalf("at 5 failures of 10 State() = %v; want open", s)
		}
		if len(ev.states) != 1 || ev.states[0].To != StateOpen {
			t.Errorf("OnStateChange = %+v; want one change to open", ev.states)
		}

		// Closing empties the window.
		time.Sleep(DefaultCooldown)
		_ = b.Execute(context.Background(), ok)
		if s := b.State(); s != StateClosed {
			t.Fatalf("after a successful probe State() = %v; want closed", s)
		}
		if rate, n := b.FailureRate(); n != 0 || rate != 0 {
			t.Errorf("FailureRate() after closing = %v, %d; want 0, 0", rate, n)
		}

		// 10 successes, then 9s later 9 failures: 9 of 19 < 50%. One second
		// on, the successes' bucket has left: 9 of 9.
		for range 10 {
			_ = b.Execute(context.Background(), ok)
		}
		time.Sleep(9 * time.Second)
		for range 9 {
			_ = b.Execute(context.Background(), fail)
		}
		if rate, n := b.FailureRate(); b.State() != StateClosed || n != 19 {
			t.Fatalf("State() = %v, FailureRate() = %v, %d; want closed, 9/19, 19", b.State(), rate, n)
		}
		time.Sleep(time.Second)
		if rate, n := b.FailureRate(); rate != 1 || n != 9 {
			t.Errorf("FailureRate() once the successes left = %v, %d; want 1, 9", rate, n)
		}
		_ = b.Execute(context.Background(), fail)
		if s := b.State(); s != StateOpen {
			t.Errorf("at 10 failures of 10 State() = %v; want open", s)
		}
	})
}

// The failure rate ignores what does not count: client errors, quota and
// cancellations are neither failures nor successes.
func TestFailureRateIgnoresUncountedOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := NewCircuitBreaker(CircuitBreakerConfig{Trip: TripOnFailureRate, MinRequests: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range []aierrors.StandardErrorCode{aierrors.InvalidRequest, aierrors.QuotaExhausted, aierrors.Authentication} {
			_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(code) })
		}
		ctx, cancel := context.WithCancel(context.Background())
		_ = b.Execute(ctx, func(context.Context) error { cancel(); return providerErr(aierrors.ServerError) })
		if rate, n := b.FailureRate(); rate != 0 || n != 0 {
			t.Errorf("FailureRate() after uncounted outcomes = %v, %d; want 0, 0", rate, n)
		}
		_ = b.Execute(context.Background(), func(context.Context) error { return nil })
		_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.Timeout) })
		if rate, n := b.FailureRate(); rate != 0.5 || n != 2 {
			t.Errorf("FailureRate() = %v, %d; want 0.5, 2", rate, n)
		}
	})
}

// With the consecutive rule alone there is no window: FailureRate is 0, 0.
func TestFailureRateOffWithConsecutiveRule(t *testing.T) {
	b, err := NewCircuitBreaker(CircuitBreakerConfig{Trip: TripOnConsecutive})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
	if rate, n := b.FailureRate(); rate != 0 || n != 0 || b.win != nil {
		t.Errorf("FailureRate() with TripOnConsecutive = %v, %d; want 0, 0 and no window", rate, n)
	}
	var nilB *CircuitBreaker
	if rate, n := nilB.FailureRate(); rate != 0 || n != 0 {
		t.Errorf("nil FailureRate() = %v, %d; want 0, 0", rate, n)
	}
}

// The counters: buckets roll, stale writes are dropped, counts saturate,
// and times before the origin (a clock set back) still work.
func TestFailureWindowCounters(t *testing.T) {
	w := newFailureWindow(10*time.Second, time.Now())
	sec := int64(time.Second)
	w.add(0, false)
	w.add(sec/2, true)
	w.add(9*sec, false)
	if s, f := w.counts(9 * sec); s != 2 || f != 1 {
		t.Errorf("counts(9s) = %d, %d; want 2, 1", s, f)
	}
	if s, f := w.counts(10 * sec); s != 1 || f != 0 {
		t.Errorf("counts(10s) = %d, %d; want 1, 0 (bucket 0 left)", s, f)
	}
	w.add(10*sec, true)   // bucket 10 reuses slot 0
	w.add(sec/4, false)   // stale: slot 0 now holds bucket 10
	w.add(100*sec, false) // far ahead
	if s, f := w.counts(100 * sec); s != 1 || f != 0 {
		t.Errorf("counts(100s) = %d, %d; want 1, 0", s, f)
	}
	if s, f := w.counts(10 * sec); s != 1 || f != 1 {
		t.Errorf("counts(10s) = %d, %d; want 1, 1", s, f)
	}
	w.reset()
	if s, f := w.counts(100 * sec); s != 0 || f != 0 {
		t.Errorf("counts after reset = %d, %d; want 0, 0", s, f)
	}
	w.add(-sec/2, true) // before origin: bucket -1
	w.add(-3*sec, true) // bucket -3
	if s, f := w.counts(0); s != 0 || f != 2 {
		t.Errorf("counts(0) after negative times = %d, %d; want 0, 2", s, f)
	}
	w.succ[5].Store(5<<countBits | countMask)
	w.add(5*sec, false)
	if got := w.succ[5].Load() & countMask; got != countMask {
		t.Errorf("count after saturation = %d; want %d", got, countMask)
	}
}

// Hammer: concurrent adders in one bucket lose nothing.
func TestHammerFailureWindow(t *testing.T) {
	w := newFailureWindow(time.Hour, time.Now())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				w.add(int64(i), (g+i)%4 == 0)
				_, _ = w.counts(int64(i))
			}
		})
	}
	wg.Wait()
	if s, f := w.counts(0); s+f != 8000 || f != 2000 {
		t.Errorf("counts = %d, %d; want 6000, 2000", s, f)
	}
}
