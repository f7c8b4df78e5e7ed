package envconfig

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Names of the resilience variables.
const (
	RPS                     = "AI_LIB_RPS"
	Burst                   = "AI_LIB_BURST"
	MaxRetries              = "AI_LIB_MAX_RETRIES"
	BreakerFailureThreshold = "AI_LIB_BREAKER_FAILURE_THRESHOLD"
	BreakerCooldownSecs     = "AI_LIB_BREAKER_COOLDOWN_SECS"
	BreakerTrip             = "AI_LIB_BREAKER_TRIP"
	BreakerFailureRate      = "AI_LIB_BREAKER_FAILURE_RATE"
	BreakerMinRequests      = "AI_LIB_BREAKER_MIN_REQUESTS"
	BreakerWindowSecs       = "AI_LIB_BREAKER_WINDOW_SECS"
	MaxInflight             = "AI_LIB_MAX_INFLIGHT"
	QueueTimeoutMS          = "AI_LIB_QUEUE_TIMEOUT_MS"
	TPM                     = "AI_LIB_TPM"
	RetryBudgetPercent      = "AI_LIB_RETRY_BUDGET_PERCENT"
	RetryBudgetMin          = "AI_LIB_RETRY_BUDGET_MIN"
)

// Values accepted by AI_LIB_BREAKER_TRIP.
var BreakerTripValues = []string{"either", "failure_rate", "consecutive"}

// Ranges accepted for each variable (inclusive).
const (
	MaxRPS              = 1e6
	MaxBurst            = 1_000_000
	MaxMaxRetries       = 100
	MaxFailureThreshold = 1_000_000
	MaxCooldownSecs     = 86_400 // one day
	MaxMinRequests      = 1_000_000
	MinWindowSecs       = 0.01   // the window is kept in 10 buckets of at least 1ms
	MaxWindowSecs       = 86_400 // one day
	MaxMaxInflight      = 1_000_000
	MaxQueueTimeoutMS   = 3_600_000 // one hour
	MaxTPM              = 1e12
	MaxRetryBudgetMin   = 1_000_000
)

// Names lists every variable this package reads, in documentation order.
var Names = []string{
	RPS, Burst, MaxRetries, BreakerFailureThreshold, BreakerCooldownSecs,
	BreakerTrip, BreakerFailureRate, BreakerMinRequests, BreakerWindowSecs,
	MaxInflight, QueueTimeoutMS, TPM, RetryBudgetPercent, RetryBudgetMin,
}

// LookupFunc reads one variable, like [os.LookupEnv].
type LookupFunc func(name string) (string, bool)

// VarError is a malformed or out-of-range variable. Its message names the
// variable and quotes the value: AI_LIB_RPS="abc": not a number.
type VarError struct {
	Name   string
	Value  string
	Reason string
}

// Error returns NAME="value": reason.
func (e *VarError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Name, clip(e.Value), e.Reason)
}

// clip keeps error messages short whatever was put in the variable.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Resilience holds the resilience variables; a nil field was not set.
type Resilience struct {
	RPS                     *float64       // AI_LIB_RPS, requests per second, 0 = no limit
	Burst                   *int           // AI_LIB_BURST
	MaxRetries              *int           // AI_LIB_MAX_RETRIES
	BreakerFailureThreshold *int           // AI_LIB_BREAKER_FAILURE_THRESHOLD
	BreakerCooldown         *time.Duration // AI_LIB_BREAKER_COOLDOWN_SECS
	BreakerTrip             *string        // AI_LIB_BREAKER_TRIP, one of BreakerTripValues
	BreakerFailureRate      *float64       // AI_LIB_BREAKER_FAILURE_RATE, in (0, 1]
	BreakerMinRequests      *int           // AI_LIB_BREAKER_MIN_REQUESTS
	BreakerWindow           *time.Duration // AI_LIB_BREAKER_WINDOW_SECS
	MaxInflight             *int           // AI_LIB_MAX_INFLIGHT, 0 = no limit
	QueueTimeout            *time.Duration // AI_LIB_QUEUE_TIMEOUT_MS, 0 = wait for ctx
	TPM                     *float64       // AI_LIB_TPM, tokens per minute, 0 = no limit
	RetryBudgetPercent      *float64       // AI_LIB_RETRY_BUDGET_PERCENT, in (0, 100]; 100 = no budget
	RetryBudgetMin          *int           // AI_LIB_RETRY_BUDGET_MIN
}

