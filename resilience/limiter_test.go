package resilience

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience/shared"
)

func TestCallerRateLimitPacesAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 2, Burst: 1}})
		start := time.Now()
		for range 3 {
			if err := e.Execute(t.Context(), ok); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("3 calls at 2 rps, burst 1, took %v; want 1s", got)
		}
	})
}

// TestP4RefusedWaitGivesTokenBack: a wait refused because the deadline is
// too close takes nothing, so three refusals leave the bucket as it was.
func TestP4RefusedWaitGivesTokenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1}})
		_ = e.Execute(t.Context(), ok) // the bucket is empty now
		for range 3 {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			err := e.Execute(ctx, ok)
			cancel()
			if !errors.Is(err, ErrRateLimitWait) {
				t.Fatalf("Execute with a 100ms deadline = %v; want ErrRateLimitWait", err)
			}
		}
		time.Sleep(time.Second)
		if got := e.limiter.caller.Tokens(); got != 1 {
			t.Errorf("tokens 1s later = %v; want 1 (the refused waits took nothing)", got)
		}
	})
}

// TestDeadlineAwareWaitCountsTheAttempt is issue 20's point 5 (and issue
// 17's first): a wait is admitted only if the attempt it leads to can end
// before the deadline, so no admitted call times out in its wait.
func TestDeadlineAwareWaitCountsTheAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}, RateLimiter: &RateLimiterConfig{RequestsPerSecond: 10, Burst: 1}})
		slow := func(ctx context.Context) error {
			select {
			case <-time.After(200 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		warm, cancel := context.WithTimeout(t.Context(), time.Minute)
		_ = e.Execute(warm, slow) // learn the attempt's duration: 200ms (measured for calls with a deadline)
		cancel()
		var mu sync.Mutex
		var okN, refused, timedOut int
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				err := e.Execute(ctx, slow)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					okN++
				case errors.Is(err, ErrRateLimitWait):
					refused++
				default:
					timedOut++
					t.Logf("call failed: %v", err)
				}
			})
		}
		wg.Wait()
		if timedOut != 0 || okN == 0 || refused == 0 {
			t.Errorf("ok %d, refused at once %d, timed out %d; want some ok, the rest refused, none timed out", okN, refused, timedOut)
		}
	})
}

// TestLearnsFromTheProvidersBehaviour is issue 20's point 1: with no
// header, 429s cut the learned rate until the provider stops refusing.
func TestLearnsFromTheProvidersBehaviour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}})
		p := newCappedProvider(10, 2)
		var mu sync.Mutex
		okN, limited := 0, 0
		var wg sync.WaitGroup
		for i := range 200 { // 20 calls/s for 10s
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 50 * time.Millisecond)
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				err := e.Execute(ctx, p.call)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					okN++
				}
			})
		}
		wg.Wait()
		limited = p.limited
		if l := e.Signals().Rate.Learned; l > 11 || l < 5 {
			t.Errorf("learned rate = %v; want near the provider's 10", l)
		}
		t.Logf("429s %d, ok %d", limited, okN)
		if limited > 25 || okN < 120 {
			t.Errorf("provider answered %d 429s, %d calls succeeded; want < 25 and >= 120 of 200", limited, okN)
		}
	})
}

// cappedProvider admits rate per second with a burst, and answers a bare
// 429 otherwise.
type cappedProvider struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	tokens  float64
	last    time.Time
	limited int
}

