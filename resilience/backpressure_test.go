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

// Rule: "no in-flight cap" is no semaphore, never a zero-weight one.
func TestZeroMaxInflightMeansUnlimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 0}})
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				_ = e.Execute(context.Background(), func(context.Context) error { <-release; return nil })
			})
		}
		synctest.Wait()
		s := e.Signals()
		if s.CurrentInflight != 100 || s.MaxInflight != 0 {
			t.Errorf("Signals = {inflight %d, max %d}; want {100, 0}", s.CurrentInflight, s.MaxInflight)
		}
		close(release)
		wg.Wait()
	})
}

// A permit wait without QueueTimeout lasts as long as ctx allows; a
// deadline ends it with a timeout, and the permit is not lost.
func TestPermitWaitHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := NewBackpressure(BackpressureConfig{MaxInflight: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ae := b.Preflight(); ae == nil || !errors.Is(ae, ErrQueueFull) {
			t.Errorf("Preflight() with no free permit = %v; want ErrQueueFull", ae)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err = b.Acquire(ctx)
		if aierrors.CodeOf(err) != aierrors.Timeout || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Acquire past the deadline = %v after %v; want timeout after 1s", err, time.Since(start))
		}
		b.Release()
		if b.Inflight() != 0 || b.Preflight() != nil {
			t.Errorf("after Release: Inflight %d, Preflight %v; want 0, nil", b.Inflight(), b.Preflight())
		}
		if err := b.Acquire(context.Background()); err != nil {
			t.Errorf("Acquire after Release = %v; want nil", err)
		}
		b.Release()
	})
}

// A queue-full rejection is retried after a backoff (it is Overloaded,
// retryable), holding nothing meanwhile.
func TestQueueFullIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:        exactRetry(2, time.Second),
			Backpressure: &BackpressureConfig{MaxInflight: 1, QueueTimeout: 100 * time.Millisecond},
		})
		go e.Execute(context.Background(), func(context.Context) error { time.Sleep(500 * time.Millisecond); return nil })
		synctest.Wait()
		start := time.Now()
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("Execute = %v; want nil after a retry", err)
		}
		if got := time.Since(start); got != 1100*time.Millisecond {
			t.Errorf("Execute took %v; want 1.1s (100ms queue timeout + 1s backoff)", got)
		}
	})
}

// Hammer: the cap holds under many goroutines.
func TestHammerBackpressure(t *testing.T) {
	b, err := NewBackpressure(BackpressureConfig{MaxInflight: 4})
	if err != nil {
		t.Fatal(err)
	}
	var inflight, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 200 {
				if err := b.Acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n := inflight.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				_ = b.Preflight()
				inflight.Add(-1)
				b.Release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 || p < 1 {
		t.Errorf("peak in flight = %d; want 1..4", p)
	}
	if b.Inflight() != 0 {
		t.Errorf("Inflight() = %d; want 0", b.Inflight())
	}
	var nilB *Backpressure
	if nilB.Acquire(context.Background()) != nil || nilB.Preflight() != nil || nilB.Inflight() != 0 || nilB.MaxInflight() != 0 {
		t.Error("nil Backpressure is not neutral")
	}
	nilB.Release()
}
