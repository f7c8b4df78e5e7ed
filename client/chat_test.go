package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// formats lists one target per wire format (and one more OpenAI-compatible
// provider on another path).
var formats = []struct {
	name, target, model, path string
}{
	{"openai", "openai/gpt-4o", "gpt-4o", "/v1/chat/completions"},
	{"anthropic", "anthropic/claude-3-5-sonnet", "claude-3-5-sonnet", "/v1/messages"},
	{"groq", "groq/llama-3.1-8b", "llama-3.1-8b", "/openai/v1/chat/completions"},
}

func TestChatSuccess(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script(f.model, providertest.Answer{Status: 200, Text: "Hello there", Usage: providertest.Usage{PromptTokens: 3, CompletionTokens: 2}})
			c := build(t, builder(srv).Model(f.target))
			resp, err := c.Chat(context.Background(), client.ChatRequest{
				Messages:  []client.Message{client.System("be brief"), client.User("Hi")},
				MaxTokens: 50,
			})
			if err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			provider, model, _ := strings.Cut(f.target, "/")
			if resp.Content != "Hello there" || resp.Provider != provider || resp.Model != model || resp.Attempts != 1 {
				t.Errorf("Chat() = %+v; want content %q from %s, 1 attempt", resp, "Hello there", f.target)
			}
			if resp.FinishReason != "stop" {
				t.Errorf("Chat().FinishReason = %q; want stop", resp.FinishReason)
			}
			if resp.Usage != (client.Usage{PromptTokens: 3, CompletionTokens: 2, TotalTokens: 5}) {
				t.Errorf("Chat().Usage = %+v; want {3 2 5}", resp.Usage)
			}
			reqs := srv.Received()
			if len(reqs) != 1 {
				t.Fatalf("server received %d requests; want 1", len(reqs))
			}
			r := reqs[0]
			if r.Path != f.path || r.Stream {
				t.Errorf("request path %q stream %v; want %q, false", r.Path, r.Stream, f.path)
			}
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("request body not JSON: %v", err)
			}
			switch f.name {
			case "anthropic":
				if got := r.Header.Get("X-Api-Key"); got != anthropicKey {
					t.Errorf("x-api-key = %q; want the configured key", got)
				}
				if got := r.Header.Get("Anthropic-Version"); got != client.AnthropicVersion {
					t.Errorf("anthropic-version = %q; want %q", got, client.AnthropicVersion)
				}
				if r.Header.Get("Authorization") != "" {
					t.Errorf("Authorization sent to Anthropic")
				}
				if body["system"] != "be brief" || body["max_tokens"] != 50.0 {
					t.Errorf("body system=%v max_tokens=%v; want \"be brief\", 50", body["system"], body["max_tokens"])
				}
				if msgs := body["messages"].([]any); len(msgs) != 1 {
					t.Errorf("body messages = %v; want only the user message", msgs)
				}
			case "openai":
				if got := r.Header.Get("Authorization"); got != "Bearer "+openAIKey {
					t.Errorf("Authorization = %q; want Bearer key", got)
				}
				// At another base URL than OpenAI's (TestTokenCapField).
				if body["max_tokens"] != 50.0 {
					t.Errorf("body max_tokens = %v; want 50", body["max_tokens"])
				}
				if msgs := body["messages"].([]any); len(msgs) != 2 {
					t.Errorf("body messages = %v; want system and user", msgs)
				}
			case "groq":
				if body["max_tokens"] != 50.0 {
					t.Errorf("body max_tokens = %v; want 50", body["max_tokens"])
				}
			}
		})
	}
}

func TestChatAnthropicDefaultMaxTokens(t *testing.T) {
	srv := newServer(t)
	c := build(t, builder(srv).Model("anthropic/claude"))
	if _, err := c.Chat(context.Background(), hi()); err != nil {
		t.Fatalf("Chat() error = %v", err)
	}
	var body struct {
		MaxTokens int `json:"max_tokens"`
	}
	json.Unmarshal(srv.Received()[0].Body, &body)
	if body.MaxTokens != client.DefaultAnthropicMaxTokens {
		t.Errorf("max_tokens = %d; want %d", body.MaxTokens, client.DefaultAnthropicMaxTokens)
	}
}

