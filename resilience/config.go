package resilience

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ailib-go/ailib/internal/envconfig"
)

// Defaults used by [DefaultConfig] and for zero fields of a non-nil config
// member (see each field's doc).
const (
	DefaultMaxRetries          = 3                      // retries after the first attempt
	DefaultInitialDelay        = 500 * time.Millisecond // first computed backoff delay
	DefaultMaxDelay            = 30 * time.Second       // ceiling of any computed backoff delay
	DefaultBackoffMultiplier   = 2.0                    // growth of the computed delay per retry
	DefaultJitter              = 0.2                    // randomization factor: delay ± 20 %
	DefaultMaxRetryAfter       = 60 * time.Second       // longest provider Retry-After the executor sleeps for
	DefaultMaxPause            = 60 * time.Second       // longest limiter pause learned from a provider
	DefaultCooldown            = 30 * time.Second       // open → half_open
	DefaultHalfOpenMaxRequests = 1                      // probes admitted while half_open
)

// Defaults of the circuit breaker's trip rules. The package doc ("Why
// these breaker defaults") gives the arithmetic behind them: at a steady 30%
// error rate, the chance that noise alone opens the circuit is below 4e-7
// per attempt, while a provider that is fully down opens it on the 12th
// failed attempt in a row (the third failed call with 3 retries).
const (
	DefaultFailureThreshold     = 12               // consecutive counted failures that open the circuit
	DefaultFailureRateThreshold = 0.8              // share of failures in the window that opens the circuit
	DefaultMinRequests          = 30               // counted attempts the window needs before its rate counts
	DefaultWindow               = 30 * time.Second // how far back the failure rate looks
)

// MinWindow is the shortest CircuitBreakerConfig.Window accepted: the
// window is kept in 10 buckets of at least a millisecond.
const MinWindow = 10 * time.Millisecond

// TripRule says what opens a closed circuit. The zero value, TripOnEither,
// is the default.
type TripRule uint8

// Trip rules.
const (
	// TripOnEither opens the circuit as soon as either rule holds: the
	// failure rate over the window, or FailureThreshold consecutive counted
	// failures. The consecutive rule is then the fast path for a provider
	// that is fully down; the rate rule catches a provider failing most,
	// but not all, of the time.
	TripOnEither TripRule = iota
	// TripOnFailureRate opens the circuit only when, over the last Window,
	// at least MinRequests counted attempts were recorded and at least
	// FailureRateThreshold of them failed.
	TripOnFailureRate
	// TripOnConsecutive opens the circuit only after FailureThreshold
	// consecutive counted failures (gobreaker's classic rule). Beware: at
	// a small threshold, random errors open it by chance (see the package
	// doc).
	TripOnConsecutive
)

// String returns "either", "failure_rate" or "consecutive", the values of
// AI_LIB_BREAKER_TRIP.
func (r TripRule) String() string {
	switch r {
	case TripOnEither:
		return "either"
	case TripOnFailureRate:
		return "failure_rate"
	case TripOnConsecutive:
		return "consecutive"
	}
	return "TripRule(" + strconv.Itoa(int(r)) + ")"
}

func (r TripRule) consecutive() bool { return r == TripOnEither || r == TripOnConsecutive }
func (r TripRule) failureRate() bool { return r == TripOnEither || r == TripOnFailureRate }

