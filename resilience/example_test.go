package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

func ExampleNewResilientExecutor() {
	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay = time.Millisecond // keep the example fast
	cfg.Retry.Jitter = 0
	cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 8}

	exec, err := resilience.NewResilientExecutor(cfg,
		resilience.WithName("openai/gpt-4o"),
		resilience.WithHooks(resilience.Hooks{
			OnRetry: func(r resilience.RetryScheduled) {
				fmt.Printf("attempt %d failed (%v), retrying in %v\n", r.Attempt, aierrors.CodeOf(r.Err).String(), r.Delay)
			},
		}))
	if err != nil {
		fmt.Println(err)
		return
	}

	attempts := 0
	err = exec.Execute(context.Background(), func(ctx context.Context) error {
		attempts++
		if attempts == 1 {
			return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 529}
		}
		return nil
	})
	fmt.Println("err:", err, "attempts:", attempts)
	// Output:
	// attempt 1 failed (E3002 overloaded), retrying in 1ms
	// err: <nil> attempts: 2
}

func ExampleDo() {
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 2, InitialDelay: time.Millisecond},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, err := resilience.Do(context.Background(), exec, func(ctx context.Context) (string, error) {
		return "Hello!", nil
	})
	fmt.Println(answer, err)

	// A bad request is not retried: the flags come from the code.
	_, err = resilience.Do(context.Background(), exec, func(ctx context.Context) (string, error) {
		return "", &aierrors.Error{Code: aierrors.InvalidRequest, HTTPStatus: 400, Message: "messages: required"}
	})
	fmt.Println(aierrors.CodeOf(err).String(), aierrors.IsRetryable(err))
	// Output:
	// Hello! <nil>
	// E1001 invalid_request false
}

func ExampleDoStream() {
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Backpressure: &resilience.BackpressureConfig{MaxInflight: 4},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	stream, done, err := resilience.DoStream(context.Background(), exec, func(ctx context.Context) (*strings.Reader, error) {
		return strings.NewReader("a streamed answer"), nil // e.g. an HTTP response body
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("in flight while streaming:", exec.Signals().CurrentInflight)
	buf := make([]byte, 64)
	n, _ := stream.Read(buf)
	fmt.Println(string(buf[:n]))
	done(nil) // the stream ended well: give the permit back, record a success
	fmt.Println("in flight after done:", exec.Signals().CurrentInflight)
	// Output:
	// in flight while streaming: 1
	// a streamed answer
	// in flight after done: 0
}

func ExampleFallbackChain() {
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude-3-5-sonnet").
		WithHooks(resilience.Hooks{OnFallback: func(h resilience.FallbackHop) {
			if h.From == "" {
				fmt.Println("start on", h.To)
				return
			}
			fmt.Printf("%s failed with %v, moving to %s\n", h.From, aierrors.CodeOf(h.Err).String(), h.To)
		}})

	err := chain.Execute(context.Background(), func(ctx context.Context, target string) error {
		if target == "openai/gpt-4o" {
			return &aierrors.Error{Code: aierrors.QuotaExhausted, HTTPStatus: 429}
		}
		fmt.Println("answered by", target)
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// start on openai/gpt-4o
	// openai/gpt-4o failed with E2002 quota_exhausted, moving to anthropic/claude-3-5-sonnet
	// answered by anthropic/claude-3-5-sonnet
	// err: <nil>
}

func ExampleConfigFromEnv() {
	// Normally set by the deployment; set here for the example.
	restore := setenv("AI_LIB_RPS", "5")
	defer restore()

	cfg, err := resilience.ConfigFromEnv()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rps:", cfg.RateLimiter.RequestsPerSecond, "retries:", cfg.Retry.MaxRetries)

	restore2 := setenv("AI_LIB_MAX_INFLIGHT", "many")
	defer restore2()
	_, err = resilience.ConfigFromEnv()
	fmt.Println(err)
	// Output:
	// rps: 5 retries: 3
	// resilience: AI_LIB_MAX_INFLIGHT="many": not an integer
}

func ExampleOverlayEnv() {
	restore := setenv("AI_LIB_BREAKER_FAILURE_THRESHOLD", "10")
	defer restore()

	// A config built in code; the environment tunes it.
	cfg := resilience.ResilientConfig{
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 3, Cooldown: time.Minute},
	}
	tuned, err := resilience.OverlayEnv(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.CircuitBreaker.FailureThreshold, "→", tuned.CircuitBreaker.FailureThreshold, tuned.CircuitBreaker.Cooldown)
	// Output:
	// 3 → 10 1m0s
}

func ExampleResilientExecutor_Preflight() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Hour},
	}, resilience.WithName("openai/gpt-4o"))
	_ = exec.Execute(context.Background(), func(ctx context.Context) error {
		return &aierrors.Error{Code: aierrors.ServerError, HTTPStatus: 500}
	})
	if ae := exec.Preflight(); ae != nil {
		fmt.Println(exec.Signals().CircuitState, errors.Is(ae, resilience.ErrCircuitOpen), ae.Fallbackable())
	}
	// Output:
	// open true true
}

// setenv sets an environment variable and returns a func restoring it.
func setenv(name, value string) func() {
	old, had := os.LookupEnv(name)
	os.Setenv(name, value)
	return func() {
		if had {
			os.Setenv(name, old)
		} else {
			os.Unsetenv(name)
		}
	}
}
