package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/redisstore"
	"github.com/redis/go-redis/v9"
)

// These examples need a Redis server, so they are compiled but not run by
// go test (they have no Output line); the tests run the same code against
// a real one.

// Every replica of a service builds its executor the same way: they then
// share one 20 rps budget, one circuit and the provider's pauses for
// "openai/gpt-4o".
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	lim, err := redisstore.NewLimiter(rdb, redisstore.PerSecond(20))
	if err != nil {
		log.Fatal(err)
	}
	st, err := redisstore.NewState(rdb)
	if err != nil {
		log.Fatal(err)
	}
	exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(),
		resilience.WithName("openai/gpt-4o"),
		resilience.WithSharedLimiter(lim, ""), // "" = the target's name
		resilience.WithSharedState(st, ""),
		resilience.WithHooks(resilience.Hooks{OnSharedState: func(ev resilience.SharedStateChange) {
			log.Printf("shared state of %s degraded=%v: %v", ev.Target, ev.Degraded, ev.Err)
		}}))
	if err != nil {
		log.Fatal(err)
	}
	err = exec.Execute(context.Background(), func(ctx context.Context) error {
		return nil // the provider call
	})
	fmt.Println(err, exec.Signals().Shared.Degraded)
}

// With an AiClient, ExecutorOptions gives every target (primary and
// fallbacks) the shared limiter and state, each under its own name.
func Example_client() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	lim, _ := redisstore.NewLimiter(rdb, redisstore.PerSecond(20))
	st, _ := redisstore.NewState(rdb)
	c, err := client.NewBuilder().
		Model("openai/gpt-4o").
		Fallback("anthropic/claude-3-5-sonnet-latest").
		ExecutorOptions(resilience.WithSharedLimiter(lim, ""), resilience.WithSharedState(st, "")).
		Build()
	if err != nil {
		log.Fatal(err)
	}
	_ = c
}

// A tokens-per-minute budget: spend the tokens a request is expected to
// use before sending it. A separate prefix keeps it apart from the request
// limit.
func ExampleLimiter_Wait() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	tpm, err := redisstore.NewLimiter(rdb, redisstore.PerMinute(30_000), redisstore.WithPrefix("ailib:tpm:"))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tpm.Wait(ctx, "openai/gpt-4o", 1200); err != nil {
		log.Fatal(err) // RateLimited with RetryAfter when the wait would pass the deadline
	}
	// send the request
}
