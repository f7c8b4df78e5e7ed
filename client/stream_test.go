package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// readAll reads s to its end and returns the deltas.
func readAll(s *client.ChatStream) []string {
	var out []string
	for s.Next() {
		out = append(out, s.Delta())
	}
	return out
}

func TestStreamSuccess(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t, providertest.WithKeepAlive(1))
			srv.Script(f.model, providertest.OKChunks("Hel", "lo ", "world"))
			c := build(t, builder(srv).Model(f.target))
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			defer s.Close()
			got := readAll(s)
			if err := s.Err(); err != nil {
				t.Fatalf("Err() = %v", err)
			}
			if !slices.Equal(got, []string{"Hel", "lo ", "world"}) || s.Text() != "Hello world" {
				t.Errorf("deltas = %q, Text() = %q; want [Hel lo  world], %q", got, s.Text(), "Hello world")
			}
			provider, _, _ := strings.Cut(f.target, "/")
			if s.Provider() != provider || s.Attempts() != 1 || s.FinishReason() != "stop" {
				t.Errorf("Provider() = %q, Attempts() = %d, FinishReason() = %q; want %s, 1, stop", s.Provider(), s.Attempts(), s.FinishReason(), provider)
			}
			if s.Next() {
				t.Errorf("Next() after the end = true")
			}
			if _, model, _ := strings.Cut(f.target, "/"); s.Model() != model || s.RequestID() == "" {
				t.Errorf("Model() = %q, RequestID() = %q; want %q and the server's request ID", s.Model(), s.RequestID(), model)
			}
			if f.name == "anthropic" && s.Usage().TotalTokens == 0 {
				t.Errorf("Usage() = %+v; want Anthropic's stream usage", s.Usage())
			}
			r := srv.Received()[0]
			if !r.Stream || r.Header.Get("Accept") != "text/event-stream" {
				t.Errorf("request stream=%v Accept=%q; want a stream request", r.Stream, r.Header.Get("Accept"))
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close() = %v", err)
			}
			if n := c.SignalsSnapshot().CurrentInflight; n != 0 {
				t.Errorf("CurrentInflight after Close = %d; want 0", n)
			}
		})
	}
}

func TestStreamEmptyAnswer(t *testing.T) {
	for _, f := range formats[:2] {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script(f.model, providertest.OKChunks())
			c := build(t, builder(srv).Model(f.target))
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			defer s.Close()
			if s.Next() || s.Err() != nil || s.Text() != "" {
				t.Errorf("Next() = true or Err() = %v or Text() = %q; want an empty, complete answer", s.Err(), s.Text())
			}
		})
	}
}

func TestStreamRetriedBeforeFirstEvent(t *testing.T) {
	failures := []struct {
		name   string
		answer providertest.Answer
	}{
		{"cut at start", providertest.Answer{Status: 200, Text: "lost", CutAfter: providertest.CutAtStart}},
		{"error event at start", providertest.Answer{Status: 200, Text: "lost", ErrorAfter: providertest.CutAtStart}},
		{"unavailable", providertest.Unavailable()},
		{"reset", providertest.Reset()},
		{"not an event stream", providertest.Answer{Status: 200, Body: "<html>oops</html>"}},
	}
	for _, f := range formats[:2] {
		for _, fail := range failures {
			t.Run(f.name+"/"+fail.name, func(t *testing.T) {
				srv := newServer(t)
				srv.Script(f.model, fail.answer, providertest.OKChunks("fine", "!"))
				c := build(t, builder(srv).Model(f.target))
				s, err := c.Stream(context.Background(), hi())
				if err != nil {
					t.Fatalf("Stream() error = %v", err)
				}
				defer s.Close()
				readAll(s)
				if s.Err() != nil || s.Text() != "fine!" || s.Attempts() != 2 {
					t.Errorf("Err() = %v, Text() = %q, Attempts() = %d; want nil, %q, 2", s.Err(), s.Text(), s.Attempts(), "fine!")
				}
			})
		}
	}
}

