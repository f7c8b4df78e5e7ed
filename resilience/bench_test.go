package resilience

import (
	"context"
	"testing"
)

// BenchmarkExecuteSuccess is the success path with DefaultConfig: it must
// stay allocation-free and take no lock shared by all callers.
func BenchmarkExecuteSuccess(b *testing.B) {
	e := mustExecutor(b, DefaultConfig())
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Execute(ctx, op); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExecuteSuccessParallel(b *testing.B) {
	e := mustExecutor(b, DefaultConfig())
	op := func(context.Context) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := e.Execute(ctx, op); err != nil {
				b.Fatal(err)
			}
		}
	})
}
