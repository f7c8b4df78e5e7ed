package resilience

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

func TestRetriesRetryableThenSucceeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 100*time.Millisecond)}, WithName("p/m"), WithHooks(ev.hooks()))
		op, calls := scriptOp(providerErr(aierrors.ServerError), providerErr(aierrors.Overloaded))
		start := time.Now()
		if err := e.Execute(t.Context(), op); err != nil {
			t.Fatalf("Execute = %v; want nil", err)
		}
		if got, want := time.Since(start), 300*time.Millisecond; got != want {
			t.Errorf("elapsed = %v; want %v (100ms + 200ms backoff)", got, want)
		}
		if calls() != 3 || len(ev.retries) != 2 || ev.starts != 3 || len(ev.ends) != 3 {
			t.Errorf("calls %d, retries %d, starts %d, ends %d; want 3, 2, 3, 3", calls(), len(ev.retries), ev.starts, len(ev.ends))
		}
	})
}

func TestNotRetryableReturnsAtOnce(t *testing.T) {
	for _, code := range []aierrors.StandardErrorCode{aierrors.InvalidRequest, aierrors.Authentication, aierrors.QuotaExhausted, aierrors.NotFound} {
		t.Run(code.Name(), func(t *testing.T) {
			e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Millisecond)})
			op, calls := scriptOp(providerErr(code))
			err := e.Execute(t.Context(), op)
			if aierrors.CodeOf(err) != code || calls() != 1 {
				t.Errorf("Execute = %v after %d calls; want %v after 1", err, calls(), code)
			}
		})
	}
}

func TestRetriesExhaustedUnwrapsToLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Millisecond)})
		last := providerErr(aierrors.Overloaded)
		op, calls := scriptOp(providerErr(aierrors.ServerError), providerErr(aierrors.ServerError), last)
		err := e.Execute(t.Context(), op)
		if !errors.Is(err, ErrRetriesExhausted) || !errors.Is(err, aierrors.Overloaded) || calls() != 3 {
			t.Errorf("Execute = %v after %d calls; want ErrRetriesExhausted wrapping overloaded after 3", err, calls())
		}
	})
}

func TestRetryAfterIsAFloorAndTooLongReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(1, time.Millisecond)})
		op, _ := scriptOp(rateLimitedErr(2 * time.Second))
		start := time.Now()
		if err := e.Execute(t.Context(), op); err != nil {
			t.Fatalf("Execute = %v", err)
		}
		if got := time.Since(start); got < 2*time.Second {
			t.Errorf("slept %v; want at least the Retry-After, 2s", got)
		}
		e2 := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{MaxRetries: 3, MaxRetryAfter: time.Second}})
		op2, calls := scriptOp(rateLimitedErr(5 * time.Second))
		if err := e2.Execute(t.Context(), op2); aierrors.CodeOf(err) != aierrors.RateLimited || calls() != 1 {
			t.Errorf("Execute = %v after %d calls; want rate_limited after 1 (Retry-After above MaxRetryAfter)", err, calls())
		}
	})
}

// TestNilMemberMeansDefault is issue 20's point 6: a config that sets only
// Retry keeps the breaker, the limiter and the quota cooldown.
func TestNilMemberMeansDefault(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{MaxRetries: 5}})
	if e.breaker == nil || e.limiter == nil || e.cool == nil || e.budget == nil {
		t.Fatalf("executor with only Retry set: breaker %v, limiter %v, cooldown %v, budget %v; want all on",
			e.breaker != nil, e.limiter != nil, e.cool != nil, e.budget != nil)
	}
	op, calls := scriptOp(providerErr(aierrors.QuotaExhausted))
	_ = e.Execute(t.Context(), op)
	err := e.Execute(t.Context(), op)
	if !errors.Is(err, ErrTargetPaused) || calls() != 1 {
		t.Errorf("second call after quota_exhausted = %v after %d requests; want ErrTargetPaused after 1", err, calls())
	}
	off := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{Disabled: true}, RateLimiter: &RateLimiterConfig{Disabled: true},
		Cooldown: &CooldownConfig{Disabled: true}, Retry: &RetryConfig{Disabled: true}})
	if off.breaker != nil || off.limiter != nil || off.cool != nil || off.retry != nil {
		t.Errorf("Disabled members still on")
	}
}

