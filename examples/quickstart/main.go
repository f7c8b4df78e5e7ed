// Command quickstart is ailib's first run: a few dozen concurrent chats and
// one stream through an AiClient whose primary provider misbehaves.
//
//	go run ./examples/quickstart
//
// The offline demo runs a configuration tuned so that the story fits in a
// few seconds (fewer, quicker retries; a breaker that opens after 4
// failures and stays open 1s; a rate and in-flight cap); it prints how it
// differs from resilience.DefaultConfig.
//
// With no API key in the environment it starts an embedded fault-injection
// provider (client/providertest) on a loopback port: the primary,
// openai/gpt-4o, answers slowly, then fails in bursts of 503, sends a 429
// with Retry-After, and finally goes down; the fallback,
// anthropic/claude-sonnet-4-5 (another wire format), stays healthy.
// Watch the retries, the circuit opening, and the calls moving to the
// fallback; the program ends with a summary and the primary's signals.
//
// With OPENAI_API_KEY (or ANTHROPIC_API_KEY) set it talks to the real
// provider instead, with a handful of calls. -offline forces the embedded
// provider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

const (
	primaryModel  = "gpt-4o"
	fallbackModel = "claude-sonnet-4-5"
)

// Models of live mode (flags -openai-model, -anthropic-model).
var (
	liveOpenAI    = "gpt-4o-mini"
	liveAnthropic = "claude-haiku-4-5"
)

func main() {
	offline := flag.Bool("offline", false, "use the embedded provider even when an API key is set")
	calls := flag.Int("calls", 0, "number of chat calls (default 44 offline, 3 live)")
	workers := flag.Int("concurrency", 6, "concurrent callers")
	flag.StringVar(&liveOpenAI, "openai-model", liveOpenAI, "OpenAI model used in live mode")
	flag.StringVar(&liveAnthropic, "anthropic-model", liveAnthropic, "Anthropic model used in live mode")
	flag.Parse()

	if err := run(os.Stdout, *offline, *calls, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run runs the demo, writing to out.
func run(out io.Writer, forceOffline bool, calls, workers int) error {
	start := time.Now()
	st := newStats(out)
	var srv *providertest.Server // nil in live mode
	b := client.NewBuilder().Hooks(st.hooks(func() {
		// The primary comes back 1.5s after its circuit first opened.
		if srv != nil {
			time.AfterFunc(1500*time.Millisecond, func() {
				st.printf("           provider %-36s the outage is over\n", "openai/"+primaryModel)
				srv.SetDefault(primaryModel, okAnswer())
			})
		}
	}))

	live := !forceOffline && (os.Getenv("OPENAI_API_KEY") != "" || os.Getenv("ANTHROPIC_API_KEY") != "")
	if live {
		if calls == 0 {
			calls = 3
		}
		var targets []string
		if os.Getenv("OPENAI_API_KEY") != "" {
			targets = append(targets, "openai/"+liveOpenAI)
		}
		if os.Getenv("ANTHROPIC_API_KEY") != "" {
			targets = append(targets, "anthropic/"+liveAnthropic)
		}
		st.printf("Live mode: talking to the real provider(s) %s with keys from the environment.\n", strings.Join(targets, ", "))
		st.printf("(%d short calls and one stream; run with -offline for the fault-injection demo)\n\n", calls)
		b.Model(targets[0]).Fallback(targets[1:]...)
	} else {
		if calls == 0 {
			calls = 44
		}
		srv = startProvider()
		defer srv.Close()
		st.printf("Offline demo: no API key in the environment, so ailib talks to an embedded\n")
		st.printf("fault-injection provider at %s (client/providertest).\n", srv.URL())
		st.printf("  primary   %-36s OpenAI format: 503 bursts, a 429 with Retry-After, then an outage\n", "openai/"+primaryModel)
		st.printf("  fallback  %-36s Anthropic format: healthy\n\n", "anthropic/"+fallbackModel)
		st.printf("A configuration tuned so that the story fits in seconds; resilience.DefaultConfig differs:\n")
		for _, d := range tunedDifferences(demoConfig(), resilience.DefaultConfig()) {
			st.printf("  %s\n", d)
		}
		st.printf("\n")
		b.Model("openai/"+primaryModel).
			Fallback("anthropic/"+fallbackModel).
			IgnoreEnvironment().
			Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-demo-openai-0000000000"}).
			Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-demo-0000000000"}).
			Resilience(demoConfig()).
			AttemptTimeout(2 * time.Second).
			HTTPClient(&http.Client{Transport: st.tracer})
	}
	c, err := b.Build()
	if err != nil {
		return err
	}
	primary := c.Targets()[0]

	st.printf("Running %d chats, %d at a time (each line: call number, outcome, target, requests,\n", calls, workers)
	st.printf("time, of which spent waiting: backoff before retries, pauses the provider asked for):\n")
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				chat(c, st, i, live)
			}
		}()
	}
	for i := 1; i <= calls; i++ {
		jobs <- i
		if !live {
			time.Sleep(100 * time.Millisecond) // spread the calls over a few seconds
		}
	}
	close(jobs)
	wg.Wait()

	st.printf("\nOne stream")
	if srv != nil && c.SignalsSnapshot().CircuitState == resilience.StateClosed {
		// Its first connection drops before any text: retried, unseen by the caller.
		srv.Script(primaryModel, providertest.Answer{Status: 200, CutAfter: providertest.CutAtStart})
		st.printf(" (the provider drops its first connection before any text)")
	}
	st.printf(":\n")
	stream(c, st)

	// The snapshot may report a state change to the hooks: read it before
	// taking the lock they use.
	s := c.SignalsSnapshot()
	st.mu.Lock()
	defer st.mu.Unlock()
	lat := slices.Clone(st.latencies)
	slices.Sort(lat)
	st.printf("\nSummary (%.1fs)\n", time.Since(start).Seconds())
	st.printf("  calls              %d ok, %d failed (+1 stream)\n", st.ok, st.failed)
	st.printf("  provider requests  %d (%s)\n", st.requests.Load(), st.perTarget())
	st.printf("  retries            %d\n", st.retries.Load())
	st.printf("  fallbacks          %d (calls answered by a fallback: %d)\n", st.fallbacks.Load(), st.byFallback)
	st.printf("  breaker            %s\n", st.transitionsText())
	st.printf("  rejections         %d (circuit open: the primary was not even asked)\n", st.rejections.Load())
	st.printf("  limiter waits      %d (pauses the provider asked for with Retry-After)\n", st.waits.Load())
	st.printf("  latency            p50 %v  p99 %v  max %v\n", pct(lat, 50), pct(lat, 99), pct(lat, 100))
	st.printf("\nSignals of %s now\n", primary)
	st.printf("  circuit %s, %d consecutive failures, open for %v more\n", s.CircuitState, s.Circuit.ConsecutiveFailures, s.Circuit.OpenFor.Round(time.Millisecond))
	st.printf("  in flight %d (max %s), rate tokens %s\n", s.CurrentInflight, orUnlimited(s.MaxInflight), tokens(s.RateRemaining))
	return nil
}

