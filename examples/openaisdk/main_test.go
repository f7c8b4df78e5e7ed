package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const model = "gpt-5.4-mini"

// recorder keeps what the executor's hooks and signals said after each
// attempt.
type recorder struct {
	mu       sync.Mutex
	exec     *resilience.ResilientExecutor
	codes    []aierrors.StandardErrorCode // per attempt; 0 = success
	failures []int                        // breaker's consecutive failures after each attempt
	retries  int
}

func (r *recorder) hooks() resilience.Hooks {
	return resilience.Hooks{
		OnAttemptEnd: func(a resilience.AttemptEnd) {
			s := r.exec.Signals()
			r.mu.Lock()
			defer r.mu.Unlock()
			r.codes = append(r.codes, aierrors.CodeOf(a.Err))
			r.failures = append(r.failures, s.Circuit.ConsecutiveFailures)
		},
		OnRetry: func(resilience.RetryScheduled) { r.mu.Lock(); r.retries++; r.mu.Unlock() },
	}
}

// setup returns an in-process provider and an SDK client whose requests go
// through a Transport over it. The limiter starts with burst tokens and
// practically no refill, so every attempt must spend one.
func setup(t *testing.T, cfg resilience.ResilientConfig) (*providertest.Server, *recorder, openai.Client) {
	t.Helper()
	srv := providertest.New()
	rec := &recorder{}
	exec, err := resilience.NewResilientExecutor(cfg, resilience.WithName("openai/"+model), resilience.WithHooks(rec.hooks()))
	if err != nil {
		t.Fatalf("NewResilientExecutor() = %v", err)
	}
	rec.exec = exec
	client, _ := newClient(exec, srv.Transport(),
		option.WithBaseURL("https://api.openai.test/v1/"), option.WithAPIKey("sk-test-SECRET"))
	return srv, rec, client
}

func testConfig() resilience.ResilientConfig {
	return resilience.ResilientConfig{
		Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 100 * time.Millisecond, BackoffMultiplier: 2},
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 5},
		RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: 0.001, Burst: 4},
	}
}

func chatParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
	}
}

// The "done means": 503, 503, 200 through the Transport is one
// successful SDK call, three provider requests, and the breaker and the
// limiter saw each attempt. The SDK itself did not retry.
func TestSDKRetriesThroughTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, rec, client := setup(t, testConfig())
		srv.Script(model, providertest.Unavailable(), providertest.Unavailable(), providertest.OK("Hello from the SDK"))

		start := time.Now()
		completion, err := client.Chat.Completions.New(context.Background(), chatParams())
		if err != nil {
			t.Fatalf("Chat.Completions.New() error = %v; want nil", err)
		}
		if got := completion.Choices[0].Message.Content; got != "Hello from the SDK" {
			t.Errorf("answer = %q; want %q", got, "Hello from the SDK")
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("call took %v; want >= 300ms (the executor's backoff: 100ms + 200ms)", d)
		}

		got := srv.Received()
		if len(got) != 3 {
			t.Fatalf("provider requests = %d; want 3", len(got))
		}
		for i, r := range got {
			if !bytes.Equal(r.Body, got[0].Body) || !bytes.Contains(r.Body, []byte(`"model":"gpt-5.4-mini"`)) {
				t.Errorf("request %d body = %s; want the first request's body (replayed)", i+1, r.Body)
			}
			if rc := r.Header.Get("X-Stainless-Retry-Count"); rc != "0" {
				t.Errorf("request %d X-Stainless-Retry-Count = %q; want 0 (the SDK did not retry)", i+1, rc)
			}
			if auth := r.Header.Get("Authorization"); auth != "Bearer sk-test-SECRET" {
				t.Errorf("request %d Authorization = %q; want the key on every attempt", i+1, auth)
			}
		}

		rec.mu.Lock()
		defer rec.mu.Unlock()
		wantCodes := []aierrors.StandardErrorCode{aierrors.Overloaded, aierrors.Overloaded, 0}
		if !equal(rec.codes, wantCodes) || rec.retries != 2 {
			t.Errorf("attempts = %v with %d retries; want %v with 2", rec.codes, rec.retries, wantCodes)
		}
		if want := []int{1, 2, 0}; !equal(rec.failures, want) {
			t.Errorf("breaker ConsecutiveFailures after each attempt = %v; want %v", rec.failures, want)
		}
		s := rec.exec.Signals()
		if left := math.Floor(s.RateRemaining); left != 1 {
			t.Errorf("limiter tokens left = %v of 4; want 1 (one spent per attempt)", s.RateRemaining)
		}
		if s.CurrentInflight != 0 {
			t.Errorf("CurrentInflight = %d; want 0", s.CurrentInflight)
		}
	})
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// When retries run out, the SDK gets the provider's last answer and reports
// it as its own *openai.Error.
func TestSDKSeesProviderErrorAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _, client := setup(t, testConfig())
		srv.SetDefault(model, providertest.Unavailable())

		_, err := client.Chat.Completions.New(context.Background(), chatParams())
		apiErr, ok := errors.AsType[*openai.Error](err)
		if !ok || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Chat.Completions.New() error = %v; want *openai.Error with status 503", err)
		}
		if got := srv.Requests(model); got != 4 {
			t.Errorf("provider requests = %d; want 4 (1 + MaxRetries)", got)
		}
	})
}

// A quota error is not retried: one request, the SDK's error.
func TestSDKQuotaNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _, client := setup(t, testConfig())
		srv.Script(model, providertest.InsufficientQuota())

		_, err := client.Chat.Completions.New(context.Background(), chatParams())
		apiErr, ok := errors.AsType[*openai.Error](err)
		if !ok || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "insufficient_quota" {
			t.Fatalf("Chat.Completions.New() error = %v; want *openai.Error 429 insufficient_quota", err)
		}
		if got := srv.Requests(model); got != 1 {
			t.Errorf("provider requests = %d; want 1", got)
		}
	})
}

// An open circuit fails the SDK call at once, without a provider request,
// with an error that matches resilience.ErrCircuitOpen.
func TestSDKCircuitOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Retry = &resilience.RetryConfig{Disabled: true}
		cfg.CircuitBreaker = &resilience.CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Minute}
		srv, _, client := setup(t, cfg)
		srv.SetDefault(model, providertest.Unavailable())

		_, _ = client.Chat.Completions.New(context.Background(), chatParams())
		_, err := client.Chat.Completions.New(context.Background(), chatParams())
		if !errors.Is(err, resilience.ErrCircuitOpen) || aierrors.CodeOf(err) != aierrors.Overloaded {
			t.Fatalf("Chat.Completions.New() error = %v; want ErrCircuitOpen, code overloaded", err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error text contains the key: %v", err)
		}
		if got := srv.Requests(model); got != 1 {
			t.Errorf("provider requests = %d; want 1", got)
		}
	})
}

// A stream through the SDK passes through the Transport unbuffered; its
// attempt holds the in-flight permit until the SDK closes the stream.
func TestSDKStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 2}
		srv, rec, client := setup(t, cfg)
		srv.Script(model, providertest.Unavailable(), providertest.OKChunks("Hello", " streamed", " world"))

		stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams())
		var acc openai.ChatCompletionAccumulator
		inflight := -1
		for stream.Next() {
			acc.AddChunk(stream.Current())
			if inflight < 0 {
				inflight = rec.exec.Signals().CurrentInflight
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream.Err() = %v", err)
		}
		stream.Close()
		if got := acc.Choices[0].Message.Content; got != "Hello streamed world" {
			t.Errorf("streamed answer = %q; want %q", got, "Hello streamed world")
		}
		if inflight != 1 {
			t.Errorf("CurrentInflight while streaming = %d; want 1", inflight)
		}
		if got := rec.exec.Signals().CurrentInflight; got != 0 {
			t.Errorf("CurrentInflight after Close = %d; want 0", got)
		}
		if got := srv.Requests(model); got != 2 {
			t.Errorf("provider requests = %d; want 2 (one retry before the stream)", got)
		}
	})
}

// The command's offline run, end to end on a loopback provider.
func TestRunOffline(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, model, false); err != nil {
		t.Fatalf("run() = %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"attempt 1: overloaded", "attempt 2: overloaded", "attempt 3: ok",
		"answer: Hello from behind two 503s!", "answer: Streamed through the same executor.",
		"circuit: closed, consecutive failures: 0, in flight: 0", "provider requests: 4",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("run() output lacks %q:\n%s", want, out.String())
		}
	}
}
