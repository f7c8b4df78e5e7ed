// Package redisstore keeps ailib's shared rate limit and circuit state in
// Redis, so that every replica of a service calling the same provider key
// keeps to one budget and sees one circuit.
//
// A provider's limit belongs to an API key, not to a process: twenty
// replicas each limited to 10 requests a second send 200 into a key that
// allows 10. [Limiter] is one limit shared by all of them (a GCRA in one Lua
// script on one key, timed by Redis's own clock, with weighted costs so
// the same code limits tokens per minute); [State] shares the circuit (one
// replica's breaker opening rejects the target in every replica, and
// half_open probes are capped across replicas) and the pauses a provider
// asks for (a 429 with Retry-After, exhausted quota). They implement
// [shared.Limiter] and [shared.State]; plug them into an executor with
// [resilience.WithSharedLimiter] and [resilience.WithSharedState] (or into
// every target of a client with client.Builder.ExecutorOptions):
//
//	rdb := redis.NewClient(redisstore.Configure(&redis.Options{Addr: "redis:6379"}))
//	lim, _ := redisstore.NewLimiter(rdb, redisstore.PerSecond(20))
//	st, _ := redisstore.NewState(rdb)
//	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(),
//		resilience.WithName("openai/gpt-4o"),
//		resilience.WithSharedLimiter(lim, ""), // key "" = the target's name
//		resilience.WithSharedState(st, ""))
//
// Nothing is ever locked across a provider call: each operation is one
// short script. The executor bounds every operation to 50ms; when Redis
// fails or is slow, the executor runs on its local limiter and breaker,
// reports it (SignalsSnapshot.Shared.Degraded, the OnSharedState hook) and
// goes back to Redis once it answers. While Redis is lost, each replica
// is paced at its share of the [Limiter]'s limit (the limit divided by the
// replicas counted live in Redis, less 10%), starting after the places
// Redis had already given; when Redis is back, the places taken locally
// are taken from it, and for 2s each replica keeps to its share. Errors
// name their cause ([Error]). Create the client with [Configure] (no
// go-redis retries, which would turn a refused connection into a
// timeout), or at least with
// ContextTimeoutEnabled (or "?context_timeout_enabled=true" in a URL) so
// that those deadlines bound socket reads too; without it a hung Redis
// holds each operation for the client's ReadTimeout.
//
// Any [redis.UniversalClient] works (single node, Sentinel, Cluster: the
// keys of one target share a hash tag). Redis 5 or later is required
// (scripts that read the clock). The package neither opens nor closes the
// client.
package redisstore
