package resilience

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v; want nil", err)
	}
	want := ResilientConfig{
		Retry: &RetryConfig{MaxRetries: 3, InitialDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, BackoffMultiplier: 2, Jitter: 0.2, MaxRetryAfter: time.Minute,
			BudgetPercent: 20, MinRetryConcurrency: 3},
		RateLimiter: &RateLimiterConfig{},
		Cooldown:    &CooldownConfig{Quota: time.Minute, Authentication: 5 * time.Minute, Max: time.Hour},
		// The breaker defaults changed deliberately with issue 10: 12 consecutive failures (was 5) or 80% of
		// at least 30 attempts in 30s; see the package doc for why.
		CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 12, Cooldown: 30 * time.Second, HalfOpenMaxRequests: 1,
			Trip: TripOnEither, FailureRateThreshold: 0.8, MinRequests: 30, Window: 30 * time.Second},
	}
	if got, w := show(c), show(want); got != w {
		t.Errorf("DefaultConfig() = %s; want %s", got, w)
	}
	c.Retry.MaxRetries = 99
	if DefaultConfig().Retry.MaxRetries != 3 {
		t.Error("DefaultConfig() shares its members between calls")
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := ResilientConfig{
		Retry:       &RetryConfig{MaxRetries: -1, InitialDelay: -1, MaxDelay: -2, BackoffMultiplier: 0.5, Jitter: math.NaN(), MaxRetryAfter: -3},
		RateLimiter: &RateLimiterConfig{RequestsPerSecond: math.NaN(), Burst: -1, MaxPause: -1, LearnedLimitTTL: -1},
		CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: -1, Cooldown: -1, HalfOpenMaxRequests: -1,
			Trip: 7, FailureRateThreshold: 1.5, MinRequests: -1, Window: -1},
		Backpressure: &BackpressureConfig{MaxInflight: -1, QueueTimeout: -1},
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want errors")
	}
	for _, field := range []string{
		"Retry.MaxRetries = -1", "Retry.InitialDelay = -1ns", "Retry.MaxDelay = -2ns", "Retry.BackoffMultiplier = 0.5",
		"Retry.Jitter = NaN", "Retry.MaxRetryAfter = -3ns", "RateLimiter.RequestsPerSecond = NaN", "RateLimiter.Burst = -1",
		"RateLimiter.MaxPause = -1ns", "CircuitBreaker.FailureThreshold = -1", "CircuitBreaker.Cooldown = -1ns",
		"CircuitBreaker.HalfOpenMaxRequests = -1", "Backpressure.MaxInflight = -1", "Backpressure.QueueTimeout = -1ns",
		"RateLimiter.LearnedLimitTTL = -1ns", "CircuitBreaker.Trip = TripRule(7)", "CircuitBreaker.FailureRateThreshold = 1.5",
		"CircuitBreaker.MinRequests = -1", "CircuitBreaker.Window = -1ns",
	} {
		if !strings.Contains(err.Error(), "resilience: "+field) {
			t.Errorf("Validate() = %q; want it to name %q", err, field)
		}
	}
	tests := []struct {
		name string
		cfg  ResilientConfig
		ok   bool
	}{
		{"zero", ResilientConfig{}, true},
		{"infinite rps", ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: math.Inf(1)}}, false},
		{"negative rps", ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: -1}}, false},
		{"jitter above 1", ResilientConfig{Retry: &RetryConfig{Jitter: 1.5}}, false},
		{"initial above max", ResilientConfig{Retry: &RetryConfig{InitialDelay: time.Minute, MaxDelay: time.Second}}, false},
		{"failure rate NaN", ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureRateThreshold: math.NaN()}}, false},
		{"failure rate negative", ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureRateThreshold: -0.1}}, false},
		{"failure rate 1", ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureRateThreshold: 1}}, true},
		{"window below MinWindow", ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{Window: 5 * time.Millisecond}}, false},
		{"window MinWindow", ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{Window: MinWindow}}, true},
		{"every trip rule", ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{Trip: TripOnConsecutive}}, true},
		{"initial above default max", ResilientConfig{Retry: &RetryConfig{InitialDelay: time.Minute}}, false},
		{"zero fields", ResilientConfig{Retry: &RetryConfig{}, RateLimiter: &RateLimiterConfig{}, CircuitBreaker: &CircuitBreakerConfig{}, Backpressure: &BackpressureConfig{}}, true},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v; want ok %v", tt.name, err, tt.ok)
		}
		if _, err := NewResilientExecutor(tt.cfg); (err == nil) != tt.ok {
			t.Errorf("%s: NewResilientExecutor() = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
	if _, err := NewCircuitBreaker(CircuitBreakerConfig{Cooldown: -1}); err == nil {
		t.Error("NewCircuitBreaker(Cooldown -1) = nil error; want one")
	}
	if _, err := NewRateLimiter(RateLimiterConfig{RequestsPerSecond: -1}); err == nil {
		t.Error("NewRateLimiter(-1 rps) = nil error; want one")
	}
	if _, err := NewBackpressure(BackpressureConfig{MaxInflight: -1}); err == nil {
		t.Error("NewBackpressure(-1) = nil error; want one")
	}
}

// NewResilientExecutor copies cfg: later changes have no effect.
func TestExecutorCopiesConfig(t *testing.T) {
	cfg := ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 2}}
	e := mustExecutor(t, cfg)
	cfg.Backpressure.MaxInflight = 100
	if got := e.Signals().MaxInflight; got != 2 {
		t.Errorf("MaxInflight after changing cfg = %d; want 2", got)
	}
}

