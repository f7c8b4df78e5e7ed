package resilience

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ailib-go/ailib/internal/envconfig"
)

// The defaults. They are listed, with the reason for each, in the package
// doc ("Defaults, and why"); a zero field of a config member takes the one
// named in its doc.
const (
	defaultMaxRetries        = 3
	defaultInitialDelay      = 100 * time.Millisecond
	defaultMaxDelay          = 20 * time.Second
	defaultBackoffMultiplier = 2.0
	defaultJitter            = 0.2
	defaultMaxRetryAfter     = 60 * time.Second

	defaultFailureThreshold     = 11
	defaultFailureRateThreshold = 0.8
	defaultMinRequests          = 30
	defaultWindow               = 30 * time.Second
	defaultCooldown             = 2 * time.Second
	defaultMaxCooldown          = 8 * time.Second
	defaultHalfOpenMaxRequests  = 1

	defaultMaxPause = 60 * time.Second

	defaultQuotaCooldown = 60 * time.Second
	defaultAuthCooldown  = 5 * time.Minute
	defaultLongCooldown  = time.Hour
)

// RetryConfig configures retries of one call on one target. Delays come
// from an exponential backoff (github.com/cenkalti/backoff/v4), one per call.
type RetryConfig struct {
	// Disabled turns retries off: every call makes one attempt.
	Disabled bool
	// MaxRetries is the number of retries after the first attempt; 0 = none.
	MaxRetries int
	// InitialDelay is the first computed delay; 0 = 100ms.
	InitialDelay time.Duration
	// MaxDelay caps every computed delay, jitter included; 0 = 20s. It does
	// not cap a provider's Retry-After (see MaxRetryAfter).
	MaxDelay time.Duration
	// BackoffMultiplier is the growth of the delay per retry, >= 1; 0 = 2.
	BackoffMultiplier float64
	// Jitter is the randomization factor in [0, 1]: each delay is drawn
	// from [d·(1-Jitter), d·(1+Jitter)], then capped by MaxDelay.
	Jitter float64
	// MaxRetryAfter is the longest provider Retry-After worth sleeping for;
	// 0 = 60s. A longer one returns the error at once (so a fallback chain
	// moves on) and cools the target down.
	MaxRetryAfter time.Duration
	// Budget is the size of the retry budget, in attempts; 0 = 40. See the
	// package doc ("The retry budget"): while recent attempts succeed more
	// often than they fail, retries flow freely; when failures outnumber
	// successes for long enough to spend half of the budget, retries stop
	// until successes earn them back. Negative turns the budget off.
	Budget int
}

// RateLimiterConfig configures the per-target pacing of attempts
// (golang.org/x/time/rate): the caller's own limits, and the limit learned
// from what the provider does (see the package doc, "Learning the
// provider's limit"). Every attempt, retries included, takes a token.
type RateLimiterConfig struct {
	// Disabled turns pacing and learning off: no token is waited for and
	// no pause the provider asks for is kept.
	Disabled bool
	// RequestsPerSecond is the caller's refill rate; 0 = no limit of the
	// caller's own (the learned limit still applies). Never NaN, negative
	// or infinite.
	RequestsPerSecond float64
	// Burst is the caller's bucket size; 0 = ceil(RequestsPerSecond), at
	// least 1.
	Burst int
	// TokensPerMinute is the caller's limit of provider tokens per minute
	// for calls that say what they spend ([WithTokens]); 0 = none of the
	// caller's own (the limit the provider reports still applies).
	TokensPerMinute float64
	// MaxPause caps a pause the provider asks for (a 429's Retry-After, or
	// "0 remaining until reset"); 0 = 60s.
	MaxPause time.Duration
}