// ReadResilience reads every resilience variable through lookup
// (os.LookupEnv when nil). It returns the valid ones and every problem,
// joined.
func ReadResilience(lookup LookupFunc) (Resilience, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	r := reader{lookup: lookup}
	var out Resilience
	out.RPS = r.float(RPS, 0, MaxRPS)
	out.Burst = r.int(Burst, 1, MaxBurst)
	out.MaxRetries = r.int(MaxRetries, 0, MaxMaxRetries)
	out.BreakerFailureThreshold = r.int(BreakerFailureThreshold, 1, MaxFailureThreshold)
	if secs := r.float(BreakerCooldownSecs, 0, MaxCooldownSecs); secs != nil {
		if *secs == 0 {
			r.fail(BreakerCooldownSecs, "0", "must be > 0")
		} else {
			d := time.Duration(*secs * float64(time.Second))
			out.BreakerCooldown = &d
		}
	}
	out.BreakerTrip = r.oneOf(BreakerTrip, BreakerTripValues)
	if f := r.float(BreakerFailureRate, 0, 1); f != nil {
		if *f == 0 {
			r.fail(BreakerFailureRate, "0", "must be > 0")
		} else {
			out.BreakerFailureRate = f
		}
	}
	out.BreakerMinRequests = r.int(BreakerMinRequests, 1, MaxMinRequests)
	if secs := r.float(BreakerWindowSecs, MinWindowSecs, MaxWindowSecs); secs != nil {
		d := time.Duration(*secs * float64(time.Second))
		out.BreakerWindow = &d
	}
	out.MaxInflight = r.int(MaxInflight, 0, MaxMaxInflight)
	if ms := r.int(QueueTimeoutMS, 0, MaxQueueTimeoutMS); ms != nil {
		d := time.Duration(*ms) * time.Millisecond
		out.QueueTimeout = &d
	}
	out.TPM = r.float(TPM, 0, MaxTPM)
	if f := r.float(RetryBudgetPercent, 0, 100); f != nil {
		if *f == 0 {
			r.fail(RetryBudgetPercent, "0", "must be > 0 (100 = no budget)")
		} else {
			out.RetryBudgetPercent = f
		}
	}
	out.RetryBudgetMin = r.int(RetryBudgetMin, 1, MaxRetryBudgetMin)
	return out, errors.Join(r.errs...)
}

type reader struct {
	lookup LookupFunc
	errs   []error
}

func (r *reader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) fail(name, value, reason string) {
	r.errs = append(r.errs, &VarError{Name: name, Value: value, Reason: reason})
}

func (r *reader) float(name string, lo, hi float64) *float64 {
	v, ok := r.get(name)
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		r.fail(name, v, "not a number")
		return nil
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < lo || f > hi:
		r.fail(name, v, fmt.Sprintf("out of range [%v, %v]", lo, hi))
		return nil
	}
	return &f
}

func (r *reader) int(name string, lo, hi int) *int {
	v, ok := r.get(name)
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		r.fail(name, v, "not an integer")
		return nil
	case err != nil || n < lo || n > hi:
		r.fail(name, v, fmt.Sprintf("out of range [%d, %d]", lo, hi))
		return nil
	}
	return &n
}

// oneOf reads a variable that must be one of values (compared without
// regard to case).
func (r *reader) oneOf(name string, values []string) *string {
	v, ok := r.get(name)
	if !ok {
		return nil
	}
	for _, want := range values {
		if strings.EqualFold(v, want) {
			return &want
		}
	}
	r.fail(name, v, "must be one of "+strings.Join(values, ", "))
	return nil
}
