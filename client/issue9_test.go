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
		if s.CoolingDownFor != resilience.DefaultQuotaCooldown || s.CoolingDownReason != aierrors.QuotaExhausted {
			t.Errorf("Signals(primary) cooldown = %v (%v); want %v (quota_exhausted)", s.CoolingDownFor, s.CoolingDownReason, resilience.DefaultQuotaCooldown)
		}
		time.Sleep(resilience.DefaultQuotaCooldown)
		_, _ = c.Chat(t.Context(), hi())
		if n := srv.Requests("gpt-4o"); n != 2 {
			t.Errorf("requests to the primary once its cooldown ended = %d; want 2", n)
		}
	})
}

func TestChatHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		defer srv.Close()
		srv.Script("gpt-4o",
			providertest.Answer{Status: http.StatusOK, Text: "slow", Delay: 2 * time.Second},
			providertest.Answer{Status: http.StatusOK, Text: "fast"})
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Hedge(resilience.HedgeConfig{Delay: 100 * time.Millisecond}))
		start := time.Now()
		resp, err := c.Chat(t.Context(), hi())
		if err != nil || resp.Content != "fast" || time.Since(start) != 100*time.Millisecond || resp.Attempts != 2 {
			t.Fatalf("Chat(hedged) = %+v, %v after %v; want \"fast\" from the hedge after 100ms, 2 attempts", resp, err, time.Since(start))
		}
		s := c.SignalsSnapshot()
		if s.CurrentInflight != 0 || s.ConsecutiveFailures != 0 || s.RetriesInFlight != 0 {
			t.Errorf("Signals() after the hedged call = %+v; want nothing held, no failure counted", s)
		}
		// Streams are never hedged.
		srv.Script("gpt-4o", providertest.Answer{Status: http.StatusOK, Text: "slow stream", Delay: time.Second})
		st, err := c.Stream(t.Context(), hi())
		if err != nil {
			t.Fatal(err)
		}
		for st.Next() {
		}
		st.Close()
		if n := srv.Requests("gpt-4o"); n != 3 {
			t.Errorf("requests after a slow stream = %d; want 3 (no hedge)", n)
		}
	})
}

func TestHedgeBuildError(t *testing.T) {
	_, err := builder(providertest.New()).Model("openai/gpt-4o").Hedge(resilience.HedgeConfig{}).Build()
	if err == nil || !strings.Contains(err.Error(), "Hedge.Delay") {
		t.Errorf("Build() with Hedge{} = %v; want an error naming Hedge.Delay", err)
	}
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
		// Reserved 1 + 4 + 1000, settled to the usage: 500.
		if s := c.SignalsSnapshot(); s.TokensRemaining != 5500 || s.TokenLimit != 6000 {
			t.Errorf("TokensRemaining, TokenLimit after a call using 500 = %v, %v; want 5500, 6000", s.TokensRemaining, s.TokenLimit)
		}
		// Bigger than the bucket: clamped to it, so it waits for a full
		// bucket (500 tokens at 100/s), not forever.
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
		if got := c.SignalsSnapshot().TokensRemaining; got != 6000-1005 {
			t.Errorf("TokensRemaining while streaming = %v; want %d (the estimate reserved)", got, 6000-1005)
		}
		for st.Next() {
		}
		st.Close()
		used := st.Usage().PromptTokens + st.Usage().CompletionTokens
		if got := c.SignalsSnapshot().TokensRemaining; used == 0 || got != float64(6000-used) {
			t.Errorf("TokensRemaining after the stream (usage %d) = %v; want %d", used, got, 6000-used)
		}
	})
}

func TestEnvTokenLimitAndBudget(t *testing.T) {
	t.Setenv("AI_LIB_TPM", "1200")
	t.Setenv("AI_LIB_RETRY_BUDGET_PERCENT", "50")
	b := client.NewBuilder().Model("openai/gpt-4o").Provider("openai", client.ProviderConfig{APIKey: openAIKey})
	c := build(t, b)
	if s := c.SignalsSnapshot(); s.TokenLimit != 1200 || s.RetryBudget != 3 {
		t.Errorf("Signals() with AI_LIB_TPM=1200 = TokenLimit %v, RetryBudget %d; want 1200, 3", s.TokenLimit, s.RetryBudget)
	}
	t.Setenv("AI_LIB_RETRY_BUDGET_PERCENT", "abc")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "AI_LIB_RETRY_BUDGET_PERCENT") {
		t.Errorf("Build() with AI_LIB_RETRY_BUDGET_PERCENT=abc = %v; want an error naming it", err)
	}
}
