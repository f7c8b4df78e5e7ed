package resilience

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
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

// The limiter learns: a reported limit, remaining and reset become a
// learned bucket (OpenAI's reset is when the limit is fully replenished, so
// "60 limit, 0 remaining, full in 2s" means 30 requests per second and the
// next request in 1/30s, not in 2s), and the provider's limits show in
// Signals. This replaced an earlier rule that paused until the reset.
func TestLimiterLearnsRateFromHeaders(t *testing.T) {
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
		if s.LearnedRateLimit != 30 || s.LearnedBurst != 60 || s.RateRemaining != 0 || s.RatePausedFor != 0 || !math.IsInf(s.RateLimit, 1) {
			t.Errorf("Signals() = learned %v rps burst %d, remaining %v, paused %v, configured %v; want 30, 60, 0, 0, +Inf",
				s.LearnedRateLimit, s.LearnedBurst, s.RateRemaining, s.RatePausedFor, s.RateLimit)
		}
		next := durationForTokens(30, 1)
		if ae := e.Preflight(); ae == nil || ae.RetryAfter != next || !errors.Is(ae, ErrRateLimitWait) {
			t.Errorf("Preflight() with no token = %v; want ErrRateLimitWait, RetryAfter %v", ae, next)
		}
		start := time.Now()
		for range 3 {
			if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); !near(got, 3*next, time.Microsecond) {
			t.Errorf("3 calls at the learned 30 rps from an empty bucket took %v; want %v", got, 3*next)
		}
		// A deadline shorter than the wait fails at once.
		ctx, cancel := context.WithTimeout(context.Background(), next/2)
		defer cancel()
		start = time.Now()
		err := e.Execute(ctx, func(context.Context) error { return nil })
		if ae := asAI(t, err); time.Since(start) != 0 || !near(ae.RetryAfter, next, time.Microsecond) || !errors.Is(err, ErrRateLimitWait) {
			t.Errorf("Execute with a deadline before the next token = %v after %v; want ErrRateLimitWait at once with RetryAfter %v", err, time.Since(start), next)
		}
	})
}

// Without a reported limit there is no rate to learn: "remaining 0 until
// reset" pauses the bucket until the reset.
func TestLimiterPausesOnRemainingZeroWithoutLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}})
		h := http.Header{}
		h.Set("x-ratelimit-remaining-requests", "0")
		h.Set("x-ratelimit-reset-requests", "2s")
		e.ObserveHeader(h)
		s := e.Signals()
		if s.RatePausedFor != 2*time.Second || !math.IsInf(s.LearnedRateLimit, 1) {
			t.Errorf("RatePausedFor = %v, LearnedRateLimit = %v; want 2s, +Inf", s.RatePausedFor, s.LearnedRateLimit)
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

// near reports whether got is within tol of want (token arithmetic rounds
// to the nanosecond).
func near(got, want, tol time.Duration) bool {
	return got >= want-tol && got <= want+tol
}

// openAILimits is an answer's x-ratelimit-*-requests headers.
func openAILimits(limit, remaining int, reset time.Duration) http.Header {
	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", strconv.Itoa(limit))
	h.Set("x-ratelimit-remaining-requests", strconv.Itoa(remaining))
	h.Set("x-ratelimit-reset-requests", reset.String())
	return h
}

// The learned limit goes away when the provider stops reporting it
// (LearnedLimitTTL, by default 3 windows and at least 10s), leaving the
// caller's setting alone.
func TestLearnedLimitExpires(t *testing.T) {
	tests := []struct {
		name string
		cfg  RateLimiterConfig
		ttl  time.Duration
	}{
		{"default ttl, short window", RateLimiterConfig{}, DefaultLearnedLimitTTL},               // 3×1s < 10s
		{"default ttl, long window", RateLimiterConfig{}, 3 * 6 * time.Second},                   // limit 60, 10 rps: window 6s
		{"configured ttl", RateLimiterConfig{LearnedLimitTTL: 2 * time.Second}, 2 * time.Second}, // whatever the window
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l, err := NewRateLimiter(tt.cfg)
				if err != nil {
					t.Fatal(err)
				}
				limit := 10
				if tt.name == "default ttl, long window" {
					limit = 60
				}
				// limit, 0 remaining, full in limit/10 s: 10 rps.
				l.ObserveHeader(openAILimits(limit, 0, time.Duration(limit)*100*time.Millisecond))
				if rps, burst := l.LearnedLimit(); rps != 10 || burst != limit {
					t.Fatalf("LearnedLimit() = %v, %d; want 10, %d", rps, burst, limit)
				}
				time.Sleep(tt.ttl)
				if rps, _ := l.LearnedLimit(); rps != 10 {
					t.Errorf("LearnedLimit() at the TTL = %v; want still 10", rps)
				}
				time.Sleep(time.Nanosecond)
				if rps, burst := l.LearnedLimit(); !math.IsInf(rps, 1) || burst != 0 {
					t.Errorf("LearnedLimit() after the TTL = %v, %d; want +Inf, 0", rps, burst)
				}
				start := time.Now()
				for range 100 {
					if err := l.Wait(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				if time.Since(start) != 0 {
					t.Errorf("100 Waits after the learned limit expired took %v; want 0", time.Since(start))
				}
			})
		})
	}
}

