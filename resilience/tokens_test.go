package resilience

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

func TestTokenLimitReservesAndSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 600 tokens a minute = 10 a second, bucket of 600.
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{TokensPerMinute: 600}})
		ok := func(used int) func(context.Context) (int, int, error) {
			return func(context.Context) (int, int, error) { return 1, used, nil }
		}
		if _, err := DoTokens(context.Background(), e, 500, ok(100)); err != nil {
			t.Fatal(err)
		}
		if got := e.Signals().TokensRemaining; got != 500 {
			t.Errorf("TokensRemaining after reserving 500 and using 100 = %v; want 500", got)
		}
		// Bigger than the bucket: clamped to 600, so it waits for the bucket
		// to be full again (100 tokens, 10s), not forever.
		start := time.Now()
		if _, err := DoTokens(context.Background(), e, 5000, ok(-1)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("DoTokens(5000 > bucket) waited %v; want 10s", d)
		}
		// A failed attempt gives its tokens back.
		time.Sleep(time.Minute)
		before := e.Signals().TokensRemaining
		_, err := DoTokens(context.Background(), e, 100, func(context.Context) (int, int, error) {
			return 0, 0, providerErr(aierrors.InvalidRequest)
		})
		if after := e.Signals().TokensRemaining; err == nil || after != before {
			t.Errorf("TokensRemaining after a failed attempt = %v; want %v (refunded)", after, before)
		}
		// More used than estimated: the excess is charged.
		if _, err := DoTokens(context.Background(), e, 100, ok(400)); err != nil {
			t.Fatal(err)
		}
		if got := e.Signals().TokensRemaining; got != 200 {
			t.Errorf("TokensRemaining after using 400 of an estimate of 100 = %v; want 200", got)
		}
	})
}

func TestTokenWaitPastDeadlineFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{TokensPerMinute: 60, TokenBurst: 60}})
		ok := func(context.Context) (int, int, error) { return 1, -1, nil }
		_, _ = DoTokens(context.Background(), e, 60, ok)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := DoTokens(ctx, e, 30, ok)
		var ae *aierrors.Error
		if !errors.As(err, &ae) || !errors.Is(err, ErrRateLimitWait) || ae.RetryAfter != 30*time.Second || time.Since(start) != 0 {
			t.Errorf("DoTokens past the deadline = %v after %v; want ErrRateLimitWait at once, RetryAfter 30s", err, time.Since(start))
		}
		if got := e.Signals().TokensRemaining; got != 0 {
			t.Errorf("TokensRemaining after a refused wait = %v; want 0 (given back)", got)
		}
	})
}

func TestTokenLimitLearnedFromHeaders(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
	}{
		{"openai", http.Header{
			"X-Ratelimit-Limit-Tokens":     {"6000"},
			"X-Ratelimit-Remaining-Tokens": {"5000"},
			"X-Ratelimit-Reset-Tokens":     {"10s"},
		}},
		{"anthropic", http.Header{
			"Anthropic-Ratelimit-Tokens-Limit":     {"6000"},
			"Anthropic-Ratelimit-Tokens-Remaining": {"5000"},
			"Anthropic-Ratelimit-Tokens-Reset":     {"RESET"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}})
				if v := tt.h.Get("Anthropic-Ratelimit-Tokens-Reset"); v != "" {
					tt.h.Set("Anthropic-Ratelimit-Tokens-Reset", time.Now().Add(10*time.Second).UTC().Format(time.RFC3339))
				}
				e.ObserveHeader(tt.h)
				s := e.Signals()
				// (6000-5000)/10s = 100 tokens a second.
				if s.LearnedTokenLimit != 6000 || s.LearnedTokenBurst != 6000 || s.TokensRemaining != 5000 {
					t.Errorf("Signals() learned %v/min, burst %d, remaining %v; want 6000, 6000, 5000", s.LearnedTokenLimit, s.LearnedTokenBurst, s.TokensRemaining)
				}
				start := time.Now()
				_, err := DoTokens(context.Background(), e, 5500, func(context.Context) (int, int, error) { return 1, -1, nil })
				if d := time.Since(start); err != nil || d != 5*time.Second {
					t.Errorf("DoTokens(5500 of 5000 at 100/s) = %v after %v; want nil after 5s", err, d)
				}
			})
		})
	}
}

func TestTokenLimitIgnoredByPlainCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{TokensPerMinute: 1}})
		for range 3 {
			if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.Signals().TokensRemaining; got != 1 {
			t.Errorf("TokensRemaining after plain calls = %v; want 1 (untouched)", got)
		}
	})
}

func TestSharedTokenLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemoryLimiter(1000.0/60, 1000) // 1000 tokens a minute
		a := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}}, WithName("p/m"), WithSharedTokenLimiter(m, ""))
		b := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}}, WithName("p/m"), WithSharedTokenLimiter(m, ""))
		ok := func(context.Context) (int, int, error) { return 1, -1, nil }
		_, _ = DoTokens(context.Background(), a, 1000, ok)
		start := time.Now()
		_, err := DoTokens(context.Background(), b, 500, ok)
		if d := time.Since(start); err != nil || d < 29*time.Second || d > 31*time.Second {
			t.Errorf("second replica's DoTokens(500) after the first took the whole shared limit = %v after %v; want nil after ~30s", err, d)
		}
	})
}
