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

// storm runs calls concurrent calls against a provider that answers 503
// after 1s, and returns the attempts made, the peak of retries in flight
// and the calls' errors.
func storm(t *testing.T, retry *RetryConfig, calls int) (attempts int, peak int, errs []error) {
	t.Helper()
	var n, retries, maxRetries atomic.Int64
	e := mustExecutor(t, ResilientConfig{Retry: retry}, WithName("p/m"), WithHooks(Hooks{
		OnAttemptStart: func(a AttemptStart) {
			if a.Attempt > 1 {
				r := retries.Add(1)
				for {
					m := maxRetries.Load()
					if r <= m || maxRetries.CompareAndSwap(m, r) {
						break
					}
				}
			}
		},
		OnAttemptEnd: func(a AttemptEnd) {
			if a.Attempt > 1 {
				retries.Add(-1)
			}
		},
	}))
	errs = make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			errs[i] = e.Execute(context.Background(), func(ctx context.Context) error {
				n.Add(1)
				time.Sleep(time.Second)
				return providerErr(aierrors.ServerError)
			})
		})
	}
	wg.Wait()
	if s := e.Signals(); s.RetriesInFlight != 0 || s.AttemptsInFlight != 0 {
		t.Errorf("Signals() after the storm: %d retries, %d attempts in flight; want 0, 0", s.RetriesInFlight, s.AttemptsInFlight)
	}
	return int(n.Load()), int(maxRetries.Load()), errs
}

func TestRetryBudgetStopsARetryStorm(t *testing.T) {
	const calls = 20
	t.Run("off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := exactRetry(3, 100*time.Millisecond)
			r.BudgetPercent = 100
			attempts, _, _ := storm(t, r, calls)
			if attempts != 4*calls {
				t.Errorf("storm without a budget: %d attempts; want %d", attempts, 4*calls)
			}
		})
	})
	t.Run("default budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			attempts, peak, errs := storm(t, exactRetry(3, 100*time.Millisecond), calls)
			// 20 first attempts in flight allow max(3, 20% of 20) = 4 retries.
			if peak > 4 {
				t.Errorf("storm with the budget: peak of %d retries in flight; want ≤ 4", peak)
			}
			if attempts > calls+3*4 {
				t.Errorf("storm with the budget: %d attempts; want ≤ %d", attempts, calls+3*4)
			}
			refused := 0
			for _, err := range errs {
				if errors.Is(err, ErrRetryBudgetExhausted) {
					refused++
					if aierrors.CodeOf(err) != aierrors.ServerError || !aierrors.IsFallbackable(err) || errors.Is(err, ErrRetriesExhausted) {
						t.Errorf("budget error %v: code %v, fallbackable %v; want server_error, fallbackable, not ErrRetriesExhausted",
							err, aierrors.CodeOf(err), aierrors.IsFallbackable(err))
					}
				}
			}
			if refused < calls/2 {
				t.Errorf("storm with the budget: %d calls refused a retry; want most of %d", refused, calls)
			}
		})
	})
}

func TestRetryBudgetAllowsMinimum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One call alone: its retries are always within the minimum.
		var hook atomic.Int64
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Millisecond)},
			WithHooks(Hooks{OnRetryBudget: func(RetryBudgetExhausted) { hook.Add(1) }}))
		f := &failingOp{err: providerErr(aierrors.ServerError)}
		err := e.Execute(context.Background(), f.op)
		if f.n() != 4 || !errors.Is(err, ErrRetriesExhausted) || hook.Load() != 0 {
			t.Errorf("Execute alone = %v after %d attempts (%d budget refusals); want retries exhausted after 4, none refused", err, f.n(), hook.Load())
		}
	})
}

func TestRetryBudgetHookAndSignals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []RetryBudgetExhausted
		var mu sync.Mutex
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{MaxRetries: 1, InitialDelay: time.Millisecond, MinRetryConcurrency: 1, BudgetPercent: 10}},
			WithName("p/m"), WithHooks(Hooks{OnRetryBudget: func(b RetryBudgetExhausted) {
				mu.Lock()
				got = append(got, b)
				mu.Unlock()
			}}))
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				_ = e.Execute(context.Background(), func(context.Context) error {
					time.Sleep(time.Second)
					return providerErr(aierrors.Overloaded)
				})
			})
		}
		wg.Wait()
		if len(got) != 2 || got[0].Target != "p/m" || got[0].Budget != 1 {
			t.Errorf("OnRetryBudget calls = %+v; want 2 for p/m with a budget of 1", got)
		}
		if s := e.Signals(); s.RetriesRefused != 2 || s.RetryBudget != 1 {
			t.Errorf("Signals() RetriesRefused, RetryBudget = %d, %d; want 2, 1", s.RetriesRefused, s.RetryBudget)
		}
	})
}

func TestRetryBudgetConfig(t *testing.T) {
	tests := []struct {
		r    RetryConfig
		ok   bool
		want *retryBudget
	}{
		{RetryConfig{}, true, &retryBudget{pct: 0.2, min: 3}},
		{RetryConfig{BudgetPercent: 50, MinRetryConcurrency: 1}, true, &retryBudget{pct: 0.5, min: 1}},
		{RetryConfig{BudgetPercent: 100}, true, nil},
		{RetryConfig{BudgetPercent: 101}, false, nil},
		{RetryConfig{BudgetPercent: -1}, false, nil},
		{RetryConfig{MinRetryConcurrency: -1}, false, nil},
	}
	for _, tt := range tests {
		err := ResilientConfig{Retry: &tt.r}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v; want ok %v", tt.r, err, tt.ok)
			continue
		}
		if !tt.ok {
			continue
		}
		got := newRetryBudget(&tt.r)
		if (got == nil) != (tt.want == nil) || got != nil && (got.pct != tt.want.pct || got.min != tt.want.min) {
			t.Errorf("newRetryBudget(%+v) = %+v; want %+v", tt.r, got, tt.want)
		}
	}
}

func TestAttemptTimeoutIsRetriedWithoutBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, 10*time.Second)})
		var calls []time.Time
		start := time.Now()
		err := e.Execute(context.Background(), func(ctx context.Context) error {
			calls = append(calls, time.Now())
			if len(calls) == 1 {
				return &aierrors.Error{Code: aierrors.Timeout, Err: ErrAttemptTimeout}
			}
			return nil
		})
		if err != nil || len(calls) != 2 || calls[1].Sub(start) != 0 {
			t.Errorf("Execute after an attempt timeout = %v, %d attempts, retry after %v; want nil, 2, 0 (no backoff)", err, len(calls), calls[len(calls)-1].Sub(start))
		}
		// A plain timeout (the provider's 504, say) still waits its backoff.
		calls = nil
		start = time.Now()
		_ = e.Execute(context.Background(), func(ctx context.Context) error {
			calls = append(calls, time.Now())
			if len(calls) == 1 {
				return providerErr(aierrors.Timeout)
			}
			return nil
		})
		if d := calls[1].Sub(start); d != 10*time.Second {
			t.Errorf("retry after a provider timeout came after %v; want the 10s backoff", d)
		}
		// The caller's cancellation is never retried.
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		err = e.Execute(ctx, func(ctx context.Context) error {
			n++
			cancel()
			return ctx.Err()
		})
		if n != 1 || aierrors.CodeOf(err) != aierrors.Cancelled {
			t.Errorf("Execute cancelled by the caller = %v after %d attempts; want cancelled after 1", err, n)
		}
	})
}
