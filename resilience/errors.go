package resilience

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Sentinels in the Err field of the *aierrors.Error values the executor
// returns for its own decisions, for errors.Is.
var (
	// ErrCircuitOpen: the target's circuit is open (or half_open with every
	// probe slot taken). Code Overloaded, RetryAfter the cooldown left;
	// never retried on the same target, always fallbackable.
	ErrCircuitOpen = errors.New("resilience: circuit open")
	// ErrRateLimitWait: the wait for a rate token, or for a pause the
	// provider asked for, could not end in time for the attempt to finish
	// before the ctx deadline. Code RateLimited, RetryAfter the wait. The
	// wait was ailib's own, not the provider's.
	ErrRateLimitWait = errors.New("resilience: rate limit wait exceeds deadline")
	// ErrQueueFull: no in-flight permit within BackpressureConfig.QueueTimeout.
	ErrQueueFull = errors.New("resilience: in-flight queue full")
	// ErrTargetPaused: the target cools down after quota exhaustion, an
	// authentication failure or a long Retry-After (see [CooldownConfig]);
	// the code is the one of the answer that started it.
	ErrTargetPaused = errors.New("resilience: target paused")
	// ErrAttemptTimeout marks an attempt that ran past its own timeout (not
	// the caller's deadline): it is retried at once, without a backoff.
	ErrAttemptTimeout = errors.New("resilience: attempt timed out")
	// ErrRetriesExhausted: a retryable error, after the last retry.
	ErrRetriesExhausted = errors.New("resilience: retries exhausted")
	// ErrRetryBudgetExhausted: a retryable error whose retry the retry
	// budget refused (see RetryConfig.Budget).
	ErrRetryBudgetExhausted = errors.New("resilience: retry budget exhausted")
)

// splitTarget splits "provider/model", or a pool deployment's
// "provider/model#deployment".
func splitTarget(target string) (provider, model string) {
	if p, m, ok := strings.Cut(target, "/"); ok {
		if i := strings.LastIndexByte(m, '#'); i >= 0 {
			m = m[:i]
		}
		return p, m
	}
	return target, ""
}

// rejection is a local decision, reported like a provider answer.
func rejection(target string, code aierrors.StandardErrorCode, sentinel error, retryAfter time.Duration, msg string) *aierrors.Error {
	p, m := splitTarget(target)
	return &aierrors.Error{Code: code, Provider: p, Model: m, RetryAfter: retryAfter, Message: msg, Err: sentinel}
}

// localRejection reports whether ae is one of the executor's own refusals,
// which say nothing about the provider.
func localRejection(ae *aierrors.Error) bool {
	return errors.Is(ae.Err, ErrRateLimitWait) || errors.Is(ae.Err, ErrTargetPaused) ||
		errors.Is(ae.Err, ErrCircuitOpen) || errors.Is(ae.Err, ErrQueueFull)
}

// exhaustedError is a retryable error given up on: it unwraps to the last
// attempt's error and to ErrRetriesExhausted or ErrRetryBudgetExhausted.
type exhaustedError struct {
	attempts int
	last     error
	why      error // ErrRetriesExhausted or ErrRetryBudgetExhausted
}

func (e *exhaustedError) Error() string {
	what := "retries exhausted"
	if e.why == ErrRetryBudgetExhausted {
		what = "retry budget exhausted"
	}
	return "resilience: " + what + " after " + strconv.Itoa(e.attempts) + " attempts: " + e.last.Error()
}

func (e *exhaustedError) Unwrap() []error { return []error{e.last, e.why} }

// classify returns the *aierrors.Error of an op error (nil for nil),
// classifying a plain error as a transport failure, and the error to
// return for it.
func classify(err error, target string) (*aierrors.Error, error) {
	if err == nil {
		return nil, nil
	}
	if ae, ok := errors.AsType[*aierrors.Error](err); ok && ae != nil {
		return ae, err
	}
	ae := aierrors.ClassifyTransport(err)
	if ae.Provider == "" && ae.Model == "" {
		ae.Provider, ae.Model = splitTarget(target)
	}
	return ae, ae
}

// doneError is the error of a call whose ctx is done: code Cancelled (or
// Timeout for a deadline), matching context.Canceled (or
// context.DeadlineExceeded) and the ctx's cause, with last, the error the
// library was about to act on, still reachable through errors.As.
// Cancellation always wins: whatever was decided next is dropped.
func doneError(ctx context.Context, target string, last error) *aierrors.Error {
	if ae := doneAnswer(ctx, last); ae != nil {
		return ae
	}
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		err = errors.Join(err, cause)
	}
	ae := aierrors.ClassifyTransport(err)
	ae.Provider, ae.Model = splitTarget(target)
	if last != nil {
		ae.Err = errors.Join(err, last)
		ae.Message = strings.TrimSpace(ae.Message + " (after: " + last.Error() + ")")
	}
	return ae
}

// doneAnswer returns the error last decides by, when that already says
// ctx ended: an attempt (or a pool's deployment) saw the caller's ctx end
// and said so, a cancel or the call's deadline, not an attempt's own
// timeout. Wrapping it again would read as two failures, each "after" the
// other. nil otherwise.
func doneAnswer(ctx context.Context, last error) *aierrors.Error {
	ae, ok := errors.AsType[*aierrors.Error](last)
	if !ok || ae.HTTPStatus != 0 {
		return nil
	}
	switch {
	case ae.Code == aierrors.Cancelled && errors.Is(last, context.Canceled),
		ae.Code == aierrors.Timeout && errors.Is(ctx.Err(), context.DeadlineExceeded) &&
			errors.Is(last, context.DeadlineExceeded) && !errors.Is(last, ErrAttemptTimeout):
		return ae
	}
	return nil
}

// fromProvider reports whether err is an attempt's own outcome (a
// provider's answer or a transport failure), not a local refusal or ctx's
// end.
func fromProvider(ctx context.Context, err error) bool {
	ae, ok := errors.AsType[*aierrors.Error](err)
	if !ok {
		return true
	}
	if localRejection(ae) {
		return false
	}
	return !(ae.HTTPStatus == 0 && (ae.Code == aierrors.Cancelled || ae.Code == aierrors.Timeout) && ctx.Err() != nil && errors.Is(err, ctx.Err()))
}

// withCause returns err, and when err is a local refusal that came after a
// provider's answer (last), a copy of it that also wraps that answer: the
// call says why it stopped (circuit open, no time left to wait) and what
// the provider said before, reachable with errors.Is and errors.As.
func withCause(err, last error) error {
	ae, ok := errors.AsType[*aierrors.Error](err)
	if !ok || last == nil || last == err || !localRejection(ae) {
		return err
	}
	out := *ae
	out.Err = errors.Join(ae.Err, last)
	return &out
}