func TestChatRetryThenSuccess(t *testing.T) {
	failures := []struct {
		name   string
		answer providertest.Answer
	}{
		{"server error", providertest.ServerError()},
		{"unavailable", providertest.Unavailable()},
		{"html 502", providertest.HTML502()},
		{"anthropic overloaded", providertest.AnthropicOverloaded()},
		{"rate limited", providertest.RateLimited(0)},
		{"reset", providertest.Reset()},
		{"truncated body", providertest.Answer{Status: 200, Text: "Hello there, friend", CutAfter: 10}},
		{"non-JSON 200", providertest.Answer{Status: 200, Body: "<html>captive portal</html>", Header: http.Header{"Content-Type": {"text/html"}}}},
	}
	for _, f := range formats[:2] {
		for _, fail := range failures {
			t.Run(f.name+"/"+fail.name, func(t *testing.T) {
				srv := newServer(t)
				srv.Script(f.model, fail.answer, fail.answer, providertest.OK("finally"))
				c := build(t, builder(srv).Model(f.target))
				resp, err := c.Chat(context.Background(), hi())
				if err != nil {
					t.Fatalf("Chat() error = %v", err)
				}
				if resp.Content != "finally" || resp.Attempts != 3 {
					t.Errorf("Chat() = %q after %d attempts; want %q after 3", resp.Content, resp.Attempts, "finally")
				}
				if n := srv.Requests(f.model); n != 3 {
					t.Errorf("server requests = %d; want 3", n)
				}
			})
		}
	}
}

func TestChatRetriesExhausted(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.Unavailable())
	c := build(t, builder(srv).Model("openai/gpt-4o"))
	_, err := c.Chat(context.Background(), hi())
	if !errors.Is(err, aierrors.Overloaded) || !errors.Is(err, resilience.ErrRetriesExhausted) {
		t.Fatalf("Chat() error = %v; want Overloaded, retries exhausted", err)
	}
	if got := client.AttemptsOf(err); got != 4 {
		t.Errorf("AttemptsOf(err) = %d; want 4", got)
	}
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Provider != "openai" || ae.Model != "gpt-4o" || ae.HTTPStatus != 503 {
		t.Errorf("error fields = %+v; want openai/gpt-4o HTTP 503", ae)
	}
}

func TestChatNonRetryable(t *testing.T) {
	tests := []struct {
		name   string
		target string
		answer providertest.Answer
		code   aierrors.StandardErrorCode
	}{
		{"context length", "openai/gpt-4o", providertest.ContextLengthExceeded(), aierrors.RequestTooLarge},
		{"bad request anthropic", "anthropic/claude", providertest.Status(400, "messages: field required"), aierrors.InvalidRequest},
		{"not found", "openai/gpt-4o", providertest.Status(404, "model not found"), aierrors.NotFound},
		{"auth", "openai/gpt-4o", providertest.InvalidAPIKey(), aierrors.Authentication},
		{"quota", "openai/gpt-4o", providertest.InsufficientQuota(), aierrors.QuotaExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			_, model, _ := strings.Cut(tt.target, "/")
			srv.SetDefault(model, tt.answer)
			c := build(t, builder(srv).Model(tt.target))
			_, err := c.Chat(context.Background(), hi())
			if err == nil {
				t.Fatal("Chat() error = nil; want an error")
			}
			if tt.code != 0 && !errors.Is(err, tt.code) {
				t.Errorf("Chat() error = %v; want code %v", err, tt.code)
			}
			if aierrors.IsRetryable(err) && tt.code != 0 {
				t.Errorf("IsRetryable(%v) = true; want false", err)
			}
			if n := srv.Requests(model); n != 1 {
				t.Errorf("server requests = %d; want 1 (no retry)", n)
			}
			if got := client.AttemptsOf(err); got != 1 {
				t.Errorf("AttemptsOf(err) = %d; want 1", got)
			}
		})
	}
}