func TestStreamFallback(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
	srv.Script("claude", providertest.OKChunks("from ", "claude"))
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude"))
	s, err := c.Stream(context.Background(), hi())
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	defer s.Close()
	readAll(s)
	if s.Err() != nil || s.Text() != "from claude" || s.Provider() != "anthropic" || s.Attempts() != 2 {
		t.Errorf("stream = %q from %s after %d attempts, err %v; want %q from anthropic after 2", s.Text(), s.Provider(), s.Attempts(), s.Err(), "from claude")
	}
}

func TestStreamFailsAfterFirstEvent(t *testing.T) {
	tests := []struct {
		name      string
		target    string
		answer    providertest.Answer
		code      aierrors.StandardErrorCode
		sentinel  error
		status200 bool
	}{
		{"openai cut", "openai/gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"one ", "two ", "three"}, CutAfter: 2},
			aierrors.ServerError, client.ErrStreamTruncated, false},
		{"anthropic cut", "anthropic/claude", providertest.Answer{Status: 200, Chunks: []string{"one ", "two ", "three"}, CutAfter: 2},
			aierrors.ServerError, client.ErrStreamTruncated, false},
		{"anthropic error event", "anthropic/claude", providertest.Answer{Status: 200, Chunks: []string{"one ", "two ", "three"}, ErrorAfter: 2},
			aierrors.Overloaded, nil, true},
		{"anthropic rate limit event", "anthropic/claude", providertest.Answer{Status: 200, Chunks: []string{"one ", "two ", "three"}, ErrorAfter: 2,
			ErrorBody: `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`},
			aierrors.RateLimited, nil, true},
		{"openai error chunk", "openai/gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"one ", "two ", "three"}, ErrorAfter: 2},
			aierrors.ServerError, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			_, model, _ := strings.Cut(tt.target, "/")
			srv.Script(model, tt.answer)
			var ends []resilience.AttemptEnd
			c := build(t, builder(srv).Model(tt.target).Hooks(resilience.Hooks{
				OnAttemptEnd: func(e resilience.AttemptEnd) { ends = append(ends, e) },
			}))
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			got := readAll(s)
			if !slices.Equal(got, []string{"one ", "two "}) || s.Text() != "one two " {
				t.Errorf("deltas = %q, Text() = %q; want the two events sent", got, s.Text())
			}
			err = s.Err()
			var ae *aierrors.Error
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("Err() = %v; want code %v", err, tt.code)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("Err() = %v; want it to wrap %v", err, tt.sentinel)
			}
			if tt.status200 && ae.HTTPStatus != 200 {
				t.Errorf("Err().HTTPStatus = %d; want 200", ae.HTTPStatus)
			}
			if ae.Provider == "" || ae.Model != model {
				t.Errorf("Err() provider/model = %q/%q; want the target", ae.Provider, ae.Model)
			}
			s.Close()
			if n := srv.Requests(model); n != 1 {
				t.Errorf("requests = %d; want 1 (no retry once streaming)", n)
			}
			// The executor saw the stream's outcome once.
			if len(ends) != 1 || ends[0].Err == nil {
				t.Errorf("OnAttemptEnd calls = %+v; want one, with the stream's error", ends)
			}
			if tt.code == aierrors.ServerError || tt.code == aierrors.Overloaded {
				if n := c.SignalsSnapshot().Circuit.ConsecutiveFailures; n != 1 {
					t.Errorf("ConsecutiveFailures = %d; want 1 (the breaker counts the stream's failure)", n)
				}
			}
		})
	}
}

