package resilience

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// flakyStore is a MemoryLimiter and MemoryState that can fail (down) or
// hang until its ctx ends (hang), counting the operations it receives.
type flakyStore struct {
	lim  *MemoryLimiter
	st   *MemoryState
	down atomic.Bool
	hang atomic.Bool
	// socket: fail with an i/o timeout at the ctx deadline, as a client
	// setting socket deadlines from ctx does (possibly before ctx.Err).
	socket atomic.Bool
	calls  atomic.Int64
}

func newFlakyStore(rate float64, burst int) *flakyStore {
	return &flakyStore{lim: NewMemoryLimiter(rate, burst), st: NewMemoryState()}
}

var errStoreDown = errors.New("store: connection refused")

func (f *flakyStore) fault(ctx context.Context) error {
	f.calls.Add(1)
	if dl, ok := ctx.Deadline(); ok && f.socket.Load() {
		time.Sleep(time.Until(dl))
		return errors.New("read tcp 127.0.0.1:6379: i/o timeout")
	}
	if f.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.down.Load() {
		return errStoreDown
	}
	return nil
}

func (f *flakyStore) Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (time.Duration, bool, error) {
	if err := f.fault(ctx); err != nil {
		return 0, false, err
	}
	return f.lim.Reserve(ctx, key, cost, maxWait)
}

func (f *flakyStore) Admit(ctx context.Context, key string, maxProbes int) (SharedAdmission, error) {
	if err := f.fault(ctx); err != nil {
		return SharedAdmission{}, err
	}
	return f.st.Admit(ctx, key, maxProbes)
}

func (f *flakyStore) Open(ctx context.Context, key string, d time.Duration) error {
	if err := f.fault(ctx); err != nil {
		return err
	}
	return f.st.Open(ctx, key, d)
}

func (f *flakyStore) Close(ctx context.Context, key string) error {
	if err := f.fault(ctx); err != nil {
		return err
	}
	return f.st.Close(ctx, key)
}

func (f *flakyStore) Release(ctx context.Context, key string) error {
	if err := f.fault(ctx); err != nil {
		return err
	}
	return f.st.Release(ctx, key)
}

func (f *flakyStore) Pause(ctx context.Context, key string, d time.Duration, code aierrors.StandardErrorCode) error {
	if err := f.fault(ctx); err != nil {
		return err
	}
	return f.st.Pause(ctx, key, d, code)
}

// replicas builds n executors of one target sharing s.
func replicas(t *testing.T, n int, cfg ResilientConfig, s *flakyStore, opts ...Option) []*ResilientExecutor {
	t.Helper()
	var out []*ResilientExecutor
	for range n {
		o := append([]Option{WithName("openai/gpt-4o"), WithSharedLimiter(s, ""), WithSharedState(s, "")}, opts...)
		out = append(out, mustExecutor(t, cfg, o...))
	}
	return out
}

func TestSharedLimiterPacesReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(10, 1)
		execs := replicas(t, 3, ResilientConfig{}, s)
		var calls atomic.Int64
		op := func(context.Context) error { calls.Add(1); return nil }
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for _, e := range execs {
			for range 2 {
				wg.Go(func() {
					for ctx.Err() == nil {
						if err := e.Execute(ctx, op); errors.Is(err, ErrRateLimitWait) {
							return
						}
					}
				})
			}
		}
		wg.Wait()
		// 10/s with a burst of 1 over 1s: at 0, 100ms, ..., 900ms.
		if got := calls.Load(); got != 10 {
			t.Errorf("calls in 1s by 3 executors sharing 10 rps = %d; want 10", got)
		}
	})
}

func TestSharedLimiterWaitBeyondDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(1, 1)
		var ev events
		e := replicas(t, 1, ResilientConfig{}, s, WithHooks(ev.hooks()))[0]
		op, calls := scriptOp()
		if err := e.Execute(context.Background(), op); err != nil {
			t.Fatalf("first Execute = %v; want nil", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := e.Execute(ctx, op)
		ae := asAI(t, err)
		if !errors.Is(err, ErrRateLimitWait) || ae.Code != aierrors.RateLimited || ae.RetryAfter != time.Second {
			t.Errorf("Execute with 500ms left, 1s to wait = %v (RetryAfter %v); want RateLimited, ErrRateLimitWait, RetryAfter 1s", err, ae.RetryAfter)
		}
		if *calls != 1 || len(ev.rejected) != 1 {
			t.Errorf("op calls = %d, rejections = %d; want 1, 1", *calls, len(ev.rejected))
		}
		// Nothing was taken: with time to wait, the next call waits 1s.
		start := time.Now()
		if err := e.Execute(context.Background(), op); err != nil || time.Since(start) != time.Second {
			t.Errorf("Execute without deadline = %v after %v; want nil after 1s", err, time.Since(start))
		}
		if len(ev.waits) != 1 || ev.waits[0].Wait != time.Second {
			t.Errorf("OnLimiterWait = %+v; want one wait of 1s", ev.waits)
		}
	})
}