// RetryConfig configures retries of one call on one target. Delays come from
// an exponential backoff (github.com/cenkalti/backoff/v4), one per call.
//
// A zero field takes its default, except MaxRetries (0 = no retry) and
// Jitter (0 = exact delays).
type RetryConfig struct {
	// MaxRetries is the number of retries after the first attempt; 0 = none.
	MaxRetries int
	// InitialDelay is the first computed delay; 0 = DefaultInitialDelay.
	InitialDelay time.Duration
	// MaxDelay caps every computed delay, jitter included;
	// 0 = DefaultMaxDelay. It does not cap a provider's Retry-After (see
	// MaxRetryAfter).
	MaxDelay time.Duration
	// BackoffMultiplier is the growth of the delay per retry, >= 1;
	// 0 = DefaultBackoffMultiplier.
	BackoffMultiplier float64
	// Jitter is the randomization factor in [0, 1]: each delay is drawn
	// from [d·(1-Jitter), d·(1+Jitter)], then capped by MaxDelay.
	Jitter float64
	// MaxRetryAfter is the longest provider Retry-After the executor is
	// willing to sleep for; 0 = DefaultMaxRetryAfter. A Retry-After is a
	// floor on the next delay; when it exceeds MaxRetryAfter (or cannot fit
	// before the ctx deadline), the error is returned at once instead, so a
	// fallback chain can move on.
	MaxRetryAfter time.Duration
	// BudgetPercent caps the retries and hedges in flight on the target at
	// this share, in percent, of all its attempts in flight (first
	// attempts, retries and hedges; an attempt counts from its admission
	// until op returns), but always allows MinRetryConcurrency of them, as
	// Envoy's retry budget does. A retry the budget refuses is not sent: the
	// call returns the last attempt's error (retryable, and fallbackable as
	// its code says) wrapped with [ErrRetryBudgetExhausted], and the
	// OnRetryBudget hook fires. So when a provider struggles, retries add
	// at most about BudgetPercent to its load instead of multiplying it.
	// 0 = DefaultRetryBudgetPercent (20); 100 turns the budget off. In
	// [0, 100].
	BudgetPercent float64
	// MinRetryConcurrency is the number of retries and hedges in flight the
	// budget always allows (so that a lightly loaded target still retries);
	// 0 = DefaultMinRetryConcurrency (3).
	MinRetryConcurrency int
}

// RateLimiterConfig configures the per-target token bucket
// (golang.org/x/time/rate). Every attempt, retries included, spends one
// token.
//
// A non-nil RateLimiterConfig also makes the target learn from the
// provider, even with RequestsPerSecond 0: when its answers report a
// request limit, the remaining requests and when the limit is fully
// replenished (x-ratelimit-*-requests, anthropic-ratelimit-requests-*), a
// second bucket adopts them (see [RateLimiter]); a 429 with a wait, or
// "0 tokens remaining until reset", pauses the target until then. Each
// attempt needs a token from both buckets, so the tighter limit wins. A
// nil RateLimiterConfig turns all of this off.
type RateLimiterConfig struct {
	// RequestsPerSecond is the caller's refill rate; 0 = no limit of the
	// caller's own (what the provider reports still applies). Never NaN,
	// negative or infinite.
	RequestsPerSecond float64
	// Burst is the bucket size; 0 = one second's worth of tokens,
	// ceil(RequestsPerSecond), at least 1.
	Burst int
	// MaxPause caps a pause learned from the provider; 0 = DefaultMaxPause.
	MaxPause time.Duration
	// TokensPerMinute is the caller's limit of provider tokens (input and
	// output) per minute, for calls that say what they will spend ([DoTokens],
	// [DoStreamTokens]; the client does): each attempt reserves its estimate
	// before it goes (a reservation bigger than the bucket is clamped to
	// the bucket, so it waits for a full bucket, never forever), and the
	// estimate is replaced by the real usage afterwards (refunded in full
	// when the attempt fails). 0 = no limit of the caller's; the token
	// limit the provider reports (x-ratelimit-*-tokens,
	// anthropic-ratelimit-tokens-*, learned like the request limit) still
	// applies. Never NaN, negative or infinite.
	TokensPerMinute float64
	// TokenBurst is the token bucket's size; 0 = one minute's worth,
	// ceil(TokensPerMinute).
	TokenBurst int
	// LearnedLimitTTL is how long a limit learned from the provider stays
	// in force after the last answer that reported it; then the bucket
	// goes back to the caller's setting alone. 0 = three of the provider's
	// windows (limit ÷ rate, the time the provider takes to refill from
	// empty), at least DefaultLearnedLimitTTL.
	LearnedLimitTTL time.Duration
}

// DefaultLearnedLimitTTL is the shortest time a learned provider limit
// stays in force without being reported again (see
// RateLimiterConfig.LearnedLimitTTL).
const DefaultLearnedLimitTTL = 10 * time.Second

