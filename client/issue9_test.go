package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// quotaCooldown is resilience's default CooldownConfig.Quota.
const quotaCooldown = 60 * time.Second

func TestChatSkipsCoolingDownTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		defer srv.Close()
		srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
		cfg := fastConfig()
		cfg.Cooldown = &resilience.CooldownConfig{}
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Fallback("anthropic/claude-x").Resilience(cfg))
		for i := range 3 {
			resp, err := c.Chat(t.Context(), hi())
			if err != nil || resp.Model != "claude-x" {
				t.Fatalf("Chat #%d = %v, %v; want the fallback's answer", i, resp, err)
			}
		}
		if n := srv.Requests("gpt-4o"); n != 1 {
			t.Errorf("requests to the quota-exhausted primary after 3 calls = %d; want 1", n)
		}
		s, _ := c.Signals("openai/gpt-4o")
		if s.Circuit.CooldownFor != quotaCooldown || s.Circuit.CooldownReason != aierrors.QuotaExhausted {
			t.Errorf("Signals(primary) cooldown = %v (%v); want %v (quota_exhausted)", s.Circuit.CooldownFor, s.Circuit.CooldownReason, quotaCooldown)
		}
		time.Sleep(quotaCooldown)
		_, _ = c.Chat(t.Context(), hi())
		if n := srv.Requests("gpt-4o"); n != 2 {
			t.Errorf("requests to the primary once its cooldown ended = %d; want 2", n)
		}
	})
}

func TestChatAttemptTimeoutRetriedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		defer srv.Close()
		srv.Script("gpt-4o", providertest.Answer{Status: http.StatusOK, Text: "late", Delay: 5 * time.Second}, providertest.OK("on time"))
		cfg := fastConfig()
		cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 10*time.Second, 10*time.Second
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Resilience(cfg).AttemptTimeout(500*time.Millisecond))
		start := time.Now()
		resp, err := c.Chat(t.Context(), hi())
		if err != nil || resp.Content != "on time" || time.Since(start) != 500*time.Millisecond {
			t.Errorf("Chat after an attempt timeout = %v, %v after %v; want the retry's answer after 500ms (no backoff)", resp, err, time.Since(start))
		}
		// The caller's own deadline is not an attempt timeout: not retried.
		srv.Script("gpt-4o", providertest.Answer{Status: http.StatusOK, Text: "late", Delay: 5 * time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err = c.Chat(ctx, hi())
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrAttemptTimeout) || client.AttemptsOf(err) != 1 {
			t.Errorf("Chat past the caller's deadline = %v (%d attempts); want the deadline, 1 attempt", err, client.AttemptsOf(err))
		}
	})
}

func TestChatTokenLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		defer srv.Close()
		srv.SetDefault("gpt-4o", providertest.Answer{Status: http.StatusOK, Text: "ok", Usage: providertest.Usage{PromptTokens: 100, CompletionTokens: 400}})
		cfg := fastConfig()
		cfg.RateLimiter = &resilience.RateLimiterConfig{TokensPerMinute: 6000}
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Resilience(cfg))
		req := hi()
		req.MaxTokens = 1000
		if _, err := c.Chat(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		if s := c.SignalsSnapshot(); s.Rate.TokenLimit != 6000 {
			t.Errorf("Signals().Rate.TokenLimit = %v; want 6000", s.Rate.TokenLimit)
		}
		// Reserved 1 + 4 + 1000, settled to the usage: 500, so 5500 are
		// left. Bigger than the bucket: clamped to it, so it waits for a
		// full bucket (500 tokens at 100/s; 1005 had the estimate been
		// kept), not forever.
		req.MaxTokens = 100000
		start := time.Now()
		if _, err := c.Chat(t.Context(), req); err != nil || time.Since(start) != 5*time.Second {
			t.Errorf("Chat(max_tokens above the bucket) = %v after %v; want nil after 5s", err, time.Since(start))
		}
	})
}

func TestStreamSettlesTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		defer srv.Close()
		srv.SetDefault("claude-x", providertest.Answer{Status: http.StatusOK, Text: "a b c", Usage: providertest.Usage{PromptTokens: 50, CompletionTokens: 150}})
		cfg := fastConfig()
		cfg.RateLimiter = &resilience.RateLimiterConfig{TokensPerMinute: 6000}
		c := build(t, inProcess(srv).Model("anthropic/claude-x").Resilience(cfg))
		req := hi()
		req.MaxTokens = 1000
		st, err := c.Stream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		for st.Next() {
		}
		st.Close()
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		used := st.Usage().PromptTokens + st.Usage().CompletionTokens
		if used != 200 {
			t.Fatalf("stream usage = %d; want 200", used)
		}
		// The estimate (1 + 4 + 1000) was replaced by the usage (200) when
		// the stream ended: a call needing the whole bucket waits for 200
		// tokens at 100/s (10.05s had the estimate been kept).
		req.MaxTokens = 100000
		start := time.Now()
		if _, err := c.Chat(t.Context(), req); err != nil || time.Since(start) != 2*time.Second {
			t.Errorf("Chat(the whole bucket) after the stream = %v after %v; want nil after 2s", err, time.Since(start))
		}
	})
}