// CircuitBreakerConfig configures the per-target circuit breaker
// (github.com/sony/gobreaker/v2). Only provider-health failures count:
// server_error, overloaded, timeout and transport failures (and
// rate_limited when CountRateLimited is set). Client errors,
// quota_exhausted, cancellation and local rejections are neither failures
// nor successes.
//
// A closed circuit opens on FailureThreshold consecutive counted failures
// (fewer after a healthy stretch), or when at least FailureRateThreshold of
// at least MinRequests counted attempts in the last Window failed. It
// stays open for Cooldown, then admits HalfOpenMaxRequests probes; each failed probe doubles the next
// open interval, up to MaxCooldown; a successful one closes the circuit and
// resets the interval to Cooldown. A call with nowhere else to go
// ([WithNoFallback]) that waits for the circuit brings the next probe
// forward to 1s (or Cooldown, when shorter) after the circuit opened.
type CircuitBreakerConfig struct {
	// Disabled turns the breaker off.
	Disabled bool
	// FailureThreshold is the number of consecutive counted failures that
	// open the circuit, at most: fewer do when the attempts before them in
	// the window mostly succeeded (a run too long to be chance at the share
	// that failed: 6 after a healthy stretch; see the package doc); 0 = 11.
	FailureThreshold int
	// FailureRateThreshold is the share of counted failures in the window
	// at or above which the circuit opens, in (0, 1]; 0 = 0.8.
	FailureRateThreshold float64
	// MinRequests is the number of counted attempts the window must hold
	// before its failure rate can open the circuit; 0 = 30.
	MinRequests int
	// Window is how far back the failure rate looks, at least 10ms; 0 = 30s.
	Window time.Duration
	// Cooldown is the first open interval (open → half_open); 0 = 2s.
	Cooldown time.Duration
	// MaxCooldown caps the open interval as failed probes double it;
	// 0 = 8s (or Cooldown, when that is longer).
	MaxCooldown time.Duration
	// HalfOpenMaxRequests is the number of probes admitted while half_open
	// (the rest are rejected at once); 0 = 1.
	HalfOpenMaxRequests int
	// CountRateLimited makes rate_limited answers count as failures.
	CountRateLimited bool
}

// BackpressureConfig configures the per-target in-flight limit
// (golang.org/x/sync/semaphore). A permit is taken per attempt and given
// back before any backoff sleep; a stream keeps it until it is finished.
type BackpressureConfig struct {
	// MaxInflight is the number of attempts allowed in flight at once;
	// 0 = no limit (no semaphore at all).
	MaxInflight int
	// QueueTimeout bounds the wait for a permit; 0 = as long as the ctx
	// allows. When it expires the attempt fails with [ErrQueueFull].
	QueueTimeout time.Duration
}

// CooldownConfig configures how long a target is skipped after an answer
// that says retrying it soon is pointless: quota exhausted, authentication
// failed, or a Retry-After longer than RetryConfig.MaxRetryAfter. While a
// target cools down its attempts fail at once with [ErrTargetPaused]
// (fallbackable, RetryAfter set), so a fallback chain goes straight on.
type CooldownConfig struct {
	// Disabled turns cooldowns off.
	Disabled bool
	// Quota is the cooldown after quota_exhausted without a Retry-After;
	// 0 = 60s.
	Quota time.Duration
	// Authentication is the cooldown after an authentication failure;
	// 0 = 5m.
	Authentication time.Duration
	// Max caps every cooldown, a provider's Retry-After included; 0 = 1h.
	Max time.Duration
}

// ResilientConfig configures a [ResilientExecutor]. A nil member means
// that member's defaults, never "off": a config that sets only Retry keeps
// the breaker, the learning limiter and the cooldowns. Turn a part off
// with its Disabled field. The zero ResilientConfig is [DefaultConfig].
type ResilientConfig struct {
	Retry          *RetryConfig
	RateLimiter    *RateLimiterConfig
	CircuitBreaker *CircuitBreakerConfig
	Backpressure   *BackpressureConfig // nil: no in-flight cap
	Cooldown       *CooldownConfig
}

