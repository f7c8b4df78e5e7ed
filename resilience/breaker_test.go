package resilience

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/sony/gobreaker/v2"
)

func failing(code aierrors.StandardErrorCode) func(context.Context) error {
	return func(context.Context) error { return providerErr(code) }
}

func ok(context.Context) error { return nil }

func TestBreakerOpensOnConsecutiveFailuresAndRejectsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3, Cooldown: time.Second}}, WithName("p/m"), WithHooks(ev.hooks()))
		for range 3 {
			_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		}
		err := e.Execute(t.Context(), ok)
		if !errors.Is(err, ErrCircuitOpen) || aierrors.CodeOf(err) != aierrors.Overloaded {
			t.Fatalf("Execute after 3 failures = %v; want ErrCircuitOpen", err)
		}
		if s := e.Signals(); s.CircuitState != StateOpen || s.Circuit.OpenFor != time.Second {
			t.Errorf("Signals = %v open for %v; want open for 1s (the first cooldown)", s.CircuitState, s.Circuit.OpenFor)
		}
		if len(ev.states) != 1 || ev.states[0].To != StateOpen {
			t.Errorf("state changes = %+v; want one to open", ev.states)
		}
	})
}

func TestClientErrorsAndCancellationNeverOpen(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}, CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2}})
	for _, code := range []aierrors.StandardErrorCode{aierrors.InvalidRequest, aierrors.QuotaExhausted, aierrors.Authentication, aierrors.InvalidRequest} {
		_ = e.Execute(t.Context(), failing(code))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range 3 {
		_ = e.Execute(ctx, func(context.Context) error { cancel(); return providerErr(aierrors.ServerError) })
	}
	if s := e.breaker.State(); s != StateClosed {
		t.Errorf("State after client errors and cancellations = %v; want closed", s)
	}
}

// TestCooldownGrowsPerFailedProbe is issue 20's point 3: 1s, then 2s, 4s
// ... up to MaxCooldown, back to 1s once a probe succeeds.
func TestCooldownGrowsPerFailedProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second, MaxCooldown: 5 * time.Second}}, WithHooks(ev.hooks()))
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		var intervals []time.Duration
		for range 4 {
			d := e.Signals().Circuit.OpenFor
			intervals = append(intervals, d)
			time.Sleep(d)
			_ = e.Execute(t.Context(), failing(aierrors.ServerError)) // the probe fails
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
		for i := range want {
			if intervals[i] != want[i] {
				t.Fatalf("open intervals = %v; want %v", intervals, want)
			}
		}
		time.Sleep(e.Signals().Circuit.OpenFor)
		if err := e.Execute(t.Context(), ok); err != nil {
			t.Fatalf("probe = %v", err)
		}
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		if d := e.Signals().Circuit.OpenFor; d != time.Second {
			t.Errorf("open interval after a close = %v; want 1s again", d)
		}
		// Every change reported is one a caller could see: open and
		// half_open alternate, half_open only once the grown interval ended.
		for i := 1; i < len(ev.states); i++ {
			if ev.states[i].From != ev.states[i-1].To {
				t.Fatalf("state changes = %+v; want a chain", ev.states)
			}
		}
		if n := len(ev.states); n != 12 {
			t.Errorf("%d state changes; want 12 (open; 4 × half_open, open; half_open, closed; open)", n)
		}
	})
}