func TestChatFallbackAcrossFormats(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.Unavailable())
	srv.Script("claude", providertest.OK("from claude"))
	var hops []resilience.FallbackHop
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude").
		Hooks(resilience.Hooks{OnFallback: func(h resilience.FallbackHop) { hops = append(hops, h) }}))
	resp, err := c.Chat(context.Background(), hi())
	if err != nil {
		t.Fatalf("Chat() error = %v", err)
	}
	if resp.Content != "from claude" || resp.Provider != "anthropic" || resp.Model != "claude" {
		t.Errorf("Chat() = %+v; want the anthropic answer", resp)
	}
	// fastConfig keeps the default retry count, so the primary, which a
	// fallback follows, gets DefaultFallbackRetries.
	if resp.Attempts != 3 {
		t.Errorf("Chat().Attempts = %d; want 3 (2 on the primary, 1 on the fallback)", resp.Attempts)
	}
	if srv.Requests("gpt-4o") != 2 || srv.Requests("claude") != 1 {
		t.Errorf("server requests = %d primary, %d fallback; want 2, 1", srv.Requests("gpt-4o"), srv.Requests("claude"))
	}
	var moved bool
	for _, h := range hops {
		if h.From == "openai/gpt-4o" && h.To == "anthropic/claude" {
			moved = true
		}
	}
	if !moved {
		t.Errorf("OnFallback hops = %+v; want one from openai/gpt-4o to anthropic/claude", hops)
	}
	if got := srv.Received()[2]; got.Format != providertest.FormatAnthropic {
		t.Errorf("fallback request format = %q; want anthropic", got.Format)
	}
}

func TestChatQuotaFallsBackAfterOneAttempt(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude"))
	resp, err := c.Chat(context.Background(), hi())
	if err != nil {
		t.Fatalf("Chat() error = %v", err)
	}
	if resp.Provider != "anthropic" || resp.Attempts != 2 {
		t.Errorf("Chat() from %s after %d attempts; want anthropic after 2", resp.Provider, resp.Attempts)
	}
	if n := srv.Requests("gpt-4o"); n != 1 {
		t.Errorf("primary requests = %d; want exactly 1", n)
	}
}

func TestChatOpenCircuitFallsBackWithoutTouchingPrimary(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.ServerError())
	cfg := fastConfig()
	cfg.Retry.MaxRetries = 0
	cfg.CircuitBreaker.FailureThreshold = 2
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude").Resilience(cfg))
	for i := range 2 {
		resp, err := c.Chat(context.Background(), hi())
		if err != nil || resp.Provider != "anthropic" {
			t.Fatalf("call %d: Chat() = %v, %v; want the fallback's answer", i, resp, err)
		}
	}
	if got := c.SignalsSnapshot().CircuitState; got != resilience.StateOpen {
		t.Fatalf("primary circuit = %v; want open", got)
	}
	before := srv.Requests("gpt-4o")
	resp, err := c.Chat(context.Background(), hi())
	if err != nil || resp.Provider != "anthropic" || resp.Attempts != 1 {
		t.Fatalf("Chat() = %+v, %v; want the fallback's answer after 1 request", resp, err)
	}
	if after := srv.Requests("gpt-4o"); after != before {
		t.Errorf("primary requests went from %d to %d; want no request while open", before, after)
	}
	if s, ok := c.Signals("anthropic/claude"); !ok || s.CircuitState != resilience.StateClosed {
		t.Errorf("Signals(anthropic/claude) = %+v, %v; want closed", s, ok)
	}
	if _, ok := c.Signals("nope/x"); ok {
		t.Errorf("Signals(nope/x) ok = true; want false")
	}
}