// Rule: environment tuning is real and strict.
func TestEnvironmentTuningIsRealAndStrict(t *testing.T) {
	t.Run("every variable", func(t *testing.T) {
		t.Setenv("AI_LIB_RPS", "2.5")
		t.Setenv("AI_LIB_BURST", "7")
		t.Setenv("AI_LIB_MAX_RETRIES", "0")
		t.Setenv("AI_LIB_BREAKER_FAILURE_THRESHOLD", "9")
		t.Setenv("AI_LIB_BREAKER_COOLDOWN_SECS", "1.5")
		t.Setenv("AI_LIB_MAX_INFLIGHT", "16")
		t.Setenv("AI_LIB_QUEUE_TIMEOUT_MS", "250")
		t.Setenv("AI_LIB_BREAKER_TRIP", "consecutive")
		t.Setenv("AI_LIB_BREAKER_FAILURE_RATE", "0.9")
		t.Setenv("AI_LIB_BREAKER_MIN_REQUESTS", "50")
		t.Setenv("AI_LIB_BREAKER_WINDOW_SECS", "60")
		c, err := ConfigFromEnv()
		if err != nil {
			t.Fatalf("ConfigFromEnv() = %v; want nil error", err)
		}
		want := DefaultConfig()
		want.RateLimiter = &RateLimiterConfig{RequestsPerSecond: 2.5, Burst: 7}
		want.Retry.MaxRetries = 0
		want.CircuitBreaker.FailureThreshold = 9
		want.CircuitBreaker.Cooldown = 1500 * time.Millisecond
		want.CircuitBreaker.Trip = TripOnConsecutive
		want.CircuitBreaker.FailureRateThreshold = 0.9
		want.CircuitBreaker.MinRequests = 50
		want.CircuitBreaker.Window = time.Minute
		want.Backpressure = &BackpressureConfig{MaxInflight: 16, QueueTimeout: 250 * time.Millisecond}
		if got, w := show(c), show(want); got != w {
			t.Errorf("ConfigFromEnv() = %s; want %s", got, w)
		}
	})
	t.Run("unset and empty change nothing", func(t *testing.T) {
		t.Setenv("AI_LIB_RPS", "")
		t.Setenv("AI_LIB_MAX_RETRIES", "  ")
		c, err := ConfigFromEnv()
		if err != nil || show(c) != show(DefaultConfig()) {
			t.Errorf("ConfigFromEnv() = %+v, %v; want DefaultConfig(), nil", c, err)
		}
	})
	t.Run("rps 0 means unlimited", func(t *testing.T) {
		t.Setenv("AI_LIB_RPS", "0")
		c, err := OverlayEnv(ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 10}})
		if err != nil || c.RateLimiter.RequestsPerSecond != 0 {
			t.Fatalf("OverlayEnv = %+v, %v; want 0 rps", c.RateLimiter, err)
		}
		if e := mustExecutor(t, c); !math.IsInf(e.Signals().RateRemaining, 1) {
			t.Errorf("RateRemaining = %v; want +Inf", e.Signals().RateRemaining)
		}
	})
	t.Run("a variable enables a nil member", func(t *testing.T) {
		t.Setenv("AI_LIB_MAX_RETRIES", "2")
		t.Setenv("AI_LIB_BREAKER_COOLDOWN_SECS", "5")
		in := ResilientConfig{}
		c, err := OverlayEnv(in)
		if err != nil {
			t.Fatal(err)
		}
		wantRetry := *DefaultConfig().Retry
		wantRetry.MaxRetries = 2
		wantBreaker := *DefaultConfig().CircuitBreaker
		wantBreaker.Cooldown = 5 * time.Second
		if c.Retry == nil || *c.Retry != wantRetry || c.CircuitBreaker == nil || *c.CircuitBreaker != wantBreaker {
			t.Errorf("OverlayEnv(zero) = retry %+v, breaker %+v; want %+v, %+v", c.Retry, c.CircuitBreaker, wantRetry, wantBreaker)
		}
		if c.RateLimiter != nil || c.Backpressure != nil {
			t.Errorf("OverlayEnv(zero) enabled members no variable names: %+v", c)
		}
		if in.Retry != nil {
			t.Error("OverlayEnv modified its argument")
		}
	})
	t.Run("the argument is never modified", func(t *testing.T) {
		t.Setenv("AI_LIB_MAX_INFLIGHT", "3")
		in := ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 1}}
		c, err := OverlayEnv(in)
		if err != nil || c.Backpressure.MaxInflight != 3 || in.Backpressure.MaxInflight != 1 {
			t.Errorf("OverlayEnv: got %d, input now %d, err %v; want 3, 1, nil", c.Backpressure.MaxInflight, in.Backpressure.MaxInflight, err)
		}
	})
	t.Run("malformed values are errors naming variable and value", func(t *testing.T) {
		t.Setenv("AI_LIB_RPS", "abc")
		t.Setenv("AI_LIB_BURST", "0")
		t.Setenv("AI_LIB_MAX_RETRIES", "-1")
		t.Setenv("AI_LIB_BREAKER_FAILURE_THRESHOLD", "1.5")
		t.Setenv("AI_LIB_BREAKER_COOLDOWN_SECS", "0")
		t.Setenv("AI_LIB_MAX_INFLIGHT", "NaN")
		t.Setenv("AI_LIB_QUEUE_TIMEOUT_MS", "99999999999999999999")
		t.Setenv("AI_LIB_BREAKER_TRIP", "sometimes")
		t.Setenv("AI_LIB_BREAKER_FAILURE_RATE", "0")
		t.Setenv("AI_LIB_BREAKER_MIN_REQUESTS", "-3")
		t.Setenv("AI_LIB_BREAKER_WINDOW_SECS", "0")
		_, err := ConfigFromEnv()
		if err == nil {
			t.Fatal("ConfigFromEnv() = nil error; want every problem")
		}
		for _, want := range []string{
			`resilience: AI_LIB_RPS="abc": not a number`,
			`resilience: AI_LIB_BURST="0": out of range`,
			`resilience: AI_LIB_MAX_RETRIES="-1": out of range`,
			`resilience: AI_LIB_BREAKER_FAILURE_THRESHOLD="1.5": not an integer`,
			`resilience: AI_LIB_BREAKER_COOLDOWN_SECS="0": must be > 0`,
			`resilience: AI_LIB_MAX_INFLIGHT="NaN": not an integer`,
			`resilience: AI_LIB_QUEUE_TIMEOUT_MS="99999999999999999999": out of range`,
			`resilience: AI_LIB_BREAKER_TRIP="sometimes": must be one of either, failure_rate, consecutive`,
			`resilience: AI_LIB_BREAKER_FAILURE_RATE="0": must be > 0`,
			`resilience: AI_LIB_BREAKER_MIN_REQUESTS="-3": out of range`,
			`resilience: AI_LIB_BREAKER_WINDOW_SECS="0": out of range`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ConfigFromEnv() error = %q; want it to contain %q", err, want)
			}
		}
		if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 11 {
			t.Errorf("joined errors = %d; want 11", n)
		}
	})
	t.Run("rps NaN and Inf rejected", func(t *testing.T) {
		for _, v := range []string{"NaN", "Inf", "-1", "1e7"} {
			t.Setenv("AI_LIB_RPS", v)
			if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "AI_LIB_RPS=") {
				t.Errorf("AI_LIB_RPS=%s: ConfigFromEnv() = %v; want an error naming it", v, err)
			}
		}
	})
}

