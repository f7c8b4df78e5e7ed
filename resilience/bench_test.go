package resilience

import (
	"context"
	"testing"
	"time"
)

// benchConfig turns all four patterns on, with a rate high enough that the
// limiter never throttles the benchmark.
func benchConfig() ResilientConfig {
	return ResilientConfig{
		Retry:          &RetryConfig{MaxRetries: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, Jitter: 0.2},
		RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1e12, Burst: 1 << 30},
		CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 5, Cooldown: time.Second},
		Backpressure:   &BackpressureConfig{MaxInflight: 1024, QueueTimeout: time.Second},
	}
}

func newBenchExecutor(b *testing.B) *ResilientExecutor {
	b.Helper()
	e, err := NewResilientExecutor(benchConfig(), WithName("bench/model"))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func okOp(context.Context) error { return nil }

// BenchmarkExecute measures Execute's success path with retry, rate
// limiter, circuit breaker and in-flight cap all on.
func BenchmarkExecute(b *testing.B) {
	e := newBenchExecutor(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, okOp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteConsecutiveOnly is BenchmarkExecute with the breaker's
// consecutive rule alone: its success path skips the failure-rate window
// (the cost of the window is the difference with BenchmarkExecute).
func BenchmarkExecuteConsecutiveOnly(b *testing.B) {
	cfg := benchConfig()
	cfg.CircuitBreaker.Trip = TripOnConsecutive
	e, err := NewResilientExecutor(cfg, WithName("bench/model"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, okOp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteParallel is BenchmarkExecute from GOMAXPROCS goroutines
// sharing one executor.
func BenchmarkExecuteParallel(b *testing.B) {
	e := newBenchExecutor(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.Execute(ctx, okOp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDo measures the generic Do on the success path.
func BenchmarkDo(b *testing.B) {
	e := newBenchExecutor(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Do(ctx, e, func(context.Context) (int, error) { return 1, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteDeadline is BenchmarkExecute with a ctx carrying a
// deadline, as a real call has.
func BenchmarkExecuteDeadline(b *testing.B) {
	e := newBenchExecutor(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, okOp); err != nil {
			b.Fatal(err)
		}
	}
}
