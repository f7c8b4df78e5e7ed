package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// Two replicas of a service share one circuit: replica A's breaker opens,
// and replica B, whose own breaker has seen nothing, rejects its next call
// without reaching the provider. Here the shared state is in memory; across
// processes it is in Redis (resilience/redisstore's State), through the
// same option.
func ExampleWithSharedState() {
	state := resilience.NewMemoryState()
	replica := func() *resilience.ResilientExecutor {
		e, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
			CircuitBreaker: &resilience.CircuitBreakerConfig{Trip: resilience.TripOnConsecutive, FailureThreshold: 2, Cooldown: time.Minute},
		}, resilience.WithName("openai/gpt-4o"), resilience.WithSharedState(state, ""))
		if err != nil {
			panic(err)
		}
		return e
	}
	a, b := replica(), replica()
	ctx := context.Background()

	down := func(context.Context) error {
		return &aierrors.Error{Code: aierrors.ServerError, Message: "upstream down"}
	}
	for range 2 {
		_ = a.Execute(ctx, down)
	}
	called := false
	err := b.Execute(ctx, func(context.Context) error { called = true; return nil })

	fmt.Println("A's circuit:", a.Signals().CircuitState)
	fmt.Println("B's own circuit:", b.Signals().CircuitState)
	fmt.Println("B reached the provider:", called)
	fmt.Println("B rejected with ErrCircuitOpen:", errors.Is(err, resilience.ErrCircuitOpen))
	// Output:
	// A's circuit: open
	// B's own circuit: closed
	// B reached the provider: false
	// B rejected with ErrCircuitOpen: true
}

// Three executors share a budget of 5 requests a second (bursts of 5):
// together they get 5 calls through at once, and the sixth would have to
// wait 200ms, longer than its deadline allows. Across processes the limiter
// is in Redis (resilience/redisstore's Limiter).
func ExampleWithSharedLimiter() {
	budget := resilience.NewMemoryLimiter(5, 5)
	var execs []*resilience.ResilientExecutor
	for range 3 {
		e, err := resilience.NewResilientExecutor(resilience.ResilientConfig{},
			resilience.WithName("openai/gpt-4o"), resilience.WithSharedLimiter(budget, ""))
		if err != nil {
			panic(err)
		}
		execs = append(execs, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ok, limited := 0, 0
	for i := range 6 {
		err := execs[i%3].Execute(ctx, func(context.Context) error { return nil })
		switch {
		case err == nil:
			ok++
		case errors.Is(err, resilience.ErrRateLimitWait):
			limited++
		}
	}
	fmt.Println("went:", ok, "refused (wait beyond the deadline):", limited)
	// Output:
	// went: 5 refused (wait beyond the deadline): 1
}
