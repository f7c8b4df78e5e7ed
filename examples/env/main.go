// Command env shows how environment variables tune an AiClient without a
// code change, and how a bad value is reported.
//
//	go run ./examples/env
//	AI_LIB_MAX_RETRIES=0 go run ./examples/env
//	AI_LIB_MAX_RETRIES=1 AI_LIB_BREAKER_FAILURE_THRESHOLD=2 go run ./examples/env
//	AI_LIB_RPS=fast go run ./examples/env          # a Build error naming the variable
//	AI_LIB_RPSS=5 go run ./examples/env            # a warning naming the unknown (misspelt) variable
//
// Variables are read by Build, once: API keys (OPENAI_API_KEY, ...) and the
// resilience tuning (AI_LIB_*). Settings made in code win over them, field
// by field (with Builder.Resilience the variables still fill what the code
// leaves unset), and Builder.IgnoreEnvironment turns them off. No variable
// can change where requests go. The example runs offline against an embedded fault-injection
// provider (client/providertest); the key is set in code for it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
)

// tuning lists the variables resilience.ResilientConfig.WithEnv reads (the
// table is in the resilience package doc).
var tuning = []string{
	"AI_LIB_RPS", "AI_LIB_BURST", "AI_LIB_TPM", "AI_LIB_MAX_RETRIES", "AI_LIB_RETRY_BUDGET",
	"AI_LIB_BREAKER_FAILURE_THRESHOLD", "AI_LIB_BREAKER_COOLDOWN_SECS", "AI_LIB_BREAKER_MAX_COOLDOWN_SECS",
	"AI_LIB_BREAKER_FAILURE_RATE", "AI_LIB_BREAKER_MIN_REQUESTS", "AI_LIB_BREAKER_WINDOW_SECS",
	"AI_LIB_MAX_INFLIGHT", "AI_LIB_QUEUE_TIMEOUT_MS",
}

func main() {
	if err := run(os.Stdout); err != nil {
		os.Exit(1)
	}
}

// errBuild is returned by run when Build failed (it printed why).
var errBuild = errors.New("build failed")

// run shows the effective configuration and one call, writing to out.
func run(out io.Writer) error {
	fmt.Fprintln(out, "AI_LIB_* variables set:")
	found := false
	for _, v := range tuning {
		if val, ok := os.LookupEnv(v); ok {
			fmt.Fprintf(out, "  %s=%q\n", v, val)
			found = true
		}
	}
	if !found {
		fmt.Fprintln(out, "  none (try AI_LIB_MAX_RETRIES=0 go run ./examples/env)")
	}

	srv := providertest.NewServer()
	defer srv.Close()

	// No Resilience(...) here: the AI_LIB_* variables fill the configuration,
	// and the defaults whatever they leave unset.
	c, err := client.NewBuilder().
		Model("openai/gpt-4o").
		BaseURL(srv.URL() + "/v1").
		APIKey("sk-demo-openai-0000000000").
		Build()
	if err != nil {
		fmt.Fprintf(out, "\nBuild failed, naming each bad variable:\n%v\n", err)
		return errBuild
	}

	// What Build used: the zero config (every part at its defaults) filled
	// from the environment. A field still zero means its default.
	cfg, _ := resilience.ResilientConfig{}.WithEnv() // an error was already reported by Build
	def := resilience.DefaultConfig()
	r, b := cfg.Retry, cfg.CircuitBreaker
	fmt.Fprintln(out, "\nEffective configuration:")
	fmt.Fprintf(out, "  retries            %d (backoff from %v, at most %v), %s\n", r.MaxRetries,
		or(r.InitialDelay, def.Retry.InitialDelay), or(r.MaxDelay, def.Retry.MaxDelay), budget(r.Budget))
	fmt.Fprintf(out, "  rate limit         %s\n", rate(cfg.RateLimiter))
	fmt.Fprintf(out, "  circuit breaker    %s, open for %v at first, at most %v\n", breaker(b, def.CircuitBreaker),
		or(b.Cooldown, def.CircuitBreaker.Cooldown), or(b.MaxCooldown, def.CircuitBreaker.MaxCooldown))
	fmt.Fprintf(out, "  in-flight cap      %s\n", inflight(cfg.Backpressure))

	// The provider fails twice with 503, then answers: whether the call
	// succeeds depends on AI_LIB_MAX_RETRIES.
	srv.Script("gpt-4o", providertest.Unavailable(), providertest.Unavailable(), providertest.OK("Hello after two 503s"))
	fmt.Fprintln(out, "\nA call to a provider that fails twice, then answers:")
	start := time.Now()
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hello")}})
	if err != nil {
		fmt.Fprintf(out, "  failed after %d requests in %v: %v\n", client.AttemptsOf(err), time.Since(start).Round(time.Millisecond), err)
	} else {
		fmt.Fprintf(out, "  %q after %d requests in %v\n", resp.Content, resp.Attempts, time.Since(start).Round(time.Millisecond))
	}
	s := c.SignalsSnapshot()
	fmt.Fprintf(out, "  circuit now %s (%d consecutive failures)\n", s.CircuitState, s.Circuit.ConsecutiveFailures)
	c.CloseIdleConnections()
	return nil
}

// or returns v, or def when v is zero (a zero field means the default).
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func budget(n int) string {
	switch {
	case n < 0:
		return "no retry budget"
	case n == 0:
		return "retry budget of 40 attempts (the default)"
	}
	return fmt.Sprintf("retry budget of %d attempts", n)
}

func rate(l *resilience.RateLimiterConfig) string {
	if l == nil || l.RequestsPerSecond == 0 || math.IsInf(l.RequestsPerSecond, 1) {
		return "none configured (learns the provider's limit from its rate-limit headers)"
	}
	return fmt.Sprintf("%g requests/s, burst %d", l.RequestsPerSecond, or(l.Burst, int(math.Ceil(l.RequestsPerSecond))))
}

func breaker(b, def *resilience.CircuitBreakerConfig) string {
	consecutive := fmt.Sprintf("%d consecutive failures", or(b.FailureThreshold, def.FailureThreshold))
	ratio := fmt.Sprintf("a failure rate of %g over at least %d attempts in %v",
		or(b.FailureRateThreshold, def.FailureRateThreshold), or(b.MinRequests, def.MinRequests), or(b.Window, def.Window))
	return "opens after " + consecutive + " or at " + ratio
}

func inflight(b *resilience.BackpressureConfig) string {
	if b == nil || b.MaxInflight == 0 {
		return "none"
	}
	return fmt.Sprintf("%d", b.MaxInflight)
}
