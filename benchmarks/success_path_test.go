package benchmarks

import "testing"

// The stacks and bodies live in overhead.go, so that cmd/scenarios can run
// the same benchmarks with testing.Benchmark.

func BenchmarkSuccessPath(b *testing.B) {
	b.Run("ailib", SuccessPathAilib)
	b.Run("ailib-defaults", SuccessPathAilibDefaults)
	b.Run("failsafe-go", SuccessPathFailsafe)
}

func BenchmarkSuccessPathParallel(b *testing.B) {
	b.Run("ailib", SuccessPathAilibParallel)
	b.Run("ailib-defaults", SuccessPathAilibDefaultsParallel)
	b.Run("failsafe-go", SuccessPathFailsafeParallel)
}
