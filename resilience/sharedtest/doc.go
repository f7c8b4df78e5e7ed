// Package sharedtest is a conformance suite for implementations of
// [shared.Limiter] and [shared.State], as testing/slogtest is for slog
// handlers: every implementation (the in-process [shared.MemoryLimiter]
// and [shared.MemoryState], the Redis ones of resilience/redisstore,
// yours) runs the same cases, so the executor can rely on one behaviour.
//
// The cases wait on real timers for tens to hundreds of milliseconds (a
// store with its own clock, such as Redis, cannot run on fake time). For
// an implementation that reads time.Now, set [Options].Synctest to run
// each case inside a testing/synctest bubble, where the waits take no
// time.
package sharedtest