// chat runs one call and prints one line: its number, outcome, target,
// requests, time, and the part of that time spent waiting (backoff before
// retries, a pause the provider asked for, a queue) rather than in
// requests.
func chat(c *client.AiClient, st *stats, i int, live bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prompt := fmt.Sprintf("In five words: why do retries need jitter? (#%d)", i)
	begin := time.Now()
	resp, err := c.Chat(ctx, client.ChatRequest{
		Messages:  []client.Message{client.System("You answer in one short sentence."), client.User(prompt)},
		MaxTokens: 40,
		Header:    http.Header{callHeader: {strconv.Itoa(i)}}, // for the demo's tracer
	})
	d := time.Since(begin)
	waited := max(d-st.tracer.inRequests(i), 0)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latencies = append(st.latencies, d)
	if err != nil {
		st.failed++
		st.printf("  call %2d  FAIL %-36s %-11s %6v %s  %v\n", i, aierrors.CodeOf(err).String(), requests(client.AttemptsOf(err)),
			d.Round(time.Millisecond), waitedText(waited), shorten(err.Error(), 80))
		return
	}
	st.ok++
	target := resp.Provider + "/" + resp.Model
	if target != c.Targets()[0] {
		st.byFallback++
	}
	text := ""
	if live {
		text = "  " + shorten(resp.Content, 60)
	}
	st.printf("  call %2d  ok   %-36s %-11s %6v %s%s\n", i, target, requests(resp.Attempts), d.Round(time.Millisecond), waitedText(waited), text)
}

