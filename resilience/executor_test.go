package resilience

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Rule: limiter, permit and breaker act per attempt, not per call. A 1 rps
// limiter with 3 retries lets the four attempts through one second apart.
func TestLimiterActsPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(3, 10*time.Millisecond),
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 10},
		})
		f := &failingOp{err: providerErr(aierrors.ServerError)}
		start := time.Now()
		err := e.Execute(context.Background(), f.op)
		if got, want := time.Since(start), 3*time.Second; got != want {
			t.Errorf("Execute with 1 rps and 3 retries took %v; want %v", got, want)
		}
		if got := f.n(); got != 4 {
			t.Errorf("attempts = %d; want 4", got)
		}
		for i, at := range f.calls {
			if want := start.Add(time.Duration(i) * time.Second); !at.Equal(want) {
				t.Errorf("attempt %d at %v; want %v", i+1, at.Sub(start), want.Sub(start))
			}
		}
		if got := e.Signals().ConsecutiveFailures; got != 4 {
			t.Errorf("ConsecutiveFailures = %d; want 4 (one per attempt)", got)
		}
		if !errors.Is(err, ErrRetriesExhausted) || aierrors.CodeOf(err) != aierrors.ServerError {
			t.Errorf("Execute = %v; want retries exhausted on server_error", err)
		}
	})
}

// Rule: the breaker sees every attempt: retries of one call can open it,
// and the attempt after it opened fails fast and is not retried.
func TestBreakerActsPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(5, time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3, Cooldown: time.Minute},
		})
		f := &failingOp{err: providerErr(aierrors.ServerError)}
		err := e.Execute(context.Background(), f.op)
		if got := f.n(); got != 3 {
			t.Errorf("attempts = %d; want 3 (the circuit opened on the third)", got)
		}
		if !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("Execute = %v; want ErrCircuitOpen", err)
		}
	})
}

// Rule: nothing is held during backoff. While one call sleeps before its
// retry, a second call gets the only permit, a rate token and the half-open
// probe slot at once.
func TestNothingHeldDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(1, time.Second),
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1, Burst: 2},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 100},
			Backpressure:   &BackpressureConfig{MaxInflight: 1},
		})
		first, _ := scriptOp(providerErr(aierrors.Overloaded))
		done := make(chan error)
		go func() { done <- e.Execute(context.Background(), first) }()
		synctest.Wait() // the first call is now sleeping its backoff
		if got := e.Signals().CurrentInflight; got != 0 {
			t.Errorf("CurrentInflight during backoff = %d; want 0", got)
		}
		start := time.Now()
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("second Execute = %v; want nil", err)
		}
		if got := time.Since(start); got != 0 {
			t.Errorf("second Execute waited %v; want 0 (nothing held by the sleeping call)", got)
		}
		if err := <-done; err != nil {
			t.Errorf("first Execute = %v; want nil after its retry", err)
		}
	})
}

// Rule: breaker, limiter and permits are per target.
func TestStateIsPerTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := ResilientConfig{
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Minute},
			Backpressure:   &BackpressureConfig{MaxInflight: 1},
		}
		primary := mustExecutor(t, cfg, WithName("a/x"))
		fallback := mustExecutor(t, cfg, WithName("b/y"))
		_ = primary.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
		if s := primary.Signals().CircuitState; s != StateOpen {
			t.Fatalf("primary CircuitState = %v; want open", s)
		}
		s := fallback.Signals()
		if s.CircuitState != StateClosed || s.RateRemaining != 1 {
			t.Errorf("fallback Signals = %+v; want closed with 1 token", s)
		}
		if err := fallback.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Errorf("fallback Execute = %v; want nil", err)
		}
	})
}