func TestChatAllTargetsFail(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
	srv.SetDefault("claude", providertest.AnthropicOverloaded())
	cfg := fastConfig()
	cfg.Retry.MaxRetries = 1
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude").Resilience(cfg))
	_, err := c.Chat(context.Background(), hi())
	if !errors.Is(err, aierrors.Overloaded) {
		t.Errorf("Chat() error = %v; want the last target's code Overloaded", err)
	}
	if got := client.AttemptsOf(err); got != 3 {
		t.Errorf("AttemptsOf(err) = %d; want 3", got)
	}
}

func TestChatInvalidRequest(t *testing.T) {
	srv := newServer(t)
	c := build(t, builder(srv).Model("openai/gpt-4o"))
	bad := -1.0
	tests := []struct {
		name string
		req  client.ChatRequest
		want []string
	}{
		{"no messages", client.ChatRequest{}, []string{"ChatRequest.Messages is empty"}},
		{"everything", client.ChatRequest{
			Messages:    []client.Message{{Role: "bot", Content: "x"}},
			MaxTokens:   -5,
			Temperature: &bad,
			TopP:        &bad,
			Stop:        []string{""},
		}, []string{"Messages[0].Role", "MaxTokens", "Temperature", "TopP", "Stop[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, call := range []func() error{
				func() error { _, err := c.Chat(context.Background(), tt.req); return err },
				func() error { _, err := c.Stream(context.Background(), tt.req); return err },
			} {
				err := call()
				if !errors.Is(err, aierrors.InvalidRequest) {
					t.Fatalf("error = %v; want InvalidRequest", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %s", err, w)
					}
				}
			}
			if n := len(srv.Received()); n != 0 {
				t.Errorf("server received %d requests; want none", n)
			}
		})
	}
}

func TestChatErrorObjectIn200(t *testing.T) {
	srv := newServer(t)
	body := `{"error":{"message":"upstream overloaded","code":502}}`
	srv.Script("gpt-4o", providertest.Answer{Status: 200, Body: body}, providertest.OK("ok"))
	c := build(t, builder(srv).Model("openai/gpt-4o"))
	resp, err := c.Chat(context.Background(), hi())
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("Chat() = %+v, %v; want success after a retry", resp, err)
	}

	srv.SetDefault("gpt-4o", providertest.Answer{Status: 200, Body: `{"error":{"message":"bad","type":"invalid_request_error"}}`})
	_, err = c.Chat(context.Background(), hi())
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Code != aierrors.InvalidRequest || ae.HTTPStatus != 200 {
		t.Errorf("Chat() error = %v; want InvalidRequest with HTTP status 200", err)
	}
}

func TestChatResponseTooLarge(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.OK(strings.Repeat("word ", 1000)))
	c := build(t, builder(srv).Model("openai/gpt-4o").MaxResponseBytes(1000))
	_, err := c.Chat(context.Background(), hi())
	if !errors.Is(err, client.ErrResponseTooLarge) {
		t.Fatalf("Chat() error = %v; want ErrResponseTooLarge", err)
	}
	if n := srv.Requests("gpt-4o"); n != 1 {
		t.Errorf("server requests = %d; want 1", n)
	}
}

func TestChatCancelled(t *testing.T) {
	srv := newServer(t)
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Chat(ctx, hi())
	if !errors.Is(err, aierrors.Cancelled) || !errors.Is(err, context.Canceled) {
		t.Errorf("Chat(cancelled ctx) error = %v; want Cancelled and context.Canceled", err)
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("server received %d requests; want none", n)
	}
}

