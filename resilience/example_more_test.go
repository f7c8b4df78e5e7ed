package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// WithHooks on a chain reports each hop: the start on the first target,
// then every move to the next one, with the error that caused it.
func ExampleFallbackChain_WithHooks() {
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude-3-5-sonnet").
		WithHooks(resilience.Hooks{OnFallback: func(h resilience.FallbackHop) {
			if h.From == "" {
				fmt.Println("start on", h.To)
				return
			}
			fmt.Println(h.From, "->", h.To, "because", aierrors.CodeOf(h.Err))
		}})
	err := chain.Execute(context.Background(), func(ctx context.Context, target string) error {
		if target == "openai/gpt-4o" {
			return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 529}
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// start on openai/gpt-4o
	// openai/gpt-4o -> anthropic/claude-3-5-sonnet because E3002 overloaded
	// <nil>
}

// WithName names the target: local rejections (here an open circuit)
// carry it as their Provider and Model, and hooks and logs show it.
func ExampleWithName() {
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		CircuitBreaker: &resilience.CircuitBreakerConfig{Trip: resilience.TripOnConsecutive, FailureThreshold: 1, Cooldown: time.Minute},
	}, resilience.WithName("openai/gpt-4o"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	_ = exec.Execute(ctx, func(context.Context) error {
		return &aierrors.Error{Code: aierrors.ServerError, HTTPStatus: 500}
	})
	err = exec.Execute(ctx, func(context.Context) error { return nil })
	var ae *aierrors.Error
	if errors.As(err, &ae) {
		fmt.Println(exec.Name(), "|", ae.Provider, ae.Model, ae.Code, errors.Is(err, resilience.ErrCircuitOpen))
	}
	// Output:
	// openai/gpt-4o | openai gpt-4o E3002 overloaded true
}

// A MemoryLimiter is a SharedLimiter for the executors of one process
// (resilience/redisstore's Limiter is the one for several processes).
// Reserve takes units at once or says how long they would take.
func ExampleNewMemoryLimiter() {
	l := resilience.NewMemoryLimiter(2, 2) // 2 a second, bursts of 2
	ctx := context.Background()
	for i := range 3 {
		wait, ok, err := l.Reserve(ctx, "openai/gpt-4o", 1, 0) // maxWait 0: only if free now
		fmt.Println("request", i+1, ok, wait.Round(100*time.Millisecond), err)
	}
	// Output:
	// request 1 true 0s <nil>
	// request 2 true 0s <nil>
	// request 3 false 500ms <nil>
}