// waitedText says how much of a call's time was spent waiting.
func waitedText(d time.Duration) string {
	return fmt.Sprintf("(waited %v)", d.Round(10*time.Millisecond))
}

// stream runs one streamed call, printing text as it arrives.
func stream(c *client.AiClient, st *stats) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := c.Stream(ctx, client.ChatRequest{
		Messages: []client.Message{client.User("Describe a circuit breaker in one sentence.")},
		Header:   http.Header{callHeader: {"0"}}, // call 0: the stream
	})
	if err != nil {
		st.printf("  stream failed before any text: %v\n", err)
		return
	}
	defer s.Close()
	st.printf("  ")
	for s.Next() {
		st.printf("%s", s.Delta())
	}
	st.printf("\n")
	st.tracer.inRequests(0) // the stream is over
	if err := s.Err(); err != nil {
		st.printf("  stream failed after %d bytes and %s: %v\n", len(s.Text()), requests(client.AttemptsOf(err)), err)
		return
	}
	st.printf("  (from %s/%s, %s, finish reason %q)\n", s.Provider(), s.Model(), requests(s.Attempts()), s.FinishReason())
}

// tunedDifferences says, one line per setting, how the demo's
// configuration differs from def (resilience.DefaultConfig).
func tunedDifferences(cfg, def resilience.ResilientConfig) []string {
	r, dr := cfg.Retry, def.Retry
	b, db := cfg.CircuitBreaker, def.CircuitBreaker
	var out []string
	line := func(what, tuned, dflt string) {
		if tuned != dflt {
			out = append(out, fmt.Sprintf("%-16s %-34s (default: %s)", what, tuned, dflt))
		}
	}
	line("retries", fmt.Sprintf("%d, backoff from %v", r.MaxRetries, r.InitialDelay), fmt.Sprintf("%d, backoff from %v", dr.MaxRetries, dr.InitialDelay))
	line("Retry-After", fmt.Sprintf("honoured up to %v", r.MaxRetryAfter), fmt.Sprintf("honoured up to %v", dr.MaxRetryAfter))
	line("breaker opens", fmt.Sprintf("after %d consecutive failures", b.FailureThreshold), fmt.Sprintf("after %d", db.FailureThreshold))
	line("open for", fmt.Sprintf("%v, then one probe; no doubling", b.Cooldown), fmt.Sprintf("%v, doubling per failed probe up to %v", db.Cooldown, db.MaxCooldown))
	rate := func(c *resilience.RateLimiterConfig) string {
		if c == nil || c.RequestsPerSecond == 0 {
			return "none (learned from the provider)"
		}
		return fmt.Sprintf("%g requests/s, burst %d", c.RequestsPerSecond, c.Burst)
	}
	line("rate", rate(cfg.RateLimiter), rate(def.RateLimiter))
	inflight := func(c *resilience.BackpressureConfig) string {
		if c == nil || c.MaxInflight == 0 {
			return "unlimited"
		}
		return fmt.Sprintf("at most %d", c.MaxInflight)
	}
	line("in flight", inflight(cfg.Backpressure), inflight(def.Backpressure))
	return out
}

// demoConfig is the resilience configuration of the offline demo: quick
// retries and a short open interval, so that the whole story fits in
// seconds. The members left nil (cooldowns) keep their defaults.
func demoConfig() resilience.ResilientConfig {
	return resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{
			MaxRetries:        2,
			InitialDelay:      100 * time.Millisecond,
			MaxDelay:          time.Second,
			BackoffMultiplier: 2,
			Jitter:            0.2,
			MaxRetryAfter:     2 * time.Second,
		},
		RateLimiter: &resilience.RateLimiterConfig{RequestsPerSecond: 50, Burst: 10},
		CircuitBreaker: &resilience.CircuitBreakerConfig{
			FailureThreshold:    4,
			Cooldown:            time.Second, // open for 1s, then one probe;
			MaxCooldown:         time.Second, // no doubling after a failed probe, so the story fits in seconds
			HalfOpenMaxRequests: 1,
		},
		Backpressure: &resilience.BackpressureConfig{MaxInflight: 4},
	}
}