func TestConfigErrorsNameEveryField(t *testing.T) {
	_, err := NewResilientExecutor(ResilientConfig{
		Retry:          &RetryConfig{MaxRetries: -1, Jitter: 2},
		RateLimiter:    &RateLimiterConfig{RequestsPerSecond: -1},
		CircuitBreaker: &CircuitBreakerConfig{Window: time.Millisecond},
		Backpressure:   &BackpressureConfig{MaxInflight: -3},
	})
	for _, want := range []string{"Retry.MaxRetries = -1", "Retry.Jitter = 2", "RateLimiter.RequestsPerSecond = -1", "CircuitBreaker.Window = 1ms", "Backpressure.MaxInflight = -3"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("NewResilientExecutor error = %v; want it to name %q", err, want)
		}
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || (len(s) >= len(sub) && index(s, sub) >= 0) }

func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestCancellationWins is issue 15's second point: once the caller's ctx is
// done, the call says so, whatever it was about to decide, from every hook.
func TestCancellationWins(t *testing.T) {
	hooks := map[string]func(cancel context.CancelFunc) Hooks{
		"OnAttemptEnd":   func(c context.CancelFunc) Hooks { return Hooks{OnAttemptEnd: func(AttemptEnd) { c() }} },
		"OnRetry":        func(c context.CancelFunc) Hooks { return Hooks{OnRetry: func(RetryScheduled) { c() }} },
		"OnAttemptStart": func(c context.CancelFunc) Hooks { return Hooks{OnAttemptStart: func(AttemptStart) { c() }} },
	}
	for name, h := range hooks {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Millisecond)}, WithName("p/m"), WithHooks(h(cancel)))
				op, _ := scriptOp(providerErr(aierrors.Overloaded), providerErr(aierrors.Overloaded))
				err := e.Execute(ctx, op)
				if aierrors.CodeOf(err) != aierrors.Cancelled || !errors.Is(err, context.Canceled) {
					t.Fatalf("Execute = %v; want E4002 cancelled matching context.Canceled", err)
				}
				if name != "OnAttemptStart" && !errors.Is(err, aierrors.Overloaded) {
					t.Errorf("Execute = %v; want the provider's overloaded error still reachable", err)
				}
			})
		})
	}
	t.Run("fallback hop", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		chain := NewFallbackChain("a/x", "b/y")
		calls := 0
		err := chain.Execute(ctx, func(ctx context.Context, target string) error {
			calls++
			return providerErr(aierrors.Overloaded)
		}, WithHooks(Hooks{OnFallback: func(h FallbackHop) {
			if h.Index == 0 {
				cancel()
			}
		}}))
		if aierrors.CodeOf(err) != aierrors.Cancelled || !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("chain.Execute = %v after %d calls; want cancelled after 1", err, calls)
		}
	})
}

func TestDeadlineRetryThatCannotFinishIsNotSlept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Second)})
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		op, calls := scriptOp(providerErr(aierrors.Overloaded))
		start := time.Now()
		err := e.Execute(ctx, op)
		if aierrors.CodeOf(err) != aierrors.Overloaded || calls() != 1 || time.Since(start) != 0 {
			t.Errorf("Execute = %v after %d calls in %v; want overloaded at once", err, calls(), time.Since(start))
		}
	})
}

// TestPanicGivesEverythingBack: a panicking op gives back its permit, its
// token estimate and its shared probe slot before the panic goes on.
func TestPanicGivesEverythingBack(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{
		Backpressure: &BackpressureConfig{MaxInflight: 1},
		RateLimiter:  &RateLimiterConfig{TokensPerMinute: 600},
	})
	func() {
		defer func() { _ = recover() }()
		_ = e.Execute(t.Context(), func(context.Context) error { panic("boom") }, WithTokens(600, nil))
	}()
	if s := e.Signals(); s.CurrentInflight != 0 {
		t.Errorf("inflight after panic = %d; want 0", s.CurrentInflight)
	}
	if got := e.limiter.tokens.Tokens(); got < 599 {
		t.Errorf("tokens after panic = %v; want the estimate back (600)", got)
	}
	// A second call is admitted at once: nothing was kept.
	if err := e.Execute(t.Context(), func(context.Context) error { return nil }, WithTokens(600, nil)); err != nil {
		t.Errorf("Execute after panic = %v; want nil", err)
	}
}

