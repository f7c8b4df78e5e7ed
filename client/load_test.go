package client_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// loadCallsEnv scales TestLoad: the number of concurrent calls per run.
// The default, 10 000, takes about 25 s and 2 GB under -race on a 2-core
// machine, most of it the race detector's bookkeeping for 10 000
// goroutines; set it lower for a quick local loop.
const loadCallsEnv = "AILIB_LOAD_CALLS"

// loadCalls is the size of one TestLoad run: $AILIB_LOAD_CALLS, else
// 10 000 (1000 with -short).
func loadCalls(t *testing.T) int {
	t.Helper()
	if v := os.Getenv(loadCallsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive integer", loadCallsEnv, v)
		}
		return n
	}
	if testing.Short() {
		return 1000
	}
	return 10000
}

// The load test's targets and the text every successful answer carries.
const (
	loadPrimary  = "openai/gpt-4o"
	loadFallback = "anthropic/claude"
	loadText     = "one two three four five six seven eight"
)

// Limiter settings of the load test: binding, so that callers queue on it.
const (
	loadRPS   = 2000.0
	loadBurst = 50
)

// loadConfig is the resilience configuration of the load test: retries,
// a binding rate limit, a breaker that opens under the injected faults and
// an in-flight cap with a queue timeout, so that every wait is exercised.
func loadConfig() resilience.ResilientConfig {
	return resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{
			MaxRetries:        2,
			InitialDelay:      100 * time.Millisecond,
			MaxDelay:          time.Second,
			BackoffMultiplier: 2,
			Jitter:            0.2,
			MaxRetryAfter:     5 * time.Second,
		},
		RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: loadRPS, Burst: loadBurst},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 8, Cooldown: 2 * time.Second, HalfOpenMaxRequests: 3},
		Backpressure:   &resilience.BackpressureConfig{MaxInflight: 64, QueueTimeout: 3 * time.Second},
	}
}

// loadFaults are the random failures of one model: about 40 % of answers
// fail in one of the ways a provider fails.
func loadFaults(seed int64) providertest.Faults {
	return providertest.Faults{
		Seed:        seed,
		RateLimited: 0.03,
		ServerError: 0.05,
		Unavailable: 0.05,
		Overloaded:  0.03,
		Reset:       0.05,
		Slow:        0.06,
		StreamCut:   0.08,
		RetryAfter:  time.Second,
		SlowDelay:   4 * time.Second,
	}
}

// tripRecorder wraps the in-process transport: it tags each request with
// an id, so that the requests the server recorded can be matched with the
// requests the client sent, and remembers how each round trip ended.
type tripRecorder struct {
	next http.RoundTripper

	mu    sync.Mutex // guards the fields below
	seq   int
	trips map[string]trip
}

type trip struct {
	path string
	err  error // RoundTrip's error
}

func (r *tripRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seq++
	id := strconv.Itoa(r.seq)
	r.mu.Unlock()
	tagged := req.Clone(req.Context())
	tagged.Header.Set("X-Load-Trip", id)
	resp, err := r.next.RoundTrip(tagged)
	r.mu.Lock()
	r.trips[id] = trip{path: req.URL.Path, err: err}
	r.mu.Unlock()
	return resp, err
}

// loadCounters are what the hooks saw, per target.
type loadCounters struct {
	started, ended map[string]*atomic.Int64
	rejections     map[string]*atomic.Int64 // local rejections, any reason
	circuitOpen    map[string]*atomic.Int64 // local rejections because the circuit was open
	limiterWaits   atomic.Int64
	retries        atomic.Int64

	mu sync.Mutex // guards the fields below
	// net[target][s] = transitions into s − transitions out of s;
	// entered[target][s] = transitions into s.
	net, entered map[string]map[resilience.CircuitState]int
}

func newLoadCounters() *loadCounters {
	lc := &loadCounters{
		started: map[string]*atomic.Int64{}, ended: map[string]*atomic.Int64{},
		rejections: map[string]*atomic.Int64{}, circuitOpen: map[string]*atomic.Int64{},
		net: map[string]map[resilience.CircuitState]int{}, entered: map[string]map[resilience.CircuitState]int{},
	}
	for _, tg := range []string{loadPrimary, loadFallback} {
		lc.started[tg], lc.ended[tg] = new(atomic.Int64), new(atomic.Int64)
		lc.rejections[tg], lc.circuitOpen[tg] = new(atomic.Int64), new(atomic.Int64)
		lc.net[tg], lc.entered[tg] = map[resilience.CircuitState]int{}, map[resilience.CircuitState]int{}
	}
	return lc
}

func (lc *loadCounters) hooks() resilience.Hooks {
	return resilience.Hooks{
		OnAttemptStart: func(e resilience.AttemptStart) { lc.started[e.Target].Add(1) },
		OnAttemptEnd:   func(e resilience.AttemptEnd) { lc.ended[e.Target].Add(1) },
		OnRetry:        func(resilience.RetryScheduled) { lc.retries.Add(1) },
		OnLimiterWait:  func(resilience.LimiterWait) { lc.limiterWaits.Add(1) },
		OnRejection: func(e resilience.Rejection) {
			lc.rejections[e.Target].Add(1)
			if errors.Is(e.Err, resilience.ErrCircuitOpen) {
				lc.circuitOpen[e.Target].Add(1)
			}
		},
		OnStateChange: func(e resilience.StateChange) {
			lc.mu.Lock()
			defer lc.mu.Unlock()
			lc.net[e.Target][e.To]++
			lc.net[e.Target][e.From]--
			lc.entered[e.Target][e.To]++
		},
	}
}

// callPlan is what one caller of the load test does.
type callPlan struct {
	stream      bool
	cancelAfter time.Duration // > 0: cancel the ctx then
	deadline    time.Duration // > 0: ctx deadline
	closeEarly  bool          // stream: Close after the first delta
}

// callResult is what one call returned.
type callResult struct {
	returns   int // how many times the call returned: must be 1
	err       error
	text      string // Chat content, or the stream's text
	attempts  int
	cancelled bool // the caller's ctx was done when the call returned
}

func planCalls(n int, seed uint64) []callPlan {
	rng := rand.New(rand.NewPCG(seed, 42))
	plans := make([]callPlan, n)
	for i := range plans {
		p := &plans[i]
		p.stream = rng.IntN(2) == 0
		switch r := rng.Float64(); {
		case r < 0.20:
			p.cancelAfter = time.Duration(rng.Int64N(int64(15 * time.Second)))
		case r < 0.30:
			p.deadline = time.Second + time.Duration(rng.Int64N(int64(20*time.Second)))
		}
		p.closeEarly = p.stream && rng.IntN(5) == 0
	}
	return plans
}

// runCall makes one call as planned.
func runCall(c *client.AiClient, p callPlan) (res callResult) {
	ctx := context.Background()
	var cancel context.CancelFunc
	switch {
	case p.deadline > 0:
		ctx, cancel = context.WithTimeout(ctx, p.deadline)
	default:
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	if p.cancelAfter > 0 {
		timer := time.AfterFunc(p.cancelAfter, cancel)
		defer timer.Stop()
	}
	defer func() { res.cancelled = ctx.Err() != nil }()
	if !p.stream {
		resp, err := c.Chat(ctx, hi())
		res.returns++
		res.err = err
		switch {
		case err != nil && resp != nil:
			res.err = fmt.Errorf("Chat() returned both a response and an error: %w", err)
		case err == nil && resp == nil:
			res.err = errors.New("Chat() returned neither a response nor an error")
		case err == nil:
			res.text, res.attempts = resp.Content, resp.Attempts
		default:
			res.attempts = client.AttemptsOf(err)
		}
		return res
	}
	s, err := c.Stream(ctx, hi())
	res.returns++
	if err != nil {
		res.err, res.attempts = err, client.AttemptsOf(err)
		if s != nil {
			res.err = fmt.Errorf("Stream() returned both a stream and an error: %w", err)
		}
		return res
	}
	defer s.Close()
	res.attempts = s.Attempts()
	var joined strings.Builder
	for s.Next() {
		joined.WriteString(s.Delta())
		if p.closeEarly {
			s.Close()
		}
	}
	res.text, res.err = s.Text(), s.Err()
	if joined.String() != res.text {
		res.err = fmt.Errorf("stream deltas %q differ from Text() %q (err %v)", joined.String(), res.text, res.err)
	}
	return res
}

// TestLoad sends loadCalls concurrent calls (Chat and Stream, half each)
// through one AiClient with a primary and a fallback target, against a
// provider that fails about 40 % of the time (429, 500, 503, 529, resets,
// slow answers, bodies and streams cut part-way), with callers cancelling
// at random and some deadlines. It runs in a synctest bubble over the
// in-process transport, so every delay is virtual. It runs twice on the
// same client and checks after each run that:
//
//   - every call returned exactly once, with a response or an error that is
//     an *aierrors.Error (errors.As); Cancelled only when the caller
//     cancelled; a successful answer is complete, a failed stream's text a
//     prefix of it;
//   - every attempt started ended (OnAttemptStart == OnAttemptEnd), and
//     the calls' attempt counts (Attempts, AttemptsOf) add up to the
//     attempts started;
//   - each attempt sent exactly one HTTP request, and the server saw every
//     one of them except those whose request was cancelled before the
//     server got it (their round trip failed with the ctx's error): for
//     each model, server requests = attempts started − attempts cancelled
//     before reaching the server. Local rejections (open circuit, rate wait
//     past the deadline, queue timeout) start no attempt and send nothing;
//   - the circuit transitions reported to OnStateChange are consistent with
//     the final state (for each state: initial + transitions in −
//     transitions out = 1 if final else 0), and an open-circuit rejection
//     implies the circuit opened;
//   - the limiter let no more attempts start than its rate allows:
//     started ≤ burst + rate × elapsed;
//   - in-flight is back to 0 on both targets;
//   - the heap after the second run is not larger than after the first
//     (plus a small tolerance), and no goroutine is left (synctest and
//     goleak).
func TestLoad(t *testing.T) {
	n := loadCalls(t)
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		rec := &tripRecorder{next: srv.Transport(), trips: map[string]trip{}}
		lc := newLoadCounters()
		c := build(t, builder(srv).Model(loadPrimary).Fallback(loadFallback).
			Resilience(loadConfig()).
			AttemptTimeout(10*time.Second).
			StreamIdleTimeout(5*time.Second).
			Hooks(lc.hooks()).
			HTTPClient(&http.Client{Transport: rec}))

		var heaps [2]uint64
		for run := range 2 {
			srv.Clear()
			answer := providertest.Answer{Status: http.StatusOK, Text: loadText, ChunkDelay: 50 * time.Millisecond}
			for i, model := range []string{"gpt-4o", "claude"} {
				srv.SetDefault(model, answer)
				srv.SetFaults(model, loadFaults(int64(10*run+i+1)))
			}
			loadRun(t, c, srv, rec, lc, planCalls(n, uint64(run+1)))
			if t.Failed() {
				return
			}
			srv.Clear()
			rec.mu.Lock()
			rec.trips = map[string]trip{}
			rec.mu.Unlock()
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heaps[run] = ms.HeapAlloc
		}
		const tolerance = 1 << 20
		if heaps[1] > heaps[0]+tolerance {
			t.Errorf("heap after run 2 = %d bytes, after run 1 = %d; want no growth beyond %d bytes", heaps[1], heaps[0], tolerance)
		}
		t.Logf("%d calls per run; heap after run 1: %.1f MiB, after run 2: %.1f MiB",
			n, float64(heaps[0])/(1<<20), float64(heaps[1])/(1<<20))
	})
}