// TestStreamEndsWithoutTerminalEvent: a stream that closes cleanly after
// its finish reason is complete (servers such as ik_llama.cpp and older
// text-generation-webui never send [DONE]); one that closes before it is
// truncated.
func TestStreamEndsWithoutTerminalEvent(t *testing.T) {
	sse := func(events ...string) string { return strings.Join(events, "\n\n") + "\n\n" }
	tests := []struct {
		name, target, body string
		finish             string // "" wants ErrStreamTruncated
	}{
		{"openai no [DONE]", "openai/gpt-4o", sse(
			`data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
			`data: {"id":"c","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}`,
			`data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`), "stop"},
		{"openai [DONE] cut short", "openai/gpt-4o", sse(
			`data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`,
			`data: {"id":"c","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"length"}]}`) + "data: [DO", "length"},
		{"openai no finish reason", "openai/gpt-4o", sse(
			`data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`,
			`data: {"id":"c","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}`), ""},
		{"anthropic no message_stop", "anthropic/claude", sse(
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude\"}}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}",
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}"), "stop"},
		{"anthropic no stop_reason", "anthropic/claude", sse(
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude\"}}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			_, model, _ := strings.Cut(tt.target, "/")
			srv.Script(model, providertest.Answer{Body: tt.body, Header: http.Header{"Content-Type": {"text/event-stream"}}})
			c := build(t, builder(srv).Model(tt.target))
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			defer s.Close()
			readAll(s)
			if tt.finish == "" {
				if !errors.Is(s.Err(), client.ErrStreamTruncated) {
					t.Errorf("Err() = %v; want ErrStreamTruncated", s.Err())
				}
				return
			}
			if s.Err() != nil || s.Text() != "Hello" || s.FinishReason() != tt.finish {
				t.Errorf("stream = %q, finish %q, err %v; want %q, %q, complete", s.Text(), s.FinishReason(), s.Err(), "Hello", tt.finish)
			}
		})
	}
}

func TestStreamPermitHeldUntilClose(t *testing.T) {
	srv := newServer(t)
	srv.Script("gpt-4o", providertest.OKChunks("a", "b", "c"))
	cfg := fastConfig()
	cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 1}
	c := build(t, builder(srv).Model("openai/gpt-4o").Resilience(cfg))
	s, err := c.Stream(context.Background(), hi())
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	if !s.Next() {
		t.Fatalf("Next() = false, Err() = %v", s.Err())
	}
	if n := c.SignalsSnapshot().CurrentInflight; n != 1 {
		t.Errorf("CurrentInflight while streaming = %d; want 1", n)
	}
	s.Close()
	if n := c.SignalsSnapshot().CurrentInflight; n != 0 {
		t.Errorf("CurrentInflight after Close = %d; want 0", n)
	}
	if s.Next() {
		t.Error("Next() after Close = true")
	}
	if !errors.Is(s.Err(), context.Canceled) {
		t.Errorf("Err() after Close = %v; want cancelled", s.Err())
	}
	if n := c.SignalsSnapshot().Circuit.ConsecutiveFailures; n != 0 {
		t.Errorf("ConsecutiveFailures after an early Close = %d; want 0", n)
	}
}

func TestStreamKeyNeverLeaks(t *testing.T) {
	srv := newServer(t)
	body := `{"type":"error","error":{"type":"overloaded_error","message":"key ` + anthropicKey + ` is overloaded"}}`
	srv.Script("claude", providertest.Answer{Status: 200, Chunks: []string{"a", "b"}, ErrorAfter: 1, ErrorBody: body})
	c := build(t, builder(srv).Model("anthropic/claude"))
	s, err := c.Stream(context.Background(), hi())
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	defer s.Close()
	readAll(s)
	if s.Err() == nil {
		t.Fatal("Err() = nil; want the error event")
	}
	if strings.Contains(s.Err().Error(), anthropicKey) {
		t.Errorf("Err() = %q; leaks the key", s.Err())
	}
}

// TestStreamErrorsOfSelfHostedServers: an error a compatible server writes
// into a stream it has answered 200 ends the stream with that error,
// classified by what it says, whichever way the server writes it.
func TestStreamErrorsOfSelfHostedServers(t *testing.T) {
	const hel = `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}` + "\n\n"
	tests := []struct {
		name, body string
		code       aierrors.StandardErrorCode
	}{
		// llama.cpp's server (builds that wrote the event's name as
		// the field): "error: {...}", then [DONE]. Ignored, the answer
		// cut at "Hel" read as whole.
		{"llama.cpp error field", hel + `error: {"code":500,"message":"Input prompt is too big compared to KV size. Please try increasing KV size.","type":"server_error"}` + "\n\ndata: [DONE]\n\n",
			aierrors.RequestTooLarge},
		// text-generation-inference 2.x: the error a string, its type
		// beside it.
		{"tgi string error", hel + `data: {"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}` + "\n\ndata: [DONE]\n\n",
			aierrors.ServerError},
		// LiteLLM's proxy: the upstream's status as a string.
		{"litellm status string", hel + `data: {"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o","type":null,"param":null,"code":"429"}}` + "\n\n",
			aierrors.RateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script("gpt-4o", providertest.Answer{Body: tt.body, Header: http.Header{"Content-Type": {"text/event-stream"}}})
			c := build(t, builder(srv).Model("openai/gpt-4o"))
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			if got := readAll(s); !slices.Equal(got, []string{"Hel"}) {
				t.Errorf("deltas = %q; want [Hel]", got)
			}
			var ae *aierrors.Error
			if err := s.Err(); !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("Err() = %v; want code %v", err, tt.code)
			}
			s.Close()
		})
	}
}