func newCappedProvider(rate, burst float64) *cappedProvider {
	return &cappedProvider{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

func (p *cappedProvider) call(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	p.last = now
	if p.tokens < 1 {
		p.limited++
		return providerErr(aierrors.RateLimited)
	}
	p.tokens--
	return nil
}

// TestHeadersAreHintsPerMinute is also P6: x-ratelimit-limit-requests is
// per minute, so 600 caps the learned rate at 10 per second once a 429
// showed a limit; "0 remaining" with a 60s reset does not hold the target
// until the full reset: the learned bucket paces it.
func TestHeadersAreHintsPerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}})
		e.ObserveHeader(header("x-ratelimit-limit-requests", "600"))
		if l := e.Signals().Rate.Learned; !math.IsInf(l, 1) {
			t.Errorf("learned rate from a header alone = %v; want none (+Inf): a hint never paces on its own", l)
		}
		for range 20 {
			_ = e.Execute(t.Context(), ok)
		}
		time.Sleep(time.Second)
		_ = e.Execute(t.Context(), func(context.Context) error { return providerErr(aierrors.RateLimited) })
		e.ObserveHeader(header("x-ratelimit-limit-requests", "600", "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "60s"))
		s := e.Signals()
		if s.Rate.Learned != 10 {
			t.Errorf("learned rate = %v; want 10 (600 per minute)", s.Rate.Learned)
		}
		if s.Rate.PausedFor != 0 {
			t.Errorf("paused for %v after \"0 remaining, reset 60s\"; want no pause: the learned bucket paces (P6)", s.Rate.PausedFor)
		}
		start := time.Now()
		for range 3 {
			_ = e.Execute(t.Context(), ok)
		}
		if got := time.Since(start); got > 300*time.Millisecond {
			t.Errorf("3 calls after the headers took %v; want them paced at 10/s (<= 300ms), not held until the 60s reset (P6)", got)
		}
	})
}

// TestPauseReleasesWaitersAtTheLearnedRate: after a 429 with a Retry-After
// long enough to pause the target, the waiters go one learned interval
// apart, not all at once.
func TestPauseReleasesWaitersAtTheLearnedRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}})
		for range 15 {
			_ = e.Execute(t.Context(), ok)
		}
		time.Sleep(time.Second)                                      // sent at 15/s
		e.ObserveHeader(header("x-ratelimit-limit-requests", "600")) // a 10/s cap, believed once 429s show a limit
		_ = e.Execute(t.Context(), func(context.Context) error { return rateLimitedErr(3 * time.Second) })
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				_ = e.Execute(t.Context(), func(context.Context) error {
					mu.Lock()
					at = append(at, time.Since(start))
					mu.Unlock()
					return nil
				})
			})
		}
		wg.Wait()
		for i := 1; i < len(at); i++ {
			if at[i]-at[i-1] < 100*time.Millisecond {
				t.Fatalf("attempts after the pause at %v; want them at least 100ms apart", at)
			}
		}
		if at[0] < 3*time.Second {
			t.Errorf("first attempt at %v; want after the 3s pause", at[0])
		}
	})
}

// TestRetryBudgetTellsNoiseFromAStorm is issue 20's point 2.
func TestRetryBudgetTellsNoiseFromAStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 30% independent failures: no call is lost to the budget.
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Millisecond), CircuitBreaker: &CircuitBreakerConfig{Disabled: true}})
		rng := rand.New(rand.NewPCG(1, 2))
		refused := 0
		for range 3000 {
			err := e.Execute(t.Context(), func(context.Context) error {
				if rng.Float64() < 0.3 {
					return providerErr(aierrors.Overloaded)
				}
				return nil
			})
			if errors.Is(err, ErrRetryBudgetExhausted) {
				refused++
			}
		}
		if refused != 0 {
			t.Errorf("30%% noise: %d calls lost to the retry budget; want 0", refused)
		}
		// A dead provider: retries stop multiplying load.
		storm := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, time.Millisecond), CircuitBreaker: &CircuitBreakerConfig{Disabled: true}})
		requests := 0
		for range 300 {
			_ = storm.Execute(t.Context(), func(context.Context) error { requests++; return providerErr(aierrors.Overloaded) })
		}
		if per := float64(requests) / 300; per > 1.3 {
			t.Errorf("storm: %.2f requests per call; want <= 1.3", per)
		}
	})
}

// TestSharedCircuitCheckedBeforeTheRateWait: a target whose shared circuit
// is open is refused before it waits for a local token, and the shared
// probe slot is taken only after the waits.
func TestSharedCircuitCheckedBeforeTheRateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := shared.NewMemoryState()
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1}}, WithName("p/m"), WithSharedState(st, "k"))
		if err := st.Open(t.Context(), "k", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		_ = e.Execute(t.Context(), ok) // learns the shared state: open
		start := time.Now()
		err := e.Execute(t.Context(), ok)
		if !errors.Is(err, ErrCircuitOpen) || time.Since(start) != 0 {
			t.Errorf("Execute = %v after %v; want ErrCircuitOpen at once, before any rate wait", err, time.Since(start))
		}
	})
}

func TestSharedProbeSlotTakenAfterTheWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &recordingState{MemoryState: shared.NewMemoryState()}
		e := mustExecutor(t, ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1}}, WithSharedState(st, "k"))
		_ = e.Execute(t.Context(), ok) // empties the bucket
		before := st.admits()
		go func() { _ = e.Execute(t.Context(), ok) }()
		synctest.Wait() // waiting for a token
		if st.admits() != before {
			t.Errorf("shared Admit called while the attempt waits for a token; want it only after")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st.admits() != before+1 {
			t.Errorf("shared Admit calls after the wait = %d; want %d", st.admits(), before+1)
		}
	})
}

type recordingState struct {
	*shared.MemoryState
	mu sync.Mutex
	n  int
}

func (r *recordingState) Admit(ctx context.Context, key string, maxProbes int) (shared.Admission, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return r.MemoryState.Admit(ctx, key, maxProbes)
}

func (r *recordingState) admits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// TestP5TinyCooldownIsAnError and TestP3: environment values are strict,
// and code wins over the environment field by field.
func TestP5TinyCooldownIsAnError(t *testing.T) {
	t.Setenv("AI_LIB_BREAKER_COOLDOWN_SECS", "1e-10")
	if _, err := ConfigFromEnv(); err == nil || !contains(err.Error(), "AI_LIB_BREAKER_COOLDOWN_SECS") {
		t.Errorf("ConfigFromEnv with a cooldown of 1e-10s = %v; want an error naming the variable", err)
	}
}

func TestP3CodeThenEnvironmentThenDefaults(t *testing.T) {
	t.Setenv("AI_LIB_RPS", "9")
	t.Setenv("AI_LIB_BURST", "4")
	t.Setenv("AI_LIB_BREAKER_FAILURE_THRESHOLD", "7")
	cfg, err := ResilientConfig{RateLimiter: &RateLimiterConfig{RequestsPerSecond: 5}}.WithEnv()
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.RateLimiter; r.RequestsPerSecond != 5 || r.Burst != 4 {
		t.Errorf("RateLimiter = %+v; want RPS 5 (code), Burst 4 (env)", *r)
	}
	if b := cfg.CircuitBreaker; b.FailureThreshold != 7 || cfg.Retry.MaxRetries != 3 {
		t.Errorf("FailureThreshold %d, MaxRetries %d; want 7 (env), 3 (default)", b.FailureThreshold, cfg.Retry.MaxRetries)
	}
	t.Setenv("AI_LIB_MAX_RETRIES", "7")
	if cfg, err := ConfigFromEnv(); err != nil || cfg.CircuitBreaker.FailureThreshold != 7 || cfg.Retry.MaxRetries != 7 || cfg.CircuitBreaker.Window != defaultWindow {
		t.Errorf("ConfigFromEnv = threshold %d, retries %d, window %v, %v; want 7, 7 (env), 30s (default)",
			cfg.CircuitBreaker.FailureThreshold, cfg.Retry.MaxRetries, cfg.CircuitBreaker.Window, err)
	}
	t.Setenv("AI_LIB_RPS", "abc")
	if _, err := (ResilientConfig{}).WithEnv(); err == nil || !contains(err.Error(), "AI_LIB_RPS") || !contains(err.Error(), strconv.Quote("abc")) {
		t.Errorf("WithEnv with AI_LIB_RPS=abc = %v; want an error naming the variable and value", err)
	}
}

// TestShortRetryAfterDoesNotPauseTheTarget: "Retry-After: 1" is often a
// per-second cap's next token rounded up; it delays the call that got it,
// not every other call for a second.
func TestShortRetryAfterDoesNotPauseTheTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{Retry: &RetryConfig{Disabled: true}})
		_ = e.Execute(t.Context(), func(context.Context) error { return rateLimitedErr(time.Second) })
		if p := e.Signals().Rate.PausedFor; p != 0 {
			t.Errorf("paused for %v after a 429 with Retry-After 1s; want no pause of the whole target", p)
		}
	})
}