// TestStateSaysNoMoreThanTheHooks: once a grown open interval ends, the
// circuit reads half_open (gobreaker turned so at its fixed Timeout,
// unreported while the interval held it open); the hooks hear of it then,
// not at the next probe: a dashboard fed by the hooks and one reading
// Signals agree. (TestLoad met it: open per the hooks, half_open per
// Signals.)
func TestStateSaysNoMoreThanTheHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second, MaxCooldown: 8 * time.Second}}, WithHooks(ev.hooks()))
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		time.Sleep(time.Second)
		_ = e.Execute(t.Context(), failing(aierrors.ServerError)) // the probe fails: open for 2s
		time.Sleep(time.Second)
		if s := e.Signals().CircuitState; s != StateOpen {
			t.Fatalf("state 1s into the grown interval = %v; want open", s)
		}
		time.Sleep(time.Second)
		s := e.Signals().CircuitState
		last := ev.states[len(ev.states)-1]
		if s != StateHalfOpen || last.To != s || last.From != StateOpen {
			t.Fatalf("state after the grown interval = %v, last change reported %+v; want half_open, reported", s, last)
		}
		_ = e.Execute(t.Context(), ok) // the probe closes it
		for i := 1; i < len(ev.states); i++ {
			if ev.states[i].From != ev.states[i-1].To {
				t.Fatalf("state changes = %+v; want a chain", ev.states)
			}
		}
		if n := len(ev.states); n != 5 {
			t.Errorf("state changes = %+v; want 5 (open; half_open, open; half_open, closed)", ev.states)
		}
	})
}

// checkChain fails the test unless the state changes reported form a
// chain: each from the state the one before went to, the first from
// closed.
func checkChain(t *testing.T, ev *events) {
	t.Helper()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	from := StateClosed
	for _, c := range ev.states {
		if c.From != from {
			t.Fatalf("state changes = %+v; want a chain from closed", ev.states)
		}
		from = c.To
	}
}

// TestALateFailureIsNotAProbe: an attempt admitted while the circuit was
// closed and clean, failing once the circuit is half_open, says nothing
// of the provider now; counted, it was taken for a failed probe, reopened
// the circuit for a grown interval and reported half_open → open without
// the open → half_open before it.
func TestALateFailureIsNotAProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second}}, WithHooks(ev.hooks()))
		release := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- e.Execute(t.Context(), func(context.Context) error {
				<-release
				return &aierrors.Error{Code: aierrors.ServerError}
			})
		}()
		synctest.Wait() // admitted while clean, now waiting for its answer
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		time.Sleep(time.Second + time.Millisecond)
		if s := e.Signals().CircuitState; s != StateHalfOpen {
			t.Fatalf("state after the cooldown = %v; want half_open", s)
		}
		close(release)
		<-done
		if s := e.Signals().CircuitState; s != StateHalfOpen {
			t.Fatalf("state after a late failure = %v; want half_open still", s)
		}
		if err := e.Execute(t.Context(), ok); err != nil {
			t.Fatalf("probe = %v", err)
		}
		if s := e.Signals().CircuitState; s != StateClosed {
			t.Errorf("state after the probe = %v; want closed", s)
		}
		checkChain(t, &ev)
	})
}

// TestReportedChangesFormAChain: a probe admitted into a half_open that
// the grown interval held back, by a call that read the circuit's openings
// before the circuit opened again (it was paused), does not report the
// stale half_open; when its probe fails, the half_open it was admitted in
// is reported before the change that leaves it.
func TestReportedChangesFormAChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second}}, WithHooks(ev.hooks()))
		b := e.breaker
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		time.Sleep(time.Second + time.Millisecond)
		stale := b.opens.Load()                                   // a call reads this, then pauses
		_ = e.Execute(t.Context(), failing(aierrors.ServerError)) // another's probe fails: open for 2s
		time.Sleep(time.Second + time.Millisecond)                // gobreaker half_open, held back
		done, err := b.cb.Allow()                                 // the paused call goes on: admitted as a probe
		if err != nil {
			t.Fatalf("Allow = %v; want a probe slot", err)
		}
		b.sayHalfOpen(stale)
		done(errCounted)
		b.flush()
		checkChain(t, &ev)
	})
}

// TestHalfOpenAdmitsOnlyItsProbes: the rest are rejected at once.
func TestHalfOpenAdmitsOnlyItsProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}, CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second}})
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		time.Sleep(time.Second)
		release := make(chan struct{})
		probed := make(chan error, 1)
		go func() {
			probed <- e.Execute(t.Context(), func(context.Context) error { <-release; return nil })
		}()
		synctest.Wait() // the probe runs, holding the slot
		if err := e.Execute(t.Context(), ok); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("second attempt while the probe runs = %v; want ErrCircuitOpen", err)
		}
		close(release)
		if err := <-probed; err != nil {
			t.Fatalf("probe = %v", err)
		}
		if s := e.breaker.State(); s != StateClosed {
			t.Errorf("State after the probe succeeded = %v; want closed", s)
		}
	})
}

