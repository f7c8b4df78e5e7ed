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

// slowThenFast is an op whose first run takes slow and later runs fast;
// it counts the runs and those that ended cancelled.
type slowThenFast struct {
	slow, fast time.Duration
	runs       atomic.Int64
	cancelled  atomic.Int64
}

func (s *slowThenFast) op(ctx context.Context) (string, error) {
	d, v := s.fast, "hedge"
	if s.runs.Add(1) == 1 {
		d, v = s.slow, "first"
	}
	select {
	case <-time.After(d):
		return v, nil
	case <-ctx.Done():
		s.cancelled.Add(1)
		return "", ctx.Err()
	}
}

func TestHedgeKeepsFirstAnswerAndCancelsLoser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Hedge = &HedgeConfig{Delay: 100 * time.Millisecond}
		cfg.Backpressure = &BackpressureConfig{MaxInflight: 10}
		e := mustExecutor(t, cfg, WithName("p/m"))
		s := &slowThenFast{slow: 2 * time.Second, fast: 50 * time.Millisecond}
		start := time.Now()
		v, err := Do(context.Background(), e, s.op)
		if err != nil || v != "hedge" || time.Since(start) != 150*time.Millisecond {
			t.Errorf("Do(hedged) = %q, %v after %v; want \"hedge\", nil after 150ms", v, err, time.Since(start))
		}
		if s.runs.Load() != 2 || s.cancelled.Load() != 1 {
			t.Errorf("op runs, cancelled = %d, %d; want 2, 1 (the loser cancelled and waited for)", s.runs.Load(), s.cancelled.Load())
		}
		sig := e.Signals()
		if sig.CurrentInflight != 0 || sig.ConsecutiveFailures != 0 || sig.RetriesInFlight != 0 || sig.HedgeDelay != 100*time.Millisecond {
			t.Errorf("Signals() after the hedged call = %+v; want no permit held, no failure counted, no retry in flight, HedgeDelay 100ms", sig)
		}
	})
}

func TestHedgeNotSentForAFastAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Hedge: &HedgeConfig{Delay: 100 * time.Millisecond}})
		var runs atomic.Int64
		err := e.Execute(context.Background(), func(context.Context) error {
			runs.Add(1)
			time.Sleep(99 * time.Millisecond)
			return nil
		})
		if err != nil || runs.Load() != 1 {
			t.Errorf("Execute(fast) = %v with %d runs; want nil, 1", err, runs.Load())
		}
	})
}

func TestHedgeFailureBeforeHedgeIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(1, time.Second), Hedge: &HedgeConfig{Delay: 100 * time.Millisecond}})
		var runs atomic.Int64
		err := e.Execute(context.Background(), func(context.Context) error {
			if runs.Add(1) == 1 {
				return providerErr(aierrors.ServerError)
			}
			return nil
		})
		if err != nil || runs.Load() != 2 {
			t.Errorf("Execute = %v with %d runs; want nil after a retry (2 runs)", err, runs.Load())
		}
	})
}

func TestHedgesCountAgainstTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := ResilientConfig{
			Retry: &RetryConfig{MinRetryConcurrency: 1, BudgetPercent: 1},
			Hedge: &HedgeConfig{Delay: 100 * time.Millisecond, MaxHedges: 2},
		}
		var refused atomic.Int64
		e := mustExecutor(t, cfg, WithHooks(Hooks{OnRetryBudget: func(b RetryBudgetExhausted) {
			if b.Hedge {
				refused.Add(1)
			}
		}}))
		var runs atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_ = e.Execute(context.Background(), func(ctx context.Context) error {
					runs.Add(1)
					select {
					case <-time.After(time.Second):
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
			})
		}
		wg.Wait()
		// 4 first attempts; a budget of 1 hedge in flight at a time: one
		// call gets a hedge at 100ms, the 3 others are refused, and so is
		// the first call's second hedge at 200ms.
		if runs.Load() != 5 || refused.Load() != 4 {
			t.Errorf("runs, hedges refused = %d, %d; want 5, 4", runs.Load(), refused.Load())
		}
	})
}

func TestHedgeDelayFromPercentile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Hedge: &HedgeConfig{Delay: time.Second, Percentile: 0.9}})
		if d := e.Signals().HedgeDelay; d != time.Second {
			t.Errorf("HedgeDelay with no samples = %v; want Delay, 1s", d)
		}
		for i := range 30 {
			d := 100 * time.Millisecond
			if i%10 == 0 {
				d = 300 * time.Millisecond // 10% slow
			}
			_ = e.Execute(context.Background(), func(context.Context) error { time.Sleep(d); return nil })
		}
		if d := e.Signals().HedgeDelay; d != 100*time.Millisecond {
			t.Errorf("HedgeDelay at p90 of 90%% 100ms, 10%% 300ms = %v; want 100ms", d)
		}
	})
}

func TestHedgeCallerCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Millisecond), Hedge: &HedgeConfig{Delay: 100 * time.Millisecond}})
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		var runs atomic.Int64
		err := e.Execute(ctx, func(ctx context.Context) error {
			runs.Add(1)
			<-ctx.Done()
			return ctx.Err()
		})
		if runs.Load() != 2 || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Execute past the deadline = %v with %d runs; want the deadline after 2 runs, not retried", err, runs.Load())
		}
	})
}

func TestHedgeConfigValidate(t *testing.T) {
	for _, h := range []HedgeConfig{{}, {Delay: -1}, {Delay: 1, Percentile: 1}, {Delay: 1, MaxHedges: -1}} {
		if err := (ResilientConfig{Hedge: &h}).Validate(); err == nil {
			t.Errorf("Validate(Hedge %+v) = nil; want an error", h)
		}
	}
}