// TestQueuedAttemptsAreSpacedAgainAfterACut: places already given in the
// learned bucket keep their times in x/time/rate; after a cut, the
// attempts queued at the old pace are released at the new one, each an
// interval of the new rate after the one before, and one the spacing would
// make too late for its deadline is refused at once.
func TestQueuedAttemptsAreSpacedAgainAfterACut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(10) // one place every 100ms
		start := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		var refused int
		var wg sync.WaitGroup
		for i := range 8 {
			ctx, cancel := t.Context(), context.CancelFunc(func() {})
			if i == 7 { // its place at 700ms fits; spaced at 5/s it would not
				ctx, cancel = context.WithTimeout(t.Context(), 800*time.Millisecond)
			}
			wg.Go(func() {
				defer cancel()
				if _, ae := l.wait(ctx, &clock{}, 0, 0); ae != nil {
					if !errors.Is(ae.Err, ErrRateLimitWait) {
						t.Errorf("wait = %v; want ErrRateLimitWait or nil", ae)
					}
					mu.Lock()
					refused++
					mu.Unlock()
					return
				}
				mu.Lock()
				at = append(at, time.Since(start))
				mu.Unlock()
			})
			synctest.Wait() // each takes its place in turn
		}
		time.Sleep(150 * time.Millisecond) // two released at the old pace
		l.mu.Lock()
		l.setEstimate(time.Now(), 5) // the cut: one place every 200ms
		l.mu.Unlock()
		wg.Wait()
		want := []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond,
			700 * time.Millisecond, 900 * time.Millisecond, 1100 * time.Millisecond}
		if !slices.Equal(at, want) || refused != 1 {
			t.Errorf("released at %v, %d refused; want %v and the one with a deadline refused", at, refused, want)
		}
	})
}

// TestFailuresAreNotALowerLimit: a cut goes no lower than what the
// provider accepted, and an answer that is not a 429 (a 503, say) was
// accepted: a provider that fails 40% of requests at 10/s and then
// refuses one is not limiting at 6/s.
// After a cut, the places given at the old pace come closer together
// than the new one allows; a call whose place comes too late for its
// deadline is refused then, and the next in the queue takes the place it
// left at once, not at its own place a hole later.
func TestAPlaceLeftFreeIsTakenAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(10) // places at 0, 100, 200, 300ms
		released := queueFour(t, l, 0, 1, func(i int) (context.Context, context.CancelFunc) {
			if i == 1 { // its place (100ms) fits; spaced at the new pace (150ms) it does not
				return context.WithTimeout(t.Context(), 120*time.Millisecond)
			}
			return t.Context(), func() {}
		}, func() {
			l.mu.Lock()
			l.setEstimate(time.Now(), 1/0.15) // the cut: one place every 150ms
			l.mu.Unlock()
		})
		want := map[int]time.Duration{0: 0, 2: 150 * time.Millisecond, 3: 300 * time.Millisecond}
		if !maps.Equal(released, want) {
			t.Errorf("released at %v; want %v (attempt 2 in the place attempt 1 left, before its own at 200ms)", released, want)
		}
	})
}

// TestAPlaceGoesToTheNextWhenAnswersGrewSlower: waits are judged on the
// slow attempt's duration known at admission; when answers have grown
// slower by the time a place comes, an attempt that would no longer leave
// that long before its deadline gives the place to the next one queued,
// and the last one queued, with nobody to give it to, goes.
func TestAPlaceGoesToTheNextWhenAnswersGrewSlower(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(10) // places at 0, 100, 200, 300ms
		var slow atomic.Int64
		slow.Store(int64(200 * time.Millisecond))
		l.likelyNow = func() time.Duration { return time.Duration(slow.Load()) }
		released := queueFour(t, l, 200*time.Millisecond, 2, func(int) (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), time.Second)
		}, func() {
			slow.Store(int64(850 * time.Millisecond)) // answers grew slower
		})
		// Attempt 1 (900ms left at 100ms) fits; attempt 2 (800ms left)
		// does not and hands its place on; attempt 3 takes it at once and,
		// last in the queue, goes.
		want := map[int]time.Duration{0: 0, 1: 100 * time.Millisecond, 3: 200 * time.Millisecond}
		if !maps.Equal(released, want) {
			t.Errorf("released at %v; want %v", released, want)
		}
	})
}

