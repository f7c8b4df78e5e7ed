package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// driveCall runs op through a Call, as the client's Chat does.
func driveCall(ctx context.Context, e *ResilientExecutor, op func(context.Context) error, opts ...CallOption) error {
	call := e.Begin(ctx, opts...)
	defer call.Close()
	for call.Next() {
		call.Done(op(ctx))
	}
	return call.Err()
}

// TestCallMatchesExecute plays the same scripts through Execute and a
// caller-driven Call: same error, attempts, time and hooks.
func TestCallMatchesExecute(t *testing.T) {
	scripts := map[string][]error{
		"success":         nil,
		"503 503 ok":      {providerErr(aierrors.ServerError), providerErr(aierrors.ServerError)},
		"exhausted":       {providerErr(aierrors.ServerError), providerErr(aierrors.ServerError), providerErr(aierrors.ServerError), providerErr(aierrors.Overloaded)},
		"not retryable":   {providerErr(aierrors.InvalidRequest)},
		"retry-after":     {rateLimitedErr(3 * time.Second)},
		"transport error": {errors.New("connection reset by peer")},
	}
	for name, errs := range scripts {
		t.Run(name, func(t *testing.T) {
			type result struct {
				err     string
				code    aierrors.StandardErrorCode
				calls   int
				elapsed time.Duration
				starts  int
				retries int
			}
			play := func(drive func(context.Context, *ResilientExecutor, func(context.Context) error, ...CallOption) error) (r result) {
				synctest.Test(t, func(t *testing.T) {
					var ev events
					e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, 100*time.Millisecond)}, WithName("p/m"), WithHooks(ev.hooks()))
					op, calls := scriptOp(errs...)
					start := time.Now()
					err := drive(t.Context(), e, op)
					r = result{code: aierrors.CodeOf(err), calls: calls(), elapsed: time.Since(start), starts: ev.starts, retries: len(ev.retries)}
					if err != nil {
						r.err = err.Error()
					}
					if s := e.Signals(); s.CurrentInflight != 0 {
						t.Errorf("%d permits held after the call", s.CurrentInflight)
					}
				})
				return r
			}
			want := play(func(ctx context.Context, e *ResilientExecutor, op func(context.Context) error, opts ...CallOption) error {
				return e.Execute(ctx, op, opts...)
			})
			if got := play(driveCall); got != want {
				t.Errorf("Call: %+v\nExecute: %+v", got, want)
			}
		})
	}
}

func TestCallOnNilExecutorIsOneAttempt(t *testing.T) {
	var e *ResilientExecutor
	op, calls := scriptOp(providerErr(aierrors.ServerError))
	if err := driveCall(t.Context(), e, op); aierrors.CodeOf(err) != aierrors.ServerError || calls() != 1 {
		t.Errorf("Call on nil executor = %v after %d calls; want server_error after 1", err, calls())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := driveCall(ctx, e, op); !errors.Is(err, context.Canceled) || calls() != 1 {
		t.Errorf("Call on nil executor, cancelled = %v after %d calls; want Canceled, nothing sent", err, calls())
	}
}

// A send that panics leaves an attempt open: Close gives back its permit
// and records nothing against the provider.
func TestCallCloseReleasesAnAttemptLeftOpen(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{Backpressure: &BackpressureConfig{MaxInflight: 1}})
	func() {
		defer func() { _ = recover() }()
		call := e.Begin(t.Context())
		defer call.Close()
		for call.Next() {
			if got := e.Signals().CurrentInflight; got != 1 {
				t.Errorf("CurrentInflight during the attempt = %d; want 1", got)
			}
			panic("send failed")
		}
	}()
	s := e.Signals()
	if s.CurrentInflight != 0 || s.CircuitState != StateClosed {
		t.Errorf("after Close: inflight %d, circuit %v; want 0, closed", s.CurrentInflight, s.CircuitState)
	}
	if err := e.Execute(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Errorf("next call = %v; want nil (the permit is back)", err)
	}
}

func TestCallMisuse(t *testing.T) {
	e := mustExecutor(t, DefaultConfig())
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		f()
	}
	call := e.Begin(t.Context())
	defer call.Close()
	mustPanic("Done before Next", func() { call.Done(nil) })
	if !call.Next() {
		t.Fatal("Next = false; want true")
	}
	mustPanic("Next before Done", func() { call.Next() })
	if err := call.Err(); err != nil {
		t.Errorf("Err during the call = %v; want nil", err)
	}
	call.Done(nil)
	if call.Next() || call.Err() != nil {
		t.Errorf("after success: Next true or Err %v; want false, nil", call.Err())
	}
}

// driveChain runs op through a ChainCall, as the client's Chat does.
func driveChain(ctx context.Context, c *FallbackChain, op func(context.Context, string) error, opts ...Option) error {
	w := c.Begin(ctx, opts...)
	for w.Next() {
		w.Done(op(ctx, w.Target()))
	}
	return w.Err()
}

func TestChainCallMatchesExecute(t *testing.T) {
	chain := NewFallbackChain("a", "b", "c")
	cases := map[string]map[string]error{
		"first answers":       {},
		"falls back twice":    {"a": providerErr(aierrors.QuotaExhausted), "b": providerErr(aierrors.ServerError)},
		"all fail":            {"a": providerErr(aierrors.QuotaExhausted), "b": providerErr(aierrors.ServerError), "c": providerErr(aierrors.Overloaded)},
		"stops on bad input":  {"a": providerErr(aierrors.InvalidRequest)},
		"circuit open on one": {"a": &aierrors.Error{Code: aierrors.Overloaded, Err: ErrCircuitOpen}},
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			play := func(drive func(context.Context, *FallbackChain, func(context.Context, string) error, ...Option) error) (tried []string, hops int, text string) {
				op := func(_ context.Context, target string) error {
					tried = append(tried, target)
					return fail[target]
				}
				err := drive(t.Context(), chain, op, WithHooks(Hooks{OnFallback: func(FallbackHop) { hops++ }}))
				if err != nil {
					text = err.Error()
				}
				return tried, hops, text
			}
			wantTried, wantHops, wantErr := play(func(ctx context.Context, c *FallbackChain, op func(context.Context, string) error, opts ...Option) error {
				return c.Execute(ctx, op, opts...)
			})
			gotTried, gotHops, gotErr := play(driveChain)
			if len(gotTried) != len(wantTried) || gotHops != wantHops || gotErr != wantErr {
				t.Errorf("ChainCall: tried %v, %d hops, %q\nExecute: tried %v, %d hops, %q", gotTried, gotHops, gotErr, wantTried, wantHops, wantErr)
			}
		})
	}
	if err := driveChain(t.Context(), NewFallbackChain(), func(context.Context, string) error { return nil }); err == nil {
		t.Error("empty chain: nil error; want one")
	}
}
