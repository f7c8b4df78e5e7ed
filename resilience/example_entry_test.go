package resilience_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// DefaultConfig is what an executor uses for every member left nil: a
// config that sets only the retries keeps the breaker, the learning
// limiter and the quota skip. Turning a part off is explicit (Disabled).
func ExampleDefaultConfig() {
	d := resilience.DefaultConfig()
	fmt.Println("retries:", d.Retry.MaxRetries, d.Retry.InitialDelay, "up to", d.Retry.MaxDelay)
	fmt.Println("circuit:", d.CircuitBreaker.FailureThreshold, "failures, open", d.CircuitBreaker.Cooldown, "growing to", d.CircuitBreaker.MaxCooldown)

	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry:       &resilience.RetryConfig{MaxRetries: 5},
		RateLimiter: &resilience.RateLimiterConfig{Disabled: true},
	})
	s := exec.Signals()
	fmt.Println("breaker kept:", s.CircuitState, "limiter off:", s.Rate.Learned)
	// Output:
	// retries: 3 100ms up to 20s
	// circuit: 11 failures, open 2s growing to 8s
	// breaker kept: closed limiter off: +Inf
}

// NewResilientExecutor checks the whole config and names the bad value.
func ExampleNewResilientExecutor() {
	_, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureRateThreshold: 1.5},
	})
	fmt.Println(err)

	exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"))
	fmt.Println(err, exec.Signals().Target)
	// Output:
	// resilience: CircuitBreaker.FailureRateThreshold = 1.5: must be in (0, 1] (0 = default)
	// <nil> openai/gpt-4o
}

// A fallback chain moves on for what another target may not share (a
// quota, an outage) and stops at what every target would refuse alike (a
// malformed request).
func ExampleNewFallbackChain() {
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude-sonnet-4-5", "deepseek/deepseek-chat")
	err := chain.Execute(context.Background(), func(ctx context.Context, target string) error {
		fmt.Println("trying", target)
		switch target {
		case "openai/gpt-4o":
			return &aierrors.Error{Code: aierrors.RateLimited}
		default:
			return &aierrors.Error{Code: aierrors.InvalidRequest, Message: "messages: must not be empty"}
		}
	})
	fmt.Println(aierrors.CodeOf(err))
	// Output:
	// trying openai/gpt-4o
	// trying anthropic/claude-sonnet-4-5
	// E1001 invalid_request
}

// WithName names the target in the errors the executor makes (a transport
// failure classified, an open circuit), so that a caller holding several
// executors knows which one refused. An *aierrors.Error that op returns is
// passed on as it is.
func ExampleWithName() {
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{Retry: &resilience.RetryConfig{Disabled: true}},
		resilience.WithName("anthropic/claude-sonnet-4-5"))
	err := exec.Execute(context.Background(), func(context.Context) error {
		return io.ErrUnexpectedEOF // the connection closed mid-answer
	})
	fmt.Println(err)
	// Output:
	// ailib: anthropic/claude-sonnet-4-5: E3001 server_error: unexpected EOF
}

// WithHooks sees every decision: here, each retry with the error that
// caused it.
func ExampleWithHooks() {
	calls := 0
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: time.Millisecond},
	}, resilience.WithName("openai/gpt-4o"), resilience.WithHooks(resilience.Hooks{
		OnRetry: func(r resilience.RetryScheduled) {
			fmt.Println("retry after attempt", r.Attempt, aierrors.CodeOf(r.Err))
		},
	}))
	err := exec.Execute(context.Background(), func(context.Context) error {
		if calls++; calls < 3 {
			return &aierrors.Error{Code: aierrors.ServerError}
		}
		return nil
	})
	fmt.Println(err, calls)
	// Output:
	// retry after attempt 1 E3001 server_error
	// retry after attempt 2 E3001 server_error
	// <nil> 3
}

// WithLogger writes each decision to a log/slog logger; records carry the
// target and the code, never a credential or a prompt.
func ExampleWithLogger() {
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "delay" {
				return slog.Attr{} // vary from run to run
			}
			return a
		},
	}))
	exec, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 1, InitialDelay: time.Millisecond},
	}, resilience.WithName("openai/gpt-4o"), resilience.WithLogger(log))
	_ = exec.Execute(context.Background(), func(context.Context) error {
		return &aierrors.Error{Code: aierrors.Overloaded, RequestID: "req_123"}
	})
	// Output:
	// level=INFO msg="resilience: retry scheduled" target=openai/gpt-4o attempt=1 code=E3002 request_id=req_123
}