// DefaultConfig returns the recommended configuration, every member set
// to its defaults: 3 retries with a jittered exponential backoff from 100ms,
// under a retry budget; a breaker that opens on 11 consecutive counted
// failures or 80% of 30 in 30s, for 2s at first, doubling per failed probe
// up to 8s; a limiter that learns the provider's limit; cooldowns after
// quota and authentication failures; no in-flight cap. Each
// call returns fresh members.
func DefaultConfig() ResilientConfig {
	return ResilientConfig{
		Retry: &RetryConfig{
			MaxRetries:        defaultMaxRetries,
			InitialDelay:      defaultInitialDelay,
			MaxDelay:          defaultMaxDelay,
			BackoffMultiplier: defaultBackoffMultiplier,
			Jitter:            defaultJitter,
			MaxRetryAfter:     defaultMaxRetryAfter,
		},
		RateLimiter: &RateLimiterConfig{},
		CircuitBreaker: &CircuitBreakerConfig{
			FailureThreshold:     defaultFailureThreshold,
			FailureRateThreshold: defaultFailureRateThreshold,
			MinRequests:          defaultMinRequests,
			Window:               defaultWindow,
			Cooldown:             defaultCooldown,
			MaxCooldown:          defaultMaxCooldown,
			HalfOpenMaxRequests:  defaultHalfOpenMaxRequests,
		},
		Cooldown: &CooldownConfig{},
	}
}

// clone returns a deep copy of c with every nil member replaced by its
// default: the executor keeps no pointer of the caller's.
func (c ResilientConfig) clone() ResilientConfig {
	d := DefaultConfig()
	c.Retry = copyOr(c.Retry, d.Retry)
	c.RateLimiter = copyOr(c.RateLimiter, d.RateLimiter)
	c.CircuitBreaker = copyOr(c.CircuitBreaker, d.CircuitBreaker)
	c.Backpressure = copyOr(c.Backpressure, &BackpressureConfig{})
	c.Cooldown = copyOr(c.Cooldown, d.Cooldown)
	return c
}

func copyOr[T any](p, def *T) *T {
	if p == nil {
		return def
	}
	v := *p
	return &v
}

