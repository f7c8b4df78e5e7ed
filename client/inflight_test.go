package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/resilience"
)

// TestWaitingRequestHasNothingUnderIt checks what a Chat call keeps on its
// goroutine's stack while its request waits for the answer: Chat's own
// frames over the transport's, and no frame of the resilience layer or of
// http.Client. That stack is what a call in flight costs (a stack past
// 4 KB doubles, and makes the runtime start new goroutines larger).
func TestWaitingRequestHasNothingUnderIt(t *testing.T) {
	for _, name := range []string{"defaults", "every policy on"} {
		t.Run(name, func(t *testing.T) {
			var stack atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				buf := make([]byte, 1<<20)
				stack.Store(string(buf[:runtime.Stack(buf, true)]))
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"id":"c","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
			}))
			defer srv.Close()
			cfg := resilience.DefaultConfig()
			if name != "defaults" {
				cfg.RateLimiter.RequestsPerSecond, cfg.RateLimiter.Burst = 1e6, 1<<20
				cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: 1 << 10, QueueTimeout: time.Second}
			}
			c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").
				Provider("openai", client.ProviderConfig{BaseURL: srv.URL + "/v1", APIKey: openAIKey}).Resilience(cfg))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := c.Chat(ctx, hi()); err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			s, _ := stack.Load().(string)
			var caller string
			for _, g := range strings.Split(s, "\n\n") {
				if strings.Contains(g, "client.(*AiClient).Chat(") {
					caller = g
				}
			}
			if caller == "" {
				t.Fatalf("no goroutine in Chat while the request waited:\n%s", s)
			}
			for _, bad := range []string{"ailib/resilience.", "net/http.(*Client)"} {
				if strings.Contains(caller, bad) {
					t.Errorf("a frame of %s is under the waiting request:\n%s", bad, caller)
				}
			}
			if !strings.Contains(caller, "net/http.(*Transport).RoundTrip") {
				t.Errorf("the waiting request is not in the transport:\n%s", caller)
			}
		})
	}
}

// TestChatFollowsRedirectsAsHTTPClient: Chat's requests skip http.Client,
// but an answer that redirects is followed as http.Client follows it,
// under the client's redirect policy.
func TestChatFollowsRedirectsAsHTTPClient(t *testing.T) {
	var first, moved atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"Hi"`) {
			t.Errorf("%s: body %q does not hold the request", r.URL.Path, body)
		}
		if r.URL.Path == "/v1/chat/completions" {
			first.Add(1)
			http.Redirect(w, r, "/moved/chat/completions", http.StatusTemporaryRedirect)
			return
		}
		moved.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"moved"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL + "/v1", APIKey: openAIKey}))
	r, err := c.Chat(context.Background(), hi())
	if err != nil {
		t.Fatalf("Chat() error = %v", err)
	}
	if r.Content != "moved" || moved.Load() != 1 || first.Load() != 2 {
		t.Errorf("Content %q, %d requests to the old path, %d to the new; want %q, 2 (the second through http.Client), 1", r.Content, first.Load(), moved.Load(), "moved")
	}
}

// TestChatUsesHTTPClientWhenItAddsSomething: a client Timeout or cookie
// Jar is applied by http.Client, so Chat goes through it then.
func TestChatUsesHTTPClientWhenItAddsSomething(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server sees the client hang up
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer srv.Close()
	c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL + "/v1", APIKey: openAIKey}).
		Resilience(offConfig()).HTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	_, err := c.Chat(context.Background(), hi())
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("Chat() error = %v; want http.Client's timeout", err)
	}
}