// TestAStreamProbeAnswersWhenItOpens: a probe that opened a stream has its
// answer, the provider answered; the circuit closes then, not when the
// stream ends. Before, the stream held the probe slot to its end, and
// every other call to the target waited for it (for ever, when the
// stream's caller called the target before closing it). A cut at the
// stream's end counts as one failure of the closed circuit.
func TestAStreamProbeAnswersWhenItOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}, CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second}})
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		time.Sleep(time.Second)
		var finish func(error)
		if _, err := Do(t.Context(), e, func(context.Context) (int, error) { return 1, nil }, WithStream(&finish)); err != nil {
			t.Fatalf("probe = %v", err)
		}
		if s := e.breaker.State(); s != StateClosed {
			t.Errorf("State once the probe's stream opened = %v; want closed", s)
		}
		if err := e.Execute(t.Context(), ok); err != nil {
			t.Errorf("another call while the probe's stream is read = %v; want it admitted", err)
		}
		finish(&aierrors.Error{Code: aierrors.ServerError, Message: "connection closed mid-stream"})
		if s := e.breaker.State(); s != StateClosed {
			t.Errorf("State after the stream was cut = %v; want closed (one failure of %d)", s, 2)
		}
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		if s := e.breaker.State(); s != StateOpen {
			t.Errorf("State after a second failure in a row = %v; want open (the cut counted)", s)
		}
	})
}

// TestAStreamProbeOfSeveralAnswersAtItsEnd: with more than one probe slot
// a probe's success does not close the circuit, so a stream that is one
// still answers as a probe when it ends: a cut reopens the circuit.
func TestAStreamProbeOfSeveralAnswersAtItsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true},
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second, HalfOpenMaxRequests: 2}})
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		time.Sleep(time.Second)
		var finish func(error)
		if _, err := Do(t.Context(), e, func(context.Context) (int, error) { return 1, nil }, WithStream(&finish)); err != nil {
			t.Fatalf("probe 1 = %v", err)
		}
		finish(&aierrors.Error{Code: aierrors.ServerError, Message: "connection closed mid-stream"})
		if s := e.breaker.State(); s != StateOpen {
			t.Errorf("State after probe 1's stream was cut = %v; want open", s)
		}
	})
}

// TestDontSleepTowardAnOpenCircuit is issue 20's point 4: a call waiting
// for its backoff when the circuit opens returns at once, with the
// cooldown left as RetryAfter.
func TestDontSleepTowardAnOpenCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 10*time.Second), CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second}})
		done := make(chan error)
		go func() { done <- e.Execute(t.Context(), failing(aierrors.ServerError)) }()
		synctest.Wait() // the first call failed once and sleeps its 10s backoff
		_ = e.Execute(t.Context(), failing(aierrors.ServerError))
		start := time.Now()
		err := <-done
		if !errors.Is(err, ErrCircuitOpen) || time.Since(start) != 0 {
			t.Fatalf("sleeping call = %v after %v; want ErrCircuitOpen at once", err, time.Since(start))
		}
		var ae *aierrors.Error
		if errors.As(err, &ae); ae.RetryAfter != time.Second {
			t.Errorf("RetryAfter = %v; want the cooldown left, 1s", ae.RetryAfter)
		}
		if !errors.Is(err, aierrors.ServerError) {
			t.Errorf("err = %v; want the provider's server_error, which came first, still reachable", err)
		}
	})
}

