package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/redisstore"
)

// The cost of sharing, per call, against the Redis of AILIB_TEST_REDIS_URL
// (loopback under make test). The limits are far above what the benchmark
// reaches, so nothing waits: what is measured is the round trip and the
// script.

func benchLimiter(b *testing.B) *redisstore.Limiter {
	c := testClient(b)
	l, err := redisstore.NewLimiter(c, redisstore.Limit{Rate: 1e9, Period: time.Second}, redisstore.WithPrefix(uniquePrefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkLimiterReserve is one Reserve (one EVALSHA of the GCRA script)
// at a time.
func BenchmarkLimiterReserve(b *testing.B) {
	l := benchLimiter(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := l.Reserve(ctx, "openai/gpt-4o", 1, time.Second); err != nil || !ok {
			b.Fatalf("Reserve = %v, %v", ok, err)
		}
	}
}

// BenchmarkLimiterReserveParallel is Reserve from GOMAXPROCS×4 goroutines
// on one key: the throughput one client gets from one Redis.
func BenchmarkLimiterReserveParallel(b *testing.B) {
	l := benchLimiter(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := l.Reserve(ctx, "openai/gpt-4o", 1, time.Second); err != nil || !ok {
				b.Errorf("Reserve = %v, %v", ok, err)
				return
			}
		}
	})
}

// BenchmarkStateAdmit is one Admit (one EVALSHA) at a time, the circuit
// closed.
func BenchmarkStateAdmit(b *testing.B) {
	c := testClient(b)
	s, err := redisstore.NewState(c, redisstore.WithPrefix(uniquePrefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Admit(ctx, "openai/gpt-4o", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteShared is the executor's success path with the shared
// limiter and state in Redis: two round trips per attempt.
func BenchmarkExecuteShared(b *testing.B) {
	c := testClient(b)
	l, err := redisstore.NewLimiter(c, redisstore.Limit{Rate: 1e9, Period: time.Second}, redisstore.WithPrefix(uniquePrefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	s, err := redisstore.NewState(c, redisstore.WithPrefix(uniquePrefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	e, err := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"),
		resilience.WithSharedLimiter(l, ""), resilience.WithSharedState(s, ""))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, op); err != nil {
			b.Fatal(err)
		}
	}
}