// TestStreamAttemptHoldsUntilFinished: a stream keeps its permit until
// finish, and its outcome is recorded then.
func TestStreamAttemptHoldsUntilFinished(t *testing.T) {
	var ev events
	e := mustExecutor(t, ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 2}}, WithHooks(ev.hooks()))
	var finish func(error)
	v, err := Do(t.Context(), e, func(context.Context) (string, error) { return "stream", nil }, WithStream(&finish))
	if err != nil || v != "stream" || finish == nil {
		t.Fatalf("Do = %q, %v, finish %v; want stream, nil, set", v, err, finish != nil)
	}
	if s := e.Signals(); s.CurrentInflight != 1 || len(ev.ends) != 0 {
		t.Fatalf("open stream: inflight %d, ends %d; want 1, 0", s.CurrentInflight, len(ev.ends))
	}
	finish(providerErr(aierrors.ServerError))
	finish(nil) // idempotent
	if s := e.Signals(); s.CurrentInflight != 0 || len(ev.ends) != 1 || s.Circuit.ConsecutiveFailures != 1 {
		t.Errorf("finished stream: inflight %d, ends %d, consecutive failures %d; want 0, 1, 1", s.CurrentInflight, len(ev.ends), s.Circuit.ConsecutiveFailures)
	}
}

// TestAnOpenStreamIsReadAsAccepted: while the limiter learns a limit,
// the gap log reads a stream's send as accepted when the stream opens,
// not when it ends (the sends are read in order: an open stream would
// hold every later one unread).
func TestAnOpenStreamIsReadAsAccepted(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{Retry: exactRetry(0, time.Millisecond)})
	_ = e.Execute(t.Context(), func(context.Context) error { return rateLimitedErr(0) }) // learning starts
	var finish func(error)
	if _, err := Do(t.Context(), e, func(context.Context) (int, error) { return 1, nil }, WithStream(&finish)); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if err := e.Execute(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("call after the stream opened: %v", err)
	}
	e.limiter.mu.Lock()
	left, accepted := e.limiter.gaps.n, e.limiter.gaps.refill.accepted
	e.limiter.mu.Unlock()
	if left != 0 || accepted != 2 {
		t.Errorf("with the stream open: %d sends unread, %d read accepted; want 0, 2", left, accepted)
	}
	finish(nil)
}

// TestNoGoroutinePerAttempt: 100 open streams start no goroutine.
func TestNoGoroutinePerAttempt(t *testing.T) {
	e := mustExecutor(t, DefaultConfig())
	// Dirty the breaker so attempts take gobreaker's two-step admission.
	_ = e.Execute(t.Context(), func(context.Context) error { return providerErr(aierrors.ServerError) }, WithStream(new(func(error))))
	before := runtime.NumGoroutine()
	finishes := make([]func(error), 100)
	for i := range finishes {
		if _, err := Do(t.Context(), e, func(context.Context) (int, error) { return i, nil }, WithStream(&finishes[i])); err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	if after := runtime.NumGoroutine(); after != before {
		t.Errorf("goroutines with 100 open streams = %d; want %d (none per attempt)", after, before)
	}
	if s := e.Signals(); s.CurrentInflight != 100 {
		t.Errorf("inflight with 100 open streams = %d; want 100 (summed over the counter's stripes)", s.CurrentInflight)
	}
	for _, f := range finishes {
		f(nil)
	}
	if s := e.Signals(); s.CurrentInflight != 0 {
		t.Errorf("inflight after finishing = %d; want 0", s.CurrentInflight)
	}
}

func TestConcurrentHammer(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Microsecond), Backpressure: &BackpressureConfig{MaxInflight: 4}})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				var err error
				if (g+i)%5 == 0 {
					err = providerErr(aierrors.ServerError)
				}
				_ = e.Execute(t.Context(), func(context.Context) error { return err })
				_ = e.Signals()
				_ = e.Preflight()
			}
		})
	}
	wg.Wait()
	if s := e.Signals(); s.CurrentInflight != 0 {
		t.Errorf("inflight after hammer = %d; want 0", s.CurrentInflight)
	}
}