// startProvider starts the embedded provider and scripts the primary's bad
// day. Answers are consumed in arrival order.
func startProvider() *providertest.Server {
	srv := providertest.NewServer(providertest.WithKeepAlive(2))
	var script []providertest.Answer
	for range 6 { // a normal start
		script = append(script, okAnswer())
	}
	script = append(script, providertest.Unavailable(), providertest.Unavailable(), providertest.Unavailable()) // a burst of 503
	for range 4 {
		script = append(script, okAnswer())
	}
	// A 429 with Retry-After: 1, saying the key allows 1200 requests a
	// minute (the client learns its pace from such headers).
	limited := providertest.RateLimited(time.Second)
	limited.Header.Set("x-ratelimit-limit-requests", "1200")
	script = append(script, limited)
	for range 3 {
		script = append(script, okAnswer())
	}
	script = append(script, providertest.Unavailable(), providertest.HTML502(), okAnswer())
	// Then the outage: 503s, a CDN error page, reset connections.
	script = append(script, providertest.Unavailable(), providertest.HTML502(), providertest.Reset(), providertest.ServerError())
	srv.Script(primaryModel, script...)
	srv.SetDefault(primaryModel, providertest.Unavailable())

	srv.SetDefault(fallbackModel, providertest.Answer{
		Status:     200,
		Text:       "Randomized delays keep clients from retrying in lockstep.",
		Delay:      80 * time.Millisecond,
		ChunkDelay: 25 * time.Millisecond,
		Chunks:     strings.SplitAfter("A circuit breaker stops calling a failing service for a while, then lets one probe through to see whether it has recovered.", " "),
	})
	return srv
}

// rng makes the embedded provider's latencies vary the same way on every
// run.
var (
	rngMu sync.Mutex
	rng   = rand.New(rand.NewPCG(1, 2))
)

// okAnswer is a healthy primary answer after 60-200ms.
func okAnswer() providertest.Answer {
	rngMu.Lock()
	d := time.Duration(60+rng.IntN(140)) * time.Millisecond
	rngMu.Unlock()
	return providertest.Answer{
		Status:     200,
		Text:       "Jitter spreads retries out.",
		Delay:      d,
		ChunkDelay: 25 * time.Millisecond,
		Chunks:     strings.SplitAfter("A circuit breaker stops calling a failing service for a while, then lets one probe through to see whether it has recovered.", " "),
	}
}

// stats collects what the hooks and calls report, and prints. Hooks run
// on the callers' goroutines, concurrently.
type stats struct {
	requests, retries, fallbacks, rejections, waits atomic.Int64
	firstOpen                                       sync.Once
	tracer                                          *tracer

	outMu sync.Mutex // guards out: lines from concurrent calls do not mix
	out   io.Writer

	mu          sync.Mutex // guards the fields below
	perTargetN  map[string]int
	transitions []string
	latencies   []time.Duration
	ok, failed  int
	byFallback  int
}

func newStats(out io.Writer) *stats {
	return &stats{out: out, perTargetN: map[string]int{}, tracer: newTracer()}
}

func (st *stats) printf(format string, args ...any) {
	st.outMu.Lock()
	defer st.outMu.Unlock()
	fmt.Fprintf(st.out, format, args...)
}

// hooks returns the hooks; onOpen runs the first time a circuit opens.
// The retry lines name the call they belong to (see tracer).
func (st *stats) hooks(onOpen func()) resilience.Hooks {
	return resilience.Hooks{
		OnAttemptStart: func(a resilience.AttemptStart) {
			st.requests.Add(1)
			st.mu.Lock()
			st.perTargetN[a.Target]++
			st.mu.Unlock()
		},
		OnRetry: func(r resilience.RetryScheduled) {
			st.retries.Add(1)
			st.printf("  %-7s  retry %-36s in %v after %s\n", st.tracer.callOf(r.Err), r.Target, r.Delay.Round(time.Millisecond), describe(r.Err))
		},
		OnFallback: func(h resilience.FallbackHop) {
			if h.From != "" && h.To != "" {
				st.fallbacks.Add(1)
			}
		},
		OnRejection: func(r resilience.Rejection) { st.rejections.Add(1) },
		OnLimiterWait: func(w resilience.LimiterWait) {
			// Which call waits is not known before its request is sent: the
			// call's line says how long it waited.
			if w.Wait >= 50*time.Millisecond {
				st.waits.Add(1)
			}
		},
		OnStateChange: func(s resilience.StateChange) {
			st.mu.Lock()
			st.transitions = append(st.transitions, s.From.String()+"→"+s.To.String())
			st.mu.Unlock()
			st.printf("           circuit  %-36s %s → %s\n", s.Target, s.From, s.To)
			if s.To == resilience.StateOpen {
				st.firstOpen.Do(onOpen)
			}
		},
	}
}