// CircuitBreakerConfig configures the per-target circuit breaker
// (github.com/sony/gobreaker/v2). Only provider-health failures count:
// server_error, overloaded, timeout and transport failures (and
// rate_limited when CountRateLimited is set). Client errors,
// quota_exhausted, cancellation and anything that ends after the caller's
// ctx is done are ignored: they are neither failures nor successes.
//
// Two rules can open a closed circuit, chosen by Trip (default: either):
// FailureThreshold consecutive counted failures (a success resets the
// count), or a failure rate of at least FailureRateThreshold among at
// least MinRequests counted attempts that ended in the last Window.
//
// A zero field takes its default, except CountRateLimited.
type CircuitBreakerConfig struct {
	// FailureThreshold is the number of consecutive counted failures that
	// open the circuit (with TripOnEither or TripOnConsecutive);
	// 0 = DefaultFailureThreshold.
	FailureThreshold int
	// Cooldown is how long the circuit stays open before it turns
	// half_open; 0 = DefaultCooldown.
	Cooldown time.Duration
	// HalfOpenMaxRequests is the number of probes admitted while half_open
	// (the rest are rejected at once); that many consecutive successes close
	// the circuit, one counted failure opens it again.
	// 0 = DefaultHalfOpenMaxRequests.
	HalfOpenMaxRequests int
	// CountRateLimited makes rate_limited answers count as failures.
	CountRateLimited bool
	// Trip selects the rules that open the circuit; the zero value,
	// TripOnEither, uses both.
	Trip TripRule
	// FailureRateThreshold is the share of counted failures among the
	// counted attempts of the last Window at or above which the circuit
	// opens (with TripOnEither or TripOnFailureRate), in (0, 1];
	// 0 = DefaultFailureRateThreshold.
	FailureRateThreshold float64
	// MinRequests is the number of counted attempts (successes and counted
	// failures) the last Window must hold before its failure rate can open
	// the circuit; 0 = DefaultMinRequests.
	MinRequests int
	// Window is how far back the failure rate looks, at least MinWindow;
	// 0 = DefaultWindow. It is kept in 10 buckets of Window/10, so an
	// attempt counts from when it ends until between 0.9·Window and Window
	// later. The counts start empty each time the circuit closes.
	Window time.Duration
}

// BackpressureConfig configures the per-target in-flight limit
// (golang.org/x/sync/semaphore). A permit is taken per attempt and released
// before any backoff sleep; a stream keeps it until it is done.
type BackpressureConfig struct {
	// MaxInflight is the number of attempts allowed in flight at once;
	// 0 = no limit (no semaphore at all).
	MaxInflight int
	// QueueTimeout bounds the wait for a permit; 0 = wait as long as the
	// ctx allows. When it expires the attempt fails with [ErrQueueFull].
	QueueTimeout time.Duration
}

// ResilientConfig configures a [ResilientExecutor]. A nil member disables
// that pattern. The zero ResilientConfig disables everything: Execute
// then runs op once and classifies its error.
type ResilientConfig struct {
	Retry          *RetryConfig
	RateLimiter    *RateLimiterConfig
	CircuitBreaker *CircuitBreakerConfig
	Backpressure   *BackpressureConfig
	// Cooldown skips a target after quota exhaustion, an authentication
	// failure or a Retry-After too long to wait (see [CooldownConfig]).
	Cooldown *CooldownConfig
	// Hedge sends a second attempt when the first is slow (see
	// [HedgeConfig]); nil (the default) = no hedging.
	Hedge *HedgeConfig
}

