package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// TestReadmeFirstSnippet runs the README's first snippet as written, with
// the primary out of quota and the fallback overloaded: the call failed
// because the fallback is overloaded, so the QuotaExhausted case must not
// fire.
func TestReadmeFirstSnippet(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
	srv.SetDefault("claude-3-5-sonnet-latest", providertest.AnthropicOverloaded())
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude-3-5-sonnet-latest"))
	ctx := t.Context()

	resp, err := c.Chat(ctx, client.ChatRequest{Messages: []client.Message{client.User("Hello")}})
	branch := "none"
	switch {
	case err == nil:
		branch = fmt.Sprint(resp.Content, "from", resp.Provider, "after", resp.Attempts, "provider requests")
	case errors.Is(err, aierrors.QuotaExhausted):
		branch = "quota" // out of credit: alert a human
	case errors.Is(err, context.Canceled):
		branch = "cancelled"
	}
	if branch != "none" {
		t.Errorf("the README switch took %q for %v; want no case (the deciding error is overloaded)", branch, err)
	}
	if got := aierrors.CodeOf(err); got != aierrors.Overloaded {
		t.Errorf("CodeOf(err) = %v; want E3002 overloaded, the fallback's", got)
	}
	for _, want := range []string{"resilience: all 2 targets failed; ailib: openai/gpt-4o: E2002 quota_exhausted", "ailib: anthropic/claude-3-5-sonnet-latest: E3002 overloaded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Error() = %q; want each target named: %q", err, want)
		}
	}
}

// TestSingleTargetErrorText: one target, no "all 1 targets failed".
func TestSingleTargetErrorText(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
	c := build(t, builder(srv).Model("openai/gpt-4o"))
	_, err := c.Chat(t.Context(), client.ChatRequest{Messages: []client.Message{client.User("Hello")}})
	if got := err.Error(); strings.Contains(got, "targets failed") || !strings.HasPrefix(got, "ailib: openai/gpt-4o: E2002 quota_exhausted") {
		t.Errorf("Error() = %q; want the target's own error", got)
	}
}

// TestConnectionRefusedText: a wrong port says the connection was refused,
// with the code and flags of Overloaded (nothing was sent: a retry is safe,
// another target may answer).
func TestConnectionRefusedText(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := build(t, client.NewBuilder().IgnoreEnvironment().Resilience(offConfig()).
		Model("openai/gpt-4o").BaseURL("http://"+addr+"/v1").APIKey(openAIKey))
	_, err = c.Chat(t.Context(), client.ChatRequest{Messages: []client.Message{client.User("Hello")}})
	want := "ailib: openai/gpt-4o: E3002 overloaded: connection refused by " + addr + " (nothing listens there: check the base URL or start the server)"
	if got := fmt.Sprint(err); !strings.HasPrefix(got, want) {
		t.Errorf("Chat to a closed port = %q; want it to start %q", got, want)
	}
	if !aierrors.IsRetryable(err) || !aierrors.IsFallbackable(err) {
		t.Errorf("refused: retryable %v, fallbackable %v; want both", aierrors.IsRetryable(err), aierrors.IsFallbackable(err))
	}
}

// TestRetryAfterTextRounded: a cooldown's wait reads in whole seconds.
func TestRetryAfterTextRounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
		cfg := fastConfig()
		cfg.Cooldown = &resilience.CooldownConfig{Quota: 5 * time.Minute}
		c := build(t, inProcess(srv).Resilience(cfg).Model("openai/gpt-4o"))
		req := client.ChatRequest{Messages: []client.Message{client.User("Hello")}}
		_, _ = c.Chat(t.Context(), req)
		time.Sleep(2 * time.Millisecond)   // 4m59.998s left: printed rounded
		_, err := c.Chat(t.Context(), req) // refused: the target cools down
		if got := fmt.Sprint(err); !strings.Contains(got, "(retry after 5m0s)") {
			t.Errorf("second Chat = %q; want \"(retry after 5m0s)\"", got)
		}
	})
}

