package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Streams keep their permit until done, and the breaker records nothing
// until then.
func TestStreamKeepsPermitUntilDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Minute},
			Backpressure:   &BackpressureConfig{MaxInflight: 1, QueueTimeout: time.Second},
		})
		v, done, err := DoStream(context.Background(), e, func(context.Context) (string, error) { return "stream", nil })
		if v != "stream" || err != nil || done == nil {
			t.Fatalf("DoStream = %q, done %v, %v; want \"stream\", a done func, nil", v, done != nil, err)
		}
		if got := e.Signals().CurrentInflight; got != 1 {
			t.Errorf("CurrentInflight with an open stream = %d; want 1", got)
		}
		err = e.Execute(context.Background(), func(context.Context) error { return nil })
		if !errors.Is(err, ErrQueueFull) {
			t.Errorf("Execute while the stream holds the only permit = %v; want ErrQueueFull", err)
		}
		// The stream fails mid-way: only now does the breaker count it.
		if s := e.Signals().CircuitState; s != StateClosed {
			t.Errorf("CircuitState before done = %v; want closed", s)
		}
		done(providerErr(aierrors.ServerError))
		done(nil) // idempotent: the first call counts
		s := e.Signals()
		if s.CurrentInflight != 0 || s.CircuitState != StateOpen {
			t.Errorf("after done(server_error): inflight %d, state %v; want 0, open", s.CurrentInflight, s.CircuitState)
		}
	})
}

// A successful stream closes a half-open circuit only when done(nil) says
// the stream ended well; the probe slot is held meanwhile.
func TestStreamHoldsHalfOpenProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second}})
		openCircuit(t, e, 1)
		time.Sleep(time.Second)
		_, done, err := DoStream(context.Background(), e, func(context.Context) (int, error) { return 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Execute(context.Background(), func(context.Context) error { return nil }); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("Execute while the stream holds the probe = %v; want ErrCircuitOpen", err)
		}
		done(nil)
		if s := e.Signals().CircuitState; s != StateClosed {
			t.Errorf("after done(nil) CircuitState = %v; want closed", s)
		}
	})
}

// Errors returned by a stream's op are retried and classified as in Do.
func TestStreamErrorsRetriedLikeDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(2, time.Second),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 5},
			Backpressure:   &BackpressureConfig{MaxInflight: 1},
		}, WithHooks(ev.hooks()))
		n := 0
		start := time.Now()
		v, done, err := DoStream(context.Background(), e, func(context.Context) (int, error) {
			n++
			if n < 3 {
				return 0, providerErr(aierrors.Overloaded)
			}
			return n, nil
		})
		if v != 3 || err != nil || time.Since(start) != 3*time.Second {
			t.Fatalf("DoStream = %d, %v after %v; want 3, nil after 3s", v, err, time.Since(start))
		}
		if got := e.Signals().ConsecutiveFailures; got != 2 {
			t.Errorf("ConsecutiveFailures = %d; want 2", got)
		}
		time.Sleep(5 * time.Second)
		done(nil)
		if len(ev.ends) != 3 || ev.ends[2].Err != nil || ev.ends[2].Duration != 5*time.Second {
			t.Errorf("OnAttemptEnd = %+v; want 3 attempts, the last nil after 5s", ev.ends)
		}
		if s := e.Signals(); s.ConsecutiveFailures != 0 || s.CurrentInflight != 0 {
			t.Errorf("after done(nil): failures %d, inflight %d; want 0, 0", s.ConsecutiveFailures, s.CurrentInflight)
		}
		// Non-retryable: returned at once, nothing held.
		_, done, err = DoStream(context.Background(), e, func(context.Context) (int, error) {
			return 0, providerErr(aierrors.InvalidRequest)
		})
		if done != nil || aierrors.CodeOf(err) != aierrors.InvalidRequest || e.Signals().CurrentInflight != 0 {
			t.Errorf("DoStream(400) = done %v, %v; want nil done, invalid_request, nothing held", done != nil, err)
		}
	})
}

// A stream whose ctx ends before done is ignored by the breaker, and done
// still releases the permit.
func TestStreamCancelledIsNotFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1},
			Backpressure:   &BackpressureConfig{MaxInflight: 1},
		})
		ctx, cancel := context.WithCancel(context.Background())
		_, done, err := DoStream(ctx, e, func(context.Context) (int, error) { return 1, nil })
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		synctest.Wait()
		done(providerErr(aierrors.ServerError))
		if s := e.Signals(); s.CircuitState != StateClosed || s.CurrentInflight != 0 {
			t.Errorf("after a cancelled stream: state %v, inflight %d; want closed, 0", s.CircuitState, s.CurrentInflight)
		}
	})
}

// DoStream without a breaker, and on a nil executor.
func TestStreamWithoutBreaker(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 2}})
	_, done, err := DoStream(context.Background(), e, func(context.Context) (int, error) { return 1, nil })
	if err != nil || e.Signals().CurrentInflight != 1 {
		t.Fatalf("DoStream = %v, inflight %d; want nil, 1", err, e.Signals().CurrentInflight)
	}
	done(nil)
	if e.Signals().CurrentInflight != 0 {
		t.Errorf("inflight after done = %d; want 0", e.Signals().CurrentInflight)
	}
	var nilE *ResilientExecutor
	v, done, err := DoStream(context.Background(), nilE, func(context.Context) (int, error) { return 2, nil })
	if v != 2 || err != nil || done == nil {
		t.Fatalf("nil DoStream = %d, %v; want 2, nil with a done func", v, err)
	}
	done(nil)
}
