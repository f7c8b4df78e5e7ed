package resilience

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Sentinels found with [errors.Is] in errors the executor returns. The
// local rejections are *aierrors.Error values with the sentinel in Err, so
// the fallback chain and callers treat them like provider answers.
var (
	// ErrCircuitOpen: the target's circuit is open (or half_open with every
	// probe slot taken). Code Overloaded, fallbackable, RetryAfter = time
	// left in the cooldown when known. The executor never retries it on the
	// same target.
	ErrCircuitOpen = errors.New("resilience: circuit open")
	// ErrRateLimitWait: the wait for a rate token (or a provider pause)
	// cannot finish before the ctx deadline. Code RateLimited, RetryAfter =
	// the wait needed.
	ErrRateLimitWait = errors.New("resilience: rate limit wait exceeds deadline")
	// ErrQueueFull: no in-flight permit became free within
	// BackpressureConfig.QueueTimeout. Code Overloaded (retryable and
	// fallbackable), no RetryAfter.
	ErrQueueFull = errors.New("resilience: in-flight queue full")
	// ErrAttemptTimeout: one attempt ran past its own timeout (not the
	// caller's deadline). Code Timeout, retryable: the executor retries it
	// at once, without a backoff delay (a slow attempt is not evidence of
	// overload; the retry budget caps retries if many are slow). The client
	// package's ErrAttemptTimeout is this value.
	ErrAttemptTimeout = errors.New("resilience: attempt timed out")
	// ErrRetriesExhausted: every retry failed. The error also unwraps to the
	// last attempt's *aierrors.Error, so [aierrors.CodeOf] reports its code.
	ErrRetriesExhausted = errors.New("resilience: retries exhausted")
)

// splitTarget splits "provider/model" at the first "/".
func splitTarget(target string) (provider, model string) {
	if p, m, ok := strings.Cut(target, "/"); ok {
		return p, m
	}
	return target, ""
}

// rejection builds a local-rejection error for target.
func rejection(target string, code aierrors.StandardErrorCode, sentinel error, retryAfter time.Duration, msg string) *aierrors.Error {
	p, m := splitTarget(target)
	return &aierrors.Error{Code: code, Provider: p, Model: m, RetryAfter: retryAfter, Message: msg, Err: sentinel}
}

// exhaustedError is returned when retries run out. It unwraps to
// ErrRetriesExhausted and to the last attempt's error.
type exhaustedError struct {
	attempts int
	last     error
	budget   bool // the retry budget refused the next retry: unwraps to ErrRetryBudgetExhausted instead
}

func (e *exhaustedError) Error() string {
	if e.budget {
		return "resilience: retry budget exhausted after " + strconv.Itoa(e.attempts) + " attempts: " + e.last.Error()
	}
	return "resilience: retries exhausted after " + strconv.Itoa(e.attempts) + " attempts: " + e.last.Error()
}

func (e *exhaustedError) Unwrap() []error {
	if e.budget {
		return []error{e.last, ErrRetryBudgetExhausted}
	}
	return []error{e.last, ErrRetriesExhausted}
}

// classify turns op's error into (its *aierrors.Error, the error to return).
// An error with an *aierrors.Error in its chain is returned as is; any other
// error is classified with aierrors.ClassifyTransport and stamped with the
// target. nil in, nil out.
func classify(err error, target string) (*aierrors.Error, error) {
	if err == nil {
		return nil, nil
	}
	return classifySlow(err, target)
}

func classifySlow(err error, target string) (*aierrors.Error, error) {
	if ae, ok := errors.AsType[*aierrors.Error](err); ok && ae != nil {
		return ae, err
	}
	ae := aierrors.ClassifyTransport(err)
	if ae.Provider == "" && ae.Model == "" {
		ae.Provider, ae.Model = splitTarget(target)
	}
	return ae, ae
}

// ctxError is the error for a ctx that is done: Cancelled or Timeout, with
// ctx.Err() (and its cause, when different) reachable through Unwrap.
func ctxError(ctx context.Context, target string) *aierrors.Error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	ae := aierrors.ClassifyTransport(err)
	if ae.Provider == "" && ae.Model == "" {
		ae.Provider, ae.Model = splitTarget(target)
	}
	return ae
}