// Rule: only provider-health failures count toward opening the circuit.
func TestBreakerCountsOnlyProviderHealthFailures(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no such host")}
	tests := []struct {
		name  string
		err   error
		opens bool
	}{
		{"server_error", providerErr(aierrors.ServerError), true},
		{"overloaded", providerErr(aierrors.Overloaded), true},
		{"timeout", providerErr(aierrors.Timeout), true},
		{"transport EOF", io.ErrUnexpectedEOF, true},
		{"transport dial", opErr, true},
		{"invalid_request", providerErr(aierrors.InvalidRequest), false},
		{"authentication", providerErr(aierrors.Authentication), false},
		{"permission_denied", providerErr(aierrors.PermissionDenied), false},
		{"not_found", providerErr(aierrors.NotFound), false},
		{"request_too_large", providerErr(aierrors.RequestTooLarge), false},
		{"conflict", providerErr(aierrors.Conflict), false},
		{"quota_exhausted", providerErr(aierrors.QuotaExhausted), false},
		{"rate_limited", providerErr(aierrors.RateLimited), false},
		{"cancelled", providerErr(aierrors.Cancelled), false},
		{"unknown non-network", errors.New("decode: bad json"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3}})
				for range 3 {
					_ = e.Execute(context.Background(), func(context.Context) error { return tt.err })
				}
				if got := e.Signals().CircuitState == StateOpen; got != tt.opens {
					t.Errorf("three %s: circuit open = %v; want %v", tt.name, got, tt.opens)
				}
			})
		})
	}
}

// Rule: client errors never open the circuit.
func TestBreakerIgnoresClientErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(3, time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3},
		})
		for range 3 {
			_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.InvalidRequest) })
		}
		s := e.Signals()
		if s.CircuitState != StateClosed || s.ConsecutiveFailures != 0 {
			t.Errorf("after three 400s Signals = {%v, %d failures}; want {closed, 0}", s.CircuitState, s.ConsecutiveFailures)
		}
	})
}

// Rule: whether rate_limited counts is a config choice, off by default.
func TestRateLimitedCountsOnlyWhenConfigured(t *testing.T) {
	for _, count := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, CountRateLimited: count}})
			for range 2 {
				_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.RateLimited) })
			}
			if got := e.Signals().CircuitState == StateOpen; got != count {
				t.Errorf("CountRateLimited=%v: open after two 429s = %v; want %v", count, got, count)
			}
		})
	}
}

// Rule: cancellation is not failure: never retried, never counted, never a
// reason to fall back, and errors.Is(err, context.Canceled) still holds.
func TestCancellationIsNotFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(3, time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1},
		})
		calls := 0
		for range 3 {
			ctx, cancel := context.WithCancel(context.Background())
			err := e.Execute(ctx, func(ctx context.Context) error {
				calls++
				cancel()
				// A transport reports a timeout-looking failure after the
				// caller cancelled: still not the provider's fault.
				return providerErr(aierrors.ServerError)
			})
			if err == nil {
				t.Fatal("Execute = nil; want an error")
			}
		}
		if calls != 3 {
			t.Errorf("op calls = %d; want 3 (no retry after cancel)", calls)
		}
		if s := e.Signals(); s.CircuitState != StateClosed || s.ConsecutiveFailures != 0 {
			t.Errorf("Signals after cancelled calls = {%v, %d}; want {closed, 0}", s.CircuitState, s.ConsecutiveFailures)
		}

		ctx, cancel := context.WithCancel(context.Background())
		err := e.Execute(ctx, func(ctx context.Context) error { cancel(); return ctx.Err() })
		if !errors.Is(err, context.Canceled) || aierrors.CodeOf(err) != aierrors.Cancelled {
			t.Errorf("Execute(cancelled) = %v; want cancelled matching context.Canceled", err)
		}
		chain := NewFallbackChain("a/1", "b/2")
		var tried []string
		ctx2, cancel2 := context.WithCancel(context.Background())
		err = chain.Execute(ctx2, func(ctx context.Context, target string) error {
			tried = append(tried, target)
			cancel2()
			return e.Execute(ctx, func(ctx context.Context) error { return ctx.Err() })
		})
		if len(tried) != 1 || !errors.Is(err, context.Canceled) {
			t.Errorf("fallback after cancel tried %v, err %v; want only a/1 and context.Canceled", tried, err)
		}
		// Cancelled while sleeping the backoff.
		ctx3, cancel3 := context.WithCancel(context.Background())
		go func() { time.Sleep(time.Microsecond); cancel3() }()
		err = mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Second)}).Execute(ctx3, func(context.Context) error {
			return providerErr(aierrors.ServerError)
		})
		if !errors.Is(err, context.Canceled) || aierrors.CodeOf(err) != aierrors.Cancelled {
			t.Errorf("Execute cancelled during backoff = %v; want cancelled matching context.Canceled", err)
		}
	})
}