func breakerCfg() ResilientConfig {
	return ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{Trip: TripOnConsecutive, FailureThreshold: 2, Cooldown: time.Second, HalfOpenMaxRequests: 1}}
}

func TestSharedCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(0, 0)
		execs := replicas(t, 3, breakerCfg(), s)
		a, b, c := execs[0], execs[1], execs[2]
		ctx := context.Background()
		openCircuit(t, a, 2)

		op, calls := scriptOp()
		err := b.Execute(ctx, op)
		if ae := asAI(t, err); !errors.Is(err, ErrCircuitOpen) || ae.Code != aierrors.Overloaded || ae.RetryAfter != time.Second {
			t.Fatalf("B.Execute after A opened = %v (RetryAfter %v); want Overloaded, ErrCircuitOpen, RetryAfter 1s", err, ae.RetryAfter)
		}
		if *calls != 0 {
			t.Errorf("op calls on B = %d; want 0", *calls)
		}
		sb := b.Signals()
		if !sb.Shared || sb.CircuitState != StateClosed || sb.SharedOpenFor != time.Second {
			t.Errorf("B.Signals() = Shared %v, CircuitState %v, SharedOpenFor %v; want true, closed, 1s", sb.Shared, sb.CircuitState, sb.SharedOpenFor)
		}
		if err := b.Preflight(); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("B.Preflight() = %v; want ErrCircuitOpen", err)
		}

		// After the cooldown: one probe across replicas; B's fails and
		// opens the circuit again for everyone.
		time.Sleep(time.Second)
		block := make(chan struct{})
		probing := make(chan struct{})
		go func() {
			_ = b.Execute(ctx, func(context.Context) error {
				close(probing)
				<-block
				return providerErr(aierrors.ServerError)
			})
		}()
		<-probing
		if err := c.Execute(ctx, op); !errors.Is(err, ErrCircuitOpen) || *calls != 0 {
			t.Errorf("C.Execute while B probes = %v (op calls %d); want ErrCircuitOpen, 0 calls", err, *calls)
		}
		close(block)
		synctest.Wait()
		if err := c.Execute(ctx, op); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("C.Execute after B's probe failed = %v; want ErrCircuitOpen", err)
		}

		// Next cooldown: C's probe succeeds and closes the circuit.
		time.Sleep(time.Second)
		if err := c.Execute(ctx, op); err != nil {
			t.Fatalf("C's probe = %v; want nil", err)
		}
		for i, e := range []*ResilientExecutor{b, c} {
			if err := e.Execute(ctx, op); err != nil {
				t.Errorf("replica %d after the probe succeeded = %v; want nil", i+1, err)
			}
		}
	})
}

func TestSharedProbeReleasedWhenNotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(0, 0)
		e := replicas(t, 1, breakerCfg(), s)[0]
		ctx := context.Background()
		if err := s.st.Open(ctx, "openai/gpt-4o", time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		// A cancelled probe says nothing of the provider: its slot is given back.
		cctx, cancel := context.WithCancel(ctx)
		err := e.Execute(cctx, func(context.Context) error { cancel(); return context.Canceled })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Execute cancelled during its probe = %v; want context.Canceled", err)
		}
		a, _ := s.st.Admit(ctx, "openai/gpt-4o", 1)
		if !a.Probe {
			t.Errorf("Admit after the cancelled probe = %+v; want the probe slot free", a)
		}
	})
}

func TestSharedPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(0, 0)
		execs := replicas(t, 2, ResilientConfig{}, s)
		a, b := execs[0], execs[1]
		ctx := context.Background()
		_ = a.Execute(ctx, func(context.Context) error { return rateLimitedErr(2 * time.Second) })
		op, calls := scriptOp()
		start := time.Now()
		if err := b.Execute(ctx, op); err != nil || time.Since(start) != 2*time.Second {
			t.Errorf("B.Execute after A's 429 (Retry-After 2s) = %v after %v; want nil after 2s", err, time.Since(start))
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_ = a.Execute(ctx, func(context.Context) error { return rateLimitedErr(2 * time.Second) })
		if err := b.Execute(short, op); !errors.Is(err, ErrRateLimitWait) {
			t.Errorf("B.Execute with 1s left, paused 2s = %v; want ErrRateLimitWait", err)
		}

		time.Sleep(2 * time.Second)
		_ = a.Execute(ctx, func(context.Context) error { return providerErr(aierrors.QuotaExhausted) })
		*calls = 0
		err := b.Execute(ctx, op)
		ae := asAI(t, err)
		if !errors.Is(err, ErrTargetPaused) || ae.Code != aierrors.QuotaExhausted || ae.RetryAfter != DefaultQuotaPause || !aierrors.IsFallbackable(err) {
			t.Errorf("B.Execute after A's quota_exhausted = %v (RetryAfter %v); want quota_exhausted, ErrTargetPaused, RetryAfter %v", err, ae.RetryAfter, DefaultQuotaPause)
		}
		if *calls != 0 {
			t.Errorf("op calls = %d; want 0", *calls)
		}
		if s := b.Signals(); s.SharedPausedFor != DefaultQuotaPause {
			t.Errorf("B.Signals().SharedPausedFor = %v; want %v", s.SharedPausedFor, DefaultQuotaPause)
		}
	})
}

func TestSharedStoreDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(1, 1) // 1 rps shared
		var (
			mu     sync.Mutex
			events []SharedStateChange
		)
		h := Hooks{OnSharedState: func(ev SharedStateChange) { mu.Lock(); events = append(events, ev); mu.Unlock() }}
		e := replicas(t, 1, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{}}, s, WithHooks(h))[0]
		ctx := context.Background()
		op, calls := scriptOp()

		s.down.Store(true)
		for range 10 { // no shared limit while the store is down: no wait
			if err := e.Execute(ctx, op); err != nil {
				t.Fatalf("Execute with the store down = %v; want nil", err)
			}
		}
		if *calls != 10 {
			t.Errorf("op calls = %d; want 10", *calls)
		}
		if got := s.calls.Load(); got != 1 {
			t.Errorf("store operations while down = %d; want 1 (then none until the recheck)", got)
		}
		sig := e.Signals()
		if !sig.SharedStateDegraded || sig.SharedError != errStoreDown.Error() {
			t.Errorf("Signals() = degraded %v, error %q; want true, %q", sig.SharedStateDegraded, sig.SharedError, errStoreDown)
		}
		if len(events) != 1 || !events[0].Degraded || !errors.Is(events[0].Err, errStoreDown) || events[0].Target != "openai/gpt-4o" {
			t.Errorf("OnSharedState = %+v; want one degraded event with the error", events)
		}

		// Rechecks back off: 100ms, 200ms, 400ms...
		for _, gap := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
			before := s.calls.Load()
			time.Sleep(gap - time.Millisecond)
			_ = e.Execute(ctx, op)
			if got := s.calls.Load() - before; got != 0 {
				t.Errorf("store operations %v into a %v recheck pause = %d; want 0", gap-time.Millisecond, gap, got)
			}
			time.Sleep(time.Millisecond)
			_ = e.Execute(ctx, op)
			if got := s.calls.Load() - before; got != 1 {
				t.Errorf("store operations at the end of a %v recheck pause = %d; want 1", gap, got)
			}
		}

		s.down.Store(false)
		time.Sleep(800 * time.Millisecond)
		if err := e.Execute(ctx, op); err != nil {
			t.Fatalf("Execute when the store is back = %v; want nil", err)
		}
		if sig := e.Signals(); sig.SharedStateDegraded || sig.SharedError != "" {
			t.Errorf("Signals() after recovery = degraded %v, error %q; want false, empty", sig.SharedStateDegraded, sig.SharedError)
		}
		if len(events) != 2 || events[1].Degraded {
			t.Errorf("OnSharedState = %+v; want degraded, then recovered", events)
		}
		// Shared limiting is back: the next call waits for the 1 rps limit.
		start := time.Now()
		_ = e.Execute(ctx, op)
		if d := time.Since(start); d != time.Second {
			t.Errorf("Execute after recovery took %v; want 1s (the shared limit)", d)
		}
	})
}

func TestSharedStoreSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(1, 1)
		e := replicas(t, 1, ResilientConfig{}, s, WithSharedTimeout(20*time.Millisecond))[0]
		s.hang.Store(true)
		start := time.Now()
		op, calls := scriptOp()
		if err := e.Execute(context.Background(), op); err != nil {
			t.Fatalf("Execute with a hung store = %v; want nil", err)
		}
		if d := time.Since(start); d != 20*time.Millisecond || *calls != 1 {
			t.Errorf("Execute with a hung store took %v, op calls %d; want 20ms (one timeout), 1", d, *calls)
		}
		if !e.Signals().SharedStateDegraded {
			t.Error("Signals().SharedStateDegraded = false; want true")
		}
	})
}

func TestSharedCallerCancelIsNotAStoreFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(1, 1)
		e := replicas(t, 1, ResilientConfig{}, s)[0]
		s.hang.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		op, calls := scriptOp()
		err := e.Execute(ctx, op)
		if !errors.Is(err, context.DeadlineExceeded) || *calls != 0 {
			t.Errorf("Execute whose ctx ends during a store operation = %v, op calls %d; want DeadlineExceeded, 0", err, *calls)
		}
		if e.Signals().SharedStateDegraded {
			t.Error("Signals().SharedStateDegraded = true; want false (the caller gave up, the store did not fail)")
		}

		// A store client that fails at the caller's deadline, before ctx
		// reports it, does not mark the store degraded either.
		s.hang.Store(false)
		s.socket.Store(true)
		for range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			err := e.Execute(ctx, op)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Execute whose deadline passes during a store operation = %v; want DeadlineExceeded", err)
			}
		}
		if e.Signals().SharedStateDegraded {
			t.Error("Signals().SharedStateDegraded = true after failures at the caller's deadline; want false")
		}
	})
}

func TestSharedStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(0, 0)
		e := replicas(t, 1, breakerCfg(), s)[0]
		ctx := context.Background()
		if err := s.st.Open(ctx, "openai/gpt-4o", time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		_, done, err := DoStream(ctx, e, func(context.Context) (int, error) { return 1, nil })
		if err != nil {
			t.Fatalf("DoStream probe = %v; want nil", err)
		}
		if a, _ := s.st.Admit(ctx, "openai/gpt-4o", 1); !a.ProbesFull {
			t.Errorf("Admit while the stream probe is open = %+v; want ProbesFull", a)
		}
		done(nil)
		if a, _ := s.st.Admit(ctx, "openai/gpt-4o", 1); a != (SharedAdmission{}) {
			t.Errorf("Admit after the stream probe succeeded = %+v; want closed", a)
		}
	})
}

func TestSharedOptionsDefaults(t *testing.T) {
	s := newFlakyStore(0, 0)
	e := mustExecutor(t, DefaultConfig(), WithName("x/y"), WithSharedState(s, "k"), WithSharedLimiter(s, ""))
	g := e.shared
	if g.stateKey != "k" || g.limKey != "x/y" || g.timeout != DefaultSharedTimeout || g.maxProbes != DefaultHalfOpenMaxRequests || g.cooldown != DefaultCooldown {
		t.Errorf("gate = state key %q, limiter key %q, timeout %v, probes %d, cooldown %v; want k, x/y, %v, %d, %v",
			g.stateKey, g.limKey, g.timeout, g.maxProbes, g.cooldown, DefaultSharedTimeout, DefaultHalfOpenMaxRequests, DefaultCooldown)
	}
	if e := mustExecutor(t, DefaultConfig()); e.shared != nil || e.Signals().Shared {
		t.Error("executor without shared options has a shared gate; want none")
	}
}

// BenchmarkExecuteSharedMemory is Execute's success path with a shared
// limiter and state in memory: the cost of the shared path itself (two
// store operations, each under a ctx with a timeout), without network.
func BenchmarkExecuteSharedMemory(b *testing.B) {
	s := newFlakyStore(1e12, 1<<30)
	e, err := NewResilientExecutor(benchConfig(), WithName("bench/model"), WithSharedLimiter(s, ""), WithSharedState(s, ""))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, okOp); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSharedLimiterStandsInForTheLocalBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newFlakyStore(100, 100)
		e := replicas(t, 1, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1}}, s)[0]
		ctx := context.Background()
		op, _ := scriptOp()
		start := time.Now()
		for range 10 {
			if err := e.Execute(ctx, op); err != nil {
				t.Fatalf("Execute = %v; want nil", err)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("10 calls under a shared 100 rps, local 1 rps = %v; want 0 (the shared limit stands in for the local one)", d)
		}
		s.down.Store(true)
		start = time.Now()
		for range 3 {
			_ = e.Execute(ctx, op)
		}
		// The first call meets the failure (no limit); then the local
		// bucket, full since it was not used, gives one token and refills
		// at 1/s.
		if d := time.Since(start); d != time.Second {
			t.Errorf("3 calls with the store down = %v; want 1s (the local 1 rps bucket)", d)
		}
	})
}