// DefaultConfig returns the recommended configuration: 3 retries with
// exponential backoff from 500ms (×2, jitter 0.2, at most 30s, provider
// Retry-After honoured up to 60s); a circuit breaker opening after 12
// consecutive counted failures or when at least 80% of at least 30
// counted attempts in the last 30s failed, half_open after 30s with 1
// probe; a rate limiter with no rate of its own that learns the
// provider's limits and pauses; no in-flight cap. Each call returns fresh
// members.
func DefaultConfig() ResilientConfig {
	return ResilientConfig{
		Retry: &RetryConfig{
			MaxRetries:          DefaultMaxRetries,
			InitialDelay:        DefaultInitialDelay,
			MaxDelay:            DefaultMaxDelay,
			BackoffMultiplier:   DefaultBackoffMultiplier,
			Jitter:              DefaultJitter,
			MaxRetryAfter:       DefaultMaxRetryAfter,
			BudgetPercent:       DefaultRetryBudgetPercent,
			MinRetryConcurrency: DefaultMinRetryConcurrency,
		},
		RateLimiter: &RateLimiterConfig{},
		Cooldown: &CooldownConfig{
			Quota:          DefaultQuotaCooldown,
			Authentication: DefaultAuthCooldown,
			Max:            DefaultMaxCooldown,
		},
		CircuitBreaker: &CircuitBreakerConfig{
			FailureThreshold:     DefaultFailureThreshold,
			Cooldown:             DefaultCooldown,
			HalfOpenMaxRequests:  DefaultHalfOpenMaxRequests,
			Trip:                 TripOnEither,
			FailureRateThreshold: DefaultFailureRateThreshold,
			MinRequests:          DefaultMinRequests,
			Window:               DefaultWindow,
		},
	}
}

// Clone returns a deep copy of c: the copy shares no member with c.
func (c ResilientConfig) Clone() ResilientConfig {
	if c.Retry != nil {
		r := *c.Retry
		c.Retry = &r
	}
	if c.RateLimiter != nil {
		r := *c.RateLimiter
		c.RateLimiter = &r
	}
	if c.CircuitBreaker != nil {
		b := *c.CircuitBreaker
		c.CircuitBreaker = &b
	}
	if c.Backpressure != nil {
		b := *c.Backpressure
		c.Backpressure = &b
	}
	if c.Cooldown != nil {
		d := *c.Cooldown
		c.Cooldown = &d
	}
	if c.Hedge != nil {
		h := *c.Hedge
		c.Hedge = &h
	}
	return c
}