// Rule: a cancelled ctx stops the call before any work.
func TestCancelledContextIsCheckedFirst(t *testing.T) {
	e := mustExecutor(t, DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := e.Execute(ctx, func(context.Context) error { called = true; return nil })
	if called || aierrors.CodeOf(err) != aierrors.Cancelled || !errors.Is(err, context.Canceled) {
		t.Errorf("Execute(cancelled ctx) = %v, op called %v; want cancelled, not called", err, called)
	}
	cause := errors.New("shutting down")
	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(cause)
	err = e.Execute(ctx, func(context.Context) error { return nil })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("Execute(ctx cancelled with cause) = %v; want both context.Canceled and the cause", err)
	}
}

// Rule: flags come from the code, always: retry iff Retryable, the
// provider's x-should-retry winning over it.
func TestFlagsComeFromTheCode(t *testing.T) {
	for _, code := range aierrors.Codes() {
		t.Run(code.Name(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Millisecond)})
				f := &failingOp{err: providerErr(code)}
				_ = e.Execute(context.Background(), f.op)
				want := 1
				if code.Retryable() {
					want = 3
				}
				if got := f.n(); got != want {
					t.Errorf("attempts for %v = %d; want %d", code, got, want)
				}
			})
		})
	}
	for _, should := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Millisecond)})
			// The header overrides the code both ways.
			pe := providerErr(aierrors.ServerError)
			if should {
				pe = providerErr(aierrors.InvalidRequest)
			}
			pe.ShouldRetry = &should
			f := &failingOp{err: pe}
			_ = e.Execute(context.Background(), f.op)
			want := 1
			if should {
				want = 3
			}
			if got := f.n(); got != want {
				t.Errorf("x-should-retry=%v on %v: attempts = %d; want %d", should, pe.Code, got, want)
			}
		})
	}
}

// Rule: a quota-exhausted 429 is tried once (no status list retries it).
func TestQuotaExhaustedTriedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, DefaultConfig())
		pe := providerErr(aierrors.QuotaExhausted)
		pe.HTTPStatus = 429
		pe.ProviderCode = "insufficient_quota"
		f := &failingOp{err: pe}
		err := e.Execute(context.Background(), f.op)
		if f.n() != 1 || aierrors.CodeOf(err) != aierrors.QuotaExhausted || errors.Is(err, ErrRetriesExhausted) {
			t.Errorf("quota_exhausted: %d attempts, err %v; want 1 attempt returning quota_exhausted", f.n(), err)
		}
	})
}

// Rule: Retry-After wins over the computed delay.
func TestRetryAfterWinsOverComputedDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(1, 10*time.Millisecond)}, WithHooks(ev.hooks()))
		op, _ := scriptOp(rateLimitedErr(2 * time.Second))
		start := time.Now()
		if err := e.Execute(context.Background(), op); err != nil {
			t.Fatalf("Execute = %v; want nil", err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("Execute took %v; want 2s (the Retry-After)", got)
		}
		if len(ev.retries) != 1 || ev.retries[0].Delay != 2*time.Second {
			t.Errorf("OnRetry = %+v; want one retry with Delay 2s", ev.retries)
		}
	})
	// A computed delay longer than Retry-After wins (Retry-After is a floor).
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(1, 3*time.Second)})
		op, _ := scriptOp(rateLimitedErr(time.Second))
		start := time.Now()
		_ = e.Execute(context.Background(), op)
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("Execute took %v; want 3s (computed delay above Retry-After)", got)
		}
	})
}

// Rule: a Retry-After that cannot fit before the deadline returns now.
func TestRetryAfterLongerThanDeadlineReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 10*time.Millisecond)})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f := &failingOp{err: rateLimitedErr(5 * time.Second)}
		start := time.Now()
		err := e.Execute(ctx, f.op)
		if got := time.Since(start); got != 0 {
			t.Errorf("Execute took %v; want 0 (return at once)", got)
		}
		if f.n() != 1 || aierrors.CodeOf(err) != aierrors.RateLimited || asAI(t, err).RetryAfter != 5*time.Second {
			t.Errorf("Execute = %v after %d attempts; want the rate_limited error after 1", err, f.n())
		}
	})
}

