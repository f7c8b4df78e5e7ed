package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/shared"
)

// These examples serve providertest in-process through its Transport: no
// key, no socket, no network. Against a real provider, drop HTTPClient
// and BaseURL, and let the key come from the environment (OPENAI_API_KEY,
// ANTHROPIC_API_KEY, ...).

// NewBuilder starts a client's configuration; only the model is required.
func ExampleNewBuilder() {
	srv := providertest.New()
	srv.Script("gpt-4o-mini", providertest.OK("Hi there."))

	c, err := client.NewBuilder().
		Model("openai/gpt-4o-mini").
		APIKey("sk-example-key").
		BaseURL(srv.URL() + "/v1").
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		IgnoreEnvironment().
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content)
	// Output:
	// Hi there.
}

// A plain call: the answer, why it ended, the token accounting and the
// number of provider requests it took.
func ExampleAiClient_Chat() {
	srv := providertest.New()
	answer := providertest.OK("Go was announced in 2009.")
	answer.Usage.PromptTokens, answer.Usage.CompletionTokens = 12, 7
	srv.Script("claude-3-5-haiku-latest", answer)

	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("anthropic/claude-3-5-haiku-latest").Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{
		Messages:  []client.Message{client.User("When was Go announced?")},
		MaxTokens: 100,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content)
	fmt.Println(resp.Provider, resp.Model, resp.FinishReason, resp.Attempts)
	fmt.Println(resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
	// Output:
	// Go was announced in 2009.
	// anthropic claude-3-5-haiku-latest stop 1
	// 12 7
}

func ExampleProviders() {
	fmt.Println(client.Providers())
	// Output:
	// [anthropic deepseek gemini groq mistral ollama openai openrouter together xai]
}

// AttemptsOf counts the provider requests of a failed call, retries
// included.
func ExampleAttemptsOf() {
	srv := providertest.New()
	srv.SetDefault("gpt-4o", providertest.Unavailable())

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 10*time.Millisecond, 50*time.Millisecond // quick retries: the example runs at once
	cfg.Retry.MaxRetries = 2
	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Resilience(cfg).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	fmt.Println(aierrors.CodeOf(err), "after", client.AttemptsOf(err), "requests")
	// Output:
	// E3002 overloaded after 3 requests
}

// System, User and Assistant build a conversation. Each provider gets it
// in its own wire format: for Anthropic the system message goes to the
// top-level "system" field.
func ExampleUser() {
	srv := providertest.New()
	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("anthropic/claude-3-5-haiku-latest").Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{
		client.System("Answer in one word."),
		client.User("Best language?"),
		client.Assistant("Go."),
		client.User("Why?"),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	var sent struct {
		System   string `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(srv.Received()[0].Body, &sent); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("system: %q\n", sent.System)
	for _, m := range sent.Messages {
		fmt.Printf("%s: %q\n", m.Role, m.Content)
	}
	// Output:
	// system: "Answer in one word."
	// user: "Best language?"
	// assistant: "Go."
	// user: "Why?"
}

// Targets lists the targets in the order they are tried.
func ExampleAiClient_Targets() {
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		Fallback("anthropic/claude-3-5-sonnet-latest", "groq/llama-3.1-70b-versatile").
		Provider("openai", client.ProviderConfig{APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{APIKey: "sk-ant-example"}).
		Provider("groq", client.ProviderConfig{APIKey: "gsk_example"}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range c.Targets() {
		fmt.Println(t)
	}
	// Output:
	// openai/gpt-4o
	// anthropic/claude-3-5-sonnet-latest
	// groq/llama-3.1-70b-versatile
}

// SignalsSnapshot reads the primary target's live state, for a health
// endpoint or a load-shedding decision.
func ExampleAiClient_SignalsSnapshot() {
	srv := providertest.New()
	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 10*time.Millisecond, 50*time.Millisecond // quick retries: the example runs at once
	cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 8}
	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Resilience(cfg).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	s := c.SignalsSnapshot()
	fmt.Println(s.Target, s.CircuitState, s.CurrentInflight, "of", s.MaxInflight, "in flight")
	// Output:
	// openai/gpt-4o closed 0 of 8 in flight
}

// Signals reads one target's live state: here the primary's circuit has
// opened, and calls go to the fallback without a request to the primary.
func ExampleAiClient_Signals() {
	srv := providertest.New()
	srv.SetDefault("gpt-4o", providertest.ServerError())
	srv.SetDefault("claude-3-5-sonnet-latest", providertest.OK("ok"))

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 10*time.Millisecond, 50*time.Millisecond // quick retries: the example runs at once
	cfg.Retry.MaxRetries = 0
	cfg.CircuitBreaker = &resilience.CircuitBreakerConfig{
		FailureThreshold: 2, Cooldown: time.Minute,
	}
	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Fallback("anthropic/claude-3-5-sonnet-latest").Resilience(cfg).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		if _, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}}); err != nil {
			fmt.Println(err)
		}
	}
	for _, t := range c.Targets() {
		s, _ := c.Signals(t)
		fmt.Println(t, s.CircuitState)
	}
	_, ok := c.Signals("mistral/mistral-large-latest")
	fmt.Println("unknown target:", ok)
	fmt.Println("requests to the primary:", srv.Requests("gpt-4o"))
	// Output:
	// openai/gpt-4o open
	// anthropic/claude-3-5-sonnet-latest closed
	// unknown target: false
	// requests to the primary: 2
}

// Logger logs with log/slog: attempts and provider requests at Debug (with
// the target, the HTTP status, the standard code and the provider's
// request ID), retries at Info. API keys and prompts are never logged.
func ExampleBuilder_Logger() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration", "delay", "error":
				return slog.Attr{} // keep the output short and stable
			case "request_id":
				a.Value = slog.StringValue("req_…")
			}
			return a
		},
	}))
	srv := providertest.New()
	srv.Script("gpt-4o", providertest.ServerError(), providertest.OK("Hello"))

	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Logger(logger).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	fmt.Println(err)
	// Output:
	// level=DEBUG msg="ailib: provider request" target=openai/gpt-4o status=500 code=E3001 request_id=req_…
	// level=DEBUG msg="resilience: attempt" target=openai/gpt-4o attempt=1 code=E3001 request_id=req_…
	// level=INFO msg="resilience: retry scheduled" target=openai/gpt-4o attempt=1 code=E3001 request_id=req_…
	// level=DEBUG msg="ailib: provider request" target=openai/gpt-4o status=200 code=ok request_id=req_…
	// level=DEBUG msg="resilience: attempt" target=openai/gpt-4o attempt=2 code=ok
	// <nil>
}

// Hooks report each decision of every target to your code: metrics,
// traces, tests.
func ExampleBuilder_Hooks() {
	srv := providertest.New()
	srv.Script("gpt-4o", providertest.RateLimited(0), providertest.OK("Hello"))

	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Hooks(resilience.Hooks{
		OnAttemptEnd: func(a resilience.AttemptEnd) {
			if a.Err != nil {
				fmt.Println("attempt", a.Attempt, "on", a.Target, "failed:", aierrors.CodeOf(a.Err))
				return
			}
			fmt.Println("attempt", a.Attempt, "on", a.Target, "succeeded")
		},
		OnRetry: func(r resilience.RetryScheduled) {
			fmt.Println("retrying after attempt", r.Attempt)
		},
	}).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content)
	// Output:
	// attempt 1 on openai/gpt-4o failed: E2001 rate_limited
	// retrying after attempt 1
	// attempt 2 on openai/gpt-4o succeeded
	// Hello
}

// Resilience sets the retry, breaker, rate-limit and in-flight settings of
// each target. What it sets wins over the AI_LIB_* variables, which still
// fill what it leaves unset (unless IgnoreEnvironment, as here).
func ExampleBuilder_Resilience() {
	srv := providertest.New()
	srv.SetDefault("gpt-4o", providertest.Unavailable())

	cfg := resilience.DefaultConfig()
	cfg.Retry.MaxRetries = 1
	cfg.Retry.InitialDelay = time.Millisecond
	cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 16, QueueTimeout: time.Second}
	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Resilience(cfg).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	fmt.Println(aierrors.CodeOf(err), "after", client.AttemptsOf(err), "requests")
	fmt.Println("in-flight cap:", c.SignalsSnapshot().MaxInflight)
	// Output:
	// E3002 overloaded after 2 requests
	// in-flight cap: 16
}

// HTTPClient sets the client used to reach providers: a proxy, custom TLS,
// a test transport. Build copies it and never modifies yours.
func ExampleBuilder_HTTPClient() {
	srv := providertest.New() // not listening: served through its Transport
	hc := &http.Client{Transport: srv.Transport(), Timeout: 30 * time.Second}

	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		APIKey("sk-example-key").
		BaseURL("https://llm-gateway.internal/v1").
		HTTPClient(hc).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content)
	fmt.Println(srv.Received()[0].Path)
	// Output:
	// Hello! How can I help you today?
	// /v1/chat/completions
}

// Provider overrides a built-in provider's base URL, key or headers for
// every target that uses it; the wire format stays the provider's.
func ExampleBuilder_Provider() {
	srv := providertest.New()
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{
			BaseURL: "https://openai-proxy.example.com/v1",
			APIKey:  "sk-example-key",
			Header:  http.Header{"Openai-Organization": {"org-example"}},
		}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}}); err != nil {
		fmt.Println(err)
		return
	}
	got := srv.Received()[0]
	fmt.Println(got.Format, got.Path, got.Header.Get("Openai-Organization"))
	// Output:
	// openai /v1/chat/completions org-example
}

// ExecutorOptions gives every target's executor extra options. Here two
// clients (two replicas of a service) share each target's circuit through
// an in-memory store; across processes, use resilience/redisstore.
func ExampleBuilder_ExecutorOptions() {
	srv := providertest.New()
	srv.SetDefault("gpt-4o", providertest.ServerError())

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 10*time.Millisecond, 50*time.Millisecond // quick retries: the example runs at once
	cfg.Retry.MaxRetries = 0
	cfg.CircuitBreaker = &resilience.CircuitBreakerConfig{
		FailureThreshold: 2, Cooldown: time.Minute,
	}
	b := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Resilience(cfg).
		ExecutorOptions(resilience.WithSharedState(shared.NewMemoryState(), "")) // "": the target's name
	replicaA, errA := b.Build()
	replicaB, errB := b.Build()
	if err := errors.Join(errA, errB); err != nil {
		fmt.Println(err)
		return
	}
	req := client.ChatRequest{Messages: []client.Message{client.User("Hi")}}
	for range 2 {
		_, _ = replicaA.Chat(context.Background(), req) // two 500s open the shared circuit
	}
	_, err := replicaB.Chat(context.Background(), req)
	fmt.Println("replica B:", errors.Is(err, resilience.ErrCircuitOpen))
	fmt.Println("requests:", srv.Requests("gpt-4o"))
	// Output:
	// replica B: true
	// requests: 2
}

// A stream that breaks after its first content events: Next returns false,
// Err says why, and Text keeps what arrived. A cut answer is never passed
// off as a complete one.
func ExampleChatStream() {
	srv := providertest.New()
	cut := providertest.OKChunks("One, ", "two, ", "three.")
	cut.CutAfter = 2
	srv.Script("gpt-4o", cut)

	c, err := client.NewBuilder().
		IgnoreEnvironment(). // the embedded provider: no key from the environment
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Model("openai/gpt-4o").Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Stream(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Count")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for s.Next() {
		fmt.Printf("%q\n", s.Delta())
	}
	err = s.Err()
	fmt.Println(errors.Is(err, client.ErrStreamTruncated), aierrors.CodeOf(err))
	fmt.Printf("kept: %q\n", s.Text())
	// Output:
	// "One, "
	// "two, "
	// true E3001 server_error
	// kept: "One, two, "
}

func ExampleBuilder_Pool() {
	// Two OpenAI organisations and an Azure-style region serve one model;
	// here three embedded providers stand in for them.
	east, west, eu := providertest.NewServer(), providertest.NewServer(), providertest.NewServer()
	defer east.Close()
	defer west.Close()
	defer eu.Close()
	east.SetDefault("gpt-4o", providertest.InvalidAPIKey()) // a revoked key

	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Pool("gpt-4o",
			client.Deployment{Name: "org-1", Model: "openai/gpt-4o", BaseURL: east.URL() + "/v1", APIKey: "sk-org1-000000000000"},
			client.Deployment{Name: "org-2", Model: "openai/gpt-4o", BaseURL: west.URL() + "/v1", APIKey: "sk-org2-000000000000"},
			client.Deployment{Name: "eu", Model: "openai/gpt-4o", BaseURL: eu.URL() + "/v1", APIKey: "sk-eu-0000000000000", Weight: 2},
		).
		Model("gpt-4o").
		Build()
	if err != nil {
		panic(err)
	}
	for range 4 {
		resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
		if err != nil {
			panic(err)
		}
		fmt.Println(resp.Attempts)
	}
	fmt.Println(c.Targets(), c.Deployments("gpt-4o"))
	fmt.Println("401s from org-1:", east.Stats("gpt-4o").ByStatus[401])
	// Output:
	// 1
	// 2
	// 1
	// 1
	// [gpt-4o] [openai/gpt-4o#org-1 openai/gpt-4o#org-2 openai/gpt-4o#eu]
	// 401s from org-1: 1
}

func ExampleAiClient_PoolSignals() {
	srv := providertest.NewServer()
	defer srv.Close()
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Pool("gpt-4o",
			client.Deployment{Name: "a", Model: "openai/gpt-4o", BaseURL: srv.URL() + "/v1", APIKey: "sk-a-0000000000000"},
			client.Deployment{Name: "b", Model: "openai/gpt-4o", BaseURL: srv.URL() + "/v1", APIKey: "sk-b-0000000000000"},
		).
		Model("gpt-4o").
		Build()
	if err != nil {
		panic(err)
	}
	s, _ := c.PoolSignals("gpt-4o")
	fmt.Println(s.Ready, "of", len(s.Members), "ready;", s.Members[1].Target)
	// Output: 2 of 2 ready; openai/gpt-4o#b
}
