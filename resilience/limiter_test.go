package resilience

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Rule: a rate wait that cannot finish before the deadline fails at once
// with RetryAfter, and gives its reservation back.
func TestRateWaitLongerThanDeadlineReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1}}, WithHooks(ev.hooks()))
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := e.Execute(ctx, func(context.Context) error { t.Error("op ran without a token"); return nil })
		ae := asAI(t, err)
		if time.Since(start) != 0 || ae.Code != aierrors.RateLimited || ae.RetryAfter != time.Second || !errors.Is(err, ErrRateLimitWait) {
			t.Errorf("Execute = %+v after %v; want RateLimited, RetryAfter 1s, ErrRateLimitWait, at once", ae, time.Since(start))
		}
		if len(ev.rejected) != 1 {
			t.Errorf("OnRejection calls = %d; want 1", len(ev.rejected))
		}
		// The refused reservation was cancelled: a token is due after 1s, not 2s.
		time.Sleep(time.Second)
		if got := e.Signals().RateRemaining; got != 1 {
			t.Errorf("RateRemaining 1s later = %v; want 1 (the refused reservation was given back)", got)
		}
	})
}

// A ctx cancelled during a token wait returns cancelled and gives the
// token back.
func TestRateWaitCancelledGivesTokenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: 1, Burst: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(100 * time.Millisecond); cancel() }()
		err = l.Wait(ctx)
		if !errors.Is(err, context.Canceled) || aierrors.CodeOf(err) != aierrors.Cancelled {
			t.Errorf("Wait(cancelled) = %v; want cancelled", err)
		}
		time.Sleep(900 * time.Millisecond)
		if got := l.Tokens(); got != 1 {
			t.Errorf("Tokens() = %v; want 1 (cancelled wait gave its token back)", got)
		}
	})
}

// Rule: "no rate limit" is no limiter, never rate.Limit(0).
func TestZeroRateMeansUnlimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 0}})
		start := time.Now()
		for range 1000 {
			if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("1000 calls with RequestsPerSecond 0 took %v; want 0", time.Since(start))
		}
		s := e.Signals()
		if !math.IsInf(s.RateRemaining, 1) || !math.IsInf(s.RateLimit, 1) {
			t.Errorf("Signals rate = %v remaining, %v limit; want +Inf, +Inf", s.RateRemaining, s.RateLimit)
		}
	})
}

// The default burst is one second's worth of tokens.
func TestDefaultBurst(t *testing.T) {
	tests := []struct {
		rps  float64
		want int
	}{{0.5, 1}, {1, 1}, {2.5, 3}, {10, 10}}
	for _, tt := range tests {
		l, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: tt.rps})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Burst(); got != tt.want {
			t.Errorf("NewRateLimiter({RequestsPerSecond: %v}).Burst() = %d; want %d", tt.rps, got, tt.want)
		}
	}
}

// The limiter learns: "remaining 0 until reset" pauses the bucket until
// the reset, and the provider's limits show in Signals.
func TestLimiterPausesOnRemainingZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}})
		h := http.Header{}
		h.Set("x-ratelimit-limit-requests", "60")
		h.Set("x-ratelimit-remaining-requests", "0")
		h.Set("x-ratelimit-reset-requests", "2s")
		h.Set("x-ratelimit-limit-tokens", "1000")
		h.Set("x-ratelimit-remaining-tokens", "900")
		h.Set("x-ratelimit-reset-tokens", "6m0s")
		now := time.Now()
		e.ObserveHeader(h)
		s := e.Signals()
		want := ProviderLimits{
			RequestsLimit: 60, RequestsRemaining: 0, RequestsReset: now.Add(2 * time.Second),
			TokensLimit: 1000, TokensRemaining: 900, TokensReset: now.Add(6 * time.Minute), ObservedAt: now,
		}
		if s.Provider != want {
			t.Errorf("Signals().Provider = %+v; want %+v", s.Provider, want)
		}
		if s.RatePausedFor != 2*time.Second {
			t.Errorf("RatePausedFor = %v; want 2s", s.RatePausedFor)
		}
		if ae := e.Preflight(); ae == nil || ae.RetryAfter != 2*time.Second || !errors.Is(ae, ErrRateLimitWait) {
			t.Errorf("Preflight() while paused = %v; want ErrRateLimitWait, RetryAfter 2s", ae)
		}
		start := time.Now()
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("Execute while paused took %v; want 2s", got)
		}
		// A deadline shorter than the pause fails at once.
		e.ObserveHeader(h)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start = time.Now()
		err := e.Execute(ctx, func(context.Context) error { return nil })
		if ae := asAI(t, err); time.Since(start) != 0 || ae.RetryAfter != 2*time.Second || !errors.Is(err, ErrRateLimitWait) {
			t.Errorf("Execute paused past its deadline = %v after %v; want ErrRateLimitWait at once with RetryAfter 2s", err, time.Since(start))
		}
	})
}