// TestBreakerFastPathMatchesGobreaker runs random outcome sequences through
// the breaker (whose successes skip gobreaker while clean) and through a
// plain gobreaker with the same settings fed every outcome, and compares
// their states after each step.
func TestBreakerFastPathMatchesGobreaker(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			// The rate rule is off (MinRequests out of reach): it reads the
			// skipped successes one bucket late by design (see maxSkipped).
			cfg := CircuitBreakerConfig{FailureThreshold: 4, MinRequests: 1 << 30, Window: time.Second, Cooldown: time.Second, MaxCooldown: time.Second}
			b := newCircuitBreaker(cfg, options{})
			ref := gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
				MaxRequests: 1, Interval: time.Second, BucketPeriod: 100 * time.Millisecond, Timeout: time.Second - 1,
				ReadyToTrip: b.readyToTrip, IsExcluded: func(err error) bool { return err == errIgnored },
			})
			pFail := rng.Float64()
			for step := range 400 {
				o := outcomeSuccess
				if rng.Float64() < pFail {
					o = outcomeFailure
				}
				clk := clock{time.Now()}
				if b.check(&clk) == nil {
					if tk, ae := b.allow(&clk); ae == nil {
						b.record(tk, o)
					}
				}
				if done, err := ref.Allow(); err == nil {
					done(o.err())
				}
				if got, want := b.State(), fromGobreaker(ref.State()); got != want {
					t.Fatalf("seed %d step %d: State = %v; gobreaker fed every outcome says %v", seed, step, got, want)
				}
				time.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond)
			}
		})
	}
}

// TestNoFallbackWaitsOutAnOpenCircuit: a call with nowhere else to go
// (WithNoFallback) that meets an open circuit sleeps until the circuit's
// next probe, sending nothing meanwhile, and succeeds once the provider
// is back; without the option it fails at once.
func TestNoFallbackWaitsOutAnOpenCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 100*time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second}})
		openWithTwoFailures(t, e)
		if s := e.Signals(); s.CircuitState != StateOpen {
			t.Fatalf("circuit %v after 2 failures; want open", s.CircuitState)
		}
		down := time.Now().Add(500 * time.Millisecond) // the provider is back after 500ms
		sent := 0
		op := func(context.Context) error {
			sent++
			if time.Now().Before(down) {
				return providerErr(aierrors.ServerError)
			}
			return nil
		}
		if err := e.Execute(t.Context(), op); !errors.Is(err, ErrCircuitOpen) || sent != 0 {
			t.Fatalf("without WithNoFallback: %v after %d requests; want ErrCircuitOpen at once, no request", err, sent)
		}
		start := time.Now()
		if err := e.Execute(t.Context(), op, WithNoFallback()); err != nil {
			t.Fatalf("WithNoFallback: %v; want success at the circuit's probe", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("WithNoFallback waited %v; want the 1s the circuit had left", waited)
		}
		if sent != 1 {
			t.Errorf("requests = %d; want 1, the probe (nothing while the circuit was open)", sent)
		}
		if s := e.Signals(); s.CircuitState != StateClosed {
			t.Errorf("circuit %v after the probe succeeded; want closed", s.CircuitState)
		}
	})
}

// TestNoFallbackFailsAtOnceWhenTheWaitCannotFit: the wait for the circuit
// must end, with time for an attempt, before the deadline, and the circuit
// must open for no longer than the longest backoff; otherwise the call
// fails at once with the time left open as RetryAfter.
func TestNoFallbackFailsAtOnceWhenTheWaitCannotFit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxDelay time.Duration
		deadline time.Duration // 0: none
	}{
		{"deadline before the probe", 10 * time.Second, 900 * time.Millisecond},
		{"open longer than MaxDelay", 500 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				retry := exactRetry(3, 100*time.Millisecond)
				retry.MaxDelay = tc.maxDelay
				e := mustExecutor(t, ResilientConfig{Retry: retry,
					CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second}})
				openWithTwoFailures(t, e)
				ctx := t.Context()
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				err := e.Execute(ctx, ok, WithNoFallback())
				if !errors.Is(err, ErrCircuitOpen) || time.Since(start) != 0 {
					t.Fatalf("Execute = %v after %v; want ErrCircuitOpen at once", err, time.Since(start))
				}
				if ae, _ := errors.AsType[*aierrors.Error](err); ae == nil || ae.RetryAfter != time.Second {
					t.Errorf("RetryAfter = %v; want the 1s left open", ae)
				}
			})
		})
	}
}

