package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/sony/gobreaker/v2"
)

// Rule: half-open admits a fixed number of probes and rejects the rest at
// once; it does not queue them.
func TestHalfOpenAdmitsExactlyHalfOpenMaxRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: 10 * time.Second, HalfOpenMaxRequests: 2},
		}, WithHooks(ev.hooks()))
		openCircuit(t, e, 1)
		time.Sleep(10 * time.Second)
		if s := e.Signals().CircuitState; s != StateHalfOpen {
			t.Fatalf("after cooldown CircuitState = %v; want half_open", s)
		}
		release := make(chan struct{})
		results := make(chan error, 2)
		for range 2 {
			go func() {
				results <- e.Execute(context.Background(), func(context.Context) error { <-release; return nil })
			}()
		}
		synctest.Wait() // both probes admitted and running
		start := time.Now()
		err := e.Execute(context.Background(), func(context.Context) error {
			t.Error("third call ran while half_open with 2 probes out")
			return nil
		})
		if !errors.Is(err, ErrCircuitOpen) || time.Since(start) != 0 {
			t.Errorf("third call while half_open = %v after %v; want ErrCircuitOpen at once", err, time.Since(start))
		}
		close(release)
		for range 2 {
			if err := <-results; err != nil {
				t.Errorf("probe = %v; want nil", err)
			}
		}
		if s := e.Signals().CircuitState; s != StateClosed {
			t.Errorf("after 2 successful probes CircuitState = %v; want closed", s)
		}
	})
}

// A failed probe opens the circuit again for a full cooldown.
func TestHalfOpenFailureReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: 5 * time.Second}})
		openCircuit(t, e, 2)
		time.Sleep(5 * time.Second)
		_ = e.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.Timeout) })
		s := e.Signals()
		if s.CircuitState != StateOpen || s.CooldownRemaining != 5*time.Second {
			t.Errorf("after a failed probe Signals = {%v, cooldown %v}; want {open, 5s}", s.CircuitState, s.CooldownRemaining)
		}
	})
}

// Rule: transitions are computed from the clock when asked: State() is
// always current, so preflight and signals never see a stale "open".
func TestStateIsComputedFromTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := NewCircuitBreaker(CircuitBreakerConfig{FailureThreshold: 1, Cooldown: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
		if s := b.State(); s != StateOpen {
			t.Fatalf("State() = %v; want open", s)
		}
		time.Sleep(30*time.Second - time.Nanosecond)
		if s, r := b.State(), b.CooldownRemaining(); s != StateOpen || r != time.Nanosecond {
			t.Errorf("1ns before the cooldown ends: State() = %v, CooldownRemaining() = %v; want open, 1ns", s, r)
		}
		time.Sleep(time.Nanosecond)
		if s := b.State(); s != StateHalfOpen {
			t.Errorf("at the end of the cooldown State() = %v; want half_open", s)
		}
		if ae := b.Preflight(); ae != nil {
			t.Errorf("Preflight() when half_open with a free slot = %v; want nil", ae)
		}
	})
}

// The state-change hook runs outside every lock: it can call back into the
// breaker and the executor without deadlocking, and sees the transitions in
// order.
func TestStateChangeHookRunsOutsideLocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e *ResilientExecutor
		var seen []StateChange
		var inHook []CircuitState
		e = mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second}},
			WithName("p/m"),
			WithHooks(Hooks{OnStateChange: func(s StateChange) {
				seen = append(seen, s)
				inHook = append(inHook, e.CircuitBreaker().State(), e.Signals().CircuitState)
			}}))
		openCircuit(t, e, 1)
		time.Sleep(time.Second)
		_ = e.Execute(context.Background(), func(context.Context) error { return nil })
		want := []StateChange{
			{"p/m", StateClosed, StateOpen},
			{"p/m", StateOpen, StateHalfOpen},
			{"p/m", StateHalfOpen, StateClosed},
		}
		if len(seen) != len(want) {
			t.Fatalf("OnStateChange saw %v; want %v", seen, want)
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Errorf("transition %d = %+v; want %+v", i, seen[i], want[i])
			}
		}
		if len(inHook) != 6 {
			t.Errorf("hook read state %d times; want 6", len(inHook))
		}
	})
}

func TestCircuitStateString(t *testing.T) {
	tests := []struct {
		s    CircuitState
		want string
	}{{StateClosed, "closed"}, {StateOpen, "open"}, {StateHalfOpen, "half_open"}, {CircuitState(9), "CircuitState(9)"}}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("CircuitState(%d).String() = %q; want %q", uint8(tt.s), got, tt.want)
		}
	}
}