// validate reports every problem in c, joined; each names the field and
// its value.
func (c ResilientConfig) validate() error {
	var errs []error
	bad := func(field string, v any, why string) {
		errs = append(errs, fmt.Errorf("resilience: %s = %v: %s", field, v, why))
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
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
		if m := r.BackoffMultiplier; !finite(m) || m < 0 || (m != 0 && m < 1) {
			bad("Retry.BackoffMultiplier", m, "must be 0 (default) or a finite number >= 1")
		}
		if j := r.Jitter; math.IsNaN(j) || j < 0 || j > 1 {
			bad("Retry.Jitter", j, "must be in [0, 1]")
		}
		if initial, maxd := or(r.InitialDelay, defaultInitialDelay), or(r.MaxDelay, defaultMaxDelay); initial > maxd && r.MaxDelay > 0 {
			bad("Retry.InitialDelay", initial, fmt.Sprintf("above Retry.MaxDelay (%v)", maxd))
		}
	}
	if l := c.RateLimiter; l != nil {
		if r := l.RequestsPerSecond; !finite(r) || r < 0 {
			bad("RateLimiter.RequestsPerSecond", r, "must be a finite number >= 0 (0 = no limit)")
		}
		if l.Burst < 0 {
			bad("RateLimiter.Burst", l.Burst, "negative")
		}
		if r := l.TokensPerMinute; !finite(r) || r < 0 {
			bad("RateLimiter.TokensPerMinute", r, "must be a finite number >= 0 (0 = no limit)")
		}
		if l.MaxPause < 0 {
			bad("RateLimiter.MaxPause", l.MaxPause, "negative")
		}
	}
	if b := c.CircuitBreaker; b != nil {
		if b.FailureThreshold < 0 || int64(b.FailureThreshold) > math.MaxUint32 {
			bad("CircuitBreaker.FailureThreshold", b.FailureThreshold, "must be in [0, 4294967295]")
		}
		if r := b.FailureRateThreshold; math.IsNaN(r) || r < 0 || r > 1 {
			bad("CircuitBreaker.FailureRateThreshold", r, "must be in (0, 1] (0 = default)")
		}
		if b.MinRequests < 0 || int64(b.MinRequests) > math.MaxUint32 {
			bad("CircuitBreaker.MinRequests", b.MinRequests, "must be in [0, 4294967295]")
		}
		if b.Window < 0 || (b.Window > 0 && b.Window < 10*time.Millisecond) {
			bad("CircuitBreaker.Window", b.Window, "must be 0 (default) or at least 10ms")
		}
		if b.Cooldown < 0 {
			bad("CircuitBreaker.Cooldown", b.Cooldown, "negative")
		}
		if b.MaxCooldown < 0 {
			bad("CircuitBreaker.MaxCooldown", b.MaxCooldown, "negative")
		}
		if b.HalfOpenMaxRequests < 0 || int64(b.HalfOpenMaxRequests) > math.MaxUint32 {
			bad("CircuitBreaker.HalfOpenMaxRequests", b.HalfOpenMaxRequests, "must be in [0, 4294967295]")
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
	return errors.Join(errs...)
}

// ConfigFromEnv returns [DefaultConfig] overlaid with the AI_LIB_*
// variables (see [ResilientConfig.WithEnv]).
func ConfigFromEnv() (ResilientConfig, error) {
	return ResilientConfig{}.WithEnv()
}

// WithEnv returns a copy of c in which the AI_LIB_* variables fill every
// field c leaves unset: a nil member, or a zero field of a member c sets.
// What c sets explicitly wins; the environment comes next; defaults last.
// A malformed or out-of-range value is an error naming the variable and
// the value; the other variables still apply. The variables, their units
// and ranges are listed in the package doc ("Environment").
func (c ResilientConfig) WithEnv() (ResilientConfig, error) {
	return c.withEnv(envconfig.ReadResilience(nil))
}

func (c ResilientConfig) withEnv(env envconfig.Resilience, err error) (ResilientConfig, error) {
	explicit := c
	c = c.clone()
	// A member the caller left nil holds defaults only: start it empty, so
	// that the environment fills it field by field and a zero field left
	// after that still means the default.
	if explicit.RateLimiter == nil {
		c.RateLimiter = &RateLimiterConfig{}
	}
	if explicit.CircuitBreaker == nil {
		c.CircuitBreaker = &CircuitBreakerConfig{}
	}
	fill(&c.RateLimiter.RequestsPerSecond, env.RPS)
	fill(&c.RateLimiter.Burst, env.Burst)
	fill(&c.RateLimiter.TokensPerMinute, env.TPM)
	// MaxRetries is the one field whose zero means "none" rather than the
	// default, so a nil Retry keeps the default count unless the
	// environment names one.
	if explicit.Retry == nil && env.MaxRetries != nil {
		c.Retry.MaxRetries = *env.MaxRetries
	} else {
		fill(&c.Retry.MaxRetries, env.MaxRetries)
	}
	fill(&c.Retry.Budget, env.RetryBudget)
	b := c.CircuitBreaker
	fill(&b.FailureThreshold, env.BreakerFailureThreshold)
	fill(&b.Cooldown, env.BreakerCooldown)
	fill(&b.MaxCooldown, env.BreakerMaxCooldown)
	fill(&b.FailureRateThreshold, env.BreakerFailureRate)
	fill(&b.MinRequests, env.BreakerMinRequests)
	fill(&b.Window, env.BreakerWindow)
	fill(&c.Backpressure.MaxInflight, env.MaxInflight)
	fill(&c.Backpressure.QueueTimeout, env.QueueTimeout)
	// What neither code nor environment set shows its default, so the
	// returned config reads as what will run.
	if explicit.CircuitBreaker == nil {
		d := DefaultConfig().CircuitBreaker
		fill(&b.FailureThreshold, &d.FailureThreshold)
		fill(&b.FailureRateThreshold, &d.FailureRateThreshold)
		fill(&b.MinRequests, &d.MinRequests)
		fill(&b.Window, &d.Window)
		fill(&b.Cooldown, &d.Cooldown)
		fill(&b.MaxCooldown, &d.MaxCooldown)
		fill(&b.HalfOpenMaxRequests, &d.HalfOpenMaxRequests)
	}
	if err != nil {
		err = prefixErrors(err)
	}
	return c, err
}

// fill sets *dst to *v when the environment set v and *dst is unset.
func fill[T comparable](dst *T, v *T) {
	var zero T
	if v != nil && *dst == zero {
		*dst = *v
	}
}

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

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