// Rule: Retry-After is capped by MaxRetryAfter: a longer wait is not slept.
func TestRetryAfterAboveMaxRetryAfterReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{MaxRetries: 3, MaxRetryAfter: 10 * time.Second}})
		f := &failingOp{err: rateLimitedErr(time.Minute)}
		start := time.Now()
		err := e.Execute(context.Background(), f.op)
		if time.Since(start) != 0 || f.n() != 1 || aierrors.CodeOf(err) != aierrors.RateLimited {
			t.Errorf("Retry-After 1m with MaxRetryAfter 10s: took %v, %d attempts, err %v; want at once, 1, rate_limited",
				time.Since(start), f.n(), err)
		}
	})
}

// Rule: a computed delay that cannot end before the deadline returns now.
func TestBackoffLongerThanDeadlineReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 2*time.Second)})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f := &failingOp{err: providerErr(aierrors.ServerError)}
		start := time.Now()
		err := e.Execute(ctx, f.op)
		if time.Since(start) != 0 || f.n() != 1 || aierrors.CodeOf(err) != aierrors.ServerError {
			t.Errorf("took %v, %d attempts, err %v; want at once, 1, server_error", time.Since(start), f.n(), err)
		}
	})
}

// Rule: no computed delay exceeds MaxDelay, jitter included.
func TestNoComputedDelayExceedsMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{
			MaxRetries: 8, InitialDelay: time.Second, MaxDelay: 3 * time.Second, BackoffMultiplier: 4, Jitter: 1,
		}}, WithHooks(ev.hooks()))
		_ = e.Execute(context.Background(), (&failingOp{err: providerErr(aierrors.ServerError)}).op)
		if len(ev.retries) != 8 {
			t.Fatalf("retries = %d; want 8", len(ev.retries))
		}
		for _, r := range ev.retries {
			if r.Delay > 3*time.Second || r.Delay < 0 {
				t.Errorf("retry %d delay = %v; want within [0, 3s]", r.Attempt, r.Delay)
			}
		}
	})
}

// The computed delays grow exactly as configured when Jitter is 0, and each
// Execute starts its own backoff (backoff/v4's ExponentialBackOff is
// stateful: one per call).
func TestBackoffDelaysAreExactAndPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{
			MaxRetries: 4, InitialDelay: 100 * time.Millisecond, MaxDelay: 500 * time.Millisecond, BackoffMultiplier: 2,
		}}, WithHooks(ev.hooks()))
		for range 2 {
			start := time.Now()
			_ = e.Execute(context.Background(), (&failingOp{err: providerErr(aierrors.ServerError)}).op)
			if got, want := time.Since(start), 1200*time.Millisecond; got != want {
				t.Errorf("Execute took %v; want %v (100+200+400+500ms)", got, want)
			}
		}
		want := []time.Duration{100, 200, 400, 500, 100, 200, 400, 500}
		for i, r := range ev.retries {
			if r.Delay != want[i]*time.Millisecond {
				t.Errorf("retry %d delay = %v; want %v", i, r.Delay, want[i]*time.Millisecond)
			}
		}
	})
}

// Jitter draws each delay within ±Jitter of the computed one.
func TestJitterStaysInRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{
			MaxRetries: 1, InitialDelay: time.Second, MaxDelay: time.Hour, Jitter: 0.5,
		}}, WithHooks(ev.hooks()))
		for range 50 {
			_ = e.Execute(context.Background(), (&failingOp{err: providerErr(aierrors.ServerError)}).op)
		}
		for _, r := range ev.retries {
			if r.Delay < 500*time.Millisecond || r.Delay > 1500*time.Millisecond {
				t.Errorf("delay = %v; want within [500ms, 1.5s]", r.Delay)
			}
		}
	})
}