func TestNilExecutorRunsOpOnce(t *testing.T) {
	var e *ResilientExecutor
	op, calls := scriptOp(providerErr(aierrors.Overloaded))
	if err := e.Execute(t.Context(), op); aierrors.CodeOf(err) != aierrors.Overloaded || calls() != 1 {
		t.Errorf("nil executor: Execute = %v after %d calls; want overloaded after 1", err, calls())
	}
	if s := e.Signals(); s.CircuitState != StateClosed || e.Preflight() != nil {
		t.Errorf("nil executor: Signals %+v, Preflight %v; want closed, nil", s, e.Preflight())
	}
}

// A wait for the learned rate leaves room for a slow attempt, not an
// average one: the smoothed duration plus four smoothed deviations (RFC
// 6298's retransmission timeout), at least 1.5 times the smoothed
// duration.
func TestSlowAttemptCoversTheSlowAnswers(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{})
	if got := e.slowAttempt(); got != minExpected {
		t.Errorf("slowAttempt before any answer = %v; want the floor %v", got, minExpected)
	}
	for range 100 {
		e.observeLatency(300 * time.Millisecond)
	}
	if got := e.slowAttempt(); got != 450*time.Millisecond {
		t.Errorf("slowAttempt after answers of 300ms = %v; want 450ms (1.5 times: no deviation)", got)
	}
	for i := range 100 {
		d := 300 * time.Millisecond
		if i%10 < 3 {
			d = 1500 * time.Millisecond // 30% of slow answers
		}
		e.observeLatency(d)
	}
	if got, mean := e.slowAttempt(), time.Duration(e.latency.Load()); got < 1500*time.Millisecond || mean > time.Second {
		t.Errorf("slowAttempt with 30%% of answers at 1.5s = %v (mean %v); want ≥ 1.5s, the slow answers' (1.5 times the mean is about 1s)", got, mean)
	}
}

// TestAWaitOfTwoPlacesFitsWhateverTheSlowAnswers: with answers so spread
// that a slow one would not fit a 1.5s deadline even at once, a wait of up
// to two places of the learned rate is still admitted when a typical
// attempt fits after it; a longer one is refused at once. Without that
// only the call that found a place free would go.
func TestAWaitOfTwoPlacesFitsWhateverTheSlowAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}})
		for i := range 100 {
			d := 300 * time.Millisecond
			if i%10 < 3 {
				d = 1500 * time.Millisecond
			}
			e.observeLatency(d)
		}
		if s, x := e.slowAttempt(), e.expected(); s <= 1500*time.Millisecond || x >= 1300*time.Millisecond {
			t.Fatalf("slowAttempt %v, expected %v; want a slow attempt over the 1.5s deadline and a typical one under 1.3s", s, x)
		}
		e.limiter.mu.Lock()
		e.limiter.setEstimate(time.Now(), 10) // places at 0, 100, 200, 300, 400ms
		e.limiter.mu.Unlock()
		start := time.Now()
		answer := make(chan struct{})
		var mu sync.Mutex
		var sent []time.Duration
		refused := 0
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
				defer cancel()
				err := e.Execute(ctx, func(context.Context) error {
					mu.Lock()
					sent = append(sent, time.Since(start))
					mu.Unlock()
					<-answer // all answer once every call was admitted or refused
					return nil
				})
				if err != nil {
					if !errors.Is(err, ErrRateLimitWait) {
						t.Errorf("Execute = %v; want nil or ErrRateLimitWait", err)
					}
					mu.Lock()
					refused++
					mu.Unlock()
				}
			})
			synctest.Wait() // each takes its place in turn
		}
		time.Sleep(time.Second)
		close(answer)
		wg.Wait()
		want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond}
		if !slices.Equal(sent, want) || refused != 2 {
			t.Errorf("sent at %v, %d refused; want %v (waits of up to two places) and 2 refused", sent, refused, want)
		}
	})
}