// queueFour queues four attempts in l, one after the other, each with the
// context ctxFor gives it and leaving need before its deadline, then calls
// change, and returns when each was released (since the first was
// queued). Only attempt refused may be refused (ErrRateLimitWait).
func queueFour(t *testing.T, l *RateLimiter, need time.Duration, refused int, ctxFor func(i int) (context.Context, context.CancelFunc), change func()) map[int]time.Duration {
	t.Helper()
	start := time.Now()
	var mu sync.Mutex
	released := map[int]time.Duration{}
	var wg sync.WaitGroup
	for i := range 4 {
		ctx, cancel := ctxFor(i)
		wg.Go(func() {
			defer cancel()
			if _, ae := l.wait(ctx, &clock{}, 0, need); ae != nil {
				if !errors.Is(ae.Err, ErrRateLimitWait) || i != refused {
					t.Errorf("attempt %d: wait = %v; want only attempt %d refused (ErrRateLimitWait)", i, ae, refused)
				}
				return
			}
			mu.Lock()
			released[i] = time.Since(start)
			mu.Unlock()
		})
		synctest.Wait() // each takes its place in turn
	}
	change()
	wg.Wait()
	return released
}

// A provider that refuses above 10 requests a second, a bucket of one,
// with no header, sent twice that: after the first cuts, the learned rate
// steps back up to just under the lowest rate refused (a bisection), not at
// 1% a second from the 0.7 a cut leaves (which, before the bisection,
// served 6-7 calls a second here).
func TestLearnedRateStepsBackUnderTheRefusedRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const c = 10.0
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
		p := &bucketOfOne{l: l, c: c}
		accepted := p.play(t, 12*time.Second, 2*c)
		late := 0
		for sec := 3; sec < 12; sec++ {
			late += accepted[sec]
		}
		if r := l.learnedRate(); float64(late) < 0.85*9*c || r > c || r < 0.85*c {
			t.Errorf("accepted %d in seconds 3-11 (the cap: %g), learned rate %.2f; want ≥ 85%% of the cap and a rate in [%.1f, %g]",
				late, 9*c, r, 0.85*c, c)
		}
	})
}

// learnedAt returns a lone target's limiter that has learned rate r.
func learnedAt(r float64) *RateLimiter {
	l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
	l.mu.Lock()
	l.setEstimate(time.Now(), r)
	l.mu.Unlock()
	return l
}

// bucketOfOne is a provider that admits c requests a second, a bucket of
// one, and answers at once, for a limiter l with nothing stated.
type bucketOfOne struct {
	l      *RateLimiter
	c      float64
	mu     sync.Mutex
	tokens float64
	last   time.Time
	sent   int64 // attempts sent to it, ever (the executor's admitted total)
	// states: its answers carry OpenAI's x-ratelimit-limit-requests, per
	// minute (0: none).
	states float64
	// jitter: each request reaches it up to this late (drawn evenly), as
	// over a network; 0: at once.
	jitter time.Duration
	rng    *rand.Rand
	// answer: an accepted request is answered this long after it came;
	// refusal: a refused one up to this long after (drawn evenly from
	// rng); 0: at once.
	answer, refusal time.Duration
}

func (p *bucketOfOne) answered(ok bool, n int64, now, released time.Time) {
	if p.states > 0 {
		h := http.Header{}
		h.Set("x-ratelimit-limit-requests", strconv.Itoa(int(p.states)))
		p.l.observe(h, now)
	}
	if ok {
		p.l.onSuccess()
	} else {
		p.l.onRateLimited(now, 0, n, 0, released)
	}
}

// play sends it rate calls a second for d (each with a 2s deadline) and
// returns the requests it accepted in each second from the start.
func (p *bucketOfOne) play(t *testing.T, d time.Duration, rate float64) map[int]int {
	accepted := map[int]int{}
	start := time.Now()
	p.mu.Lock()
	p.tokens, p.last = 1, start
	p.mu.Unlock()
	var wg sync.WaitGroup
	for range int(d.Seconds() * rate) {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			g, ae := p.l.wait(ctx, &clock{}, 0, 0)
			if ae != nil {
				return
			}
			g.seq = p.l.logSend()
			if p.jitter > 0 {
				p.mu.Lock()
				d := time.Duration(p.rng.Int64N(int64(p.jitter)))
				p.mu.Unlock()
				time.Sleep(d)
			}
			p.mu.Lock()
			now := time.Now()
			p.tokens, p.last = min(1, p.tokens+now.Sub(p.last).Seconds()*p.c), now
			p.sent++
			ok := p.tokens >= 1
			if ok {
				p.tokens--
				accepted[int(now.Sub(start)/time.Second)]++
			}
			n := p.sent
			var late time.Duration
			switch {
			case ok:
				late = p.answer
			case p.refusal > 0:
				late = time.Duration(p.rng.Int64N(int64(p.refusal)))
			}
			p.mu.Unlock()
			if late > 0 {
				time.Sleep(late)
				now = time.Now()
			}
			st := sendRefused
			if ok {
				st = sendAccepted
			}
			p.l.sent(g, st)
			p.answered(ok, n, now, g.released)
		})
		time.Sleep(time.Duration(float64(time.Second) / rate))
	}
	wg.Wait()
	return accepted
}