// When retries run out the error matches ErrRetriesExhausted and unwraps
// to the last attempt's error.
func TestRetriesExhaustedUnwrapsToLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Millisecond)})
		last := providerErr(aierrors.Overloaded)
		op, _ := scriptOp(providerErr(aierrors.ServerError), providerErr(aierrors.Timeout), last)
		err := e.Execute(context.Background(), op)
		if !errors.Is(err, ErrRetriesExhausted) {
			t.Errorf("errors.Is(%v, ErrRetriesExhausted) = false; want true", err)
		}
		if got := asAI(t, err); got != last || aierrors.CodeOf(err) != aierrors.Overloaded || !errors.Is(err, aierrors.Overloaded) {
			t.Errorf("Execute = %v; want it to unwrap to the last error %v", err, last)
		}
	})
}

// Rule: local rejections are errors of the same kind.
func TestLocalRejectionsAreErrorsOfTheSameKind(t *testing.T) {
	t.Run("circuit open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: 30 * time.Second}},
				WithName("openai/gpt-4o"))
			openCircuit(t, e, 1)
			time.Sleep(10 * time.Second)
			ae := asAI(t, e.Execute(context.Background(), func(context.Context) error { return nil }))
			if ae.Code != aierrors.Overloaded || !errors.Is(ae, ErrCircuitOpen) || ae.RetryAfter != 20*time.Second ||
				ae.Provider != "openai" || ae.Model != "gpt-4o" || !ae.Fallbackable() {
				t.Errorf("circuit-open rejection = %+v; want Overloaded, ErrCircuitOpen, RetryAfter 20s, openai/gpt-4o", ae)
			}
		})
	})
	t.Run("rate wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 0.5, Burst: 1}})
			_ = e.Execute(context.Background(), func(context.Context) error { return nil })
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			ae := asAI(t, e.Execute(ctx, func(context.Context) error { return nil }))
			if ae.Code != aierrors.RateLimited || !errors.Is(ae, ErrRateLimitWait) || ae.RetryAfter != 2*time.Second {
				t.Errorf("rate rejection = %+v; want RateLimited, ErrRateLimitWait, RetryAfter 2s", ae)
			}
		})
	})
	t.Run("queue full", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := mustExecutor(t, ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 1, QueueTimeout: 100 * time.Millisecond}})
			release := make(chan struct{})
			go e.Execute(context.Background(), func(context.Context) error { <-release; return nil })
			synctest.Wait()
			start := time.Now()
			ae := asAI(t, e.Execute(context.Background(), func(context.Context) error { return nil }))
			if ae.Code != aierrors.Overloaded || !errors.Is(ae, ErrQueueFull) || time.Since(start) != 100*time.Millisecond {
				t.Errorf("queue rejection after %v = %+v; want Overloaded, ErrQueueFull after 100ms", time.Since(start), ae)
			}
			close(release)
		})
	})
}

// Rule: a circuit-open rejection is not retried on the same target.
func TestCircuitOpenIsNotRetriedOnSameTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(3, time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second},
		}, WithHooks(ev.hooks()))
		openCircuit(t, e, 1)
		ev.retries = nil
		start := time.Now()
		err := e.Execute(context.Background(), func(context.Context) error { return nil })
		if !errors.Is(err, ErrCircuitOpen) || len(ev.retries) != 0 || time.Since(start) != 0 {
			t.Errorf("Execute on open circuit = %v with %d retries after %v; want ErrCircuitOpen at once, no retry",
				err, len(ev.retries), time.Since(start))
		}
	})
}

// Ops returning plain errors are classified with ClassifyTransport.
func TestPlainErrorsAreClassified(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{}, WithName("openai/gpt-4o"))
	plain := errors.New("boom")
	err := e.Execute(context.Background(), func(context.Context) error { return plain })
	ae := asAI(t, err)
	if !errors.Is(err, plain) || ae.Provider != "openai" || ae.Model != "gpt-4o" {
		t.Errorf("Execute = %+v; want a classified error wrapping the cause, stamped openai/gpt-4o", ae)
	}
	pe := providerErr(aierrors.NotFound)
	if err := e.Execute(context.Background(), func(context.Context) error { return pe }); err != pe {
		t.Errorf("Execute = %v; want the op's *aierrors.Error unchanged", err)
	}
}

