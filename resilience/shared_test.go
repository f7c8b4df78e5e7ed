package resilience

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience/shared"
)

// flakyStore is a shared limiter (with its rate and a membership) that can
// be made unreachable, as a Redis that dies.
type flakyStore struct {
	*shared.MemoryLimiter
	*shared.MemoryMembership
	down atomic.Bool
}

var errStoreDown = errors.New("store down: connection refused")

func (f *flakyStore) Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (time.Duration, bool, error) {
	if f.down.Load() {
		return 0, false, errStoreDown
	}
	return f.MemoryLimiter.Reserve(ctx, key, cost, maxWait)
}

func (f *flakyStore) Join(ctx context.Context, group, member string, ttl time.Duration) (int, int, error) {
	if f.down.Load() {
		return 0, 0, errStoreDown
	}
	return f.MemoryMembership.Join(ctx, group, member, ttl)
}

// sendLog records when attempts reach the provider.
type sendLog struct {
	mu sync.Mutex
	at []time.Time
}

func (s *sendLog) op(latency time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		s.mu.Lock()
		s.at = append(s.at, time.Now())
		s.mu.Unlock()
		time.Sleep(latency)
		return nil
	}
}

// within counts the sends in [from, to).
func (s *sendLog) within(from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.at {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// maxWindow is the most sends in any window of length d starting at a send
// in [from, to).
func (s *sendLog) maxWindow(from, to time.Time, d time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := 0
	for i, t := range s.at {
		if t.Before(from) || !t.Before(to) {
			continue
		}
		n := 0
		for _, u := range s.at[i:] {
			if u.Sub(t) < d {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// The shared wait admits a call only if the wait plus the attempt's
// expected time ends before the deadline; the others are refused at once,
// with RetryAfter, by an error that says the wait was ailib's own.
func TestSharedWaitLeavesTimeForTheAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := shared.NewMemoryLimiter(10, 1)
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}},
			WithName("p/m"), WithSharedLimiter(lim, ""))
		var log sendLog
		op := log.op(100 * time.Millisecond)
		if err := e.Execute(context.Background(), op); err != nil { // learns the latency
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		var wg sync.WaitGroup
		var ok, refused, late atomic.Int32
		start := time.Now()
		for range 30 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				err := e.Execute(ctx, op)
				var ae *aierrors.Error
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrRateLimitWait) && errors.As(err, &ae):
					refused.Add(1)
					if time.Since(start) != 0 || ae.Code != aierrors.RateLimited || ae.RetryAfter <= 0 ||
						!strings.Contains(ae.Error(), "local rate-limit queue (shared)") {
						t.Errorf("refusal after %v = %v (code %v, RetryAfter %v); want at once, rate_limited, RetryAfter > 0, a local shared queue", time.Since(start), err, ae.Code, ae.RetryAfter)
					}
				default:
					late.Add(1)
					t.Errorf("Execute = %v; want nil or a refusal (ErrRateLimitWait)", err)
				}
			})
		}
		wg.Wait()
		// Places at 0, 100ms, ...; the attempt takes 100ms, expected 150ms:
		// places up to 800ms finish in time.
		if ok.Load() < 8 || ok.Load() > 10 || late.Load() != 0 {
			t.Errorf("30 calls, 1s deadline, 10/s shared: %d ok, %d refused, %d other; want 8–10 ok, none failing late", ok.Load(), refused.Load(), late.Load())
		}
	})
}

// Three replicas share a 30/s limit (burst 3) under demand above it. The
// store dies while it has given places about 2s ahead: the places already
// given go out, then each replica goes at a third of the limit, after
// them (less a 10% margin); no one-second window holds more than the
// limit plus its burst. When the store is back, what was taken locally is
// taken from it, and the replicas keep to the limit.
func TestSharedDegradedPacesAtTheShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &flakyStore{MemoryLimiter: shared.NewMemoryLimiter(30, 3), MemoryMembership: shared.NewMemoryMembership()}
		var changes []SharedStateChange
		var mu sync.Mutex
		hooks := Hooks{OnSharedState: func(c SharedStateChange) { mu.Lock(); changes = append(changes, c); mu.Unlock() }}
		var log sendLog
		op := log.op(20 * time.Millisecond)
		var execs []*ResilientExecutor
		for range 3 {
			execs = append(execs, mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}},
				WithName("p/m"), WithSharedLimiter(store, ""), WithHooks(hooks)))
		}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var okN, timeouts atomic.Int32
		for _, e := range execs {
			for range 30 { // 90 callers against 30/s, 2s deadlines
				wg.Go(func() {
					for ctx.Err() == nil {
						c, cancel := context.WithTimeout(ctx, 2*time.Second)
						err := e.Execute(c, op)
						cancel()
						switch {
						case err == nil:
							okN.Add(1)
						case errors.Is(err, ErrRateLimitWait):
							time.Sleep(50 * time.Millisecond)
						case ctx.Err() == nil:
							timeouts.Add(1)
						}
					}
				})
			}
		}
		t0 := time.Now()
		time.Sleep(5 * time.Second)
		store.down.Store(true)
		tDown := time.Now()
		time.Sleep(6 * time.Second)
		store.down.Store(false)
		tUp := time.Now()
		time.Sleep(8 * time.Second)
		stop()
		wg.Wait()
		up := log.within(t0.Add(time.Second), tDown)
		down := log.within(tDown, tUp)
		back := log.within(tUp.Add(5*time.Second), tUp.Add(8*time.Second)) // after every replica's grace
		peak := log.maxWindow(t0.Add(time.Second), tUp.Add(7*time.Second), time.Second)
		peakDown := log.maxWindow(tDown.Add(-time.Second), tUp.Add(time.Second), time.Second)
		t.Logf("sends/s: store up %.1f, store down %.1f, back %.1f; busiest second %d (around the outage %d); calls ok %d, failed late %d",
			float64(up)/4, float64(down)/6, float64(back)/3, peak, peakDown, okN.Load(), timeouts.Load())
		if r := float64(up) / 4; r < 28 || r > 31 {
			t.Errorf("store up: %.1f sends/s; want about 30", r)
		}
		if r := float64(down) / 6; r < 25 || r > 30 {
			t.Errorf("store down: %.1f sends/s; want about 27 (each replica a third, less 10%%)", r)
		}
		if r := float64(back) / 3; r < 28 || r > 31 {
			t.Errorf("store back: %.1f sends/s; want about 30", r)
		}
		if peak > 33 {
			t.Errorf("busiest second: %d sends; want at most 33 (30/s, burst 3)", peak)
		}
		if timeouts.Load() != 0 {
			t.Errorf("%d calls failed other than by a refusal; want 0", timeouts.Load())
		}
		mu.Lock()
		defer mu.Unlock()
		var downs, ups int
		for _, c := range changes {
			if c.Degraded {
				downs++
				if !errors.Is(c.Err, errStoreDown) {
					t.Errorf("OnSharedState Err = %v; want the store's error", c.Err)
				}
			} else {
				ups++
			}
		}
		if downs != 3 || ups != 3 {
			t.Errorf("OnSharedState: %d degraded, %d back; want 3 and 3", downs, ups)
		}
	})
}
