package resilience

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func providerErr(code aierrors.StandardErrorCode) *aierrors.Error {
	return &aierrors.Error{Code: code, Provider: "test", Model: "m", HTTPStatus: code.HTTPStatus(), Message: code.Name()}
}

func rateLimitedErr(d time.Duration) *aierrors.Error {
	e := providerErr(aierrors.RateLimited)
	e.RetryAfter = d
	return e
}

func mustExecutor(t testing.TB, cfg ResilientConfig, opts ...Option) *ResilientExecutor {
	t.Helper()
	e, err := NewResilientExecutor(cfg, opts...)
	if err != nil {
		t.Fatalf("NewResilientExecutor = %v; want nil error", err)
	}
	return e
}

// exactRetry is n retries with exact (unjittered) delays d, 2d, 4d, ...
func exactRetry(n int, d time.Duration) *RetryConfig {
	return &RetryConfig{MaxRetries: n, InitialDelay: d, MaxDelay: time.Hour, BackoffMultiplier: 2}
}

// scriptOp fails with errs in turn, then succeeds; calls counts attempts.
func scriptOp(errs ...error) (op func(context.Context) error, calls func() int) {
	var mu sync.Mutex
	n := 0
	return func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			if n <= len(errs) {
				return errs[n-1]
			}
			return nil
		}, func() int {
			mu.Lock()
			defer mu.Unlock()
			return n
		}
}

// events records every hook call.
type events struct {
	mu       sync.Mutex
	starts   int
	ends     []AttemptEnd
	retries  []RetryScheduled
	states   []StateChange
	waits    []LimiterWait
	rejected []Rejection
	hops     []FallbackHop
}

func (ev *events) hooks() Hooks {
	lock := func(f func()) { ev.mu.Lock(); defer ev.mu.Unlock(); f() }
	return Hooks{
		OnAttemptStart: func(AttemptStart) { lock(func() { ev.starts++ }) },
		OnAttemptEnd:   func(a AttemptEnd) { lock(func() { ev.ends = append(ev.ends, a) }) },
		OnRetry:        func(r RetryScheduled) { lock(func() { ev.retries = append(ev.retries, r) }) },
		OnStateChange:  func(s StateChange) { lock(func() { ev.states = append(ev.states, s) }) },
		OnLimiterWait:  func(w LimiterWait) { lock(func() { ev.waits = append(ev.waits, w) }) },
		OnRejection:    func(r Rejection) { lock(func() { ev.rejected = append(ev.rejected, r) }) },
		OnFallback:     func(h FallbackHop) { lock(func() { ev.hops = append(ev.hops, h) }) },
	}
}

// header builds an http.Header from name, value pairs.
func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
