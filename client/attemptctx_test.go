package client_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client"
)

// okAnswer is a 200 chat completion in OpenAI's format.
func okAnswer(r *http.Request) *http.Response {
	const body = `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    r,
	}
}

// fromTransport builds a client for openai/gpt-4o whose requests go to rt.
func fromTransport(t *testing.T, rt http.RoundTripper) *client.Builder {
	t.Helper()
	return client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").APIKey(openAIKey).
		Resilience(offConfig()).HTTPClient(&http.Client{Transport: rt})
}

// TestAttemptTimeoutOnlyWhenItEndsFirst checks that an attempt gets a
// context of its own (with a timer) only when its timeout ends before the
// caller's deadline: otherwise the request carries the caller's ctx itself.
func TestAttemptTimeoutOnlyWhenItEndsFirst(t *testing.T) {
	var (
		mu  sync.Mutex
		got context.Context
	)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		got = r.Context()
		mu.Unlock()
		return okAnswer(r), nil
	})
	short, cancelShort := context.WithTimeout(context.Background(), time.Minute)
	defer cancelShort()
	long, cancelLong := context.WithTimeout(context.Background(), time.Hour)
	defer cancelLong()
	tests := []struct {
		name        string
		timeout     time.Duration // 0: the default
		ctx         context.Context
		wantOwnCtx  bool
		wantTimeout time.Duration // with wantOwnCtx: the attempt's own timeout
	}{
		{"default timeout, caller deadline shorter", 0, short, false, 0},
		{"default timeout, no caller deadline", 0, context.Background(), true, client.DefaultAttemptTimeout},
		{"timeout shorter than the caller deadline", 10 * time.Minute, long, true, 10 * time.Minute},
		{"timeout equal to the caller deadline", time.Hour, long, false, 0},
		{"timeout off", -1, long, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fromTransport(t, rt)
			switch {
			case tt.timeout > 0:
				b.AttemptTimeout(tt.timeout)
			case tt.timeout < 0:
				b.AttemptTimeout(0)
			}
			c := build(t, b)
			if _, err := c.Chat(tt.ctx, hi()); err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			mu.Lock()
			reqCtx := got
			mu.Unlock()
			if own := reqCtx != tt.ctx; own != tt.wantOwnCtx {
				t.Fatalf("request ctx is a context of the attempt's own: %v; want %v", own, tt.wantOwnCtx)
			}
			if !tt.wantOwnCtx {
				return
			}
			// The attempt started before now, so its deadline is at most
			// its timeout from now, and long after the test's few ms.
			dl, ok := reqCtx.Deadline()
			if left := time.Until(dl); !ok || left > tt.wantTimeout || left < tt.wantTimeout-time.Minute {
				t.Errorf("request ctx deadline in %v (%v); want just under %v", left, ok, tt.wantTimeout)
			}
		})
	}
}

// TestRequestHeaderIsTheRequestsOwn checks that a RoundTripper that writes
// to a request's header (against the RoundTripper contract, as some
// middleware does) changes neither the target's headers nor those of
// other requests, even concurrently (run with -race).
func TestRequestHeaderIsTheRequestsOwn(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []http.Header
	)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		r.Header.Add("Authorization", "Bearer other")
		r.Header.Add("Accept", "text/plain")
		r.Header.Set("User-Agent", "middleware")
		r.Header.Del("Content-Type")
		r.Header["X-Added"] = []string{"1"}
		return okAnswer(r), nil
	})
	c := build(t, fromTransport(t, rt))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			req := hi()
			req.Header = http.Header{"X-Call": {"mine"}}
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Errorf("Chat() error = %v", err)
			}
		})
	}
	wg.Wait()
	if len(seen) != 8 {
		t.Fatalf("requests = %d; want 8", len(seen))
	}
	for i, h := range seen {
		want := map[string]string{
			"Authorization": "Bearer " + openAIKey,
			"Accept":        "application/json",
			"User-Agent":    "ailib-go",
			"Content-Type":  "application/json",
			"X-Call":        "mine",
		}
		for k, v := range want {
			if got := h[k]; len(got) != 1 || got[0] != v {
				t.Errorf("request %d: header %s = %q; want [%q]", i, k, got, v)
			}
		}
		if _, ok := h["X-Added"]; ok {
			t.Errorf("request %d: header X-Added set by another request's RoundTripper", i)
		}
	}
}

// TestRequestIsTheAttemptsOwn checks what newRequest copies from the
// target's request made at Build: each attempt gets its own URL (a
// RoundTripper that rewrites it, against the contract, changes no later
// request), a body that GetBody can give again, and its length.
func TestRequestIsTheAttemptsOwn(t *testing.T) {
	var (
		mu   sync.Mutex
		urls []string
	)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		if r.GetBody == nil {
			t.Error("request without GetBody: net/http cannot send it again on a closed idle connection")
		} else {
			again, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			if b, _ := io.ReadAll(again); string(b) != string(body) {
				t.Errorf("GetBody gives %q; the body was %q", b, body)
			}
		}
		if r.ContentLength != int64(len(body)) || len(body) == 0 {
			t.Errorf("ContentLength = %d; the body has %d bytes", r.ContentLength, len(body))
		}
		r.URL.Host, r.URL.Path = "elsewhere.invalid", "/rewritten"
		return okAnswer(r), nil
	})
	c := build(t, fromTransport(t, rt))
	for range 2 {
		if _, err := c.Chat(context.Background(), hi()); err != nil {
			t.Fatalf("Chat() error = %v", err)
		}
	}
	want := "https://api.openai.com/v1/chat/completions"
	if len(urls) != 2 || urls[0] != want || urls[1] != want {
		t.Errorf("request URLs = %q; want %q twice", urls, want)
	}
}