// TestKeyNeverLeaks uses a provider that echoes the presented key in its
// error message, and checks errors, hooks and logs.
func TestKeyNeverLeaks(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.InvalidAPIKey())
	srv.SetDefault("claude", providertest.InvalidAPIKey())
	var seen []string
	record := func(err error) {
		if err != nil {
			seen = append(seen, err.Error())
		}
	}
	hooks := resilience.Hooks{
		OnAttemptEnd: func(e resilience.AttemptEnd) { record(e.Err) },
		OnRetry:      func(e resilience.RetryScheduled) { record(e.Err) },
		OnFallback:   func(e resilience.FallbackHop) { record(e.Err) },
	}
	var logs strings.Builder
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude").Hooks(hooks).
		Logger(newTextLogger(&logs)))
	_, err := c.Chat(context.Background(), hi())
	if err == nil {
		t.Fatal("Chat() error = nil; want authentication error")
	}
	s, serr := c.Stream(context.Background(), hi())
	if serr == nil {
		s.Close()
		t.Fatal("Stream() error = nil; want authentication error")
	}
	if !strings.Contains(logs.String(), "ailib: provider request") {
		t.Errorf("debug log has no provider request line:\n%s", logs.String())
	}
	// Every provider request line names the code and the provider's
	// request ID, both known from the 401 answer.
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(line, "ailib: provider request") {
			continue
		}
		for _, want := range []string{"code=" + aierrors.Authentication.Code(), "request_id=req_providertest"} {
			if !strings.Contains(line, want) {
				t.Errorf("log line %q lacks %q", line, want)
			}
		}
	}
	seen = append(seen, err.Error(), serr.Error(), logs.String())
	var ae *aierrors.Error
	if errors.As(err, &ae) {
		seen = append(seen, ae.Message, ae.ProviderCode, ae.RequestID)
	}
	if len(seen) < 4 {
		t.Fatalf("hooks saw %d errors; want several", len(seen))
	}
	for _, text := range seen {
		for _, key := range []string{openAIKey, anthropicKey, "0123456789abcdef"} {
			if strings.Contains(text, key) {
				t.Errorf("key %q leaked into %q", key, text)
			}
		}
	}
	if n := srv.Stats("gpt-4o").ByStatus[401]; n == 0 {
		t.Errorf("the primary sent no 401; the test did not exercise the echo")
	}
}

// TestLogRequestAttributes checks the Debug line of each provider request:
// code ("ok" on success), the provider's request ID, and never the key.
func TestLogRequestAttributes(t *testing.T) {
	tests := []struct {
		name   string
		answer providertest.Answer
		stream bool
		want   []string
	}{
		{"chat ok", providertest.OK("hi"), false, []string{"status=200", "code=ok", "request_id=req_providertest"}},
		{"stream ok", providertest.OK("hi"), true, []string{"status=200", "code=ok", "request_id=req_providertest"}},
		{"chat 500", providertest.ServerError(), false, []string{"status=500", "code=" + aierrors.ServerError.Code(), "request_id=req_providertest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script("gpt-4o", tt.answer)
			cfg := fastConfig()
			cfg.Retry.MaxRetries = 0
			var logs strings.Builder
			c := build(t, builder(srv).Model("openai/gpt-4o").Resilience(cfg).Logger(newTextLogger(&logs)))
			if tt.stream {
				s, err := c.Stream(context.Background(), hi())
				if err != nil {
					t.Fatalf("Stream() error = %v; want nil", err)
				}
				for s.Next() {
				}
				s.Close()
			} else {
				_, _ = c.Chat(context.Background(), hi())
			}
			var line string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "ailib: provider request") {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("log has no provider request line:\n%s", logs.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(line, want) {
					t.Errorf("log line %q lacks %q", line, want)
				}
			}
			if strings.Contains(logs.String(), openAIKey) {
				t.Errorf("log %q contains the API key", logs.String())
			}
		})
	}
}

