package resilience

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Rule: preflight is a pure check: it peeks at circuit, tokens and permits
// without consuming any. Signals read the same live state.
func TestPreflightIsPure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second},
			Backpressure:   &BackpressureConfig{MaxInflight: 1},
		})
		for range 100 {
			if ae := e.Preflight(); ae != nil {
				t.Fatalf("Preflight() = %v; want nil", ae)
			}
			_ = e.Signals()
		}
		if s := e.Signals(); s.RateRemaining != 1 || s.CurrentInflight != 0 {
			t.Errorf("after 100 Preflight/Signals: %v tokens, %d in flight; want 1, 0", s.RateRemaining, s.CurrentInflight)
		}
		// Half-open: preflight must not take the single probe slot.
		_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
		if ae := e.Preflight(); ae == nil || ae.Code != aierrors.Overloaded || ae.RetryAfter != time.Second {
			t.Errorf("Preflight() when open = %v; want overloaded with RetryAfter 1s", ae)
		}
		time.Sleep(time.Second)
		for range 10 {
			if ae := e.Preflight(); ae != nil {
				t.Fatalf("Preflight() when half_open = %v; want nil", ae)
			}
		}
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Errorf("probe after 10 Preflight() calls = %v; want admitted", err)
		}
		// Preflight reports a busy permit, then an empty bucket.
		e2 := mustExecutor(t, ResilientConfig{
			RateLimiter:  &RateLimiterConfig{RequestsPerSecond: 1, Burst: 2},
			Backpressure: &BackpressureConfig{MaxInflight: 1},
		})
		release := make(chan struct{})
		go e2.Execute(context.Background(), func(context.Context) error { <-release; return nil })
		synctest.Wait()
		if ae := e2.Preflight(); ae == nil || aierrors.CodeOf(ae) != aierrors.Overloaded {
			t.Errorf("Preflight() with the permit taken = %v; want overloaded (queue)", ae)
		}
		close(release)
		synctest.Wait()
		_ = e2.Execute(context.Background(), func(context.Context) error { return nil })
		if ae := e2.Preflight(); ae == nil || ae.Code != aierrors.RateLimited || ae.RetryAfter != time.Second {
			t.Errorf("Preflight() with an empty bucket = %v; want rate_limited, RetryAfter 1s", ae)
		}
	})
}

// Signals report every field from live state.
func TestSignalsReportLiveState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 2, Burst: 4},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3, Cooldown: 10 * time.Second},
			Backpressure:   &BackpressureConfig{MaxInflight: 8},
		}, WithName("p/m"))
		for range 2 {
			_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.Timeout) })
		}
		s := e.Signals()
		if s.Target != "p/m" || s.CircuitState != StateClosed || s.ConsecutiveFailures != 2 || s.MaxInflight != 8 ||
			s.RateRemaining != 2 || s.RateLimit != 2 || s.CooldownRemaining != 0 {
			t.Errorf("Signals = %+v; want p/m closed, 2 failures, max 8, 2 tokens at 2 rps", s)
		}
		_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.Timeout) })
		time.Sleep(4 * time.Second)
		s = e.Signals()
		if s.CircuitState != StateOpen || s.CooldownRemaining != 6*time.Second || s.RateRemaining != 4 {
			t.Errorf("Signals = %+v; want open, 6s cooldown left, bucket refilled to 4", s)
		}
	})
}
