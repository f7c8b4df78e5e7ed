package resilience_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// The breaker on its own: only provider-health failures count, and an open
// circuit answers at once with a fallbackable error.
func ExampleNewCircuitBreaker() {
	cb, err := resilience.NewCircuitBreaker(resilience.CircuitBreakerConfig{
		Trip:             resilience.TripOnConsecutive,
		FailureThreshold: 2,
		Cooldown:         time.Minute,
	}, resilience.WithName("anthropic/claude-3-5-sonnet"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	badRequest := &aierrors.Error{Code: aierrors.InvalidRequest, HTTPStatus: 400}
	overloaded := &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 529}

	for range 3 {
		_ = cb.Execute(ctx, func(context.Context) error { return badRequest })
	}
	fmt.Println("after three 400s:", cb.State())

	for range 2 {
		_ = cb.Execute(ctx, func(context.Context) error { return overloaded })
	}
	fmt.Println("after two 529s:", cb.State())

	err = cb.Execute(ctx, func(context.Context) error { return nil })
	fmt.Println(aierrors.CodeOf(err), aierrors.IsFallbackable(err))
	// Output:
	// after three 400s: closed
	// after two 529s: open
	// E3002 overloaded true
}

// The token bucket on its own. RequestsPerSecond 0 would mean "no limit of
// the caller's", never "admit nothing".
func ExampleNewRateLimiter() {
	l, err := resilience.NewRateLimiter(resilience.RateLimiterConfig{RequestsPerSecond: 2, Burst: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for i := range 2 {
		fmt.Println("token", i+1, l.Wait(ctx))
	}
	// The bucket is empty; a caller with no time to wait gets a local
	// rate_limited error saying when to come back, at once.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	err = l.Wait(short)
	fmt.Println(aierrors.CodeOf(err), aierrors.IsRetryable(err))
	// Output:
	// token 1 <nil>
	// token 2 <nil>
	// E2001 rate_limited true
}

// The in-flight cap on its own: a permit per request, a bounded wait for
// one, and a preflight that says whether one is free without taking it.
func ExampleNewBackpressure() {
	bp, err := resilience.NewBackpressure(resilience.BackpressureConfig{MaxInflight: 1, QueueTimeout: 5 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := bp.Acquire(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("in flight:", bp.Inflight(), "of", bp.MaxInflight())
	fmt.Println("preflight:", aierrors.CodeOf(bp.Preflight()))
	err = bp.Acquire(ctx) // waits QueueTimeout, then gives up
	fmt.Println("second acquire:", aierrors.CodeOf(err))
	bp.Release()
	fmt.Println("after release:", bp.Preflight() == nil)
	// Output:
	// in flight: 1 of 1
	// preflight: E3002 overloaded
	// second acquire: E3002 overloaded
	// after release: true
}

// NewFallbackChain moves on only for fallbackable errors: exhausted quota
// does, a malformed request does not.
func ExampleNewFallbackChain() {
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude-3-5-sonnet", "groq/llama-3.1-70b")
	err := chain.Execute(context.Background(), func(ctx context.Context, target string) error {
		fmt.Println("trying", target)
		if target == "openai/gpt-4o" {
			return &aierrors.Error{Code: aierrors.QuotaExhausted, HTTPStatus: 429}
		}
		return &aierrors.Error{Code: aierrors.InvalidRequest, HTTPStatus: 400}
	})
	fmt.Println(aierrors.CodeOf(err))
	// Output:
	// trying openai/gpt-4o
	// trying anthropic/claude-3-5-sonnet
	// E1001 invalid_request
}

func ExampleDefaultConfig() {
	cfg := resilience.DefaultConfig()
	fmt.Println("retries:", cfg.Retry.MaxRetries, "from", cfg.Retry.InitialDelay, "to at most", cfg.Retry.MaxDelay)
	fmt.Println("breaker:", cfg.CircuitBreaker.Trip, cfg.CircuitBreaker.FailureThreshold, "in a row, cooldown", cfg.CircuitBreaker.Cooldown)
	fmt.Println("own rate limit:", cfg.RateLimiter.RequestsPerSecond, "in-flight cap:", cfg.Backpressure != nil)
	// Output:
	// retries: 3 from 500ms to at most 30s
	// breaker: either 12 in a row, cooldown 30s
	// own rate limit: 0 in-flight cap: false
}

// Validate reports every problem at once, each naming the field and value.
func ExampleResilientConfig_Validate() {
	cfg := resilience.DefaultConfig()
	cfg.Retry.MaxRetries = -1
	cfg.RateLimiter.RequestsPerSecond = -5
	fmt.Println(cfg.Validate())
	// Output:
	// resilience: Retry.MaxRetries = -1: negative
	// resilience: RateLimiter.RequestsPerSecond = -5: must be a finite number >= 0 (0 = no limit)
}

func ExampleResilientExecutor_Execute() {
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: time.Millisecond, Jitter: 0},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Exhausted quota is not retryable: one attempt, then the error.
	attempts := 0
	err = exec.Execute(context.Background(), func(ctx context.Context) error {
		attempts++
		return aierrors.ClassifyResponse(429, nil, []byte(`{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`))
	})
	fmt.Println(aierrors.CodeOf(err), "after", attempts, "attempt")
	// Output:
	// E2002 quota_exhausted after 1 attempt
}

// Signals reads the target's live state without taking anything.
func ExampleResilientExecutor_Signals() {
	cfg := resilience.DefaultConfig()
	cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 4}
	exec, err := resilience.NewResilientExecutor(cfg, resilience.WithName("openai/gpt-4o"))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := exec.Signals()
	fmt.Println(s.CircuitState, s.CurrentInflight, s.MaxInflight, s.ConsecutiveFailures)
	// Output:
	// closed 0 4 0
}

// ObserveHeader feeds a provider's rate-limit headers to the target's
// limiter: the executor adopts the limit even with no rate configured.
func ExampleResilientExecutor_ObserveHeader() {
	exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"))
	if err != nil {
		fmt.Println(err)
		return
	}
	h := http.Header{}
	h.Set("X-Ratelimit-Limit-Requests", "600")
	h.Set("X-Ratelimit-Remaining-Requests", "599")
	h.Set("X-Ratelimit-Reset-Requests", "100ms")
	exec.ObserveHeader(h)
	limits := exec.Signals().Provider
	fmt.Println(limits.RequestsLimit, limits.RequestsRemaining)
	// Output:
	// 600 599
}

// WithLogger logs every decision with log/slog; nothing is logged without
// it. Attributes carry the target, the attempt and the code, never
// credentials.
func ExampleWithLogger() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "delay" {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 1, InitialDelay: time.Millisecond},
	}, resilience.WithName("openai/gpt-4o"), resilience.WithLogger(logger))
	if err != nil {
		fmt.Println(err)
		return
	}
	first := true
	_ = exec.Execute(context.Background(), func(ctx context.Context) error {
		if first {
			first = false
			return &aierrors.Error{Code: aierrors.ServerError, HTTPStatus: 500, RequestID: "req_42"}
		}
		return nil
	})
	// Output:
	// level=INFO msg="resilience: retry scheduled" target=openai/gpt-4o attempt=1 code=E3001 request_id=req_42
}

// WithHooks reports each decision to your code: metrics, traces, tests.
func ExampleWithHooks() {
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 2, InitialDelay: time.Millisecond},
	}, resilience.WithName("groq/llama-3.1-70b"), resilience.WithHooks(resilience.Hooks{
		OnAttemptStart: func(a resilience.AttemptStart) { fmt.Println("start", a.Target, a.Attempt) },
		OnAttemptEnd: func(a resilience.AttemptEnd) {
			if a.Err != nil {
				fmt.Println("end", a.Attempt, aierrors.CodeOf(a.Err))
				return
			}
			fmt.Println("end", a.Attempt, "ok")
		},
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	_ = exec.Execute(context.Background(), func(ctx context.Context) error {
		if n++; n == 1 {
			return &aierrors.Error{Code: aierrors.Timeout}
		}
		return nil
	})
	// Output:
	// start groq/llama-3.1-70b 1
	// end 1 E3003 timeout
	// start groq/llama-3.1-70b 2
	// end 2 ok
}