// TestNoFallbackWaitsWhenItsFailureOpensTheCircuit: the call whose own
// failure opens the circuit waits for the probe too, instead of sleeping
// its backoff and then failing.
func TestNoFallbackWaitsWhenItsFailureOpensTheCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 100*time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second}})
		start := time.Now()
		sent := 0
		err := e.Execute(t.Context(), func(context.Context) error {
			sent++
			if sent <= 2 {
				return providerErr(aierrors.ServerError) // the second opens the circuit
			}
			return nil
		}, WithNoFallback())
		if err != nil || sent != 3 {
			t.Fatalf("Execute = %v after %d requests; want success at the third, the probe", err, sent)
		}
		if d := time.Since(start); d != 100*time.Millisecond+time.Second {
			t.Errorf("took %v; want one backoff (100ms) and the cooldown (1s)", d)
		}
	})
}

// TestNoFallbackProbesItSentAreNotRetries: a call with nowhere else to
// go and a deadline that sends the circuit's probe itself, and sees it
// fail, waits for the next probe as it would had another call sent it:
// which waiter wins the probe slot is chance, and the circuit paces the
// probes. Without a deadline, each probe is one of its retries.
func TestNoFallbackProbesItSentAreNotRetries(t *testing.T) {
	for _, deadline := range []bool{true, false} {
		t.Run(fmt.Sprintf("deadline=%v", deadline), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := mustExecutor(t, ResilientConfig{Retry: exactRetry(1, 100*time.Millisecond),
					CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Second, MaxCooldown: 8 * time.Second}})
				ctx := t.Context()
				if deadline {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
				}
				start := time.Now()
				sent := 0
				err := e.Execute(ctx, func(context.Context) error {
					sent++
					if sent <= 3 { // the first opens the circuit; two probes fail
						return providerErr(aierrors.ServerError)
					}
					return nil
				}, WithNoFallback())
				switch {
				case deadline && (err != nil || sent != 4 || time.Since(start) != 3*time.Second):
					t.Errorf("Execute = %v after %d requests and %v; want success at the third probe, 3s in (one a second)",
						err, sent, time.Since(start))
				case !deadline && (err == nil || sent != 2):
					t.Errorf("Execute = %v after %d requests; want the failed probe as its one retry (2 requests)", err, sent)
				}
			})
		})
	}
}

// TestNoFallbackBringsAGrownIntervalsProbeForward: the open interval grows
// with each failed probe to spare the provider probes nobody needs; a
// call with nowhere else to go needs one, so it brings the next probe
// forward to Cooldown after the circuit last opened. A call with a
// fallback still sees the grown interval.
func TestNoFallbackBringsAGrownIntervalsProbeForward(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 100*time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second, MaxCooldown: 8 * time.Second}})
		openWithTwoFailures(t, e)
		// Two failed probes: the interval grows 1s → 2s → 4s.
		for _, d := range []time.Duration{time.Second, 2 * time.Second} {
			time.Sleep(d)
			_ = e.Execute(t.Context(), failing(aierrors.ServerError), WithMaxRetries(0))
		}
		err := e.Execute(t.Context(), ok)
		if ae, _ := errors.AsType[*aierrors.Error](err); ae == nil || !errors.Is(err, ErrCircuitOpen) || ae.RetryAfter != 4*time.Second {
			t.Fatalf("with a fallback: %v; want ErrCircuitOpen with the grown interval, 4s, as RetryAfter", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second) // shorter than the grown interval
		defer cancel()
		start := time.Now()
		sent := 0
		if err := e.Execute(ctx, func(context.Context) error { sent++; return nil }, WithNoFallback()); err != nil {
			t.Fatalf("WithNoFallback: %v; want success at the probe brought forward", err)
		}
		if waited := time.Since(start); waited != time.Second || sent != 1 {
			t.Errorf("WithNoFallback waited %v and sent %d; want 1s (Cooldown after the circuit opened) and 1 request", waited, sent)
		}
	})
}

