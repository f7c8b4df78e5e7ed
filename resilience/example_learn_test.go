package resilience_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// A breaker that opens on the failure rate alone: at least half of at least
// 4 counted attempts in the last minute.
func ExampleCircuitBreaker_FailureRate() {
	b, _ := resilience.NewCircuitBreaker(resilience.CircuitBreakerConfig{
		Trip:                 resilience.TripOnFailureRate,
		FailureRateThreshold: 0.5,
		MinRequests:          4,
		Window:               time.Minute,
	})
	ok := func(context.Context) error { return nil }
	unavailable := func(context.Context) error {
		return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: http.StatusServiceUnavailable}
	}
	for _, op := range []func(context.Context) error{ok, unavailable, ok, unavailable} {
		_ = b.Execute(context.Background(), op)
		rate, attempts := b.FailureRate()
		fmt.Printf("%d attempts, failure rate %.2f, %v\n", attempts, rate, b.State())
	}
	// Output:
	// 1 attempts, failure rate 0.00, closed
	// 2 attempts, failure rate 0.50, closed
	// 3 attempts, failure rate 0.33, closed
	// 4 attempts, failure rate 0.50, open
}

// A target with no rate of its own learns the provider's from the headers
// of its answers: OpenAI's limit of 600 requests, 540 remaining, full
// again in 6s, is 10 requests a second.
func ExampleRateLimiter_LearnedLimit() {
	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"))

	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", "600")
	h.Set("x-ratelimit-remaining-requests", "540")
	h.Set("x-ratelimit-reset-requests", "6s")
	exec.ObserveHeader(h) // the caller (or resilience.NewTransport) does this for every answer

	rps, burst := exec.RateLimiter().LearnedLimit()
	s := exec.Signals()
	fmt.Println("learned:", rps, "rps, burst", burst)
	fmt.Printf("configured: %v rps; tokens now: %.0f\n", s.RateLimit, s.RateRemaining)
	// Output:
	// learned: 10 rps, burst 600
	// configured: +Inf rps; tokens now: 540
}
