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
//  1. target cooling down (after quota exhaustion, an authentication
//     failure or a Retry-After too long to wait)? fail fast
//     ([ErrTargetPaused]); circuit open? fail fast, without waiting
//     ([ErrCircuitOpen]);
//  2. wait for a rate token (from the caller's bucket and from the limit
//     learned from the provider), or for a pause the provider asked for,
//     and, for a call that says what it will spend ([DoTokens]), for its
//     token estimate;
//     a wait that cannot finish before the ctx deadline fails at once
//     ([ErrRateLimitWait], RetryAfter set) and gives its reservation back;
//  3. take an in-flight permit, waiting at most QueueTimeout
//     ([ErrQueueFull]);
//  4. take the breaker's admission (a half_open probe slot is taken only
//     now; the probes beyond HalfOpenMaxRequests are rejected at once);
//  5. run op;
//  6. release the permit (a DoStream success keeps it until done);
//  7. classify the outcome into an [aierrors.StandardErrorCode];
//  8. record it in the breaker and feed rate-limit information to the
//     limiter (the caller's op passes each answer's headers to
//     [ResilientExecutor.ObserveHeader]; a 429 with a wait pauses the
//     target).
//
// Then, if the error is retryable, retries remain and the retry budget
// allows one more retry in flight, the loop sleeps the backoff holding
// nothing (no token, permit or probe slot) and starts again at step 1. An
// attempt that ran past its own timeout ([ErrAttemptTimeout], not the
// caller's deadline) is retried at once, without a backoff.
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
// limiter without a rate of its own:
//
//	Retry.MaxRetries                    3       (DefaultMaxRetries)
//	Retry.InitialDelay                  500ms   (DefaultInitialDelay)
//	Retry.MaxDelay                      30s     (DefaultMaxDelay)
//	Retry.BackoffMultiplier             2       (DefaultBackoffMultiplier)
//	Retry.Jitter                        0.2     (DefaultJitter)
//	Retry.MaxRetryAfter                 60s     (DefaultMaxRetryAfter)
//	Retry.BudgetPercent                 20      (DefaultRetryBudgetPercent) retries+hedges ≤ 20% of the attempts in flight
//	Retry.MinRetryConcurrency           3       (DefaultMinRetryConcurrency) ... but always 3
//	RateLimiter.TokensPerMinute         0       none of the caller's; the provider's learned token limit applies
//	RateLimiter.TokenBurst              0       ceil(TokensPerMinute)
//	RateLimiter.RequestsPerSecond       0       none of the caller's; the provider's learned limit and pauses apply
//	RateLimiter.Burst                   0       ceil(RequestsPerSecond), at least 1
//	RateLimiter.MaxPause                60s     (DefaultMaxPause)
//	RateLimiter.LearnedLimitTTL         0       3 provider windows, at least 10s (DefaultLearnedLimitTTL)
//	CircuitBreaker.Trip                 either  (TripOnEither) the consecutive or the failure-rate rule
//	CircuitBreaker.FailureThreshold     12      (DefaultFailureThreshold) consecutive counted failures
//	CircuitBreaker.FailureRateThreshold 0.8     (DefaultFailureRateThreshold)
//	CircuitBreaker.MinRequests          30      (DefaultMinRequests)
//	CircuitBreaker.Window               30s     (DefaultWindow)
//	CircuitBreaker.Cooldown             30s     (DefaultCooldown)
//	CircuitBreaker.HalfOpenMaxRequests  1       (DefaultHalfOpenMaxRequests)
//	CircuitBreaker.CountRateLimited     false
//	Backpressure                        nil     no in-flight cap
//	Cooldown.Quota                      60s     (DefaultQuotaCooldown) or the provider's Retry-After
//	Cooldown.Authentication             5m      (DefaultAuthCooldown)
//	Cooldown.Max                        1h      (DefaultMaxCooldown)
//	Hedge                               nil     no hedging
//
// A nil member of [ResilientConfig] turns its pattern off. In a non-nil
// member, a zero field takes its default, except where the field's doc says
// otherwise (MaxRetries, Jitter, RequestsPerSecond, TokensPerMinute,
// MaxInflight, QueueTimeout, CountRateLimited; BudgetPercent 100 turns the
// retry budget off).
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
//	Variable                          Field                                Accepted
//	AI_LIB_RPS                        RateLimiter.RequestsPerSecond        number in [0, 1e6]; 0 = no limit
//	AI_LIB_BURST                      RateLimiter.Burst                    integer in [1, 1000000]
//	AI_LIB_MAX_RETRIES                Retry.MaxRetries                     integer in [0, 100]
//	AI_LIB_BREAKER_FAILURE_THRESHOLD  CircuitBreaker.FailureThreshold      integer in [1, 1000000]
//	AI_LIB_BREAKER_COOLDOWN_SECS      CircuitBreaker.Cooldown              seconds, fraction allowed, in (0, 86400]
//	AI_LIB_BREAKER_TRIP               CircuitBreaker.Trip                  either, failure_rate or consecutive (any case)
//	AI_LIB_BREAKER_FAILURE_RATE       CircuitBreaker.FailureRateThreshold  number in (0, 1]
//	AI_LIB_BREAKER_MIN_REQUESTS       CircuitBreaker.MinRequests           integer in [1, 1000000]
//	AI_LIB_BREAKER_WINDOW_SECS        CircuitBreaker.Window                seconds, fraction allowed, in [0.01, 86400]
//	AI_LIB_MAX_INFLIGHT               Backpressure.MaxInflight             integer in [0, 1000000]; 0 = no cap
//	AI_LIB_QUEUE_TIMEOUT_MS           Backpressure.QueueTimeout            integer ms in [0, 3600000]; 0 = wait for ctx
//	AI_LIB_TPM                        RateLimiter.TokensPerMinute          number in [0, 1e12]; 0 = no limit
//	AI_LIB_RETRY_BUDGET_PERCENT       Retry.BudgetPercent                  number in (0, 100]; 100 = no budget
//	AI_LIB_RETRY_BUDGET_MIN           Retry.MinRetryConcurrency            integer in [1, 1000000]
//
// Precedence is: a config built in code, overlaid by the environment
// (OverlayEnv), with DefaultConfig filling what neither sets. No variable
// changes where requests are sent.
//
// # Why these breaker defaults
//
// A breaker must tell a provider that is down from one that fails at
// random. Take a provider failing 30% of attempts at random, and 3 retries:
// retries alone save 1-0.3⁴ = 99.2% of the calls, so opening the circuit
// (every call then fails, or falls back, for a whole Cooldown) is wrong.
//
// A rule of k consecutive failures opens by chance at a rate of about
// (1-p)·pᵏ per attempt (a run of k failures starting after a success). For
// k = 5, gobreaker's and many libraries' default, that is 1.7e-3: one
// chance trip every ~590 attempts, in 21% of runs of just 100 calls. It
// takes k = 12 to bring it down to 0.7·0.3¹² = 3.7e-7 per attempt: at 1
// attempt a second, one chance trip a month; at 10 a second, one every 3
// days, which costs (at a 30s cooldown) about 0.01% of the time. Fewer
// failures cannot do much better: a run of k failures is evidence of
// (1/0.3)ᵏ against noise, and 12 is where that reaches a million. A
// provider that is fully down still opens the circuit on the 12th failed
// attempt in a row, whatever came before: the third failed call when
// each call makes 4 attempts.
//
// The failure-rate rule catches a provider that fails most, but not all,
// of the time: runs of 12 are rare even at 80% failures (one per ~73
// attempts). It opens when at least FailureRateThreshold of at least
// MinRequests counted attempts in the last Window failed. It is checked at
// every counted failure, over a window holding n >= MinRequests attempts;
// the chance that noise trips one check is largest for n near MinRequests:
//
//	rate, min attempts   P(noise at p=0.3 trips a check)
//	0.6 over >= 10       9.9e-2  (a common choice)
//	0.8 over >= 10       4.3e-3
//	0.8 over >= 20       1.5e-5
//	0.8 over >= 30       5.9e-8  (the default)
//	0.7 over >= 50       1.5e-8
//
// With checks at the 30% of attempts that fail, the default adds at most
// 1.8e-8 per attempt to the consecutive rule's 3.7e-7. At a true failure
// rate of 80%, a check over 30 attempts trips with probability 0.64, so
// such a provider opens the circuit within a few failures once the window
// holds 30 attempts (with a 30s window: from 1 attempt a second).
//
// In short, with the defaults (TripOnEither), a provider that is fully
// down opens the circuit within 12 attempts; one failing 80% of the time,
// within about 30 at 1 attempt a second or more (below that, after about 73
// on average, by the consecutive rule); random errors at 30% practically
// never. With the
// failure rate alone (TripOnFailureRate), a provider going fully down after
// a quiet spell opens it at attempt MinRequests (30); after S successes
// still in the window, it needs 4·S failures (FailureRateThreshold/(1 -
// FailureRateThreshold)), or waits at most Window for them to leave. With
// the consecutive rule alone (TripOnConsecutive), the behaviour is
// gobreaker's classic one; keep FailureThreshold high.
//
// # Learning the provider's limit
//
// Providers say what they allow in every answer: OpenAI in
// x-ratelimit-{limit,remaining,reset}-requests, Anthropic in
// anthropic-ratelimit-requests-{limit,remaining,reset}. The limit L is a
// token bucket that refills continuously; reset is when it will be full
// again. With a non-nil RateLimiterConfig, even without a rate of its own,
// the target adopts it: a learned bucket of L tokens, refilling at
// (L - remaining)/reset per second (the tightest such estimate among the
// answers with the most requests used, as providers floor remaining), its
// tokens brought down to the reported remaining by every answer (never up:
// requests sent since the provider counted are not in the number). Each
// attempt takes a token from the caller's bucket and the learned one, so
// the tighter limit wins. The learned limit is dropped when no answer has
// reported it for LearnedLimitTTL. A 429 with a wait pauses the target
// until then and drains its buckets, so that when the pause ends the
// attempts that waited go one at a time at the rate. Against a provider
// capped at 10 requests a second and 20 calls a second of demand, the
// target keeps to 10 a second with almost no 429s after the first answer;
// calls that cannot get a turn before their deadline fail at once with a
// local rate_limited error carrying RetryAfter. [SignalsSnapshot] shows the
// configured limit (RateLimit), the learned one (LearnedRateLimit,
// LearnedBurst) and the provider's last report (Provider).
//
// # Retry budget
//
// Retries multiply the load on a provider exactly when it can least take
// it: with 3 retries, a provider that starts failing under load gets up to
// 4 times the requests. As in Envoy's retry budget, the retries and hedges
// in flight on a target may be at most BudgetPercent (20%) of all its
// attempts in flight, but always MinRetryConcurrency (3), so a lightly
// loaded target retries as before. Under load, retries then add at most
// about a quarter of the first attempts (1/(1-0.2) = 1.25 requests per
// call) instead of up to 4×. A refused retry returns the last error
// (retryable and, by its code, fallbackable) wrapped with
// [ErrRetryBudgetExhausted]; the OnRetryBudget hook fires and the refusal
// is logged. Only atomics: the success path still allocates nothing.
// [SignalsSnapshot] shows RetriesInFlight, RetryBudget and RetriesRefused.
// The budget is checked before a backoff sleep (so a refused call does not
// sleep first) and again when the retry starts.
//
// # Token limits
//
// Providers limit tokens per minute as well as requests. [DoTokens] (and
// [DoStreamTokens]; the client uses them for every call) make each attempt
// reserve its estimate (the input's tokens plus max_tokens) from the
// caller's token bucket (RateLimiterConfig.TokensPerMinute, AI_LIB_TPM) and
// from the token limit learned from the provider's x-ratelimit-*-tokens
// or anthropic-ratelimit-tokens-* headers (learned like the request limit:
// limit, remaining, time to full). A reservation bigger than a bucket is
// clamped to it, so it waits for a full bucket, never forever; a wait that
// cannot end before the deadline fails at once ([ErrRateLimitWait]). A
// failed attempt gives its tokens back; the successful one is settled
// against the real usage ([ResilientExecutor.SettleTokens]): the
// difference is refunded or charged. [WithSharedTokenLimiter] shares a
// token limit between replicas.
//
// # Cooldown
//
// Some answers say a target will not work for a while: quota_exhausted,
// an authentication failure, or a Retry-After longer than MaxRetryAfter.
// With a [CooldownConfig] (on in DefaultConfig), the target then rejects
// every attempt at once, without a provider request, until it is expected
// to work again: a local error with the answer's code (all three are
// fallbackable), [ErrTargetPaused] (the sentinel of the shared quota pause
// too) and RetryAfter the time left. A [FallbackChain] therefore goes
// straight to the next target; [ResilientExecutor.Preflight] and
// [SignalsSnapshot] (CoolingDownFor, CoolingDownReason) show it. When
// every target of a chain is cooling down, the call fails at once with
// each target's cooldown error (the last target's first, each with its
// RetryAfter): nothing is sent to a provider that said it would refuse.
//
// # Hedging
//
// With a [HedgeConfig], an attempt that has not answered after Delay (or
// a percentile of the target's recent latencies) gets a hedge: a second
// attempt to the same target; the first success is kept, the others are
// cancelled and waited for. Hedges go through admission and count
// against the retry budget. [DoStream] never hedges.
//
// # Official SDKs
//
// [NewTransport] wraps an executor in a [net/http.RoundTripper], so that
// an official SDK (openai-go, anthropic-sdk-go, ...) given a
// [net/http.Client] with it gets the breaker, the limiter, per-attempt
// accounting and Retry-After handling. Keep one retry layer: set the SDK's
// own retries to 0 (openai-go: option.WithMaxRetries(0)). Each attempt
// sends a clone of the request; its body is replayed through
// [net/http.Request.GetBody] (a body without GetBody is sent at most once).
// When the last attempt got an error answer, that answer is returned as the
// response with a nil error, so the SDK reports the provider's error its
// usual way; see [Transport] for the details.
//
// # Scale-out
//
// A provider's limit belongs to an API key, not to a process: twenty
// replicas each limited to 10 requests a second send 200 into a key that
// allows 10, and each replica must find a dead provider on its own. With
// [WithSharedLimiter] and [WithSharedState] the replicas of a target share
// one rate limit ([SharedLimiter]) and one circuit and pause state
// ([SharedState]) kept in a store: Redis, through the nested module
// github.com/ailib-go/ailib/resilience/redisstore (so users who do not need
// it never download go-redis), or [MemoryLimiter] and [MemoryState] within
// one process. At each attempt the executor reads the shared state (an
// open circuit or a quota pause rejects at once, a provider's Retry-After
// is waited for, half_open probes are capped across replicas) and takes a
// unit of the shared limit, after its local circuit check and before the
// in-flight permit; it publishes its breaker opening, its probes' outcomes
// and each 429 with Retry-After or quota_exhausted. Nothing is held across
// a provider call.
//
// Each store operation is bounded by [WithSharedTimeout] (50ms by
// default). When the store fails or is slow, the target runs on local
// state (its breaker, and its own RequestsPerSecond bucket, which the
// shared limiter otherwise stands in for), [SignalsSnapshot] reports
// SharedStateDegraded and the OnSharedState hook fires; one attempt tries
// the store again after a pause growing from 100ms to 2s, and sharing
// resumes when it answers. A store failure never fails a call by itself.
// Without these options nothing changes, and the success path still
// allocates nothing. The package resilience/sharedtest is the conformance
// suite every store passes.
//
// # Observability
//
// [Hooks] report attempt start and end, scheduled retries (delay and
// reason), retries refused by the budget, circuit state changes, limiter
// waits, local rejections, fallback hops and the shared store's health;
// [WithLogger] logs the same decisions with log/slog. The nested module
// github.com/ailib-go/ailib/contrib/otelailib turns the hooks into
// OpenTelemetry metrics and spans.
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