// A breaker variable enables a nil breaker from the defaults.
func TestOverlayEnvBreakerRule(t *testing.T) {
	t.Setenv("AI_LIB_BREAKER_TRIP", "FAILURE_RATE")
	c, err := OverlayEnv(ResilientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := *DefaultConfig().CircuitBreaker
	want.Trip = TripOnFailureRate
	if c.CircuitBreaker == nil || *c.CircuitBreaker != want {
		t.Errorf("OverlayEnv with AI_LIB_BREAKER_TRIP=FAILURE_RATE: breaker %+v; want %+v", c.CircuitBreaker, want)
	}
}

func TestTripRuleString(t *testing.T) {
	tests := []struct {
		r    TripRule
		want string
	}{{TripOnEither, "either"}, {TripOnFailureRate, "failure_rate"}, {TripOnConsecutive, "consecutive"}, {TripRule(9), "TripRule(9)"}}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("TripRule(%d).String() = %q; want %q", uint8(tt.r), got, tt.want)
		}
		if tt.r <= TripOnConsecutive && parseTripRule(tt.want) != tt.r {
			t.Errorf("parseTripRule(%q) = %v; want %v", tt.want, parseTripRule(tt.want), tt.r)
		}
	}
}

func TestSplitTarget(t *testing.T) {
	tests := []struct{ in, p, m string }{
		{"openai/gpt-4o", "openai", "gpt-4o"},
		{"openrouter/meta/llama", "openrouter", "meta/llama"},
		{"local", "local", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if p, m := splitTarget(tt.in); p != tt.p || m != tt.m {
			t.Errorf("splitTarget(%q) = %q, %q; want %q, %q", tt.in, p, m, tt.p, tt.m)
		}
	}
}

// show prints a config with its members dereferenced, for comparison.
func show(c ResilientConfig) string {
	deref := func(p any) string {
		switch v := p.(type) {
		case *RetryConfig:
			if v != nil {
				return fmt.Sprintf("%+v", *v)
			}
		case *RateLimiterConfig:
			if v != nil {
				return fmt.Sprintf("%+v", *v)
			}
		case *CircuitBreakerConfig:
			if v != nil {
				return fmt.Sprintf("%+v", *v)
			}
		case *BackpressureConfig:
			if v != nil {
				return fmt.Sprintf("%+v", *v)
			}
		case *CooldownConfig:
			if v != nil {
				return fmt.Sprintf("%+v", *v)
			}
		case *HedgeConfig:
			if v != nil {
				return fmt.Sprintf("%+v", *v)
			}
		}
		return "nil"
	}
	return fmt.Sprintf("{Retry:%s RateLimiter:%s CircuitBreaker:%s Backpressure:%s Cooldown:%s Hedge:%s}",
		deref(c.Retry), deref(c.RateLimiter), deref(c.CircuitBreaker), deref(c.Backpressure), deref(c.Cooldown), deref(c.Hedge))
}
