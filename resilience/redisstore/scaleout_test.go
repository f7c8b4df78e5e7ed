package redisstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/redisstore"
	"github.com/redis/go-redis/v9"
)

// These tests run several executors, each standing for one replica of a
// service (each has its own local limiter and breaker, as separate
// processes would), against a providertest server, with the shared state in
// a real Redis. They take real time: Redis's clock cannot be faked.

const model = "gpt-4o"

// chatOp is one OpenAI-format chat request to srv, its error classified
// as a provider adapter would.
func chatOp(srv *providertest.Server) func(ctx context.Context) error {
	return chatOpAt(srv.URL(), srv.Client())
}

// chatOpAt is chatOp for a provider at url, reached with hc.
func chatOpAt(url string, hc *http.Client) func(ctx context.Context) error {
	const body = `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer test-key")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode >= 400 {
			return aierrors.ClassifyResponse(resp.StatusCode, resp.Header, b)
		}
		return nil
	}
}

func newProvider(t *testing.T) *providertest.Server {
	srv := providertest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func mustExecutor(t *testing.T, cfg resilience.ResilientConfig, opts ...resilience.Option) *resilience.ResilientExecutor {
	t.Helper()
	e, err := resilience.NewResilientExecutor(cfg, opts...)
	if err != nil {
		t.Fatalf("NewResilientExecutor = %v; want nil error", err)
	}
	return e
}

// drive runs workers goroutines per executor, each calling op in a loop
// until d has passed; a worker stops early when a rate wait can no longer
// end before the deadline. It returns the calls that succeeded and the time
// taken.
func drive(execs []*resilience.ResilientExecutor, workers int, d time.Duration, op func(context.Context) error) (ok int64, elapsed time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, e := range execs {
		for range workers {
			wg.Go(func() {
				for ctx.Err() == nil {
					err := e.Execute(ctx, op)
					if err == nil {
						n.Add(1)
					} else if errors.Is(err, resilience.ErrRateLimitWait) {
						return
					}
				}
			})
		}
	}
	wg.Wait()
	return n.Load(), time.Since(start)
}

// TestSharedLimitAcrossReplicas: four replicas share a 20 rps limit in
// Redis against a provider enforcing 20 rps; the provider sees 20 rps and
// no 429. The same replicas with in-process limiters of 20 rps each send
// up to four times that until each has learned the provider's limit from
// its own 429s: over the first 2s, about twice the limit (40-48 rps) and
// 30-46 429s.
func TestSharedLimitAcrossReplicas(t *testing.T) {
	c := testClient(t)
	const (
		rps      = 20
		replicas = 4
		workers  = 3
		run      = 5 * time.Second
	)
	lim, err := redisstore.NewLimiter(c, redisstore.Limit{Rate: rps, Period: time.Second, Burst: 2}, redisstore.WithPrefix(uniquePrefix(t)))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("shared in Redis", func(t *testing.T) {
		srv := newProvider(t)
		srv.SetRateLimit(model, rps, 10)
		var execs []*resilience.ResilientExecutor
		for range replicas {
			// Each Redis operation is capped at 50ms by the executor: on a
			// busy machine a slow answer sends a replica to local state
			// (unlimited here) for a moment. Degradation has tests of its own.
			execs = append(execs, mustExecutor(t, resilience.ResilientConfig{},
				resilience.WithName("openai/"+model), resilience.WithSharedLimiter(lim, "")))
		}
		_, elapsed := drive(execs, workers, run, chatOp(srv))
		st := srv.Stats(model)
		rate := float64(st.Requests) / run.Seconds()
		t.Logf("shared limit: %d requests in %v (%.2f rps at the provider), %d answered 429", st.Requests, elapsed.Round(time.Millisecond), rate, st.Limited)
		if rate < 0.9*rps || rate > 1.1*rps {
			t.Errorf("aggregate rate = %.2f rps; want %d ± 10%%", rate, rps)
		}
		if st.Limited > 1 {
			t.Errorf("429 answers = %d; want at most 1", st.Limited)
		}
		for _, e := range execs {
			if s := e.Signals(); s.Shared.Degraded {
				t.Errorf("Signals().Shared.Degraded = true (%s); want false", s.Shared.Error)
			}
		}
	})

	t.Run("in-process limiters overshoot", func(t *testing.T) {
		srv := newProvider(t)
		srv.SetRateLimit(model, rps, 10)
		var execs []*resilience.ResilientExecutor
		for range replicas {
			execs = append(execs, mustExecutor(t, resilience.ResilientConfig{
				RateLimiter: &resilience.RateLimiterConfig{RequestsPerSecond: rps, Burst: 2},
			}, resilience.WithName("openai/"+model)))
		}
		const short = 2 * time.Second
		drive(execs, workers, short, chatOp(srv))
		st := srv.Stats(model)
		rate := float64(st.Requests) / short.Seconds()
		t.Logf("in-process limits: %d requests in %v (%.2f rps sent), %d answered 429", st.Requests, short, rate, st.Limited)
		// Each replica's learned limit cuts its rate after its first
		// 429s (faster since it bisects: 39.5-47.5 rps here, 44-46.5
		// before), so the overshoot is held to half the limit at least.
		if rate < 1.5*rps {
			t.Errorf("rate sent with %d in-process limiters of %d rps = %.2f; want at least %g (the overshoot)", replicas, rps, rate, 1.5*rps)
		}
		if st.Limited < st.Requests/4 {
			t.Errorf("429 answers = %d of %d; want at least a quarter", st.Limited, st.Requests)
		}
	})
}

// breakerConfig opens after 3 consecutive server errors, for cooldown;
// each call makes one attempt (a nil Retry would mean the default retries).
func breakerConfig(cooldown time.Duration) resilience.ResilientConfig {
	return resilience.ResilientConfig{
		Retry:          &resilience.RetryConfig{Disabled: true},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 3, Cooldown: cooldown},
	}
}

// TestCircuitSharedAcrossReplicas: replica A's breaker opens; replica B,
// whose own breaker has seen nothing, rejects its next call without
// reaching the provider. After the cooldown, one probe goes across all
// replicas; its success closes the circuit for everyone.
func TestCircuitSharedAcrossReplicas(t *testing.T) {
	c := testClient(t)
	st, err := redisstore.NewState(c, redisstore.WithPrefix(uniquePrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	srv := newProvider(t)
	op := chatOp(srv)
	const cooldown = 300 * time.Millisecond
	var rejectedB atomic.Int32
	replica := func(h resilience.Hooks) *resilience.ResilientExecutor {
		return mustExecutor(t, breakerConfig(cooldown), resilience.WithName("openai/"+model),
			resilience.WithSharedState(st, ""), resilience.WithHooks(h))
	}
	a := replica(resilience.Hooks{})
	b := replica(resilience.Hooks{OnRejection: func(resilience.Rejection) { rejectedB.Add(1) }})
	others := []*resilience.ResilientExecutor{replica(resilience.Hooks{}), replica(resilience.Hooks{})}
	ctx := context.Background()

	srv.SetDefault(model, providertest.ServerError())
	for range 3 {
		_ = a.Execute(ctx, op)
	}
	if got := a.Signals().CircuitState; got != resilience.StateOpen {
		t.Fatalf("A's circuit after 3 server errors = %v; want open", got)
	}
	before := srv.Requests(model)
	err = b.Execute(ctx, op)
	if !errors.Is(err, resilience.ErrCircuitOpen) {
		t.Fatalf("B.Execute after A opened = %v; want ErrCircuitOpen", err)
	}
	if got := srv.Requests(model); got != before {
		t.Errorf("provider requests after B's call = %d; want %d (B must not reach the provider)", got, before)
	}
	sb := b.Signals()
	if sb.CircuitState != resilience.StateClosed || sb.Shared.OpenFor <= 0 || sb.Shared.OpenFor > cooldown {
		t.Errorf("B.Signals() = circuit %v, Shared.OpenFor %v; want closed locally, open in the shared state for at most %v", sb.CircuitState, sb.Shared.OpenFor, cooldown)
	}
	if rejectedB.Load() != 1 {
		t.Errorf("B's OnRejection calls = %d; want 1", rejectedB.Load())
	}
	if ae := b.Preflight(); !errors.Is(ae, resilience.ErrCircuitOpen) {
		t.Errorf("B.Preflight() = %v; want ErrCircuitOpen", ae)
	}

	// After the cooldown: the provider is back but slow; every replica
	// calls at once, and one probe goes.
	wait := time.NewTimer(sb.Shared.OpenFor + 20*time.Millisecond)
	<-wait.C
	srv.SetDefault(model, providertest.Slow(200*time.Millisecond, "back"))
	before = srv.Requests(model)
	var wg sync.WaitGroup
	var succeeded, rejected atomic.Int32
	for _, e := range append([]*resilience.ResilientExecutor{b}, others...) {
		wg.Go(func() {
			err := e.Execute(ctx, op)
			switch {
			case err == nil:
				succeeded.Add(1)
			case errors.Is(err, resilience.ErrCircuitOpen):
				rejected.Add(1)
			default:
				t.Errorf("Execute while half_open = %v; want nil or ErrCircuitOpen", err)
			}
		})
	}
	wg.Wait()
	if got := srv.Requests(model) - before; got != 1 || succeeded.Load() != 1 || rejected.Load() != 2 {
		t.Errorf("half_open across 3 replicas: %d provider requests, %d succeeded, %d rejected; want 1, 1, 2", got, succeeded.Load(), rejected.Load())
	}
	// The probe closed the shared circuit: every replica goes through.
	for i, e := range append([]*resilience.ResilientExecutor{b}, others...) {
		if err := e.Execute(ctx, op); err != nil {
			t.Errorf("replica %d Execute after the probe succeeded = %v; want nil", i, err)
		}
	}
}

// TestPauseSharedAcrossReplicas: a 429 with a Retry-After of 2s or more to
// one replica makes the others wait (their attempt is refused with the pause's
// Retry-After, and the retry sleeps it); quota_exhausted makes them fail
// over at once.
func TestPauseSharedAcrossReplicas(t *testing.T) {
	c := testClient(t)
	st, err := redisstore.NewState(c, redisstore.WithPrefix(uniquePrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	srv := newProvider(t)
	op := chatOp(srv)
	var waited atomic.Int64
	// A makes one attempt per call, so that its 429 is returned.
	a := mustExecutor(t, resilience.ResilientConfig{Retry: &resilience.RetryConfig{Disabled: true}},
		resilience.WithName("openai/"+model), resilience.WithSharedState(st, ""))
	b := mustExecutor(t, resilience.ResilientConfig{}, resilience.WithName("openai/"+model), resilience.WithSharedState(st, ""),
		resilience.WithHooks(resilience.Hooks{
			OnLimiterWait: func(w resilience.LimiterWait) { waited.Add(int64(w.Wait)) },
			OnRetry:       func(r resilience.RetryScheduled) { waited.Add(int64(r.Delay)) },
		}))
	ctx := context.Background()

	// 2s: a shorter Retry-After delays only the call that got it (see
	// resilience's package doc), so it is not shared.
	srv.Script(model, providertest.RateLimited(2*time.Second))
	if err := a.Execute(ctx, op); !errors.Is(err, aierrors.RateLimited) {
		t.Fatalf("A.Execute = %v; want rate_limited", err)
	}
	start := time.Now()
	if err := b.Execute(ctx, op); err != nil {
		t.Fatalf("B.Execute after A's 429 = %v; want nil (after waiting)", err)
	}
	if d := time.Since(start); d < 1900*time.Millisecond || time.Duration(waited.Load()) < 1900*time.Millisecond {
		t.Errorf("B waited %v (hooks: %v); want about 2s", d, time.Duration(waited.Load()))
	}

	srv.Script(model, providertest.InsufficientQuota())
	if err := a.Execute(ctx, op); !errors.Is(err, aierrors.QuotaExhausted) {
		t.Fatalf("A.Execute = %v; want quota_exhausted", err)
	}
	before := srv.Requests(model)
	err = b.Execute(ctx, op)
	if !errors.Is(err, resilience.ErrTargetPaused) || !errors.Is(err, aierrors.QuotaExhausted) || !aierrors.IsFallbackable(err) {
		t.Errorf("B.Execute after A's quota_exhausted = %v; want a fallbackable quota_exhausted wrapping ErrTargetPaused", err)
	}
	if got := srv.Requests(model); got != before {
		t.Errorf("provider requests = %d; want %d (B must not reach the provider)", got, before)
	}
}

// TestRedisKilledMidRun: Redis dies while two replicas share a 20 rps
// limit. Calls keep succeeding, each replica at its share of the shared
// limit (not at its local 100 rps); the
// replicas report the degradation; once Redis is back, they report it and
// keep to the shared 20 rps again.
func TestRedisKilledMidRun(t *testing.T) {
	rp := startRedis(t)
	c := redis.NewClient(newOptions(rp.addr()))
	t.Cleanup(func() { _ = c.Close() })
	lim, err := redisstore.NewLimiter(c, redisstore.Limit{Rate: 20, Period: time.Second, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := redisstore.NewState(c)
	if err != nil {
		t.Fatal(err)
	}
	srv := newProvider(t)
	op := chatOp(srv)

	var (
		mu     sync.Mutex
		events []resilience.SharedStateChange
	)
	hooks := resilience.Hooks{OnSharedState: func(ev resilience.SharedStateChange) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}}
	cfg := resilience.ResilientConfig{
		RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: 100, Burst: 1},
		CircuitBreaker: &resilience.CircuitBreakerConfig{},
	}
	var execs []*resilience.ResilientExecutor
	for range 2 {
		execs = append(execs, mustExecutor(t, cfg, resilience.WithName("openai/"+model),
			resilience.WithSharedLimiter(lim, ""), resilience.WithSharedState(st, ""), resilience.WithHooks(hooks)))
	}
	rateOf := func(d time.Duration) (float64, int64) {
		before := srv.Requests(model)
		ok, _ := drive(execs, 2, d, op)
		return float64(srv.Requests(model)-before) / d.Seconds(), ok
	}

	shared, _ := rateOf(time.Second)
	t.Logf("Redis up: %.1f rps", shared)
	if shared < 15 || shared > 25 {
		t.Errorf("rate with the shared limit of 20 rps = %.1f; want about 20", shared)
	}

	rp.kill()
	local, ok := rateOf(time.Second)
	t.Logf("Redis killed: %.1f rps, %d calls succeeded", local, ok)
	// Each replica goes on at its share of the shared limit (half of
	// 20/s, less 10%), not at its local 100 rps: losing Redis does not
	// multiply the load.
	if local > 30 || ok == 0 {
		t.Errorf("rate after Redis died = %.1f rps, %d calls ok; want calls to go on, at most 1.5 × the shared 20", local, ok)
	}
	for i, e := range execs {
		if s := e.Signals(); !s.Shared.Degraded || s.Shared.Error == "" {
			t.Errorf("replica %d Signals() = degraded %v, error %q; want degraded with an error", i, s.Shared.Degraded, s.Shared.Error)
		}
	}

	rp.start()
	// Calls find Redis again lazily (checks back off to 2s at most).
	deadline := time.Now().Add(5 * time.Second)
	for {
		drive(execs, 1, 100*time.Millisecond, op)
		if !execs[0].Signals().Shared.Degraded && !execs[1].Signals().Shared.Degraded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas still degraded 5s after Redis restarted: %+v", execs[0].Signals())
		}
	}
	again, _ := rateOf(time.Second)
	t.Logf("Redis restarted: %.1f rps", again)
	if again < 15 || again > 25 {
		t.Errorf("rate after Redis restarted = %.1f; want about 20 again", again)
	}

	mu.Lock()
	defer mu.Unlock()
	var down, up int
	for _, ev := range events {
		if ev.Degraded {
			down++
			if ev.Err == nil {
				t.Errorf("OnSharedState(%+v): Degraded without Err", ev)
			}
		} else {
			up++
		}
	}
	if down != 2 || up != 2 {
		t.Errorf("OnSharedState events: %d degraded, %d recovered; want 2 and 2 (one each per replica)", down, up)
	}
}
