// Package benchmarks compares ailib's resilience layer with failsafe-go on
// the success path, with the same four patterns on: retry, circuit
// breaker, rate limiter and an in-flight cap (bulkhead).
//
// It lives in its own module so the core never depends on failsafe-go.
// Run it with
//
//	go test -run='^$' -bench=. -benchmem
package benchmarks
