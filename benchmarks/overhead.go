package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/ailib-go/ailib/resilience"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// Both stacks: 3 retries with exponential backoff and 20 % jitter, a
// breaker opening after 5 consecutive failures for 1 s, a rate limiter far
// above the benchmark's rate (so it never throttles) and an in-flight cap
// of 1024 with a 1 s queue timeout.

// NewAilibExecutor returns ailib's executor with the four patterns on, as
// the success-path benchmark runs it.
func NewAilibExecutor() (*resilience.ResilientExecutor, error) {
	return resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, BackoffMultiplier: 2, Jitter: 0.2},
		RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: 1e9, Burst: 1 << 30},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 5, Cooldown: time.Second},
		Backpressure:   &resilience.BackpressureConfig{MaxInflight: 1024, QueueTimeout: time.Second},
	}, resilience.WithName("bench/model"))
}

// NewFailsafeExecutor returns failsafe-go's executor configured as closely
// as it allows to [NewAilibExecutor].
func NewFailsafeExecutor() failsafe.Executor[any] {
	retry := retrypolicy.NewBuilder[any]().
		WithMaxRetries(3).
		WithBackoff(time.Millisecond, 10*time.Millisecond).
		WithJitterFactor(0.2).
		Build()
	breaker := circuitbreaker.NewBuilder[any]().
		WithFailureThreshold(5).
		WithDelay(time.Second).
		Build()
	limiter := ratelimiter.NewSmoothBuilderWithMaxRate[any](time.Nanosecond).
		WithMaxWaitTime(time.Second).
		Build()
	bh := bulkhead.NewBuilder[any](1024).
		WithMaxWaitTime(time.Second).
		Build()
	// Outermost first: like ailib, the retry wraps the per-attempt policies.
	return failsafe.With[any](retry, breaker, limiter, bh)
}

func ok(context.Context) error { return nil }

// SuccessPathAilib measures one successful call through ailib's executor.
func SuccessPathAilib(b *testing.B) { successPath(b, NewAilibExecutor) }

// SuccessPathAilibDefaults measures one successful call through ailib's
// executor built from [resilience.DefaultConfig]: what most users run
// (retry under a budget, breaker, learning limiter, cooldowns; no rate or
// in-flight cap of the caller's, so neither rate.Limiter nor the semaphore
// is consulted and no clock is read until the provider shows a limit).
func SuccessPathAilibDefaults(b *testing.B) { successPath(b, newAilibDefaults) }

func newAilibDefaults() (*resilience.ResilientExecutor, error) {
	return resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("bench/model"))
}

func successPath(b *testing.B, newExec func() (*resilience.ResilientExecutor, error)) {
	e, err := newExec()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, ok); err != nil {
			b.Fatal(err)
		}
	}
}

// SuccessPathFailsafe measures one successful call through failsafe-go.
func SuccessPathFailsafe(b *testing.B) {
	exec := NewFailsafeExecutor()
	b.ReportAllocs()
	for b.Loop() {
		if err := exec.Run(func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// SuccessPathAilibParallel is [SuccessPathAilib] from GOMAXPROCS
// goroutines.
func SuccessPathAilibParallel(b *testing.B) { successPathParallel(b, NewAilibExecutor) }

// SuccessPathAilibDefaultsParallel is [SuccessPathAilibDefaults] from
// GOMAXPROCS goroutines.
func SuccessPathAilibDefaultsParallel(b *testing.B) { successPathParallel(b, newAilibDefaults) }

func successPathParallel(b *testing.B, newExec func() (*resilience.ResilientExecutor, error)) {
	e, err := newExec()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.Execute(ctx, ok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// SuccessPathFailsafeParallel is [SuccessPathFailsafe] from GOMAXPROCS
// goroutines.
func SuccessPathFailsafeParallel(b *testing.B) {
	exec := NewFailsafeExecutor()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := exec.Run(func() error { return nil }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