// Validate reports every problem in c, joined with [errors.Join]; each
// names the field and its value. NaN, infinite and negative numbers are
// rejected everywhere.
func (c ResilientConfig) Validate() error {
	var errs []error
	bad := func(field string, v any, why string) {
		errs = append(errs, fmt.Errorf("resilience: %s = %v: %s", field, v, why))
	}
	if r := c.Retry; r != nil {
		if r.MaxRetries < 0 {
			bad("Retry.MaxRetries", r.MaxRetries, "negative")
		}
		if r.InitialDelay < 0 {
			bad("Retry.InitialDelay", r.InitialDelay, "negative")
		}
		if r.MaxDelay < 0 {
			bad("Retry.MaxDelay", r.MaxDelay, "negative")
		}
		if r.MaxRetryAfter < 0 {
			bad("Retry.MaxRetryAfter", r.MaxRetryAfter, "negative")
		}
		if m := r.BackoffMultiplier; math.IsNaN(m) || math.IsInf(m, 0) || m < 0 || (m != 0 && m < 1) {
			bad("Retry.BackoffMultiplier", m, "must be 0 (default) or a finite number >= 1")
		}
		if j := r.Jitter; math.IsNaN(j) || j < 0 || j > 1 {
			bad("Retry.Jitter", j, "must be in [0, 1]")
		}
		if b := r.BudgetPercent; math.IsNaN(b) || b < 0 || b > 100 {
			bad("Retry.BudgetPercent", b, "must be in [0, 100] (0 = default, 100 = no budget)")
		}
		if r.MinRetryConcurrency < 0 {
			bad("Retry.MinRetryConcurrency", r.MinRetryConcurrency, "negative")
		}
		if r.InitialDelay >= 0 && r.MaxDelay >= 0 {
			if initial, maxd := orDuration(r.InitialDelay, DefaultInitialDelay), orDuration(r.MaxDelay, DefaultMaxDelay); initial > maxd {
				bad("Retry.InitialDelay", initial, fmt.Sprintf("above Retry.MaxDelay (%v)", maxd))
			}
		}
	}
	if l := c.RateLimiter; l != nil {
		if r := l.RequestsPerSecond; math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			bad("RateLimiter.RequestsPerSecond", r, "must be a finite number >= 0 (0 = no limit)")
		}
		if l.Burst < 0 {
			bad("RateLimiter.Burst", l.Burst, "negative")
		}
		if l.MaxPause < 0 {
			bad("RateLimiter.MaxPause", l.MaxPause, "negative")
		}
		if l.LearnedLimitTTL < 0 {
			bad("RateLimiter.LearnedLimitTTL", l.LearnedLimitTTL, "negative")
		}
		if r := l.TokensPerMinute; math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			bad("RateLimiter.TokensPerMinute", r, "must be a finite number >= 0 (0 = no limit)")
		}
		if l.TokenBurst < 0 {
			bad("RateLimiter.TokenBurst", l.TokenBurst, "negative")
		}
	}
	if b := c.CircuitBreaker; b != nil {
		if b.FailureThreshold < 0 {
			bad("CircuitBreaker.FailureThreshold", b.FailureThreshold, "negative")
		}
		if b.Cooldown < 0 {
			bad("CircuitBreaker.Cooldown", b.Cooldown, "negative")
		}
		if b.HalfOpenMaxRequests < 0 || int64(b.HalfOpenMaxRequests) > math.MaxUint32 {
			bad("CircuitBreaker.HalfOpenMaxRequests", b.HalfOpenMaxRequests, "must be in [0, 4294967295]")
		}
		if int64(b.FailureThreshold) > math.MaxUint32 {
			bad("CircuitBreaker.FailureThreshold", b.FailureThreshold, "above 4294967295")
		}
		if b.Trip > TripOnConsecutive {
			bad("CircuitBreaker.Trip", b.Trip, "unknown trip rule")
		}
		if r := b.FailureRateThreshold; math.IsNaN(r) || r < 0 || r > 1 {
			bad("CircuitBreaker.FailureRateThreshold", r, "must be in (0, 1] (0 = default)")
		}
		if b.MinRequests < 0 || int64(b.MinRequests) > math.MaxUint32 {
			bad("CircuitBreaker.MinRequests", b.MinRequests, "must be in [0, 4294967295]")
		}
		if b.Window < 0 {
			bad("CircuitBreaker.Window", b.Window, "negative")
		} else if b.Window != 0 && b.Window < MinWindow {
			bad("CircuitBreaker.Window", b.Window, "below MinWindow (10ms)")
		}
	}
	if d := c.Cooldown; d != nil {
		if d.Quota < 0 {
			bad("Cooldown.Quota", d.Quota, "negative")
		}
		if d.Authentication < 0 {
			bad("Cooldown.Authentication", d.Authentication, "negative")
		}
		if d.Max < 0 {
			bad("Cooldown.Max", d.Max, "negative")
		}
	}
	if h := c.Hedge; h != nil {
		if h.Delay <= 0 {
			bad("Hedge.Delay", h.Delay, "must be positive")
		}
		if p := h.Percentile; math.IsNaN(p) || p < 0 || p >= 1 {
			bad("Hedge.Percentile", p, "must be in [0, 1) (0 = always Delay)")
		}
		if h.MaxHedges < 0 || h.MaxHedges > 10 {
			bad("Hedge.MaxHedges", h.MaxHedges, "must be in [0, 10] (0 = default)")
		}
	}
	if b := c.Backpressure; b != nil {
		if b.MaxInflight < 0 {
			bad("Backpressure.MaxInflight", b.MaxInflight, "negative (0 = no limit)")
		}
		if b.QueueTimeout < 0 {
			bad("Backpressure.QueueTimeout", b.QueueTimeout, "negative (0 = wait for ctx)")
		}
	}
	return errors.Join(errs...)
}

// ConfigFromEnv returns [DefaultConfig] overlaid with the AI_LIB_*
// environment variables (see the package doc for the table). It is
// OverlayEnv(DefaultConfig()).
func ConfigFromEnv() (ResilientConfig, error) {
	return OverlayEnv(DefaultConfig())
}