// TestNoFallbackWaitersShareTheProbe: calls that meet the circuit
// half_open, its probe slot taken by another call, wait for that probe's
// answer and then go through; losing the race for the slot is not an
// attempt of theirs, so a call with no retry left succeeds too.
func TestNoFallbackWaitersShareTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, 100*time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second}})
		openWithTwoFailures(t, e)
		time.Sleep(time.Second) // half_open: the next admission is the probe
		var sent atomic.Int32
		op := func(context.Context) error {
			sent.Add(1)
			time.Sleep(50 * time.Millisecond)
			return nil
		}
		errs := make(chan error, 5)
		for range 5 {
			go func() {
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				defer cancel()
				errs <- e.Execute(ctx, op, WithNoFallback(), WithMaxRetries(0))
			}()
		}
		for range 5 {
			if err := <-errs; err != nil {
				t.Errorf("Execute = %v; want success after the probe", err)
			}
		}
		if n := sent.Load(); n != 5 {
			t.Errorf("requests = %d; want 5 (the probe, then the four waiters)", n)
		}
	})
}

// openWithTwoFailures opens the circuit of e (FailureThreshold 2) with
// two failed calls of one attempt each.
func openWithTwoFailures(t *testing.T, e *ResilientExecutor) {
	t.Helper()
	for range 2 {
		_ = e.Execute(t.Context(), failing(aierrors.ServerError), WithMaxRetries(0))
	}
}

// A run of failures opens the circuit when it is too long to be chance at
// the share of attempts that failed before it: 6 after a healthy stretch,
// the threshold (11) after a noisy one or with nothing counted before, and
// never more than a configured threshold.
func TestTheRunThatOpensDependsOnTheFailuresBefore(t *testing.T) {
	fail := &aierrors.Error{Code: aierrors.ServerError, HTTPStatus: 500}
	// opensAfter plays the outcomes before (true: failed), then failures
	// until the circuit opens, and returns how many it took.
	opensAfter := func(cfg CircuitBreakerConfig, before []bool) int {
		var n int
		synctest.Test(t, func(t *testing.T) {
			b, err := NewCircuitBreaker(cfg)
			if err != nil {
				t.Fatal(err)
			}
			play := func(failed bool) {
				time.Sleep(10 * time.Millisecond)
				_ = b.Execute(context.Background(), func(context.Context) error {
					if failed {
						return fail
					}
					return nil
				})
			}
			for _, f := range before {
				play(f)
				if b.State() != StateClosed {
					t.Fatal("the circuit opened before the run")
				}
			}
			for n = 1; n <= 50; n++ {
				play(true)
				if b.State() == StateOpen {
					return
				}
			}
		})
		return n
	}
	healthy := make([]bool, 100)
	noisy := make([]bool, 1000)
	for i := range noisy {
		noisy[i] = i%10 < 3 && i%10 != 2 || i%20 == 2 // 25% failed, never more than 2 in a row
	}
	for _, tc := range []struct {
		name   string
		cfg    CircuitBreakerConfig
		before []bool
		want   int
	}{
		{"healthy", CircuitBreakerConfig{}, healthy, 6},
		{"nothing counted", CircuitBreakerConfig{}, nil, 11},
		{"a few successes", CircuitBreakerConfig{}, healthy[:3], 9}, // (0+1)/(3+2) = 0.2: 0.2^9 < 1e-6
		{"noisy", CircuitBreakerConfig{}, noisy, 10},                // 0.25^10 < 1e-6
		{"configured", CircuitBreakerConfig{FailureThreshold: 4}, healthy, 4},
	} {
		if got := opensAfter(tc.cfg, tc.before); got != tc.want {
			t.Errorf("%s: the circuit opened after %d failures in a row; want %d", tc.name, got, tc.want)
		}
	}
}
