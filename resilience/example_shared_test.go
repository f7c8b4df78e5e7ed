package resilience_test

import (
	"context"
	"errors"
	"fmt"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/shared"
)

// Replicas that share a circuit: one replica's failures open it, and the
// other stops sending too, without a failure of its own. Across processes,
// use redisstore.State in place of shared.MemoryState.
func ExampleWithSharedState() {
	state := shared.NewMemoryState()
	replica := func() *resilience.ResilientExecutor {
		e, _ := resilience.NewResilientExecutor(resilience.ResilientConfig{
			Retry:          &resilience.RetryConfig{Disabled: true},
			CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 2},
		}, resilience.WithName("openai/gpt-4o"), resilience.WithSharedState(state, ""))
		return e
	}
	a, b := replica(), replica()
	for range 2 {
		_ = a.Execute(context.Background(), func(context.Context) error { return &aierrors.Error{Code: aierrors.Overloaded} })
	}
	sent := false
	err := b.Execute(context.Background(), func(context.Context) error { sent = true; return nil })
	fmt.Println(errors.Is(err, resilience.ErrCircuitOpen), sent)
	// Output: true false
}

// Replicas that share a rate limit: what one takes, the other waits for.
// Across processes, use redisstore.Limiter in place of shared.MemoryLimiter.
func ExampleWithSharedLimiter() {
	limit := shared.NewMemoryLimiter(5, 1) // 5 requests a second, no burst, for all replicas
	waited := 0
	replica := func() *resilience.ResilientExecutor {
		e, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"),
			resilience.WithSharedLimiter(limit, ""),
			resilience.WithHooks(resilience.Hooks{OnLimiterWait: func(w resilience.LimiterWait) {
				if w.Wait > 0 {
					waited++
				}
			}}))
		return e
	}
	a, b := replica(), replica()
	_ = a.Execute(context.Background(), func(context.Context) error { return nil })
	_ = b.Execute(context.Background(), func(context.Context) error { return nil })
	fmt.Println("waits:", waited)
	// Output: waits: 1
}