func TestRedirectDropsCredentials(t *testing.T) {
	var got http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"type":"message","content":[{"type":"text","text":"moved"}],"stop_reason":"end_turn"}`))
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/v1/messages", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	c := build(t, client.NewBuilder().IgnoreEnvironment().Model("anthropic/claude").
		BaseURL(first.URL+"/v1").APIKey(anthropicKey).Header("X-Custom-Token", "tok-0123456789abcdef").Header("X-Trace", "t1"))
	resp, err := c.Chat(context.Background(), hi())
	if err != nil || resp.Content != "moved" {
		t.Fatalf("Chat() = %v, %v; want the redirected answer", resp, err)
	}
	for _, h := range []string{"X-Api-Key", "Authorization", "X-Custom-Token"} {
		if v := got.Get(h); v != "" {
			t.Errorf("redirected request carried %s = %q; want it dropped", h, v)
		}
	}
	if got.Get("X-Trace") != "t1" || got.Get("Anthropic-Version") == "" {
		t.Errorf("redirected request lost ordinary headers: %v", got)
	}
}

func TestChatUnexpectedStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusFound) // a redirect without Location: not followed
	}))
	defer srv.Close()
	c := build(t, client.NewBuilder().IgnoreEnvironment().Model("ollama/llama3").BaseURL(srv.URL+"/v1"))
	_, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{
		client.System("s"), client.User("u"), client.Assistant("a"), client.User("u2"),
	}})
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Code != aierrors.Unknown || ae.HTTPStatus != http.StatusFound {
		t.Errorf("Chat() error = %v; want Unknown with HTTP 302", err)
	}
}

// TestTokenCapField: OpenAI's own API, Azure OpenAI and OpenAI's reasoning
// models get the cap as max_completion_tokens; "openai" pointed at another
// server gets max_tokens, which Ollama, DeepSeek, TGI, LocalAI and older
// llama.cpp read (they drop max_completion_tokens unread, and the answer
// runs to the context's end); a gateway that refuses max_tokens gets the
// request again with max_completion_tokens, and every later one so.
func TestTokenCapField(t *testing.T) {
	tests := []struct {
		name, baseURL, model string
		calls                int
		want                 []string // the field of each request, in order
	}{
		{"openai's own API", "", "gpt-4o", 1, []string{"max_completion_tokens"}},
		{"azure openai", "https://my-resource.openai.azure.com/openai/v1", "gpt-4o", 1, []string{"max_completion_tokens"}},
		{"openai's EU data residency", "https://eu.api.openai.com/v1", "gpt-4o", 1, []string{"max_completion_tokens"}},
		{"a self-hosted server", "http://127.0.0.1:8000/v1", "llama3.1", 1, []string{"max_tokens"}},
		{"a reasoning model elsewhere", "https://gateway.example/v1", "gpt-5-mini", 1, []string{"max_completion_tokens"}},
		// Two calls: the refused request and its resend, then the next.
		{"a gateway that refuses max_tokens", "https://gateway.example/v1", "my-deployment", 2, []string{"max_tokens", "max_completion_tokens", "max_completion_tokens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			if tt.model == "my-deployment" {
				srv.Script(tt.model, providertest.Answer{Status: http.StatusBadRequest, Body: `{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`})
			}
			// The server's transport serves any host in-process, so the
			// target keeps the base URL it is given.
			b := client.NewBuilder().IgnoreEnvironment().Resilience(fastConfig()).
				HTTPClient(&http.Client{Transport: srv.Transport()}).
				Provider("openai", client.ProviderConfig{BaseURL: tt.baseURL, APIKey: openAIKey}).
				Model("openai/" + tt.model)
			c := build(t, b)
			for range tt.calls {
				if _, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}, MaxTokens: 50}); err != nil {
					t.Fatalf("Chat() error = %v", err)
				}
			}
			var got []string
			for _, r := range srv.Received() {
				body := bodyOf(t, r)
				for _, f := range []string{"max_tokens", "max_completion_tokens"} {
					if body[f] == 50.0 {
						got = append(got, f)
					}
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("token cap sent as %v; want %v", got, tt.want)
			}
		})
	}
}