// heldCap plays twice its cap for 10s and says what is wrong ("" when
// nothing) when it accepted less than share of its cap over seconds
// [from, to) of the play, or the limiter learned a rate outside
// [share·cap, cap].
func (p *bucketOfOne) heldCap(t *testing.T, from, to int, share float64) string {
	accepted := p.play(t, 10*time.Second, 2*p.c)
	got := 0
	for sec := from; sec < to; sec++ {
		got += accepted[sec]
	}
	want := float64(to-from) * p.c
	if r := p.l.learnedRate(); float64(got) < share*want || r < share*p.c || r > p.c {
		return fmt.Sprintf("accepted %d in seconds %d-%d (the cap: %g), learned rate %.2f; want ≥ %g%% of the cap and a rate in [%g, %g]",
			got, from, to-1, want, r, 100*share, share*p.c, p.c)
	}
	return ""
}

// idle sends it one call a second for d: light traffic, all accepted.
func (p *bucketOfOne) idle(d time.Duration) {
	for range int(d.Seconds()) {
		time.Sleep(time.Second)
		p.mu.Lock()
		p.sent++
		n := p.sent
		p.mu.Unlock()
		p.answered(true, n, time.Now(), time.Time{})
	}
}

// The rate a cut starts from is what was sent lately, not an average
// since the target was built or last cut: ten minutes of a call a second
// before a burst made the first 429's cut 0.7 a second against a cap of
// 10 (1 accepted a second from then on), and a cut after such a lull (the
// provider's cap down to 8) as low when it states a limit (600 a minute,
// which it no longer holds to).
func TestABurstAfterALullIsNotCutToTheLullsRate(t *testing.T) {
	for _, states := range []float64{0, 600} {
		t.Run(fmt.Sprintf("stated=%g", states), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
				p := &bucketOfOne{l: l, states: states}
				for round, c := range []float64{10, 8} { // the first 429 ever, then one after the rate was learned
					p.c = c
					p.idle(10 * time.Minute)
					if msg := p.heldCap(t, 2, 10, 0.8); msg != "" {
						t.Errorf("burst %d after a lull: %s", round+1, msg)
					}
				}
			})
		})
	}
}

// A first guess that comes out low recovers in seconds: a client built a
// second and a half before its first burst cut to the average since it
// was built, 1/s against a cap of 10, and the slow probe (1% of the rate
// a second) left it there; the slow start doubles a clean rate until a
// 429 comes while paced. Under a stated limit too (600 a minute, the cap):
// it doubles while under half of it.
func TestALowFirstGuessDoublesUntilA429(t *testing.T) {
	for _, states := range []float64{0, 600} {
		t.Run(fmt.Sprintf("stated=%g", states), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const c = 10.0
				l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
				p := &bucketOfOne{l: l, c: c, states: states}
				time.Sleep(1500 * time.Millisecond)
				if msg := p.heldCap(t, 5, 12, 0.7); msg != "" {
					t.Error(msg)
				}
			})
		})
	}
}

// A limit that goes up (a higher tier) is found within a minute or so:
// the slow probe alone, 1% of the rate a second, was at half of it after
// a minute and a half. A minute with no 429 while paced restarts the slow
// start.
func TestARaisedLimitIsFoundAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
		p := &bucketOfOne{l: l, c: 10}
		p.play(t, 10*time.Second, 20) // learned: about 10
		p.c = 40
		accepted := p.play(t, 90*time.Second, 60)
		got := 0
		for sec := 80; sec < 90; sec++ {
			got += accepted[sec]
		}
		if r := l.learnedRate(); got < 0.8*10*40 || r < 32 {
			t.Errorf("after the cap went from 10 to 40: accepted %d in seconds 80-89 (the cap: 400), learned rate %.2f; want ≥ 80%% of the cap and a rate ≥ 32", got, r)
		}
	})
}

