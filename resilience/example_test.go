package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

func ExampleResilientExecutor_Execute() {
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 1}, // breaker, limiter, cooldowns: defaults
	}, resilience.WithName("openai/gpt-4o"))
	if err != nil {
		panic(err)
	}
	calls := 0
	err = exec.Execute(context.Background(), func(ctx context.Context) error {
		calls++
		if calls < 3 {
			return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 503}
		}
		return nil
	})
	fmt.Println(err, calls)
	// Output: <nil> 3
}

func ExampleDo() {
	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig())
	answer, err := resilience.Do(context.Background(), exec, func(ctx context.Context) (string, error) {
		return "hello", nil
	})
	fmt.Println(answer, err)
	// Output: hello <nil>
}

func ExampleWithStream() {
	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig())
	var finish func(error)
	stream, err := resilience.Do(context.Background(), exec, func(ctx context.Context) ([]string, error) {
		return []string{"a", "b"}, nil // e.g. an open response body
	}, resilience.WithStream(&finish))
	fmt.Println(stream, err, exec.Signals().CurrentInflight)
	finish(nil) // when the stream ends: the permit is given back, the outcome recorded
	fmt.Println(exec.Signals().CurrentInflight)
	// Output:
	// [a b] <nil> 1
	// 0
}

func ExampleWithTokens() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		RateLimiter: &resilience.RateLimiterConfig{TokensPerMinute: 10_000},
	})
	used := -1
	err := exec.Execute(context.Background(), func(ctx context.Context) error {
		used = 420 // what the provider reported
		return nil
	}, resilience.WithTokens(1_000, &used))
	fmt.Println(err, exec.Signals().Rate.TokenLimit)
	// Output: <nil> 10000
}

func ExampleFallbackChain_Execute() {
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude-3-5-sonnet")
	err := chain.Execute(context.Background(), func(ctx context.Context, target string) error {
		fmt.Println("trying", target)
		if target == "openai/gpt-4o" {
			return &aierrors.Error{Code: aierrors.QuotaExhausted}
		}
		return nil
	}, resilience.WithHooks(resilience.Hooks{OnFallback: func(h resilience.FallbackHop) {
		if h.From != "" {
			fmt.Println("fallback", h.From, "->", h.To, aierrors.CodeOf(h.Err))
		}
	}}))
	fmt.Println(err)
	// Output:
	// trying openai/gpt-4o
	// fallback openai/gpt-4o -> anthropic/claude-3-5-sonnet E2002 quota_exhausted
	// trying anthropic/claude-3-5-sonnet
	// <nil>
}

func ExampleResilientExecutor_Signals() {
	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"))
	exec.ObserveHeader(http.Header{"X-Ratelimit-Limit-Requests": {"600"}})
	s := exec.Signals()
	fmt.Println(s.Target, s.CircuitState, s.Rate.Provider.RequestsLimit, s.Rate.Learned)
	// Output: openai/gpt-4o closed 600 +Inf
}

func ExampleResilientExecutor_Preflight() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry:          &resilience.RetryConfig{Disabled: true},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 1},
	})
	_ = exec.Execute(context.Background(), func(context.Context) error {
		return &aierrors.Error{Code: aierrors.ServerError}
	})
	ae := exec.Preflight()
	fmt.Println(errors.Is(ae, resilience.ErrCircuitOpen), ae.RetryAfter > 0)
	// Output: true true
}

func ExampleConfigFromEnv() {
	cfg, err := resilience.ConfigFromEnv() // AI_LIB_* over the defaults
	fmt.Println(err, cfg.Retry.MaxRetries)
	// Output: <nil> 3
}

func ExampleResilientConfig_WithEnv() {
	cfg, err := resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 5}}.WithEnv()
	fmt.Println(err, cfg.Retry.MaxRetries, cfg.CircuitBreaker != nil)
	// Output: <nil> 5 true
}

func ExampleNewTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"))
	hc := &http.Client{Transport: resilience.NewTransport(exec, nil)}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 200
}

func ExampleNewCircuitBreaker() {
	b, _ := resilience.NewCircuitBreaker(resilience.CircuitBreakerConfig{FailureThreshold: 2})
	for range 2 {
		_ = b.Execute(context.Background(), func(context.Context) error { return &aierrors.Error{Code: aierrors.ServerError} })
	}
	fmt.Println(b.State())
	// Output: open
}

func ExampleNewRateLimiter() {
	l, _ := resilience.NewRateLimiter(resilience.RateLimiterConfig{RequestsPerSecond: 100})
	fmt.Println(l.Wait(context.Background()))
	// Output: <nil>
}

func ExampleNewBackpressure() {
	b, _ := resilience.NewBackpressure(resilience.BackpressureConfig{MaxInflight: 1})
	fmt.Println(b.Acquire(context.Background()))
	b.Release()
	// Output: <nil>
}

func ExampleWithMaxRetries() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 1},
	})
	calls := 0
	err := exec.Execute(context.Background(), func(ctx context.Context) error {
		calls++
		return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 503}
	}, resilience.WithMaxRetries(1)) // a fallback follows: one retry here, then move on
	fmt.Println(aierrors.CodeOf(err), calls)
	// Output: E3002 overloaded 2
}

func ExampleWithNoFallback() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: time.Millisecond},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 2, Cooldown: 20 * time.Millisecond},
	})
	// The provider is down for its first two requests, which open the circuit.
	requests := 0
	op := func(ctx context.Context) error {
		requests++
		if requests <= 2 {
			return &aierrors.Error{Code: aierrors.ServerError, HTTPStatus: 503}
		}
		return nil
	}
	// Nothing follows this target: rather than failing on the open circuit,
	// the call waits for its probe (sending nothing meanwhile) and tries again.
	err := exec.Execute(context.Background(), op, resilience.WithNoFallback())
	fmt.Println(err, requests)
	// Output: <nil> 3
}

func ExampleResilientExecutor_Begin() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 1},
	})
	// The caller sends each attempt itself; the executor decides whether
	// to send, waits between attempts and records each outcome.
	answers := []int{503, 503, 200}
	call := exec.Begin(context.Background())
	defer call.Close()
	for call.Next() {
		status := answers[0]
		answers = answers[1:]
		fmt.Println("sent, got", status)
		if status != 200 {
			call.Done(&aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: status})
			continue
		}
		call.Done(nil)
	}
	fmt.Println(call.Err())
	// Output:
	// sent, got 503
	// sent, got 503
	// sent, got 200
	// <nil>
}

func ExampleFallbackChain_Begin() {
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude-3-5-sonnet")
	w := chain.Begin(context.Background())
	for w.Next() {
		fmt.Println("trying", w.Target())
		if w.Target() == "openai/gpt-4o" {
			w.Done(&aierrors.Error{Code: aierrors.QuotaExhausted})
			continue
		}
		w.Done(nil)
	}
	fmt.Println(w.Err())
	// Output:
	// trying openai/gpt-4o
	// trying anthropic/claude-3-5-sonnet
	// <nil>
}
