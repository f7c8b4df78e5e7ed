package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/resilience"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The whole-call benchmarks send one non-streaming chat completion, end
// to end, to an in-process stub of OpenAI on loopback, from each
// contender:
//
//   - plain: net/http and encoding/json, by hand, the floor of any client;
//   - ailib-defaults: AiClient.Chat with resilience.DefaultConfig;
//   - ailib-all-policies: the same plus a caller rate limit far above the
//     benchmark's rate and an in-flight cap, so every policy runs;
//   - openai-go: the official SDK's Chat.Completions.New.
//
// Each contender gets its own clone of the same *http.Transport, so no
// connection pool is shared. The stub answers with the 13 ordinary headers
// and the 6 x-ratelimit-* headers a real OpenAI answer carries.

// wholeCallModel is the model every contender asks for.
const wholeCallModel = "gpt-4o"

// wholeCallAnswer is the body of the stub's answer, an OpenAI chat
// completion of realistic size.
const wholeCallAnswer = `{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Hello! How can I assist you today?",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 9,
    "completion_tokens": 10,
    "total_tokens": 19,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}
`

// OpenAIAnswerHeader returns the headers of a real OpenAI chat completion
// answer besides Content-Length: 13 ordinary ones and 6 x-ratelimit-*.
func OpenAIAnswerHeader() http.Header {
	return http.Header{
		"Date":                           {"Sat, 01 Mar 2025 12:00:00 GMT"},
		"Content-Type":                   {"application/json"},
		"Access-Control-Expose-Headers":  {"X-Request-ID"},
		"Openai-Organization":            {"user-abcdefghijklmnopqrstuvwx"},
		"Openai-Processing-Ms":           {"412"},
		"Openai-Version":                 {"2020-10-01"},
		"X-Request-Id":                   {"req_0123456789abcdef0123456789abcdef"},
		"Strict-Transport-Security":      {"max-age=31536000; includeSubDomains; preload"},
		"Cf-Cache-Status":                {"DYNAMIC"},
		"Set-Cookie":                     {"__cf_bm=abcdefghijklmnopqrstuvwxyz0123456789; path=/; expires=Sat, 01-Mar-25 12:30:00 GMT; domain=.api.openai.com; HttpOnly; Secure; SameSite=None"},
		"Server":                         {"cloudflare"},
		"Cf-Ray":                         {"91a2b3c4d5e6f708-AMS"},
		"Alt-Svc":                        {`h3=":443"; ma=86400`},
		"X-Ratelimit-Limit-Requests":     {"10000"},
		"X-Ratelimit-Limit-Tokens":       {"30000000"},
		"X-Ratelimit-Remaining-Requests": {"9999"},
		"X-Ratelimit-Remaining-Tokens":   {"29999980"},
		"X-Ratelimit-Reset-Requests":     {"6ms"},
		"X-Ratelimit-Reset-Tokens":       {"0s"},
	}
}

// stubOpenAI is an in-process OpenAI chat completions endpoint on
// loopback. While hold is set, each request waits for it to close before
// answering, and is counted in arrived.
type stubOpenAI struct {
	srv    *httptest.Server
	header http.Header
	body   []byte

	mu      sync.Mutex
	hold    chan struct{}
	arrived chan struct{}
}

func newStubOpenAI() *stubOpenAI {
	s := &stubOpenAI{header: OpenAIAnswerHeader(), body: []byte(wholeCallAnswer)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *stubOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	hold, arrived := s.hold, s.arrived
	s.mu.Unlock()
	if hold != nil {
		arrived <- struct{}{}
		<-hold
	}
	h := w.Header()
	for k, v := range s.header {
		h[k] = v
	}
	_, _ = w.Write(s.body)
}

// baseTransport is the transport every contender gets a clone of: net/http's
// default, with enough idle connections per host for parallel benchmarks.
func baseTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = 4096
	return tr
}

// wholeCaller makes one chat call; closeIdle frees its connections.
type wholeCaller struct {
	call      func(ctx context.Context) error
	closeIdle func()
}

// WholeCallContenders names the contenders in the order they are run.
var WholeCallContenders = []string{"plain", "ailib-defaults", "ailib-all-policies", "openai-go"}

// newWholeCaller builds the named contender against baseURL (the stub's
// URL) on its own clone of tr.
func newWholeCaller(name, baseURL string, tr *http.Transport) (wholeCaller, error) {
	return newWholeCallerRT(name, baseURL, tr.Clone())
}

// newWholeCallerRT builds the named contender against baseURL on own.
func newWholeCallerRT(name, baseURL string, own http.RoundTripper) (wholeCaller, error) {
	hc := &http.Client{Transport: own}
	switch name {
	case "plain":
		return wholeCaller{call: plainCaller(baseURL, hc), closeIdle: hc.CloseIdleConnections}, nil
	case "ailib-defaults", "ailib-all-policies":
		cfg := resilience.DefaultConfig()
		if name == "ailib-all-policies" {
			cfg.RateLimiter.RequestsPerSecond, cfg.RateLimiter.Burst = 1e9, 1<<30
			cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 1 << 20, QueueTimeout: time.Second}
		}
		c, err := client.NewBuilder().
			IgnoreEnvironment().
			Model("openai/"+wholeCallModel).
			Provider("openai", client.ProviderConfig{BaseURL: baseURL + "/v1", APIKey: apiKey}).
			Resilience(cfg).
			HTTPClient(hc).
			Build()
		if err != nil {
			return wholeCaller{}, err
		}
		req := client.ChatRequest{Messages: []client.Message{client.User("Hello!")}}
		return wholeCaller{
			call: func(ctx context.Context) error {
				resp, err := c.Chat(ctx, req)
				if err == nil && resp.Content == "" {
					err = fmt.Errorf("empty answer")
				}
				return err
			},
			closeIdle: c.CloseIdleConnections,
		}, nil
	case "openai-go":
		c := openai.NewClient(option.WithBaseURL(baseURL+"/v1/"), option.WithAPIKey(apiKey), option.WithHTTPClient(hc))
		params := openai.ChatCompletionNewParams{
			Model:    wholeCallModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
		}
		return wholeCaller{
			call: func(ctx context.Context) error {
				resp, err := c.Chat.Completions.New(ctx, params)
				if err == nil && (len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "") {
					err = fmt.Errorf("empty answer")
				}
				return err
			},
			closeIdle: hc.CloseIdleConnections,
		}, nil
	}
	return wholeCaller{}, fmt.Errorf("unknown contender %q", name)
}