// Hooks see every decision, in order.
func TestHooksReportEveryDecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{
			Retry:       exactRetry(1, 100*time.Millisecond),
			RateLimiter: &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1},
		}, WithName("t/m"), WithHooks(ev.hooks()))
		op, _ := scriptOp(providerErr(aierrors.ServerError))
		if err := e.Execute(context.Background(), op); err != nil {
			t.Fatal(err)
		}
		if len(ev.starts) != 2 || ev.starts[0] != (AttemptStart{"t/m", 1}) || ev.starts[1] != (AttemptStart{"t/m", 2}) {
			t.Errorf("OnAttemptStart = %+v; want attempts 1 and 2 of t/m", ev.starts)
		}
		if len(ev.ends) != 2 || aierrors.CodeOf(ev.ends[0].Err) != aierrors.ServerError || ev.ends[1].Err != nil {
			t.Errorf("OnAttemptEnd = %+v; want server_error then nil", ev.ends)
		}
		if len(ev.retries) != 1 || ev.retries[0].Attempt != 1 || ev.retries[0].Delay != 100*time.Millisecond {
			t.Errorf("OnRetry = %+v; want attempt 1, delay 100ms", ev.retries)
		}
		if len(ev.waits) != 1 || ev.waits[0].Wait != 900*time.Millisecond {
			t.Errorf("OnLimiterWait = %+v; want one wait of 900ms", ev.waits)
		}
	})
}

// A nil executor runs op once and classifies its error.
func TestNilExecutor(t *testing.T) {
	var e *ResilientExecutor
	calls := 0
	err := e.Execute(context.Background(), func(context.Context) error { calls++; return providerErr(aierrors.ServerError) })
	if calls != 1 || aierrors.CodeOf(err) != aierrors.ServerError {
		t.Errorf("nil Execute: %d calls, %v; want 1 call, server_error", calls, err)
	}
	if v, err := Do(context.Background(), e, func(context.Context) (int, error) { return 7, nil }); v != 7 || err != nil {
		t.Errorf("nil Do = %d, %v; want 7, nil", v, err)
	}
	if e.Preflight() != nil || e.Name() != "" || e.Signals().CircuitState != StateClosed {
		t.Error("nil executor: Preflight/Name/Signals not neutral")
	}
	e.ObserveHeader(nil)
}

// Do returns op's value on success and the zero value on error.
func TestDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Millisecond)})
		n := 0
		v, err := Do(context.Background(), e, func(context.Context) (string, error) {
			n++
			if n < 3 {
				return "partial", providerErr(aierrors.ServerError)
			}
			return "ok", nil
		})
		if v != "ok" || err != nil || n != 3 {
			t.Errorf("Do = %q, %v after %d calls; want \"ok\", nil after 3", v, err, n)
		}
		v, err = Do(context.Background(), e, func(context.Context) (string, error) {
			return "junk", providerErr(aierrors.InvalidRequest)
		})
		if v != "" || aierrors.CodeOf(err) != aierrors.InvalidRequest {
			t.Errorf("Do = %q, %v; want \"\", invalid_request", v, err)
		}
	})
}

// A panicking op gives its permit back.
func TestPanicReleasesPermit(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{
		CircuitBreaker: &CircuitBreakerConfig{},
		Backpressure:   &BackpressureConfig{MaxInflight: 1},
	})
	func() {
		defer func() { _ = recover() }()
		_ = e.Execute(context.Background(), func(context.Context) error { panic("boom") })
	}()
	if got := e.Signals().CurrentInflight; got != 0 {
		t.Errorf("CurrentInflight after a panic = %d; want 0", got)
	}
	if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Errorf("Execute after a panic = %v; want nil", err)
	}
}

// Concurrency contract: many goroutines on one executor.
func TestConcurrentExecute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			Retry:        exactRetry(2, time.Millisecond),
			RateLimiter:  &RateLimiterConfig{RequestsPerSecond: 100, Burst: 10},
			Backpressure: &BackpressureConfig{MaxInflight: 3},
		})
		var mu sync.Mutex
		inflight, peak := 0, 0
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_ = e.Execute(context.Background(), func(context.Context) error {
					mu.Lock()
					inflight++
					peak = max(peak, inflight)
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					mu.Lock()
					inflight--
					mu.Unlock()
					return nil
				})
			})
		}
		wg.Wait()
		if peak != 3 {
			t.Errorf("peak in flight = %d; want 3", peak)
		}
	})
}