// OverlayEnv returns a copy of cfg with every AI_LIB_* variable that is set
// (and not empty) applied on top; cfg itself is not modified. The
// environment is read when OverlayEnv runs, never at import time.
//
// A variable for a member that is nil in cfg enables that member, starting
// from its [DefaultConfig] values: AI_LIB_RPS=5 on a config without a rate
// limiter adds one at 5 rps.
//
// A malformed or out-of-range value is an error naming the variable and its
// value, such as
//
//	resilience: AI_LIB_RPS="abc": not a number
//
// All such errors are joined; on error the returned config is cfg's copy
// with the valid variables applied. The result is not validated: call
// [ResilientConfig.Validate] or [NewResilientExecutor].
func OverlayEnv(cfg ResilientConfig) (ResilientConfig, error) {
	cfg = cfg.Clone()
	env, err := envconfig.ReadResilience(nil)
	if err != nil {
		err = prefixErrors(err)
	}
	def := DefaultConfig()
	if env.RPS != nil || env.Burst != nil || env.TPM != nil {
		if cfg.RateLimiter == nil {
			cfg.RateLimiter = def.RateLimiter
		}
		if env.TPM != nil {
			cfg.RateLimiter.TokensPerMinute = *env.TPM
		}
		if env.RPS != nil {
			cfg.RateLimiter.RequestsPerSecond = *env.RPS
		}
		if env.Burst != nil {
			cfg.RateLimiter.Burst = *env.Burst
		}
	}
	if env.MaxRetries != nil || env.RetryBudgetPercent != nil || env.RetryBudgetMin != nil {
		if cfg.Retry == nil {
			cfg.Retry = def.Retry
		}
		if env.MaxRetries != nil {
			cfg.Retry.MaxRetries = *env.MaxRetries
		}
		if env.RetryBudgetPercent != nil {
			cfg.Retry.BudgetPercent = *env.RetryBudgetPercent
		}
		if env.RetryBudgetMin != nil {
			cfg.Retry.MinRetryConcurrency = *env.RetryBudgetMin
		}
	}
	if env.BreakerFailureThreshold != nil || env.BreakerCooldown != nil || env.BreakerTrip != nil ||
		env.BreakerFailureRate != nil || env.BreakerMinRequests != nil || env.BreakerWindow != nil {
		if cfg.CircuitBreaker == nil {
			cfg.CircuitBreaker = def.CircuitBreaker
		}
		b := cfg.CircuitBreaker
		if env.BreakerFailureThreshold != nil {
			b.FailureThreshold = *env.BreakerFailureThreshold
		}
		if env.BreakerCooldown != nil {
			b.Cooldown = *env.BreakerCooldown
		}
		if env.BreakerTrip != nil {
			b.Trip = parseTripRule(*env.BreakerTrip)
		}
		if env.BreakerFailureRate != nil {
			b.FailureRateThreshold = *env.BreakerFailureRate
		}
		if env.BreakerMinRequests != nil {
			b.MinRequests = *env.BreakerMinRequests
		}
		if env.BreakerWindow != nil {
			b.Window = *env.BreakerWindow
		}
	}
	if env.MaxInflight != nil || env.QueueTimeout != nil {
		if cfg.Backpressure == nil {
			cfg.Backpressure = &BackpressureConfig{}
		}
		if env.MaxInflight != nil {
			cfg.Backpressure.MaxInflight = *env.MaxInflight
		}
		if env.QueueTimeout != nil {
			cfg.Backpressure.QueueTimeout = *env.QueueTimeout
		}
	}
	return cfg, err
}

// parseTripRule maps a validated AI_LIB_BREAKER_TRIP value to its rule.
func parseTripRule(s string) TripRule {
	for r := TripOnEither; r <= TripOnConsecutive; r++ {
		if r.String() == s {
			return r
		}
	}
	return TripOnEither
}

// prefixErrors adds the package prefix to each joined error.
func prefixErrors(err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("resilience: %w", e)
	}
	return errors.Join(out...)
}

func orDuration(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
