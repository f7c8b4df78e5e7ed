// Command quickstart is ailib's first run: a few dozen concurrent chats and
// one stream through an AiClient whose primary provider misbehaves.
//
//	go run ./examples/quickstart
//
// With no API key in the environment it starts an embedded fault-injection
// provider (client/providertest) on a loopback port: the primary,
// openai/gpt-4o, answers slowly, then fails in bursts of 503, sends a 429
// with Retry-After, and finally goes down; the fallback,
// anthropic/claude-3-5-sonnet-latest (another wire format), stays healthy.
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
	"math/rand/v2"
	"os"
	"slices"
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
	fallbackModel = "claude-3-5-sonnet-latest"
)

// Models of live mode (flags -openai-model, -anthropic-model).
var (
	liveOpenAI    = "gpt-4o-mini"
	liveAnthropic = "claude-3-5-haiku-latest"
)

func main() {
	offline := flag.Bool("offline", false, "use the embedded provider even when an API key is set")
	calls := flag.Int("calls", 0, "number of chat calls (default 44 offline, 3 live)")
	workers := flag.Int("concurrency", 6, "concurrent callers")
	flag.StringVar(&liveOpenAI, "openai-model", liveOpenAI, "OpenAI model used in live mode")
	flag.StringVar(&liveAnthropic, "anthropic-model", liveAnthropic, "Anthropic model used in live mode")
	flag.Parse()

	if err := run(*offline, *calls, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(forceOffline bool, calls, workers int) error {
	start := time.Now()
	st := newStats()
	var srv *providertest.Server // nil in live mode
	b := client.NewBuilder().Hooks(st.hooks(func() {
		// The primary comes back 1.5s after its circuit first opened.
		if srv != nil {
			time.AfterFunc(1500*time.Millisecond, func() {
				fmt.Printf("           provider %-36s the outage is over\n", "openai/"+primaryModel)
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
		fmt.Printf("Live mode: talking to the real provider(s) %s with keys from the environment.\n", strings.Join(targets, ", "))
		fmt.Printf("(%d short calls and one stream; run with -offline for the fault-injection demo)\n\n", calls)
		b.Model(targets[0]).Fallback(targets[1:]...)
	} else {
		if calls == 0 {
			calls = 44
		}
		srv = startProvider()
		defer srv.Close()
		fmt.Printf("Offline demo: no API key in the environment, so ailib talks to an embedded\n")
		fmt.Printf("fault-injection provider at %s (client/providertest).\n", srv.URL())
		fmt.Printf("  primary   %-36s OpenAI format: 503 bursts, a 429 with Retry-After, then an outage\n", "openai/"+primaryModel)
		fmt.Printf("  fallback  %-36s Anthropic format: healthy\n\n", "anthropic/"+fallbackModel)
		b.Model("openai/"+primaryModel).
			Fallback("anthropic/"+fallbackModel).
			IgnoreEnvironment().
			Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-demo-openai-0000000000"}).
			Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-demo-0000000000"}).
			Resilience(demoConfig()).
			AttemptTimeout(2 * time.Second)
	}
	c, err := b.Build()
	if err != nil {
		return err
	}
	primary := c.Targets()[0]

	fmt.Printf("Running %d chats, %d at a time:\n", calls, workers)
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

	fmt.Printf("\nOne stream")
	if srv != nil && c.SignalsSnapshot().CircuitState == resilience.StateClosed {
		// Its first connection drops before any text: retried, unseen by the caller.
		srv.Script(primaryModel, providertest.Answer{Status: 200, CutAfter: providertest.CutAtStart})
		fmt.Printf(" (the provider drops its first connection before any text)")
	}
	fmt.Printf(":\n")
	stream(c)

	// The snapshot may report a state change to the hooks: read it before
	// taking the lock they use.
	s := c.SignalsSnapshot()
	st.mu.Lock()
	defer st.mu.Unlock()
	lat := slices.Clone(st.latencies)
	slices.Sort(lat)
	fmt.Printf("\nSummary (%.1fs)\n", time.Since(start).Seconds())
	fmt.Printf("  calls              %d ok, %d failed (+1 stream)\n", st.ok, st.failed)
	fmt.Printf("  provider requests  %d (%s)\n", st.requests.Load(), st.perTarget())
	fmt.Printf("  retries            %d\n", st.retries.Load())
	fmt.Printf("  fallbacks          %d (calls answered by a fallback: %d)\n", st.fallbacks.Load(), st.byFallback)
	fmt.Printf("  breaker            %s\n", st.transitionsText())
	fmt.Printf("  rejections         %d (circuit open: the primary was not even asked)\n", st.rejections.Load())
	fmt.Printf("  limiter waits      %d (pauses the provider asked for with Retry-After)\n", st.waits.Load())
	fmt.Printf("  latency            p50 %v  p99 %v  max %v\n", pct(lat, 50), pct(lat, 99), pct(lat, 100))
	fmt.Printf("\nSignals of %s now\n", primary)
	fmt.Printf("  circuit %s, %d consecutive failures, open for %v more\n", s.CircuitState, s.Circuit.ConsecutiveFailures, s.Circuit.OpenFor.Round(time.Millisecond))
	fmt.Printf("  in flight %d (max %s), rate tokens %s\n", s.CurrentInflight, orUnlimited(s.MaxInflight), tokens(s.RateRemaining))
	return nil
}

// chat runs one call and prints one line.
func chat(c *client.AiClient, st *stats, i int, live bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prompt := fmt.Sprintf("In five words: why do retries need jitter? (#%d)", i)
	begin := time.Now()
	resp, err := c.Chat(ctx, client.ChatRequest{
		Messages:  []client.Message{client.System("You answer in one short sentence."), client.User(prompt)},
		MaxTokens: 40,
	})
	d := time.Since(begin)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latencies = append(st.latencies, d)
	if err != nil {
		st.failed++
		fmt.Printf("  call %2d  FAIL %-36s %-11s %6v  %v\n", i, aierrors.CodeOf(err).String(), requests(client.AttemptsOf(err)), d.Round(time.Millisecond), shorten(err.Error(), 80))
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
	fmt.Printf("  call %2d  ok   %-36s %-11s %6v%s\n", i, target, requests(resp.Attempts), d.Round(time.Millisecond), text)
}

// stream runs one streamed call, printing text as it arrives.
func stream(c *client.AiClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := c.Stream(ctx, client.ChatRequest{Messages: []client.Message{client.User("Describe a circuit breaker in one sentence.")}})
	if err != nil {
		fmt.Printf("  stream failed before any text: %v\n", err)
		return
	}
	defer s.Close()
	fmt.Print("  ")
	for s.Next() {
		fmt.Print(s.Delta())
	}
	fmt.Println()
	if err := s.Err(); err != nil {
		fmt.Printf("  stream failed after %d bytes: %v\n", len(s.Text()), err)
		return
	}
	fmt.Printf("  (from %s/%s, %s, finish reason %q)\n", s.Provider(), s.Model(), requests(s.Attempts()), s.FinishReason())
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

// stats collects what the hooks and calls report. Hooks run on the
// callers' goroutines, concurrently.
type stats struct {
	requests, retries, fallbacks, rejections, waits atomic.Int64
	firstOpen                                       sync.Once

	mu          sync.Mutex // guards the fields below
	perTargetN  map[string]int
	transitions []string
	latencies   []time.Duration
	ok, failed  int
	byFallback  int
}

func newStats() *stats { return &stats{perTargetN: map[string]int{}} }

// hooks returns the hooks; onOpen runs the first time a circuit opens.
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
			fmt.Printf("           retry    %-36s in %v after %s\n", r.Target, r.Delay.Round(time.Millisecond), describe(r.Err))
		},
		OnFallback: func(h resilience.FallbackHop) {
			if h.From != "" && h.To != "" {
				st.fallbacks.Add(1)
			}
		},
		OnRejection: func(r resilience.Rejection) { st.rejections.Add(1) },
		OnLimiterWait: func(w resilience.LimiterWait) {
			if w.Wait >= 50*time.Millisecond {
				st.waits.Add(1)
				fmt.Printf("           wait     %-36s %v for the provider's rate limit\n", w.Target, w.Wait.Round(time.Millisecond))
			}
		},
		OnStateChange: func(s resilience.StateChange) {
			st.mu.Lock()
			st.transitions = append(st.transitions, s.From.String()+"→"+s.To.String())
			st.mu.Unlock()
			fmt.Printf("           circuit  %-36s %s → %s\n", s.Target, s.From, s.To)
			if s.To == resilience.StateOpen {
				st.firstOpen.Do(onOpen)
			}
		},
	}
}

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