// Every attempt needs a token from the caller's bucket and the learned
// one: the tighter limit wins, whichever it is.
func TestTighterLimitWins(t *testing.T) {
	tests := []struct {
		configured float64
		want       time.Duration // for 10 attempts after the first
	}{
		{5, 2 * time.Second},  // the caller's 5 rps is tighter than the provider's 10
		{20, 1 * time.Second}, // the provider's 10 rps is tighter than the caller's 20
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			l, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: tt.configured, Burst: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			l.ObserveHeader(openAILimits(10, 0, time.Second)) // 10 rps, empty
			start := time.Now()
			for range 10 {
				if err := l.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := time.Since(start); !near(got, tt.want, time.Microsecond) {
				t.Errorf("configured %v rps, learned 10 rps: 10 Waits took %v; want %v", tt.configured, got, tt.want)
			}
			if l.Limit() != tt.configured {
				t.Errorf("Limit() = %v; want the configured %v", l.Limit(), tt.configured)
			}
		})
	}
}

// Each answer brings the learned bucket down to what the provider says
// remains, never up: requests sent since the provider counted are not in
// its number.
func TestLearnedBucketFollowsRemaining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewRateLimiter(RateLimiterConfig{})
		if err != nil {
			t.Fatal(err)
		}
		l.ObserveHeader(openAILimits(10, 9, 100*time.Millisecond)) // 10 rps
		if got := l.Tokens(); got != 9 {
			t.Fatalf("Tokens() = %v; want 9", got)
		}
		l.ObserveHeader(openAILimits(10, 3, 700*time.Millisecond))
		if got := l.Tokens(); got != 3 {
			t.Errorf("Tokens() after remaining 3 = %v; want 3", got)
		}
		l.ObserveHeader(openAILimits(10, 8, 200*time.Millisecond))
		if got := l.Tokens(); got != 3 {
			t.Errorf("Tokens() after a stale remaining 8 = %v; want still 3", got)
		}
		// A full bucket (nothing to learn a rate from) changes nothing.
		l.ObserveHeader(openAILimits(10, 10, 0))
		if rps, burst := l.LearnedLimit(); rps != 10 || burst != 10 {
			t.Errorf("LearnedLimit() = %v, %d; want 10, 10", rps, burst)
		}
		// A new limit starts the estimate afresh.
		l.ObserveHeader(openAILimits(100, 0, 5*time.Second))
		if rps, burst := l.LearnedLimit(); rps != 20 || burst != 100 {
			t.Errorf("LearnedLimit() after a new limit = %v, %d; want 20, 100", rps, burst)
		}
	})
}