// apiKey is the key every contender sends to the stub.
const apiKey = "sk-bench-0123456789abcdef0123456789abcdef"

// plainCaller is what a careful hand-written client does: encode with
// encoding/json, send with net/http, check the status, decode the answer.
func plainCaller(baseURL string, hc *http.Client) func(ctx context.Context) error {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type request struct {
		Model    string    `json:"model"`
		Messages []message `json:"messages"`
	}
	type answer struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Choices []struct {
			Message      message `json:"message"`
			FinishReason string  `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		} `json:"usage"`
	}
	url := baseURL + "/v1/chat/completions"
	return func(ctx context.Context) error {
		body, err := json.Marshal(request{Model: wholeCallModel, Messages: []message{{Role: "user", Content: "Hello!"}}})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			_, _ = io.Copy(io.Discard, resp.Body)
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		var a answer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if len(a.Choices) == 0 || a.Choices[0].Message.Content == "" {
			return fmt.Errorf("empty answer")
		}
		return nil
	}
}

// WholeCall measures one call of the named contender, serially, with a
// ctx without deadline.
func WholeCall(b *testing.B, name string) { wholeCall(b, name, context.Background()) }

// WholeCallDeadline is [WholeCall] with a ctx whose deadline, 5 minutes
// off, ends before ailib's default attempt timeout: a server handling
// requests with deadlines.
func WholeCallDeadline(b *testing.B, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wholeCall(b, name, ctx)
}

func wholeCall(b *testing.B, name string, ctx context.Context) {
	s := newStubOpenAI()
	defer s.srv.Close()
	c, err := newWholeCaller(name, s.srv.URL, baseTransport())
	if err != nil {
		b.Fatal(err)
	}
	defer c.closeIdle()
	if err := c.call(ctx); err != nil { // warm the connection
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.call(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// WholeCallNoNetwork is [WholeCallDeadline] on a RoundTripper that
// answers from memory (the stub's headers and body, the request body read
// in full): what each client costs on its own side, without loopback's
// system calls and scheduling, which vary by several µs from run to run.
func WholeCallNoNetwork(b *testing.B, name string) {
	c, err := newWholeCallerRT(name, "http://stub.invalid", memoryAnswer{OpenAIAnswerHeader(), []byte(wholeCallAnswer)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.call(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// memoryAnswer is a RoundTripper that answers every request with header
// and body, after reading the request's body.
type memoryAnswer struct {
	header http.Header
	body   []byte
}

func (m memoryAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        m.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(m.body)),
		ContentLength: int64(len(m.body)),
		Request:       r,
	}, nil
}

// WholeCallParallel is [WholeCall] from GOMAXPROCS goroutines.
func WholeCallParallel(b *testing.B, name string) {
	s := newStubOpenAI()
	defer s.srv.Close()
	c, err := newWholeCaller(name, s.srv.URL, baseTransport())
	if err != nil {
		b.Fatal(err)
	}
	defer c.closeIdle()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.call(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// WholeCallInflight holds n calls of the named contender in flight at the
// stub and reports what each costs while it waits: bytes of live heap and
// goroutine stacks, and goroutines, over the process with no call in
// flight. The stub's side of
// each connection (a goroutine, its buffers) is counted too and is the
// same for every contender: compare contenders, not absolute values.
func WholeCallInflight(b *testing.B, name string, n int) {
	s := newStubOpenAI()
	defer s.srv.Close()
	c, err := newWholeCaller(name, s.srv.URL, baseTransport())
	if err != nil {
		b.Fatal(err)
	}
	defer c.closeIdle()
	var mem, goroutines float64
	for b.Loop() {
		c.closeIdle()
		mem0, g0 := settledMemory(), runtime.NumGoroutine()
		hold, arrived := make(chan struct{}), make(chan struct{}, n)
		s.mu.Lock()
		s.hold, s.arrived = hold, arrived
		s.mu.Unlock()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				if err := c.call(context.Background()); err != nil {
					errs <- err
				}
			})
		}
		for range n {
			<-arrived
		}
		mem1, g1 := settledMemory(), runtime.NumGoroutine()
		close(hold)
		wg.Wait()
		s.mu.Lock()
		s.hold, s.arrived = nil, nil
		s.mu.Unlock()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		mem += float64(mem1-mem0) / float64(n)
		goroutines += float64(g1-g0) / float64(n)
	}
	b.ReportMetric(mem/float64(b.N), "B/inflight")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/inflight")
	b.ReportMetric(0, "ns/op")
}

// settledMemory returns the bytes of live heap objects after a
// collection, plus those of goroutine stacks.
func settledMemory() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
