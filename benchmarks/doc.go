// Package benchmarks measures ailib against the alternatives users pick
// today. It lives in its own module so the core never depends on
// failsafe-go or the openai-go SDK.
//
// Two measurements:
//
//   - How well calls survive: the chaos scenarios S1–S7 of package
//     [github.com/ailib-go/ailib/benchmarks/scenarios], played with real
//     HTTP on loopback by cmd/scenarios and in virtual time by that
//     package's tests:
//
//     go run ./cmd/scenarios -quick
//
//   - The overhead of the resilience layer on the success path, ailib's
//     ResilientExecutor against failsafe-go with the same four patterns on
//     (retry, circuit breaker, rate limiter, in-flight cap); the stacks are
//     [NewAilibExecutor] and [NewFailsafeExecutor]:
//
//     go test -run='^$' -bench=. -benchmem
package benchmarks
