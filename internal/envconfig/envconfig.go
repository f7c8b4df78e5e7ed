package envconfig

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
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
	BreakerMaxCooldownSecs  = "AI_LIB_BREAKER_MAX_COOLDOWN_SECS"
	BreakerFailureRate      = "AI_LIB_BREAKER_FAILURE_RATE"
	BreakerMinRequests      = "AI_LIB_BREAKER_MIN_REQUESTS"
	BreakerWindowSecs       = "AI_LIB_BREAKER_WINDOW_SECS"
	MaxInflight             = "AI_LIB_MAX_INFLIGHT"
	QueueTimeoutMS          = "AI_LIB_QUEUE_TIMEOUT_MS"
	TPM                     = "AI_LIB_TPM"
	RetryBudget             = "AI_LIB_RETRY_BUDGET"
)

// Ranges of the resilience variables.
const (
	MaxRPS              = 1e6
	MaxBurst            = 1_000_000
	MaxMaxRetries       = 100
	MaxFailureThreshold = 1_000_000
	MinCooldownSecs     = 0.001  // a shorter cooldown would round to nothing
	MaxCooldownSecs     = 86_400 // one day
	MaxMinRequests      = 1_000_000
	MinWindowSecs       = 0.01   // the window is kept in 10 buckets of at least 1ms
	MaxWindowSecs       = 86_400 // one day
	MaxMaxInflight      = 1_000_000
	MaxQueueTimeoutMS   = 3_600_000 // one hour
	MaxTPM              = 1e12
	MaxRetryBudget      = 1_000_000
)

// Names lists every variable this package reads, in documentation order.
var Names = []string{
	RPS, Burst, MaxRetries, BreakerFailureThreshold, BreakerCooldownSecs,
	BreakerMaxCooldownSecs, BreakerFailureRate, BreakerMinRequests, BreakerWindowSecs,
	MaxInflight, QueueTimeoutMS, TPM, RetryBudget,
}

// Prefix starts the name of every variable of this library.
const Prefix = "AI_LIB_"

// Unknown returns the names in environ ("NAME=value" entries, as from
// os.Environ) that start with [Prefix] but are not one of known: most
// likely misspellings (AI_LIB_RPSS), which would otherwise pass silently.
func Unknown(environ []string, known ...string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix) && !slices.Contains(Names, name) && !slices.Contains(known, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// LookupFunc looks a variable up; os.LookupEnv is the usual one.
type LookupFunc func(name string) (string, bool)

// VarError is a malformed or out-of-range variable.
type VarError struct {
	Name   string
	Value  string
	Reason string
}

func (e *VarError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Name, clip(e.Value), e.Reason)
}

// clip keeps a long value readable in an error.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Resilience is what the resilience variables say; a nil field was not set.
type Resilience struct {
	RPS                     *float64       // AI_LIB_RPS, requests per second, 0 = no limit
	Burst                   *int           // AI_LIB_BURST
	MaxRetries              *int           // AI_LIB_MAX_RETRIES
	BreakerFailureThreshold *int           // AI_LIB_BREAKER_FAILURE_THRESHOLD
	BreakerCooldown         *time.Duration // AI_LIB_BREAKER_COOLDOWN_SECS
	BreakerMaxCooldown      *time.Duration // AI_LIB_BREAKER_MAX_COOLDOWN_SECS
	BreakerFailureRate      *float64       // AI_LIB_BREAKER_FAILURE_RATE, in (0, 1]
	BreakerMinRequests      *int           // AI_LIB_BREAKER_MIN_REQUESTS
	BreakerWindow           *time.Duration // AI_LIB_BREAKER_WINDOW_SECS
	MaxInflight             *int           // AI_LIB_MAX_INFLIGHT, 0 = no limit
	QueueTimeout            *time.Duration // AI_LIB_QUEUE_TIMEOUT_MS, 0 = wait for ctx
	TPM                     *float64       // AI_LIB_TPM, tokens per minute, 0 = no limit
	RetryBudget             *int           // AI_LIB_RETRY_BUDGET, attempts; -1 = no budget
}

// ReadResilience reads every resilience variable through lookup (nil:
// os.LookupEnv). Each malformed or out-of-range value is a *VarError, all
// of them joined; the fields of the good ones are still set. An empty or
// blank value counts as unset.
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
	out.BreakerCooldown = r.seconds(BreakerCooldownSecs, MinCooldownSecs, MaxCooldownSecs)
	out.BreakerMaxCooldown = r.seconds(BreakerMaxCooldownSecs, MinCooldownSecs, MaxCooldownSecs)
	if f := r.float(BreakerFailureRate, 0, 1); f != nil {
		if *f == 0 {
			r.fail(BreakerFailureRate, "0", "must be > 0")
		} else {
			out.BreakerFailureRate = f
		}
	}
	out.BreakerMinRequests = r.int(BreakerMinRequests, 1, MaxMinRequests)
	out.BreakerWindow = r.seconds(BreakerWindowSecs, MinWindowSecs, MaxWindowSecs)
	out.MaxInflight = r.int(MaxInflight, 0, MaxMaxInflight)
	if ms := r.int(QueueTimeoutMS, 0, MaxQueueTimeoutMS); ms != nil {
		d := time.Duration(*ms) * time.Millisecond
		out.QueueTimeout = &d
	}
	out.TPM = r.float(TPM, 0, MaxTPM)
	if n := r.int(RetryBudget, -1, MaxRetryBudget); n != nil {
		if *n == 0 {
			r.fail(RetryBudget, "0", "must be -1 (no budget) or at least 1")
		} else {
			out.RetryBudget = n
		}
	}
	return out, errors.Join(r.errs...)
}

// seconds reads a duration in seconds within [lo, hi]; lo > 0, so that no
// value rounds to a zero duration (which would mean "the default").
func (r *reader) seconds(name string, lo, hi float64) *time.Duration {
	secs := r.float(name, lo, hi)
	if secs == nil {
		return nil
	}
	d := time.Duration(*secs * float64(time.Second))
	return &d
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
