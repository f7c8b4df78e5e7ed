package client_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// TestToolStreamIdleTimeout: Next reads tool-call pieces without
// returning to the caller, and the idle timeout still bounds the wait for
// each of them; pieces that keep coming in time are not idle.
func TestToolStreamIdleTimeout(t *testing.T) {
	for _, f := range formats[:2] {
		for _, tt := range []struct {
			gap  time.Duration
			idle bool
		}{{20 * time.Second, false}, {2 * time.Minute, true}} {
			t.Run(f.name+"/"+tt.gap.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := providertest.New()
					a := providertest.CallTools(scriptedCalls...)
					a.ChunkDelay = tt.gap
					srv.Script(f.model, a)
					c := build(t, inProcess(srv).Model(f.target).StreamIdleTimeout(30*time.Second))
					start := time.Now()
					s, err := c.Stream(t.Context(), client.ChatRequest{Messages: []client.Message{client.User("Weather?")}, Tools: []client.Tool{weatherTool}})
					if err != nil {
						t.Fatalf("Stream() error = %v", err)
					}
					defer s.Close()
					if s.Next() {
						t.Fatalf("Next() = true with Delta %q; a tool-only stream has no text", s.Delta())
					}
					if !tt.idle {
						if s.Err() != nil {
							t.Fatalf("Err() = %v after %v; want a complete stream", s.Err(), time.Since(start))
						}
						checkCalls(t, s.ToolCalls())
						return
					}
					if !errors.Is(s.Err(), client.ErrStreamIdle) || !errors.Is(s.Err(), aierrors.Timeout) {
						t.Errorf("Err() = %v; want Timeout wrapping ErrStreamIdle", s.Err())
					}
					// The first piece came (Stream returned with it) and then
					// the stream went idle for 30s.
					if got := time.Since(start); got != 2*time.Minute+30*time.Second {
						t.Errorf("stream ended after %v; want 2m30s (first piece at 2m, then 30s idle)", got)
					}
				})
			})
		}
	}
}

// TestTokenSettlementWithCachedTokens checks, on fake time, the exact
// tokens the limiter keeps after a call: the usage, less the cache reads
// for Anthropic (its input-token limits do not count them).
func TestTokenSettlementWithCachedTokens(t *testing.T) {
	u := providertest.Usage{PromptTokens: 1000, CompletionTokens: 100, CachedPromptTokens: 800, ReasoningTokens: 60}
	for _, f := range formats[:2] {
		for _, stream := range []bool{false, true} {
			name := f.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := providertest.New()
					srv.SetDefault(f.model, providertest.Answer{Status: http.StatusOK, Text: "ok", Usage: u})
					cfg := fastConfig()
					cfg.RateLimiter = &resilience.RateLimiterConfig{TokensPerMinute: 6000}
					c := build(t, inProcess(srv).Model(f.target).Resilience(cfg))
					req := hi()
					req.MaxTokens = 2000
					if stream {
						s, err := c.Stream(t.Context(), req)
						if err != nil {
							t.Fatal(err)
						}
						for s.Next() {
						}
						s.Close()
						if s.Err() != nil || s.Usage().CachedPromptTokens != 800 {
							t.Fatalf("stream err %v usage %+v", s.Err(), s.Usage())
						}
					} else if _, err := c.Chat(t.Context(), req); err != nil {
						t.Fatal(err)
					}
					want := 6000.0 - 1100
					if f.name == "anthropic" {
						want = 6000 - 300
					}
					if got := c.SignalsSnapshot().Rate.TokensLeft; got != want {
						t.Errorf("Rate.TokensLeft = %v; want %v", got, want)
					}
				})
			})
		}
	}
}
