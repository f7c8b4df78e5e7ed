package client_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Keys used by the tests; long enough for the redaction of exact secrets.
const (
	openAIKey    = "sk-test-openai-0123456789abcdef"
	anthropicKey = "sk-ant-test-0123456789abcdef"
)

// fastConfig retries 3 times with millisecond backoff and opens the circuit
// after 5 counted failures, so that loopback tests stay quick.
func fastConfig() resilience.ResilientConfig {
	return resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{
			MaxRetries:        3,
			InitialDelay:      time.Millisecond,
			MaxDelay:          2 * time.Millisecond,
			BackoffMultiplier: 2,
		},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 5, Cooldown: time.Minute},
	}
}

// offConfig turns every resilience part off (retries, pacing, breaker,
// cooldowns; no in-flight cap): one request per call. A nil member means
// its defaults, so each part is disabled explicitly.
func offConfig() resilience.ResilientConfig {
	return resilience.ResilientConfig{
		Retry:          &resilience.RetryConfig{Disabled: true},
		RateLimiter:    &resilience.RateLimiterConfig{Disabled: true},
		CircuitBreaker: &resilience.CircuitBreakerConfig{Disabled: true},
		Cooldown:       &resilience.CooldownConfig{Disabled: true},
	}
}

// only returns cfg with every member it leaves nil turned off, as a nil
// member meant before nil came to mean "the defaults".
func only(cfg resilience.ResilientConfig) resilience.ResilientConfig {
	off := offConfig()
	if cfg.Retry == nil {
		cfg.Retry = off.Retry
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter = off.RateLimiter
	}
	if cfg.CircuitBreaker == nil {
		cfg.CircuitBreaker = off.CircuitBreaker
	}
	if cfg.Cooldown == nil {
		cfg.Cooldown = off.Cooldown
	}
	return cfg
}

// builder returns a builder whose openai and anthropic providers point at
// srv, with keys set in code and the environment ignored.
func builder(srv *providertest.Server) *client.Builder {
	return client.NewBuilder().
		IgnoreEnvironment().
		Resilience(fastConfig()).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: openAIKey}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: anthropicKey}).
		Provider("groq", client.ProviderConfig{BaseURL: srv.URL() + "/openai/v1", APIKey: "gsk_test0123456789abcdef"})
}

// build builds b, failing the test on error, and closes idle connections
// at the end of the test.
func build(t *testing.T, b *client.Builder) *client.AiClient {
	t.Helper()
	c, err := b.Build()
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// newServer starts a loopback providertest server closed at the end of the
// test.
func newServer(t *testing.T, opts ...providertest.Option) *providertest.Server {
	t.Helper()
	srv := providertest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// hi is a one-message request.
func hi() client.ChatRequest {
	return client.ChatRequest{Messages: []client.Message{client.User("Hi")}}
}

// inProcess returns a builder whose requests go to srv in-process (no
// socket), for synctest bubbles.
func inProcess(srv *providertest.Server) *client.Builder {
	return builder(srv).HTTPClient(&http.Client{Transport: srv.Transport()})
}

// newTextLogger logs everything, Debug included, to w.
func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
