package resilience

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Rule: the fallback chain moves on only for fallbackable errors or an
// open circuit; anything else returns at once.
func TestFallbackMovesOnlyForFallbackableOrOpenCircuit(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		moves bool
	}{
		{"circuit open", rejection("a/1", aierrors.Overloaded, ErrCircuitOpen, time.Second, "circuit open"), true},
		{"plain error", errors.New("boom"), false},
	}
	for _, code := range aierrors.Codes() {
		tests = append(tests, struct {
			name  string
			err   error
			moves bool
		}{code.Name(), providerErr(code), code.Fallbackable()})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tried []string
			err := NewFallbackChain("a/1", "b/2").Execute(context.Background(), func(_ context.Context, target string) error {
				tried = append(tried, target)
				if target == "a/1" {
					return tt.err
				}
				return nil
			})
			if got := len(tried) == 2; got != tt.moves {
				t.Errorf("after %v the chain tried %v; moved on = %v, want %v", tt.err, tried, got, tt.moves)
			}
			if tt.moves && err != nil {
				t.Errorf("Execute = %v; want nil from b/2", err)
			}
			if !tt.moves && err != tt.err {
				t.Errorf("Execute = %v; want the first error unchanged", err)
			}
		})
	}
}

// Rule: every hop is reported to hooks, the first one included.
func TestEveryHopIsReported(t *testing.T) {
	var ev events
	chain := NewFallbackChain("a/1", "b/2", "c/3").WithHooks(ev.hooks())
	e1, e2 := providerErr(aierrors.Overloaded), providerErr(aierrors.ServerError)
	_ = chain.Execute(context.Background(), func(_ context.Context, target string) error {
		switch target {
		case "a/1":
			return e1
		case "b/2":
			return e2
		}
		return nil
	})
	want := []FallbackHop{
		{From: "", To: "a/1", Index: -1},
		{From: "a/1", To: "b/2", Err: e1, Index: 0},
		{From: "b/2", To: "c/3", Err: e2, Index: 1},
	}
	if len(ev.hops) != len(want) {
		t.Fatalf("hops = %+v; want %+v", ev.hops, want)
	}
	for i := range want {
		if ev.hops[i] != want[i] {
			t.Errorf("hop %d = %+v; want %+v", i, ev.hops[i], want[i])
		}
	}
	// Running out reports a last hop to "".
	ev.hops = nil
	_ = chain.Execute(context.Background(), func(context.Context, string) error { return e1 })
	if n := len(ev.hops); n != 4 || ev.hops[3] != (FallbackHop{From: "c/3", To: "", Err: e1, Index: 2}) {
		t.Errorf("hops when all fail = %+v; want 4 ending with c/3 → \"\"", ev.hops)
	}
}

// When every target failed, the error reports the last target's code.
func TestFallbackExhaustedReportsLastCode(t *testing.T) {
	errs := map[string]error{
		"a/1": providerErr(aierrors.RateLimited),
		"b/2": rejection("b/2", aierrors.Overloaded, ErrCircuitOpen, 0, "circuit open"),
		"c/3": providerErr(aierrors.Timeout),
	}
	err := NewFallbackChain("a/1", "b/2", "c/3").Execute(context.Background(), func(_ context.Context, target string) error {
		return errs[target]
	})
	if aierrors.CodeOf(err) != aierrors.Timeout || !errors.Is(err, aierrors.Timeout) || !errors.Is(err, errs["c/3"]) {
		t.Errorf("Execute = %v (code %v); want the last target's timeout", err, aierrors.CodeOf(err))
	}
	if !errors.Is(err, aierrors.RateLimited) || !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("Execute = %v; want every target's error reachable", err)
	}
	for _, target := range []string{"a/1", "b/2", "c/3"} {
		if !strings.Contains(err.Error(), target) {
			t.Errorf("Error() = %q; want it to name %s", err.Error(), target)
		}
	}
	if err := NewFallbackChain().Execute(context.Background(), func(context.Context, string) error { return nil }); err == nil {
		t.Error("empty chain Execute = nil; want an error")
	}
}

// End to end: an open primary circuit moves the call to the fallback at
// once, without waiting for the cooldown.
func TestFallbackWithExecutors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := ResilientConfig{
			Retry:          exactRetry(2, 100*time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3, Cooldown: time.Minute},
		}
		execs := map[string]*ResilientExecutor{
			"openai/gpt-4o":            mustExecutor(t, cfg, WithName("openai/gpt-4o")),
			"anthropic/claude-3-haiku": mustExecutor(t, cfg, WithName("anthropic/claude-3-haiku")),
		}
		chain := NewFallbackChain("openai/gpt-4o", "anthropic/claude-3-haiku")
		call := func() (string, error) {
			var answered string
			err := chain.Execute(context.Background(), func(ctx context.Context, target string) error {
				return execs[target].Execute(ctx, func(context.Context) error {
					if target == "openai/gpt-4o" {
						return providerErr(aierrors.ServerError)
					}
					answered = target
					return nil
				})
			})
			return answered, err
		}
		start := time.Now()
		if got, err := call(); got != "anthropic/claude-3-haiku" || err != nil {
			t.Fatalf("first call answered by %q, %v; want the fallback", got, err)
		}
		if got := time.Since(start); got != 300*time.Millisecond {
			t.Errorf("first call took %v; want 300ms (two backoffs on the primary)", got)
		}
		start = time.Now()
		if got, err := call(); got != "anthropic/claude-3-haiku" || err != nil || time.Since(start) != 0 {
			t.Errorf("second call: %q, %v after %v; want the fallback at once (primary open)", got, err, time.Since(start))
		}
	})
}