// callHeader carries the demo's call number on each request, so that the
// tracer can tell which call a request and its error belong to.
const callHeader = "X-Demo-Call"

// tracer is the demo's window on each call, not something an application
// needs: an http.RoundTripper (given with Builder.HTTPClient) that reads
// the call number from callHeader, adds up the time each call spends in
// requests, and remembers which call each answer (by its request ID) or
// connection failure belongs to, so that a retry line can name its call.
type tracer struct {
	base http.RoundTripper

	mu      sync.Mutex // guards the maps
	inReqs  map[int]time.Duration
	byReqID map[string]int
	active  map[int]bool // calls under way
}

func newTracer() *tracer {
	return &tracer{base: http.DefaultTransport.(*http.Transport).Clone(), inReqs: map[int]time.Duration{}, byReqID: map[string]int{}, active: map[int]bool{}}
}

func (tr *tracer) RoundTrip(r *http.Request) (*http.Response, error) {
	n, _ := strconv.Atoi(r.Header.Get(callHeader))
	start := time.Now()
	resp, err := tr.base.RoundTrip(r)
	tr.mu.Lock()
	tr.active[n] = true
	tr.inReqs[n] += time.Since(start)
	if resp != nil {
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			tr.byReqID[id] = n
		}
	}
	tr.mu.Unlock()
	if err != nil {
		return nil, &callFailure{call: n, err: err}
	}
	return resp, nil
}

// CloseIdleConnections lets AiClient.CloseIdleConnections reach the
// transport.
func (tr *tracer) CloseIdleConnections() {
	tr.base.(interface{ CloseIdleConnections() }).CloseIdleConnections()
}

// inRequests returns the time call n spent in requests; the call is over.
func (tr *tracer) inRequests(n int) time.Duration {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	delete(tr.active, n)
	return tr.inReqs[n]
}

// callOf names the call an attempt's error belongs to: "call 7", or
// "stream" (call 0); "call ?" when not known.
func (tr *tracer) callOf(err error) string {
	n := -1
	var cf *callFailure
	var ae *aierrors.Error
	switch {
	case errors.As(err, &cf):
		n = cf.call
	case errors.As(err, &ae) && ae.RequestID != "":
		tr.mu.Lock()
		if m, ok := tr.byReqID[ae.RequestID]; ok {
			n = m
		}
		tr.mu.Unlock()
	}
	if n < 0 { // a stream cut before its text has neither: the only call under way, if one
		tr.mu.Lock()
		if len(tr.active) == 1 {
			for m := range tr.active {
				n = m
			}
		}
		tr.mu.Unlock()
	}
	switch {
	case n == 0:
		return "stream"
	case n > 0:
		return fmt.Sprintf("call %2d", n)
	}
	return "call ?"
}

// callFailure is a connection failure of call's request; it unwraps to
// the failure, so ailib classifies it as usual.
type callFailure struct {
	call int
	err  error
}

func (e *callFailure) Error() string { return e.err.Error() }
func (e *callFailure) Unwrap() error { return e.err }

// perTarget requires st.mu.
func (st *stats) perTarget() string {
	var parts []string
	for _, k := range slices.Sorted(mapsKeys(st.perTargetN)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, st.perTargetN[k]))
	}
	return strings.Join(parts, ", ")
}

// transitionsText requires st.mu.
func (st *stats) transitionsText() string {
	if len(st.transitions) == 0 {
		return "no transitions"
	}
	return strings.Join(st.transitions, ", ")
}

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted) - 1) * p / 100
	return sorted[i].Round(time.Millisecond)
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func orUnlimited(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

func tokens(f float64) string {
	if f > 1e15 {
		return "unlimited"
	}
	return fmt.Sprintf("%.1f", f)
}

// describe says what an attempt's error was: "HTTP 503 overloaded".
func describe(err error) string {
	var ae *aierrors.Error
	if !errors.As(err, &ae) {
		return "error"
	}
	switch {
	case ae.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d %s", ae.HTTPStatus, ae.Code.Name())
	case errors.Is(err, client.ErrStreamTruncated):
		return ae.Code.Name() + " (stream cut before any text)"
	}
	return ae.Code.Name() + " (connection failed)"
}

func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}