// Paced at a stated limit that is right, against a bucket of one whose
// requests arrive with a few milliseconds of jitter, a 429 now and then
// is a request that came early, not a lower limit: the rate steps back to
// just under the limit. Cut by 0.7 and probed back at 1% a second (as
// before), 29 of the 40 the cap allows were accepted in seconds 2-9.
func TestJitterAtAStatedLimitStepsBackALittle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
		p := &bucketOfOne{l: l, c: 5, states: 300, jitter: 5 * time.Millisecond, rng: rand.New(rand.NewPCG(1, 2))}
		if msg := p.heldCap(t, 2, 10, 0.85); msg != "" {
			t.Error(msg)
		}
	})
}

// A step of the bisection is seen clean by the attempts released after
// it. After a cut, the places x/time/rate gave at the old pace are spaced
// at the new one as they come (see spacing): each release is then set
// ahead of its place, and releases set before a step fall after it.
// Counting the step's releases from the step itself (not from the first
// release at or after it) read that as the bucket releasing slower than
// the rate, and held each step back by seconds.
func TestBisectionStepsCountReleasesFromTheFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(10)
		var wg sync.WaitGroup
		for i := range 6 * 20 { // 20 calls a second for 6s (5s deadlines), more than any rate it tries
			if i == 20 {
				// A cut of 0.7 after a second at 10/s, which the provider
				// refused: the queue holds places given at 10/s.
				l.mu.Lock()
				l.refusedRate = 10
				l.markStep(time.Now())
				l.setEstimate(time.Now(), 7)
				l.mu.Unlock()
			}
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				if _, ae := l.wait(ctx, &clock{}, 0, 0); ae == nil {
					l.onSuccess()
				}
			})
			time.Sleep(time.Second / 20)
		}
		r := l.learnedRate()
		wg.Wait()
		if r < 9 {
			t.Errorf("learned rate 5s after a cut to 7 = %.2f; want ≥ 9 (steps of a quarter of the way to 9.5, each seen clean in about 5 successes; 8.65 when a step's releases were counted from the step)", r)
		}
	})
}

func TestFailuresAreNotALowerLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(10)
		for i := range 10 {
			time.Sleep(100 * time.Millisecond)
			if i%5 < 2 {
				l.onAnswered() // a 503
			} else {
				l.onSuccess()
			}
		}
		l.onRateLimited(time.Now(), 0, 10, 0, time.Time{})
		if r := l.learnedRate(); r < 9.9 {
			t.Errorf("learned rate after the 429 = %.2f; want about 10, what the provider took (6 answers and 4 failures a second)", r)
		}
	})
}

// A provider that refuses a share of requests whatever the rate (random
// 429s, no header) is not a limit: cutting does not make them rarer, and
// each cut the slow probe could not make up dragged the rate down. 3% of
// 50 calls/s served 49/s in the first 10s and 12.8/s after a minute; 1%,
// 33/s. A 429 paced well under what the provider was seen to accept
// (noiseTest) is one no bucket would send: the rate goes back to that and
// such 429s cut no more while they stay few.
func TestRandom429sDoNotDragTheRateDown(t *testing.T) {
	for _, share := range []float64{0.01, 0.03, 0.1} {
		t.Run(fmt.Sprintf("%g", share), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := mustExecutor(t, ResilientConfig{})
				rng := rand.New(rand.NewPCG(1, uint64(share*1000)))
				var mu sync.Mutex
				okAt := map[int]int{}
				start := time.Now()
				call := func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					if rng.Float64() < share {
						return providerErr(aierrors.RateLimited)
					}
					return nil
				}
				const rate, secs = 50, 90
				var wg sync.WaitGroup
				for i := range rate * secs {
					wg.Go(func() {
						time.Sleep(time.Duration(i) * time.Second / rate)
						ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
						defer cancel()
						if e.Execute(ctx, call) == nil {
							mu.Lock()
							okAt[int(time.Since(start)/time.Second)]++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				got := 0
				for sec := secs - 20; sec < secs; sec++ {
					got += okAt[sec]
				}
				if want := 0.95 * rate * 20; float64(got) < want {
					t.Errorf("%g%% random 429s at %d calls/s: %d calls served in seconds %d-%d; want ≥ %.0f (the learned rate ends at %.1f)",
						100*share, rate, got, secs-20, secs-1, want, e.Signals().Rate.Learned)
				}
			})
		})
	}
}