// A 429 with a wait pauses the whole target's bucket, so concurrent calls
// wait too instead of hammering the provider.
func TestRateLimitedAnswerPausesBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}})
		_ = e.Execute(context.Background(), func(context.Context) error { return rateLimitedErr(3 * time.Second) })
		start := time.Now()
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("call after a 429 with Retry-After 3s waited %v; want 3s", got)
		}
	})
}

// Pauses are capped by MaxPause and never shortened.
func TestPauseIsCappedAndNeverShortened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewRateLimiter(RateLimiterConfig{MaxPause: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		l.Pause(time.Hour)
		if got := l.PausedFor(); got != 10*time.Second {
			t.Errorf("PausedFor() after Pause(1h) = %v; want 10s (MaxPause)", got)
		}
		l.Pause(time.Second)
		if got := l.PausedFor(); got != 10*time.Second {
			t.Errorf("PausedFor() after a shorter Pause = %v; want 10s", got)
		}
	})
}

// Without a rate limiter the provider's limits are still visible.
func TestProviderLimitsVisibleWithoutLimiter(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{})
	h := http.Header{}
	h.Set("anthropic-ratelimit-requests-limit", "50")
	h.Set("anthropic-ratelimit-requests-remaining", "49")
	e.ObserveHeader(h)
	if p := e.Signals().Provider; p.RequestsLimit != 50 || p.RequestsRemaining != 49 || p.TokensLimit != -1 {
		t.Errorf("Signals().Provider = %+v; want 50 limit, 49 remaining, tokens unknown", p)
	}
	e.ObserveHeader(http.Header{"Content-Type": {"application/json"}})
	if p := e.Signals().Provider; p.RequestsRemaining != 49 {
		t.Errorf("an answer without rate-limit headers changed Provider to %+v", p)
	}
}

// Standalone limiter: Wait, Tokens, Preflight, nil.
func TestRateLimiterStandalone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var waits []LimiterWait
		l, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: 2, Burst: 1},
			WithHooks(Hooks{OnLimiterWait: func(w LimiterWait) { waits = append(waits, w) }}))
		if err != nil {
			t.Fatal(err)
		}
		if l.Limit() != 2 || l.Preflight() != nil {
			t.Errorf("fresh limiter: Limit %v, Preflight %v; want 2, nil", l.Limit(), l.Preflight())
		}
		start := time.Now()
		for range 3 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("3 Waits at 2 rps, burst 1, took %v; want 1s", got)
		}
		if len(waits) != 2 || waits[0].Wait != 500*time.Millisecond {
			t.Errorf("OnLimiterWait = %+v; want two waits of 500ms", waits)
		}
		if ae := l.Preflight(); ae == nil || ae.RetryAfter != 500*time.Millisecond {
			t.Errorf("Preflight() with an empty bucket = %v; want RetryAfter 500ms", ae)
		}
		var nilL *RateLimiter
		if nilL.Wait(context.Background()) != nil || nilL.Preflight() != nil || !math.IsInf(nilL.Tokens(), 1) || nilL.PausedFor() != 0 {
			t.Error("nil limiter is not neutral")
		}
		nilL.Pause(time.Second)
		nilL.ObserveHeader(nil)
	})
}

// Hammer: many goroutines on one limiter never get more tokens than the
// rate allows.
func TestHammerRateLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: 100, Burst: 10})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 10 {
					if err := l.Wait(context.Background()); err != nil {
						t.Error(err)
						return
					}
					_ = l.Tokens()
					_ = l.Preflight()
				}
			})
		}
		wg.Wait()
		// 640 tokens: 10 from the burst, 630 refilled at 100/s.
		if got := time.Since(start); got != 6300*time.Millisecond {
			t.Errorf("640 tokens at 100 rps, burst 10, took %v; want 6.3s", got)
		}
	})
}