// TestAnthropicFormatErrorOfLlamaCpp: llama.cpp's server on /v1/messages
// writes an error event flat ({"code": 400, ...}), not in Anthropic's
// envelope: it is the provider's error, classified by what it says (a
// prompt too big is not retried), not a malformed stream.
func TestAnthropicFormatErrorOfLlamaCpp(t *testing.T) {
	srv := newServer(t)
	srv.Script("qwen3", providertest.Answer{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"qwen3","stop_reason":null,"usage":{"input_tokens":5000,"output_tokens":0}}}` + "\n\n" +
		"event: error\n" +
		`data: {"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}` + "\n\n"})
	c := build(t, builder(srv).Model("anthropic/qwen3"))
	s, err := c.Stream(context.Background(), hi())
	if err == nil {
		for s.Next() {
		}
		err = s.Err()
		s.Close()
	}
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Code != aierrors.RequestTooLarge || !strings.Contains(ae.Message, "available context size") {
		t.Fatalf("error = %v; want request_too_large with llama.cpp's message", err)
	}
	if n := srv.Requests("qwen3"); n != 1 {
		t.Errorf("%d requests; want 1 (a prompt too big is not retried)", n)
	}
}

// TestOpenRouterUpstreamNetworkErrorIsRetried: OpenRouter ends an answer
// whose upstream connection failed as "stop", empty, the cause only in
// native_finish_reason; it is a provider failure, retried, not an empty
// answer.
func TestOpenRouterUpstreamNetworkErrorIsRetried(t *testing.T) {
	srv := newServer(t)
	or := client.ProviderConfig{BaseURL: srv.URL() + "/api/v1", APIKey: "sk-or-v1-0123456789abcdef0123456789abcdef"}
	c := build(t, builder(srv).Provider("openrouter", or).Model("openrouter/stealth/ox-alpha"))
	failed := providertest.Answer{Body: `{"id":"gen-1","object":"chat.completion","model":"stealth/ox-alpha","provider":"Stealth","choices":[{"index":0,"finish_reason":"stop","native_finish_reason":"network_error","message":{"role":"assistant","content":null,"refusal":null,"reasoning":null}}]}`}
	srv.Script("stealth/ox-alpha", failed, providertest.OK("Hello."))
	resp, err := c.Chat(context.Background(), hi())
	if err != nil || resp.Content != "Hello." || resp.Attempts != 2 {
		t.Fatalf("Chat() = %+v, %v; want the second attempt's answer", resp, err)
	}
	srv.Script("stealth/ox-alpha", providertest.Answer{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: `data: {"id":"gen-2","object":"chat.completion.chunk","model":"stealth/ox-alpha","choices":[{"index":0,"delta":{"content":"","role":"assistant"},"finish_reason":"stop","native_finish_reason":"network_error"}]}` + "\n\ndata: [DONE]\n\n"}, providertest.OK("Hello again."))
	s, err := c.Stream(context.Background(), hi())
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	readAll(s)
	if s.Err() != nil || s.Text() != "Hello again." {
		t.Errorf("stream text %q, error %v; want the retried stream's answer", s.Text(), s.Err())
	}
	s.Close()
}
