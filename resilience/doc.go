// Package resilience runs calls to AI providers with retry, rate limiting,
// circuit breaking, an in-flight cap and fallback across targets.
//
// A target is one provider and model, such as "openai/gpt-4o". Each
// target gets its own [ResilientExecutor]: breaker, limiter and permits are
// never shared between targets, so a primary outage cannot close the
// fallbacks and load on one cannot starve another. A [FallbackChain] tries
// targets in order.
//
// # Composition
//
// [ResilientExecutor.Execute] (and [Do], [DoStream]) run a retry loop; each
// attempt, retries included, goes through these steps in this order:
//
//  1. circuit open? fail fast, without waiting ([ErrCircuitOpen]);
//  2. wait for a rate token, or for a pause the provider asked for; a wait
//     that cannot finish before the ctx deadline fails at once
//     ([ErrRateLimitWait], RetryAfter set) and gives its reservation back;
//  3. take an in-flight permit, waiting at most QueueTimeout
//     ([ErrQueueFull]);
//  4. take the breaker's admission (a half_open probe slot is taken only
//     now; the probes beyond HalfOpenMaxRequests are rejected at once);
//  5. run op;
//  6. release the permit (a DoStream success keeps it until done);
//  7. classify the outcome into an [aierrors.StandardErrorCode];
//  8. record it in the breaker and feed rate-limit information to the
//     limiter.
//
// Then, if the error is retryable and retries remain, the loop sleeps the
// backoff holding nothing (no token, permit or probe slot) and starts
// again at step 1.
//
// Decisions come from the error code ([aierrors.StandardErrorCode.Retryable],
// [aierrors.StandardErrorCode.Fallbackable], and the provider's
// x-should-retry), never from a list of HTTP statuses. A provider's
// Retry-After is a floor on the next delay; when it is longer than
// MaxRetryAfter, or the delay cannot end before the ctx deadline, the error
// is returned at once so a fallback chain can move on. No computed delay
// exceeds MaxDelay. Cancellation is not failure: a cancelled call returns
// an E4002 cancelled error that still matches context.Canceled, and is
// never retried, counted by a breaker or fallen back from.
//
// Local rejections are *aierrors.Error values like provider answers, with
// a sentinel in Err: [ErrCircuitOpen] (Overloaded, fallbackable, never
// retried on the same target), [ErrRateLimitWait] (RateLimited, RetryAfter
// set) and [ErrQueueFull] (Overloaded). When retries run out the error
// matches [ErrRetriesExhausted] and unwraps to the last attempt's error.
//
// # Defaults
//
// [DefaultConfig] turns on retry, the circuit breaker and a learning rate
// limiter without a rate limit:
//
//	Retry.MaxRetries                   3       (DefaultMaxRetries)
//	Retry.InitialDelay                 500ms   (DefaultInitialDelay)
//	Retry.MaxDelay                     30s     (DefaultMaxDelay)
//	Retry.BackoffMultiplier            2       (DefaultBackoffMultiplier)
//	Retry.Jitter                       0.2     (DefaultJitter)
//	Retry.MaxRetryAfter                60s     (DefaultMaxRetryAfter)
//	RateLimiter.RequestsPerSecond      0       no limit; provider pauses apply
//	RateLimiter.Burst                  0       ceil(RequestsPerSecond), at least 1
//	RateLimiter.MaxPause               60s     (DefaultMaxPause)
//	CircuitBreaker.FailureThreshold    5       (DefaultFailureThreshold)
//	CircuitBreaker.Cooldown            30s     (DefaultCooldown)
//	CircuitBreaker.HalfOpenMaxRequests 1       (DefaultHalfOpenMaxRequests)
//	CircuitBreaker.CountRateLimited    false
//	Backpressure                       nil     no in-flight cap
//
// A nil member of [ResilientConfig] turns its pattern off. In a non-nil
// member, a zero field takes its default, except where the field's doc says
// otherwise (MaxRetries, Jitter, RequestsPerSecond, MaxInflight,
// QueueTimeout, CountRateLimited).
//
// # Environment
//
// [ConfigFromEnv] and [OverlayEnv] read these variables when they are
// called (never at import time). Each overrides the field shown; a variable
// for a member that is nil in the config enables that member, starting from
// its DefaultConfig values. An empty value counts as unset. A malformed or
// out-of-range value is an error naming the variable and the value, for
// example `resilience: AI_LIB_RPS="abc": not a number`; all problems are
// reported together.
//
//	Variable                          Field                               Accepted
//	AI_LIB_RPS                        RateLimiter.RequestsPerSecond       number in [0, 1e6]; 0 = no limit
//	AI_LIB_BURST                      RateLimiter.Burst                   integer in [1, 1000000]
//	AI_LIB_MAX_RETRIES                Retry.MaxRetries                    integer in [0, 100]
//	AI_LIB_BREAKER_FAILURE_THRESHOLD  CircuitBreaker.FailureThreshold     integer in [1, 1000000]
//	AI_LIB_BREAKER_COOLDOWN_SECS      CircuitBreaker.Cooldown             seconds, fraction allowed, in (0, 86400]
//	AI_LIB_MAX_INFLIGHT               Backpressure.MaxInflight            integer in [0, 1000000]; 0 = no cap
//	AI_LIB_QUEUE_TIMEOUT_MS           Backpressure.QueueTimeout           integer ms in [0, 3600000]; 0 = wait for ctx
//
// Precedence is: a config built in code, overlaid by the environment
// (OverlayEnv), with DefaultConfig filling what neither sets. No variable
// changes where requests are sent.
//
// # Observability
//
// [Hooks] report attempt start and end, scheduled retries (delay and
// reason), circuit state changes, limiter waits, local rejections and
// fallback hops; [WithLogger] logs the same decisions with log/slog.
// [ResilientExecutor.Signals] and [ResilientExecutor.Preflight] read the
// live state without side effects: they take no token, permit or probe
// slot.
//
// # Concurrency
//
// Executors, breakers, limiters, backpressure and fallback chains are safe
// for concurrent use. They run no background goroutine or timer: time-based
// state (cooldown, refill, pauses) is computed from timestamps when needed,
// so nothing leaks and nothing needs Close. Hooks are called on the
// goroutine that made the decision, with no lock held. Every wait honours
// its ctx, and ctx is never stored. The success path of Execute and Do
// allocates nothing.
//
// The parts are usable on their own: [CircuitBreaker], [RateLimiter] and
// [Backpressure], each a [PreflightChecker].
package resilience