// The standalone breaker classifies like the executor and is nil-safe.
func TestCircuitBreakerStandalone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rejections []Rejection
		b, err := NewCircuitBreaker(CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Minute},
			WithName("x/y"), WithHooks(Hooks{OnRejection: func(r Rejection) { rejections = append(rejections, r) }}))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_ = b.Execute(context.Background(), func(context.Context) error { return errors.New("decode: bad json") })
		}
		if b.ConsecutiveFailures() != 0 || b.State() != StateClosed {
			t.Errorf("after 2 unknown errors: failures %d, state %v; want 0, closed", b.ConsecutiveFailures(), b.State())
		}
		for range 2 {
			_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
		}
		err = b.Execute(context.Background(), func(context.Context) error { return nil })
		if !errors.Is(err, ErrCircuitOpen) || b.CooldownRemaining() != time.Minute {
			t.Errorf("Execute on open breaker = %v, cooldown %v; want ErrCircuitOpen, 1m", err, b.CooldownRemaining())
		}
		if ae := b.Preflight(); ae == nil || !errors.Is(ae, ErrCircuitOpen) || ae.RetryAfter != time.Minute {
			t.Errorf("Preflight() = %v; want ErrCircuitOpen with RetryAfter 1m", ae)
		}

		if len(rejections) != 1 || rejections[0].Target != "x/y" || !errors.Is(rejections[0].Err, ErrCircuitOpen) {
			t.Errorf("OnRejection saw %+v; want one circuit-open rejection of x/y", rejections)
		}

		var nilB *CircuitBreaker
		if nilB.State() != StateClosed || nilB.Preflight() != nil || nilB.ConsecutiveFailures() != 0 || nilB.CooldownRemaining() != 0 {
			t.Error("nil breaker is not neutral")
		}
		if err := nilB.Execute(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Errorf("nil breaker Execute = %v; want nil", err)
		}
	})
}

// The success fast path (skipping gobreaker while closed with no
// consecutive failure) must be invisible: fed the same random sequence of
// outcomes and pauses, the breaker matches a plain gobreaker step by step.
// (Consecutive rule alone: gobreaker has no failure-rate rule to compare
// with; TestBreakerMatchesReferenceModel covers that.)
func TestBreakerMatchesGobreaker(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			const cooldown = 10 * time.Second
			cfg := CircuitBreakerConfig{Trip: TripOnConsecutive, FailureThreshold: 3, Cooldown: cooldown, HalfOpenMaxRequests: 2}
			b, err := NewCircuitBreaker(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ref := gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
				MaxRequests: 2,
				Timeout:     cooldown - 1,
				ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
				IsExcluded:  func(err error) bool { return err == errIgnoredOutcome },
			})
			r := rand.New(rand.NewPCG(seed, 7))
			answers := []struct {
				err error // what op returns
				ref error // what gobreaker is told
			}{
				{nil, nil},
				{providerErr(aierrors.ServerError), errCountedFailure},
				{providerErr(aierrors.InvalidRequest), errIgnoredOutcome},
			}
			for step := range 300 {
				time.Sleep(time.Duration(r.IntN(4)) * time.Second)
				a := answers[r.IntN(len(answers))]
				_, refErr := ref.Execute(func() (struct{}, error) { return struct{}{}, a.ref })
				err := b.Execute(context.Background(), func(context.Context) error { return a.err })
				refRejected := errors.Is(refErr, gobreaker.ErrOpenState) || errors.Is(refErr, gobreaker.ErrTooManyRequests)
				if rejected := errors.Is(err, ErrCircuitOpen); rejected != refRejected {
					t.Fatalf("seed %d step %d: rejected = %v; gobreaker rejected = %v", seed, step, rejected, refRejected)
				}
				if got, want := b.State(), fromGobreaker(ref.State()); got != want {
					t.Fatalf("seed %d step %d: State() = %v; gobreaker says %v", seed, step, got, want)
				}
				if got, want := b.ConsecutiveFailures(), int(ref.Counts().ConsecutiveFailures); got != want {
					t.Fatalf("seed %d step %d: ConsecutiveFailures() = %d; gobreaker says %d", seed, step, got, want)
				}
			}
		})
	}
}

// A success admitted while the breaker was clean but finishing after a
// concurrent failure is recorded, as gobreaker would: it resets the count.
// A result from before a state change is dropped.
func TestLateResultsAreRecordedLikeGobreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := NewCircuitBreaker(CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		release := make(chan error)
		done := make(chan struct{})
		go func() {
			_ = b.Execute(context.Background(), func(context.Context) error { return <-release })
			close(done)
		}()
		synctest.Wait()
		_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
		if got := b.ConsecutiveFailures(); got != 1 {
			t.Fatalf("ConsecutiveFailures() = %d; want 1", got)
		}
		release <- nil
		<-done
		if got := b.ConsecutiveFailures(); got != 0 {
			t.Errorf("after the late success ConsecutiveFailures() = %d; want 0", got)
		}

		// A failure admitted before the circuit opened and closed again is
		// dropped: it belongs to an earlier state.
		done = make(chan struct{})
		go func() {
			_ = b.Execute(context.Background(), func(context.Context) error { return <-release })
			close(done)
		}()
		synctest.Wait()
		for range 2 {
			_ = b.Execute(context.Background(), func(context.Context) error { return providerErr(aierrors.ServerError) })
		}
		time.Sleep(time.Second)
		_ = b.Execute(context.Background(), func(context.Context) error { return nil }) // probe closes it
		if s := b.State(); s != StateClosed {
			t.Fatalf("State() = %v; want closed", s)
		}
		release <- providerErr(aierrors.ServerError)
		<-done
		if got := b.ConsecutiveFailures(); got != 0 {
			t.Errorf("a failure from an earlier state was counted: ConsecutiveFailures() = %d; want 0", got)
		}
	})
}