// A limit without a rate (the provider reports a full bucket) is not
// enough to pace by: nothing changes.
func TestFullBucketTeachesNothing(t *testing.T) {
	l, err := NewRateLimiter(RateLimiterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l.ObserveHeader(openAILimits(10, 10, 0))
	if rps, burst := l.LearnedLimit(); !math.IsInf(rps, 1) || burst != 0 || !math.IsInf(l.Tokens(), 1) {
		t.Errorf("after a full-bucket report LearnedLimit() = %v, %d, Tokens() = %v; want +Inf, 0, +Inf", rps, burst, l.Tokens())
	}
}

// A 429 with a wait pauses the target and drains its buckets: when the
// pause ends, one attempt goes, then the others at the rate, instead of a
// burst.
func TestRateLimitedAnswerDrainsBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 10, Burst: 10}})
		_ = e.Execute(context.Background(), func(context.Context) error { return rateLimitedErr(time.Second) })
		if s := e.Signals(); s.RatePausedFor != time.Second {
			t.Fatalf("RatePausedFor = %v; want 1s", s.RatePausedFor)
		}
		start := time.Now()
		var at []time.Duration
		for range 3 {
			if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
			at = append(at, time.Since(start))
		}
		// At 1s the bucket holds 1 token and the fraction it had left.
		if at[0] != time.Second || at[2] > time.Second+200*time.Millisecond || at[2] <= time.Second+100*time.Millisecond {
			t.Errorf("calls after a 429 asking for 1s went at %v; want 1s, then one token per 100ms", at)
		}
	})
}

// The learned bucket is drained the same way, and a deadline that the
// learned wait cannot meet fails at once with RetryAfter.
func TestLearnedWaitRespectsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{}}, WithHooks(ev.hooks()), WithName("openai/gpt-4o"))
		e.ObserveHeader(openAILimits(10, 1, 900*time.Millisecond)) // 10 rps, 1 left
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// Two waiters queue: the second needs 200ms.
		done := make(chan error, 1)
		go func() { done <- e.Execute(context.Background(), func(context.Context) error { return nil }) }()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := e.Execute(ctx, func(context.Context) error { t.Error("op ran without a token"); return nil })
		ae := asAI(t, err)
		if time.Since(start) != 0 || ae.Code != aierrors.RateLimited || !errors.Is(err, ErrRateLimitWait) ||
			!near(ae.RetryAfter, 200*time.Millisecond, time.Microsecond) || ae.Provider != "openai" {
			t.Errorf("Execute = %+v after %v; want RateLimited, ErrRateLimitWait, RetryAfter 200ms, at once", ae, time.Since(start))
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// A cancelled learned wait gives its token back.
		ctx2, cancel2 := context.WithCancel(context.Background())
		go func() { time.Sleep(10 * time.Millisecond); cancel2() }()
		if err := e.Execute(ctx2, func(context.Context) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Fatalf("Execute(cancelled during the wait) = %v; want cancelled", err)
		}
		time.Sleep(90 * time.Millisecond)
		if got := e.Signals().RateRemaining; math.Abs(got-1) > 1e-6 {
			t.Errorf("RateRemaining = %v; want 1 (the cancelled wait gave its token back)", got)
		}
	})
}

// Hammer: many goroutines wait on a learning limiter while others feed it
// headers, pause it and read it, in real time. Invariants: no race, every
// error is a rate or ctx error, and the learned bucket never holds more
// than the reported limit.
func TestHammerLearningLimiter(t *testing.T) {
	l, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: 1e6, Burst: 50, MaxPause: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for range 200 {
				switch r.IntN(6) {
				case 0:
					limit := 50 + r.IntN(3)
					l.ObserveHeader(openAILimits(limit, r.IntN(limit+1), time.Duration(1+r.IntN(2000))*time.Microsecond))
				case 1:
					l.Pause(time.Duration(r.IntN(200)) * time.Microsecond)
				case 2:
					_, _ = l.LearnedLimit()
					if tok := l.Tokens(); tok > 52 {
						t.Errorf("Tokens() = %v; want at most the limit", tok)
					}
					_ = l.Preflight()
				default:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(500))*time.Microsecond)
					err := l.Wait(ctx)
					cancel()
					if err != nil && !errors.Is(err, ErrRateLimitWait) && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Wait = %v; want nil, a rate wait or a timeout", err)
					}
				}
			}
		})
	}
	wg.Wait()
}
