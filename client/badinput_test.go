package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/sse"
	"github.com/ailib-go/ailib/resilience"
)

// TestBuildRejectsBadInput covers settings and environment values that
// must fail Build with an error naming the setting or variable, never
// showing a key, and never panicking.
func TestBuildRejectsBadInput(t *testing.T) {
	withRetry := func(f func(*resilience.RetryConfig)) resilience.ResilientConfig {
		cfg := resilience.DefaultConfig()
		f(cfg.Retry)
		return cfg
	}
	tests := []struct {
		name string
		env  map[string]string
		b    func() *client.Builder
		want []string
	}{
		{"model id not UTF-8", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/llama\xff3") },
			[]string{`Model("ollama/llama\xff3"): is not valid UTF-8`}},
		{"model id with no-break space", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/llama3\u00a0") },
			[]string{"white space or control characters"}},
		{"model id with tab", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/lla\tma") },
			[]string{"white space or control characters"}},
		{"provider missing", nil, func() *client.Builder { return client.NewBuilder().Model("/gpt-4o") },
			[]string{`Model("/gpt-4o"): provider missing`}},
		{"provider names are case-sensitive", nil, func() *client.Builder { return client.NewBuilder().Model("OpenAI/gpt-4o") },
			[]string{`unknown provider "OpenAI"`, "openai"}},
		{"key with zero-width space", nil, func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o").APIKey("sk-abcdefgh\u200bijklmnop")
		}, []string{"APIKey contains a character that is not printable ASCII (at byte 11)"}},
		{"env key in typographic quotes", map[string]string{"OPENAI_API_KEY": "\u201csk-abcdefghijklmnop\u201d"}, func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o")
		}, []string{"environment variable OPENAI_API_KEY contains a character that is not printable ASCII"}},
		{"header value with a control character", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Header("X-Trace", "a\x01b")
		}, []string{`header "X-Trace": value contains`}},
		{"negative bounds", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").MaxResponseBytes(-1).AttemptTimeout(-time.Nanosecond)
		}, []string{"MaxResponseBytes(-1)", "AttemptTimeout(-1ns)"}},
		{"NaN backoff multiplier", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(withRetry(func(r *resilience.RetryConfig) { r.BackoffMultiplier = math.NaN() }))
		}, []string{"Retry.BackoffMultiplier", "NaN"}},
		{"NaN jitter", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(withRetry(func(r *resilience.RetryConfig) { r.Jitter = math.NaN() }))
		}, []string{"Retry.Jitter"}},
		{"negative delays", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(withRetry(func(r *resilience.RetryConfig) {
				r.InitialDelay, r.MaxDelay, r.MaxRetryAfter = -1, -1, -1
			}))
		}, []string{"Retry.InitialDelay", "Retry.MaxDelay", "Retry.MaxRetryAfter"}},
		{"infinite rate", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(resilience.ResilientConfig{
				RateLimiter: &resilience.RateLimiterConfig{RequestsPerSecond: math.Inf(1), Burst: -1},
			})
		}, []string{"RateLimiter.RequestsPerSecond", "RateLimiter.Burst"}},
		{"NaN rate", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(resilience.ResilientConfig{
				RateLimiter: &resilience.RateLimiterConfig{RequestsPerSecond: math.NaN()},
			})
		}, []string{"RateLimiter.RequestsPerSecond"}},
		{"negative breaker and backpressure", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(resilience.ResilientConfig{
				CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: -1, Cooldown: -time.Second, HalfOpenMaxRequests: -1},
				Backpressure:   &resilience.BackpressureConfig{MaxInflight: -1, QueueTimeout: -time.Second},
			})
		}, []string{"CircuitBreaker.FailureThreshold", "CircuitBreaker.Cooldown", "CircuitBreaker.HalfOpenMaxRequests",
			"Backpressure.MaxInflight", "Backpressure.QueueTimeout"}},
		{"NaN failure rate", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(resilience.ResilientConfig{
				CircuitBreaker: &resilience.CircuitBreakerConfig{FailureRateThreshold: math.NaN()},
			})
		}, []string{"CircuitBreaker.FailureRateThreshold"}},
		{"env numbers", map[string]string{
			"AI_LIB_RPS": "NaN", "AI_LIB_BURST": "1.5", "AI_LIB_MAX_RETRIES": "-1", "AI_LIB_BREAKER_FAILURE_THRESHOLD": "1e3",
			"AI_LIB_BREAKER_COOLDOWN_SECS": "0", "AI_LIB_MAX_INFLIGHT": "0x10", "AI_LIB_QUEUE_TIMEOUT_MS": "99999999999999999999",
		}, func() *client.Builder { return client.NewBuilder().Model("ollama/x") },
			[]string{`AI_LIB_RPS="NaN"`, `AI_LIB_BURST="1.5"`, `AI_LIB_MAX_RETRIES="-1"`, `AI_LIB_BREAKER_FAILURE_THRESHOLD="1e3"`,
				`AI_LIB_BREAKER_COOLDOWN_SECS="0"`, `AI_LIB_MAX_INFLIGHT="0x10"`, `AI_LIB_QUEUE_TIMEOUT_MS="99999999999999999999"`}},
		{"env infinities", map[string]string{"AI_LIB_RPS": "+Inf", "AI_LIB_BREAKER_COOLDOWN_SECS": "1e400"},
			func() *client.Builder { return client.NewBuilder().Model("ollama/x") },
			[]string{`AI_LIB_RPS="+Inf": out of range`, `AI_LIB_BREAKER_COOLDOWN_SECS="1e400": out of range`}},
		{"env value huge and not UTF-8", map[string]string{"AI_LIB_RPS": strings.Repeat("\xff9", 10000)},
			func() *client.Builder { return client.NewBuilder().Model("ollama/x") },
			[]string{`AI_LIB_RPS="\xff9`, `...": not a number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := tt.b().Build()
			if err == nil {
				t.Fatalf("Build() = %v, nil; want an error", c)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Build() error = %q; want it to contain %q", msg, w)
				}
			}
			for _, line := range strings.Split(msg, "\n") {
				if len(line) > 1024 || !utf8.ValidString(line) {
					t.Errorf("Build() error line of %d bytes %.100q...: want short valid lines", len(line), line)
				}
			}
			for _, secret := range []string{"abcdefgh", "ijklmnop"} {
				if strings.Contains(msg, secret) {
					t.Errorf("Build() error = %q; shows the key", msg)
				}
			}
		})
	}
}

// TestChatRejectsBadRequest covers request fields that must be refused
// before anything is sent, by Chat and Stream alike.
func TestChatRejectsBadRequest(t *testing.T) {
	srv := providertest.New()
	c := build(t, inProcess(srv).Model("openai/gpt-4o"))
	f := func(v float64) *float64 { return &v }
	user := []client.Message{client.User("hi")}
	tests := []struct {
		name string
		req  client.ChatRequest
		want string
	}{
		{"NaN temperature", client.ChatRequest{Messages: user, Temperature: f(math.NaN())}, "Temperature = NaN"},
		{"infinite temperature", client.ChatRequest{Messages: user, Temperature: f(math.Inf(1))}, "Temperature = +Inf"},
		{"negative infinite temperature", client.ChatRequest{Messages: user, Temperature: f(math.Inf(-1))}, "Temperature = -Inf"},
		{"temperature above 2", client.ChatRequest{Messages: user, Temperature: f(2.5)}, "Temperature = 2.5"},
		{"NaN top_p", client.ChatRequest{Messages: user, TopP: f(math.NaN())}, "TopP = NaN"},
		{"top_p above 1", client.ChatRequest{Messages: user, TopP: f(1.5)}, "TopP = 1.5"},
		{"negative max tokens", client.ChatRequest{Messages: user, MaxTokens: -1}, "MaxTokens = -1"},
		{"empty role", client.ChatRequest{Messages: []client.Message{{Content: "x"}}}, `Messages[0].Role = ""`},
		{"content not UTF-8", client.ChatRequest{Messages: []client.Message{client.User("ok"), client.User("caf\xe9")}},
			"Messages[1].Content is not valid UTF-8 (at byte 3)"},
		{"stop not UTF-8", client.ChatRequest{Messages: user, Stop: []string{"\xc3"}}, "Stop[0] is not valid UTF-8 (at byte 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, call := range map[string]func() error{
				"Chat":   func() error { _, err := c.Chat(context.Background(), tt.req); return err },
				"Stream": func() error { _, err := c.Stream(context.Background(), tt.req); return err },
			} {
				err := call()
				if !errors.Is(err, aierrors.InvalidRequest) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s() error = %v; want InvalidRequest naming %q", name, err, tt.want)
				}
			}
		})
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("server received %d requests; want none", n)
	}
}

// TestGarbageAnswers checks the answers a provider (or a proxy in front
// of it) may send that are not in its wire format: each gives a clear,
// classified error, and a retryable one is retried so that the good answer
// that follows is not lost.
func TestGarbageAnswers(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		stream  bool
		answer  providertest.Answer
		code    aierrors.StandardErrorCode // of the garbage answer alone
		message string                     // in its error
		retried bool                       // the following OK answer is reached
	}{
		{"chat HTML 200", "openai/gpt-4o", false, providertest.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/html"}},
			Body: "<html><body>Just a moment...</body></html>"}, aierrors.ServerError, "not a chat completion: invalid character '<'", true},
		{"chat empty 200", "openai/gpt-4o", false, providertest.Answer{Status: 200, Body: " "},
			aierrors.ServerError, "not a chat completion", true},
		{"chat JSON null", "openai/gpt-4o", false, providertest.Answer{Status: 200, Body: "null"},
			aierrors.ServerError, "chat completion without choices", true},
		{"chat JSON array", "anthropic/claude", false, providertest.Answer{Status: 200, Body: `[1,2]`},
			aierrors.ServerError, "not a message", true},
		{"chat wrong type", "anthropic/claude", false, providertest.Answer{Status: 200, Body: `{"type":"completion","completion":"hi"}`},
			aierrors.ServerError, `answer of type "completion", want "message"`, true},
		{"chat given an event stream", "openai/gpt-4o", false, providertest.Answer{Status: 200,
			Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: "data: {\"choices\":[]}\n\ndata: [DONE]\n\n"},
			aierrors.ServerError, "not a chat completion", true},
		{"chat error object in 200", "openai/gpt-4o", false, providertest.Answer{Status: 200,
			Body: `{"error":{"message":"messages: too long","type":"invalid_request_error"}}`},
			aierrors.InvalidRequest, "messages: too long", false},
		{"stream HTML 200", "openai/gpt-4o", true, providertest.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/html"}},
			Body: "<html><body>Just a moment...</body></html>"}, aierrors.ServerError, "not a chat completion: invalid character '<'", true},
		{"stream HTML 200 on the Messages API", "anthropic/claude", true, providertest.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/html"}},
			Body: "\n<!DOCTYPE html><html><body>Please sign in</body></html>"}, aierrors.ServerError, "not a message: invalid character '<'", true},
		// Envoy's text answer, which no line of an event stream looks like.
		{"stream given plain text", "openai/gpt-4o", true, providertest.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}},
			Body: "upstream connect error or disconnect/reset before headers. reset reason: overflow"}, aierrors.ServerError, "not a chat completion: invalid character 'u'", true},
		{"stream event not JSON", "anthropic/claude", true, providertest.Answer{Status: 200,
			Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: "event: content_block_delta\ndata: <oops>\n\n"},
			aierrors.ServerError, `stream event "content_block_delta" is not JSON`, true},
		{"stream given a JSON error object", "anthropic/claude", true, providertest.Answer{Status: 200,
			Body: `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}`},
			aierrors.InvalidRequest, "max_tokens: too large", false},
		{"stream given JSON garbage", "openai/gpt-4o", true, providertest.Answer{Status: 200, Body: `{"object":"list","data":[]}`},
			aierrors.ServerError, "chat completion without choices", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := providertest.New()
			_, model, _ := strings.Cut(tt.target, "/")
			srv.Script(model, tt.answer, providertest.OK("good answer"))
			cfg := fastConfig()
			cfg.Retry.MaxRetries = 1
			c := build(t, inProcess(srv).Model(tt.target).Resilience(cfg))
			call := func(c *client.AiClient) (string, error) {
				if !tt.stream {
					resp, err := c.Chat(context.Background(), hi())
					if err != nil {
						return "", err
					}
					return resp.Content, nil
				}
				s, err := c.Stream(context.Background(), hi())
				if err != nil {
					return "", err
				}
				defer s.Close()
				readAll(s)
				return s.Text(), s.Err()
			}
			text, err := call(c)
			if tt.retried {
				if err != nil || text != "good answer" {
					t.Errorf("call = %q, %v; want the good answer after a retry", text, err)
				}
			} else if !errors.Is(err, tt.code) {
				t.Errorf("call error = %v; want %v without retry", err, tt.code)
			}
			// The garbage alone, with no retry, gives the documented error.
			srv = providertest.New()
			srv.Script(model, tt.answer)
			one := build(t, inProcess(srv).Model(tt.target).Resilience(offConfig()))
			_, err = call(one)
			var ae *aierrors.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("call error = %v; want code %v with %q", err, tt.code, tt.message)
			}
			if ae.Provider == "" || ae.Model != model {
				t.Errorf("error attributed to %q/%q; want the target", ae.Provider, ae.Model)
			}
			if tt.code == aierrors.ServerError && tt.message != "stream ended before its terminal event" && !errors.Is(err, client.ErrInvalidResponse) {
				t.Errorf("call error = %v; want it to wrap ErrInvalidResponse", err)
			}
		})
	}
}

// TestStreamGivenCompleteJSONAnswer: a server that ignores "stream" and
// answers with one JSON document still gives the whole answer.
func TestStreamGivenCompleteJSONAnswer(t *testing.T) {
	for _, f := range []struct{ target, body string }{
		{"openai/gpt-4o", `{"id":"chatcmpl-1","choices":[{"message":{"content":"whole answer"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`},
		{"anthropic/claude", `{"id":"msg_1","type":"message","content":[{"type":"text","text":"whole answer"}],"stop_reason":"max_tokens","usage":{"input_tokens":3,"output_tokens":2}}`},
	} {
		t.Run(f.target, func(t *testing.T) {
			c := fuzzClient(t, strings.HasPrefix(f.target, "anthropic"), canned{status: 200, contentType: "application/json", body: []byte("\n " + f.body)})
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			defer s.Close()
			got := readAll(s)
			if s.Err() != nil || len(got) != 1 || s.Text() != "whole answer" {
				t.Errorf("deltas %q, Err() = %v; want one delta with the whole answer", got, s.Err())
			}
			if s.FinishReason() != "length" || s.Usage().TotalTokens != 5 {
				t.Errorf("FinishReason() = %q, Usage() = %+v; want length and 5 tokens", s.FinishReason(), s.Usage())
			}
		})
	}
}

// TestInvalidUTF8InAnswers: bytes that are not UTF-8 in an answer become
// U+FFFD, and the rest of the text is kept, in Chat, streams and errors.
func TestInvalidUTF8InAnswers(t *testing.T) {
	srv := providertest.New()
	srv.Script("gpt-4o", providertest.Answer{Status: 200, Body: "{\"choices\":[{\"message\":{\"content\":\"caf\xe9 ok\"}}]}"})
	srv.Script("claude",
		providertest.Answer{Status: 200, Chunks: []string{"a\xffb", " c\xe2\x82"}},
		providertest.Answer{Status: 400, Body: "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad \xff\xfe byte\"}}"})
	c := build(t, inProcess(srv).Model("openai/gpt-4o"))
	resp, err := c.Chat(context.Background(), hi())
	if err != nil || resp.Content != "caf\uFFFD ok" {
		t.Errorf("Chat() = %+v, %v; want content %q", resp, err, "caf\uFFFD ok")
	}
	a := build(t, inProcess(srv).Model("anthropic/claude"))
	s, err := a.Stream(context.Background(), hi())
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	readAll(s)
	s.Close()
	if want := "a\uFFFDb c\uFFFD\uFFFD"; s.Err() != nil || s.Text() != want {
		t.Errorf("stream Text() = %q, Err() = %v; want %q", s.Text(), s.Err(), want)
	}
	_, err = a.Chat(context.Background(), hi())
	if err == nil || !utf8.ValidString(err.Error()) || !strings.Contains(err.Error(), "byte") {
		t.Errorf("Chat() error = %q; want a valid UTF-8 message that keeps the text", err)
	}
}

// endless is a body that never ends: pattern repeated forever. Like a
// real connection, it fails once the request's ctx is done.
type endless struct {
	ctx     context.Context
	pattern []byte
	off     int
	closed  bool
}

func (e *endless) Read(p []byte) (int, error) {
	if e.closed {
		return 0, errors.New("read on closed body")
	}
	if err := e.ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.pattern[e.off:])
		n += c
		e.off = (e.off + c) % len(e.pattern)
	}
	return n, nil
}

func (e *endless) Close() error { e.closed = true; return nil }

// endlessTransport answers with status and an endless body: head once,
// then pattern forever.
type endlessTransport struct {
	status      int
	contentType string
	head        string
	pattern     string
}

func (et endlessTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	body := &endless{ctx: req.Context(), pattern: []byte(et.pattern)}
	return &http.Response{
		StatusCode: et.status, Header: http.Header{"Content-Type": {et.contentType}},
		Body: struct {
			io.Reader
			io.Closer
		}{io.MultiReader(strings.NewReader(et.head), body), body},
		ContentLength: -1, Request: req,
	}, nil
}

// TestEndlessBodies: a provider that sends an answer without end (an
// endless body, error body, line, event or stream) gets a clear error once
// the documented bound is reached, and the memory used stays within a
// small multiple of that bound.
// attemptTimeout is the attempt timeout of a TestEndlessBodies case. Only
// endless comments need it to end the attempt (comments are not content);
// every other case must end by its size bound, however slow the machine,
// so its timeout is far away.
func attemptTimeout(name string) time.Duration {
	if name == "stream endless comments" {
		return 100 * time.Millisecond
	}
	return 10 * time.Minute
}

func TestEndlessBodies(t *testing.T) {
	const limit = 1 << 20 // MaxResponseBytes in this test; also MaxStreamLineBytes
	tests := []struct {
		name      string
		anthropic bool
		stream    bool
		tr        endlessTransport
		check     func(t *testing.T, err error)
	}{
		{"chat body", false, false, endlessTransport{200, "application/json", `{"choices":[{"message":{"content":"`, "aaaaaaaa"},
			func(t *testing.T, err error) {
				if !errors.Is(err, client.ErrResponseTooLarge) || !errors.Is(err, aierrors.Unknown) {
					t.Errorf("error = %v; want Unknown wrapping ErrResponseTooLarge", err)
				}
			}},
		{"chat error body", false, false, endlessTransport{500, "text/html", "<html><title>500 Internal Server Error</title>", "<p>stack</p>"},
			func(t *testing.T, err error) {
				var ae *aierrors.Error
				if !errors.As(err, &ae) || ae.Code != aierrors.ServerError || ae.HTTPStatus != 500 {
					t.Errorf("error = %v; want ServerError with HTTP 500", err)
				}
			}},
		{"stream error body", true, true, endlessTransport{529, "application/json", `{"type":"error","error":{"type":"overloaded_error","message":"`, "x"},
			func(t *testing.T, err error) {
				if !errors.Is(err, aierrors.Overloaded) {
					t.Errorf("error = %v; want Overloaded from the status", err)
				}
			}},
		{"stream endless line", false, true, endlessTransport{200, "text/event-stream", "data: ", "aaaaaaaa"},
			func(t *testing.T, err error) {
				if !errors.Is(err, client.ErrInvalidResponse) || !errors.Is(err, sse.ErrTooLong) || !errors.Is(err, aierrors.Unknown) {
					t.Errorf("error = %v; want Unknown wrapping ErrInvalidResponse and sse.ErrTooLong", err)
				}
			}},
		{"stream endless event", true, true, endlessTransport{200, "text/event-stream", "event: content_block_delta\n", "data: aaaaaaaaaaaaaaaaaaaaaaaaa\n"},
			func(t *testing.T, err error) {
				if !errors.Is(err, sse.ErrTooLong) {
					t.Errorf("error = %v; want sse.ErrTooLong", err)
				}
			}},
		{"stream endless comments", false, true, endlessTransport{200, "text/event-stream", "", ": keep-alive " + strings.Repeat("x", 4000) + "\n"},
			func(t *testing.T, err error) {
				if !errors.Is(err, client.ErrAttemptTimeout) {
					t.Errorf("error = %v; want the attempt timeout (comments are not content)", err)
				}
			}},
		{"stream endless JSON answer", false, true, endlessTransport{200, "application/json", `{"choices":[{"message":{"content":"`, "aaaaaaaa"},
			func(t *testing.T, err error) {
				if !errors.Is(err, client.ErrResponseTooLarge) {
					t.Errorf("error = %v; want ErrResponseTooLarge", err)
				}
			}},
		{"stream endless text", false, true, endlessTransport{200, "text/event-stream", "",
			"data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("a", 1000) + "\"}}]}\n\n"},
			func(t *testing.T, err error) {
				if !errors.Is(err, client.ErrResponseTooLarge) {
					t.Errorf("error = %v; want ErrResponseTooLarge once the text passes MaxResponseBytes", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "openai/gpt-4o"
			if tt.anthropic {
				target = "anthropic/claude"
			}
			c := build(t, client.NewBuilder().IgnoreEnvironment().Model(target).APIKey(openAIKey).
				Resilience(offConfig()).MaxResponseBytes(limit).AttemptTimeout(attemptTimeout(tt.name)).
				HTTPClient(&http.Client{Transport: tt.tr}))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var err error
			var text string
			if tt.stream {
				var s *client.ChatStream
				s, err = c.Stream(context.Background(), hi())
				if err == nil {
					for s.Next() {
					}
					err, text = s.Err(), s.Text()
					s.Close()
				}
			} else {
				_, err = c.Chat(context.Background(), hi())
			}
			runtime.ReadMemStats(&after)
			tt.check(t, err)
			if len(text) > limit {
				t.Errorf("stream kept %d bytes of text; want at most %d", len(text), limit)
			}
			if err != nil && len(err.Error()) > 2048 {
				t.Errorf("error text is %d bytes; want a short message", len(err.Error()))
			}
			// Allocation grows with what is read before the bound is hit
			// (a stream decodes each event), never with the endless rest.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
				t.Errorf("the call allocated %d bytes; want at most %d (16 × the bound)", alloc, 16*limit)
			}
		})
	}
}

// TestHugeErrorBodyKeepsTheCode: a 429 whose body is larger than
// MaxErrorBodyBytes is still classified from its status and headers.
func TestHugeErrorBodyKeepsTheCode(t *testing.T) {
	body := `{"error":{"message":"` + strings.Repeat("x", 2*client.MaxErrorBodyBytes) + `","code":"insufficient_quota"}}`
	c := fuzzClient(t, false, canned{status: 429, contentType: "application/json", body: []byte(body)})
	_, err := c.Chat(context.Background(), hi())
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.HTTPStatus != 429 || (ae.Code != aierrors.RateLimited && ae.Code != aierrors.QuotaExhausted) {
		t.Fatalf("Chat() error = %v; want a 429 classified as rate_limited or quota_exhausted", err)
	}
	if len(ae.Message) > aierrors.MaxMessageLen+len("…") || bytes.Count([]byte(err.Error()), []byte("x")) > aierrors.MaxMessageLen {
		t.Errorf("message of %d bytes; want it cut to MaxMessageLen", len(ae.Message))
	}
}