// loadRun runs one batch of calls and checks the invariants of TestLoad.
func loadRun(t *testing.T, c *client.AiClient, srv *providertest.Server, rec *tripRecorder, lc *loadCounters, plans []callPlan) {
	t.Helper()
	base := map[string]int64{}
	for tg, v := range lc.started {
		base[tg] = v.Load()
	}
	baseEnded := map[string]int64{}
	for tg, v := range lc.ended {
		baseEnded[tg] = v.Load()
	}
	baseOpen := map[string]int64{}
	for tg, v := range lc.circuitOpen {
		baseOpen[tg] = v.Load()
	}

	start := time.Now()
	results := make([]callResult, len(plans))
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Go(func() { results[i] = runCall(c, p) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Every call returned exactly once, with a response or a classified
	// error.
	var ok, failed, attempts int
	codes := map[aierrors.StandardErrorCode]int{}
	for i, r := range results {
		p := plans[i]
		attempts += r.attempts
		if r.returns != 1 {
			t.Fatalf("call %d (%+v) returned %d times; want exactly once", i, p, r.returns)
		}
		if r.err == nil {
			ok++
			if r.text != loadText {
				t.Errorf("call %d (%+v) = %q; want the complete answer %q", i, p, r.text, loadText)
			}
			continue
		}
		failed++
		var ae *aierrors.Error
		if !errors.As(r.err, &ae) {
			t.Fatalf("call %d (%+v) error = %v (%T); want an *aierrors.Error", i, p, r.err, r.err)
		}
		codes[ae.Code]++
		if ae.Code.Code() == "" || strings.HasPrefix(ae.Code.String(), "StandardErrorCode(") {
			t.Errorf("call %d error = %v; code %d is not a known code", i, r.err, ae.Code)
		}
		if !strings.HasPrefix(loadText, r.text) {
			t.Errorf("call %d (%+v) kept text %q; want a prefix of %q", i, p, r.text, loadText)
		}
		if ae.Code == aierrors.Cancelled && !r.cancelled && !p.closeEarly {
			t.Errorf("call %d (%+v) error = %v; Cancelled, but its caller did not cancel", i, p, r.err)
		}
		if errors.Is(r.err, context.Canceled) && p.cancelAfter == 0 && !p.closeEarly {
			t.Errorf("call %d (%+v) error = %v; wraps context.Canceled, but nobody cancelled it", i, p, r.err)
		}
		if errors.Is(r.err, context.DeadlineExceeded) && p.deadline == 0 &&
			!errors.Is(r.err, client.ErrAttemptTimeout) && !errors.Is(r.err, client.ErrStreamIdle) {
			t.Errorf("call %d (%+v) error = %v; the caller's deadline, but it had none", i, p, r.err)
		}
	}

	// Attempts: started = ended = the sum over the calls.
	var started int64
	for _, tg := range []string{loadPrimary, loadFallback} {
		s, e := lc.started[tg].Load()-base[tg], lc.ended[tg].Load()-baseEnded[tg]
		if s != e {
			t.Errorf("%s: OnAttemptStart %d times, OnAttemptEnd %d times; want equal", tg, s, e)
		}
		started += s
	}
	if int64(attempts) != started {
		t.Errorf("calls report %d attempts in all; hooks saw %d attempts start", attempts, started)
	}

	// Requests: every attempt sent one, and the server saw each except
	// those cancelled before it got them.
	received := map[string]providertest.Request{}
	for _, r := range srv.Received() {
		id := r.Header.Get("X-Load-Trip")
		if _, dup := received[id]; dup || id == "" {
			t.Fatalf("server received trip %q twice or untagged", id)
		}
		received[id] = r
	}
	rec.mu.Lock()
	trips := rec.trips
	rec.mu.Unlock()
	tripsByTarget := map[string]int64{}
	unsent := map[string]int64{}
	for id, tr := range trips {
		tg := loadPrimary
		if strings.HasSuffix(tr.path, "/messages") {
			tg = loadFallback
		}
		tripsByTarget[tg]++
		if _, ok := received[id]; ok {
			continue
		}
		if !errors.Is(tr.err, context.Canceled) && !errors.Is(tr.err, context.DeadlineExceeded) {
			t.Errorf("trip %s to %s never reached the server, error %v; want only cancelled requests to be missing", id, tr.path, tr.err)
		}
		unsent[tg]++
	}
	for tg, model := range map[string]string{loadPrimary: "gpt-4o", loadFallback: "claude"} {
		s := lc.started[tg].Load() - base[tg]
		if tripsByTarget[tg] != s {
			t.Errorf("%s: %d HTTP requests sent for %d attempts; want one per attempt", tg, tripsByTarget[tg], s)
		}
		st := srv.Stats(model)
		if want := s - unsent[tg]; int64(st.Requests) != want {
			t.Errorf("%s: server saw %d requests; want attempts %d − cancelled before sending %d = %d",
				tg, st.Requests, s, unsent[tg], want)
		}
		// The limiter let no more through than its rate.
		if limit := float64(loadBurst) + loadRPS*elapsed.Seconds() + 1; float64(s) > limit {
			t.Errorf("%s: %d attempts in %v; the limiter allows at most %.0f", tg, s, elapsed, limit)
		}
		// The circuit's transitions add up to its state.
		sig, _ := c.Signals(tg)
		if sig.CurrentInflight != 0 {
			t.Errorf("%s: CurrentInflight = %d after every call returned; want 0", tg, sig.CurrentInflight)
		}
		lc.mu.Lock()
		for _, state := range []resilience.CircuitState{resilience.StateClosed, resilience.StateOpen, resilience.StateHalfOpen} {
			net := lc.net[tg][state]
			if state == resilience.StateClosed {
				net++ // the initial state
			}
			want := 0
			if state == sig.CircuitState {
				want = 1
			}
			if net != want {
				t.Errorf("%s: state %v entered − left = %d per OnStateChange; final state %v", tg, state, net, sig.CircuitState)
			}
		}
		if lc.circuitOpen[tg].Load() > baseOpen[tg] && lc.entered[tg][resilience.StateOpen] == 0 {
			t.Errorf("%s: open-circuit rejections without the circuit ever opening", tg)
		}
		lc.mu.Unlock()
		t.Logf("%s: %d attempts, %d sent, %d cancelled before the server, server stats %+v, %d local rejections (%d circuit open), circuit opened %d times, final %v",
			tg, s, tripsByTarget[tg], unsent[tg], st, lc.rejections[tg].Load(), lc.circuitOpen[tg].Load(), lc.entered[tg][resilience.StateOpen], sig.CircuitState)
	}
	t.Logf("%d calls in %v (virtual): %d ok, %d failed %v; %d retries, %d limiter waits",
		len(plans), elapsed, ok, failed, codes, lc.retries.Load(), lc.limiterWaits.Load())
	if ok == 0 || failed == 0 {
		t.Errorf("%d ok, %d failed; want both: the faults did not take effect", ok, failed)
	}
}
