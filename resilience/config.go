package resilience

import (
	"errors"
	"fmt"
	"math"
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
	DefaultFailureThreshold    = 5                      // consecutive counted failures that open the circuit
	DefaultCooldown            = 30 * time.Second       // open → half_open
	DefaultHalfOpenMaxRequests = 1                      // probes admitted while half_open
	DefaultMaxPause            = 60 * time.Second       // longest limiter pause learned from a provider
)

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
}

// RateLimiterConfig configures the per-target token bucket
// (golang.org/x/time/rate). Every attempt, retries included, spends one
// token. A non-nil RateLimiterConfig also makes the target learn from the
// provider: "remaining 0 until reset" headers and 429 answers with a wait
// pause the bucket until then.
type RateLimiterConfig struct {
	// RequestsPerSecond is the refill rate; 0 = no limit (the provider's
	// pauses still apply). Never NaN, negative or infinite.
	RequestsPerSecond float64
	// Burst is the bucket size; 0 = one second's worth of tokens,
	// ceil(RequestsPerSecond), at least 1.
	Burst int
	// MaxPause caps a pause learned from the provider; 0 = DefaultMaxPause.
	MaxPause time.Duration
}

// CircuitBreakerConfig configures the per-target circuit breaker
// (github.com/sony/gobreaker/v2). Only provider-health failures count:
// server_error, overloaded, timeout and transport failures (and
// rate_limited when CountRateLimited is set). Client errors,
// quota_exhausted, cancellation and anything that ends after the caller's
// ctx is done are ignored. A success resets the count.
//
// A zero field takes its default, except CountRateLimited.
type CircuitBreakerConfig struct {
	// FailureThreshold is the number of consecutive counted failures that
	// open the circuit; 0 = DefaultFailureThreshold.
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
}

// DefaultConfig returns the recommended configuration: 3 retries with
// exponential backoff from 500ms (×2, jitter 0.2, at most 30s, provider
// Retry-After honoured up to 60s); a circuit breaker opening after 5
// consecutive counted failures, half_open after 30s with 1 probe; a rate
// limiter with no rate limit that learns the provider's pauses; no
// in-flight cap. Each call returns fresh members.
func DefaultConfig() ResilientConfig {
	return ResilientConfig{
		Retry: &RetryConfig{
			MaxRetries:        DefaultMaxRetries,
			InitialDelay:      DefaultInitialDelay,
			MaxDelay:          DefaultMaxDelay,
			BackoffMultiplier: DefaultBackoffMultiplier,
			Jitter:            DefaultJitter,
			MaxRetryAfter:     DefaultMaxRetryAfter,
		},
		RateLimiter: &RateLimiterConfig{},
		CircuitBreaker: &CircuitBreakerConfig{
			FailureThreshold:    DefaultFailureThreshold,
			Cooldown:            DefaultCooldown,
			HalfOpenMaxRequests: DefaultHalfOpenMaxRequests,
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
	if env.RPS != nil || env.Burst != nil {
		if cfg.RateLimiter == nil {
			cfg.RateLimiter = def.RateLimiter
		}
		if env.RPS != nil {
			cfg.RateLimiter.RequestsPerSecond = *env.RPS
		}
		if env.Burst != nil {
			cfg.RateLimiter.Burst = *env.Burst
		}
	}
	if env.MaxRetries != nil {
		if cfg.Retry == nil {
			cfg.Retry = def.Retry
		}
		cfg.Retry.MaxRetries = *env.MaxRetries
	}
	if env.BreakerFailureThreshold != nil || env.BreakerCooldown != nil {
		if cfg.CircuitBreaker == nil {
			cfg.CircuitBreaker = def.CircuitBreaker
		}
		if env.BreakerFailureThreshold != nil {
			cfg.CircuitBreaker.FailureThreshold = *env.BreakerFailureThreshold
		}
		if env.BreakerCooldown != nil {
			cfg.CircuitBreaker.Cooldown = *env.BreakerCooldown
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