// TestStreamMidwayAttemptsOf: a stream that fails after its first text
// still says how many requests the call made.
func TestStreamMidwayAttemptsOf(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	words := []string{"one ", "two ", "three ", "four "}
	srv.Script("gpt-4o",
		providertest.Answer{Status: 200, Chunks: words, CutAfter: providertest.CutAtStart}, // retried: nothing was seen
		providertest.Answer{Status: 200, Chunks: words, CutAfter: 2})                       // cut after text: not retried
	c := build(t, builder(srv).Model("openai/gpt-4o"))
	s, err := c.Stream(t.Context(), client.ChatRequest{Messages: []client.Message{client.User("Count")}})
	if err != nil {
		t.Fatalf("Stream = %v; want a stream", err)
	}
	defer s.Close()
	for s.Next() {
	}
	if s.Err() == nil {
		t.Fatalf("stream ended without error; want it cut mid-way")
	}
	if got := client.AttemptsOf(s.Err()); got != 2 || got != s.Attempts() {
		t.Errorf("AttemptsOf(stream error) = %d, Attempts() = %d; want 2", got, s.Attempts())
	}
	if !errors.Is(s.Err(), client.ErrStreamTruncated) || aierrors.CodeOf(s.Err()) != aierrors.ServerError {
		t.Errorf("stream error = %v; want server_error matching ErrStreamTruncated", s.Err())
	}
}

// TestCooldownReasonText: with nothing cooling down, the snapshot's reason
// prints as "none".
func TestCooldownReasonText(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	c := build(t, builder(srv).Model("openai/gpt-4o"))
	s := c.SignalsSnapshot()
	if got := fmt.Sprintf("%v", s.Circuit.CooldownReason); got != "none" {
		t.Errorf("CooldownReason with no cooldown prints %q; want \"none\"", got)
	}
	if got := fmt.Sprintf("%+v", s.Circuit); strings.Contains(got, "invalid") {
		t.Errorf("Circuit signals print %q; want no \"invalid\"", got)
	}
}

// TestLogsCarryNoProviderMessage: a provider's message may echo the prompt;
// request logs carry the code, status and request ID, not the message
// (the returned error keeps it).
func TestLogsCarryNoProviderMessage(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	const echo = "Your prompt 'SECRET-PLAN-42' violates the policy"
	srv.Script("gpt-4o", providertest.Answer{Status: 400, Text: echo})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := build(t, builder(srv).Model("openai/gpt-4o").Logger(logger))
	_, err := c.Chat(t.Context(), client.ChatRequest{Messages: []client.Message{client.User("SECRET-PLAN-42")}})
	if err == nil || !strings.Contains(err.Error(), "SECRET-PLAN-42") {
		t.Fatalf("Chat = %v; want the provider's message in the returned error", err)
	}
	if strings.Contains(logs.String(), "SECRET-PLAN-42") {
		t.Errorf("logs carry the provider's message:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "E1001 invalid_request (HTTP 400") {
		t.Errorf("logs lack the code and status:\n%s", logs.String())
	}
}

// TestDeadlineErrorTextSaysItOnce: a call whose deadline passes during its
// one attempt fails with one timeout, as a cancel gives one cancellation.
// Before, the executor and the chain each wrapped the attempt's timeout
// again: "E3003 timeout: (after: ailib: openai/gpt-4o: E3003 timeout:
// (after: ... call deadline exceeded))", three failures to the eye.
func TestDeadlineErrorTextSaysItOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", providertest.Slow(2*time.Second, "hi"))
		for _, fallback := range []string{"", "anthropic/claude"} {
			b := inProcess(srv).Model("openai/gpt-4o")
			if fallback != "" {
				b = b.Fallback(fallback)
			}
			c := build(t, b)
			for name, call := range map[string]func(context.Context) error{"Chat": chatCall(c), "Stream": streamCall(c)} {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				err := call(ctx)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, aierrors.Timeout) {
					t.Errorf("%s (fallback %q): error = %v; want a Timeout matching DeadlineExceeded", name, fallback, err)
				}
				if n := strings.Count(err.Error(), "E3003"); n != 1 {
					t.Errorf("%s (fallback %q): the timeout is said %d times: %v", name, fallback, n, err)
				}
			}
		}
	})
}