// The second 429, 0.6s after a first one that cut 20/s sent to 14,
// reads what was counted since: not a rate to cut straight down to when
// it is too little to say one.
//
// A 429 comes back at once, a success after its latency: in the first
// second of counting, the successes counted lag what the provider took,
// and the requests still out count as accepted. Against a cap of 5 with
// answers of 300ms (30% of 1.5s), the second 429 cut 14/s to 1.8 (from 2
// successes counted with 4 requests out). And one success counted says
// too little to cut to: the cut is the usual one, and a later 429 reads a
// longer count.
func TestTheSecondCutReadsWhatWasCounted(t *testing.T) {
	for _, c := range []struct {
		name      string
		successes []time.Duration // after the first 429
		sent, out int64           // at the second
		why       string
	}{
		{"the requests out count as accepted", []time.Duration{300 * time.Millisecond, 500 * time.Millisecond}, 10, 4,
			"2 successes and 4 out over 0.6s, 10/s against 13.3 sent: 9.3, a cut by 0.7 (3.8 without the requests out)"},
		{"one success is no rate to cut to", []time.Duration{300 * time.Millisecond}, 11, 0,
			"one success over 0.6s, 1.7/s against 15 sent: 9.8, a cut by 0.7 (1.8 read from one success)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
				time.Sleep(100 * time.Millisecond)
				l.onRateLimited(time.Now(), 0, 2, 0, time.Time{}) // 20/s sent: cut to 14
				first := time.Now()
				for _, at := range c.successes {
					time.Sleep(time.Until(first.Add(at)))
					l.onSuccess()
				}
				time.Sleep(time.Until(first.Add(600 * time.Millisecond)))
				l.onRateLimited(time.Now(), 0, c.sent, c.out, time.Time{})
				if r := l.learnedRate(); r < 9 {
					t.Errorf("learned rate after the second 429 = %.2f; want %s", r, c.why)
				}
			})
		})
	}
}

// A pool's deployment counts its successes from its construction: its
// first 429s read them over the last second, not over the time since the
// first 429 (two 429s 140ms apart read 8 successes a second as 57, and
// held the cut at the rate sent, 14.4, against a cap of 6).
func TestAPoolDeploymentReadsItsCountsOverTheirTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m#d1"})
		l.pooled.Store(true)
		sent := int64(0)
		for range 23 { // 8 a second, accepted, for 2.3s
			time.Sleep(125 * time.Millisecond)
			sent++
			l.onSuccess()
		}
		time.Sleep(10 * time.Millisecond)
		l.onRateLimited(time.Now(), 0, sent, 0, time.Time{}) // counting starts: no rate yet
		time.Sleep(140 * time.Millisecond)
		sent += 2
		l.onRateLimited(time.Now(), 0, sent, 0, time.Time{}) // 14.3/s sent since
		if r := l.learnedRate(); r > 11 {
			t.Errorf("learned rate = %.2f; want 0.7 of the 14.3 sent (8 accepted a second: no floor above that)", r)
		}
	})
}

// After the first second the successes counted over the last second are
// the provider's steady rate, and the requests out are not added.
func TestLaterCutsDoNotCountTheRequestsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
		time.Sleep(100 * time.Millisecond)
		sent := int64(3)
		l.onRateLimited(time.Now(), 0, sent, 0, time.Time{}) // 30/s sent
		for range 20 {
			time.Sleep(100 * time.Millisecond)
			l.onSuccess()
			sent += 3
		}
		l.onRateLimited(time.Now(), 0, sent, 50, time.Time{})
		// 10 accepted a second of 30 sent: straight down to 12 (10,
		// corrected for the half interval a request waits for its token).
		if r := l.learnedRate(); r < 11.5 || r > 12.5 {
			t.Errorf("learned rate = %.2f; want 12, not raised by the 50 requests out", r)
		}
	})
}