// A stream closed before its end keeps its estimate: its usage is not
// known.
func TestStreamClosedEarlyKeepsEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		defer srv.Close()
		srv.SetDefault("claude-x", providertest.Answer{Status: http.StatusOK, Text: "a b c", Usage: providertest.Usage{PromptTokens: 50, CompletionTokens: 150}})
		cfg := fastConfig()
		cfg.RateLimiter = &resilience.RateLimiterConfig{TokensPerMinute: 6000}
		c := build(t, inProcess(srv).Model("anthropic/claude-x").Resilience(cfg))
		req := hi()
		req.MaxTokens = 995 // estimate 1000 with the message
		st, err := c.Stream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		req.MaxTokens = 100000
		start := time.Now()
		if _, err := c.Chat(t.Context(), req); err != nil || time.Since(start) != 10*time.Second {
			t.Errorf("Chat(the whole bucket) after an early Close = %v after %v; want nil after 10s (1000 tokens at 100/s)", err, time.Since(start))
		}
	})
}

func TestEnvTokenLimitAndBudget(t *testing.T) {
	t.Setenv("AI_LIB_TPM", "1200")
	t.Setenv("AI_LIB_RETRY_BUDGET", "50")
	b := client.NewBuilder().Model("openai/gpt-4o").Provider("openai", client.ProviderConfig{APIKey: openAIKey})
	c := build(t, b)
	if s := c.SignalsSnapshot(); s.Rate.TokenLimit != 1200 || s.Retry.Budget != 50 {
		t.Errorf("Signals() with AI_LIB_TPM=1200, AI_LIB_RETRY_BUDGET=50 = TokenLimit %v, Retry.Budget %d; want 1200, 50", s.Rate.TokenLimit, s.Retry.Budget)
	}
	t.Setenv("AI_LIB_RETRY_BUDGET", "-1")
	c = build(t, b)
	if s := c.SignalsSnapshot(); s.Retry.Budget != 0 {
		t.Errorf("Signals().Retry.Budget with AI_LIB_RETRY_BUDGET=-1 = %d; want 0 (no budget)", s.Retry.Budget)
	}
	t.Setenv("AI_LIB_RETRY_BUDGET", "abc")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "AI_LIB_RETRY_BUDGET") {
		t.Errorf("Build() with AI_LIB_RETRY_BUDGET=abc = %v; want an error naming it", err)
	}
}

// With the default retry count, a target a fallback follows gets one retry
// (DefaultFallbackRetries), the last target all of them, whether the count
// is left out or comes from DefaultConfig or AI_LIB_MAX_RETRIES=3; another
// count, in code or by AI_LIB_MAX_RETRIES, holds on every target.
func TestFallbackRetriesCapped(t *testing.T) {
	for _, tc := range []struct {
		name           string
		env            string
		cfg            *resilience.ResilientConfig
		primary, final int // requests per call: to the primary, to the last target
	}{
		{name: "defaults", primary: 1 + client.DefaultFallbackRetries, final: 4},
		{name: "DefaultConfig in code", cfg: ptr(resilience.DefaultConfig()), primary: 1 + client.DefaultFallbackRetries, final: 4},
		{name: "AI_LIB_MAX_RETRIES at the default", env: "3", primary: 1 + client.DefaultFallbackRetries, final: 4},
		{name: "retries in code", cfg: &resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 4, InitialDelay: time.Millisecond}}, primary: 5, final: 5},
		{name: "AI_LIB_MAX_RETRIES", env: "2", primary: 3, final: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AI_LIB_MAX_RETRIES", tc.env) // "" reads as unset
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				defer srv.Close()
				srv.SetDefault("gpt-4o", providertest.Unavailable())
				srv.SetDefault("claude-x", providertest.Unavailable())
				b := client.NewBuilder().
					HTTPClient(&http.Client{Transport: srv.Transport()}).
					Model("openai/gpt-4o").Fallback("anthropic/claude-x").
					Provider("openai", client.ProviderConfig{BaseURL: "http://x.invalid/v1", APIKey: openAIKey}).
					Provider("anthropic", client.ProviderConfig{BaseURL: "http://x.invalid/v1", APIKey: anthropicKey})
				if tc.cfg != nil {
					b.Resilience(*tc.cfg)
				}
				c := build(t, b)
				_, err := c.Chat(t.Context(), hi())
				if !errors.Is(err, aierrors.Overloaded) {
					t.Fatalf("Chat = %v; want overloaded", err)
				}
				if got := srv.Requests("gpt-4o"); got != tc.primary {
					t.Errorf("requests to the primary = %d; want %d", got, tc.primary)
				}
				if got := srv.Requests("claude-x"); got != tc.final {
					t.Errorf("requests to the last target = %d; want %d", got, tc.final)
				}
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }
