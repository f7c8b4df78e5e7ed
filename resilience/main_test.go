package resilience

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// providerErr is what a provider adapter would return for code.
func providerErr(code aierrors.StandardErrorCode) *aierrors.Error {
	return &aierrors.Error{Code: code, Provider: "test", Model: "m", HTTPStatus: code.HTTPStatus(), Message: code.Name()}
}

// rateLimitedErr is a 429 rate_limited answer asking to wait d.
func rateLimitedErr(d time.Duration) *aierrors.Error {
	e := providerErr(aierrors.RateLimited)
	e.RetryAfter = d
	return e
}

// mustExecutor builds an executor or fails the test.
func mustExecutor(t testing.TB, cfg ResilientConfig, opts ...Option) *ResilientExecutor {
	t.Helper()
	e, err := NewResilientExecutor(cfg, opts...)
	if err != nil {
		t.Fatalf("NewResilientExecutor(%+v) = %v; want nil error", cfg, err)
	}
	return e
}

// exactRetry retries n times with exact (jitter-free) delays starting at d.
func exactRetry(n int, d time.Duration) *RetryConfig {
	return &RetryConfig{MaxRetries: n, InitialDelay: d, MaxDelay: time.Hour, BackoffMultiplier: 2}
}

// failingOp returns err on every call and counts the calls.
type failingOp struct {
	mu    sync.Mutex
	err   error
	calls []time.Time
}

func (f *failingOp) op(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	return f.err
}

func (f *failingOp) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// scriptOp returns errs[i] on the i-th call, then nil.
func scriptOp(errs ...error) (func(context.Context) error, *int) {
	var mu sync.Mutex
	calls := 0
	return func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= len(errs) {
			return errs[calls-1]
		}
		return nil
	}, &calls
}

// events records hook calls.
type events struct {
	mu       sync.Mutex
	starts   []AttemptStart
	ends     []AttemptEnd
	retries  []RetryScheduled
	states   []StateChange
	waits    []LimiterWait
	rejected []Rejection
	hops     []FallbackHop
}

func (ev *events) hooks() Hooks {
	return Hooks{
		OnAttemptStart: func(a AttemptStart) { ev.mu.Lock(); ev.starts = append(ev.starts, a); ev.mu.Unlock() },
		OnAttemptEnd:   func(a AttemptEnd) { ev.mu.Lock(); ev.ends = append(ev.ends, a); ev.mu.Unlock() },
		OnRetry:        func(r RetryScheduled) { ev.mu.Lock(); ev.retries = append(ev.retries, r); ev.mu.Unlock() },
		OnStateChange:  func(s StateChange) { ev.mu.Lock(); ev.states = append(ev.states, s); ev.mu.Unlock() },
		OnLimiterWait:  func(w LimiterWait) { ev.mu.Lock(); ev.waits = append(ev.waits, w); ev.mu.Unlock() },
		OnRejection:    func(r Rejection) { ev.mu.Lock(); ev.rejected = append(ev.rejected, r); ev.mu.Unlock() },
		OnFallback:     func(h FallbackHop) { ev.mu.Lock(); ev.hops = append(ev.hops, h); ev.mu.Unlock() },
	}
}

// asAI returns err's *aierrors.Error or fails the test.
func asAI(t *testing.T, err error) *aierrors.Error {
	t.Helper()
	ae, ok := errors.AsType[*aierrors.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *aierrors.Error", err, err)
	}
	return ae
}

// openCircuit trips e's breaker with counted failures.
func openCircuit(t *testing.T, e *ResilientExecutor, failures int) {
	t.Helper()
	for range failures {
		_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
	}
	if s := e.Signals().CircuitState; s != StateOpen {
		t.Fatalf("after %d server errors, CircuitState = %v; want open", failures, s)
	}
}
