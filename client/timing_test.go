package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// These tests run in synctest bubbles, with the provider in-process
// (providertest's Transport), so their delays run on the fake clock.

func TestAttemptTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.Slow(2*time.Minute, "late"), providertest.OK("on time"))
		c := build(t, inProcess(srv).Model("openai/gpt-4o").AttemptTimeout(30*time.Second))
		start := time.Now()
		resp, err := c.Chat(context.Background(), hi())
		if err != nil {
			t.Fatalf("Chat() error = %v", err)
		}
		if resp.Content != "on time" || resp.Attempts != 2 {
			t.Errorf("Chat() = %q after %d attempts; want %q after 2", resp.Content, resp.Attempts, "on time")
		}
		if d := time.Since(start); d < 30*time.Second || d > 31*time.Second {
			t.Errorf("Chat() took %v; want just over the 30s attempt timeout", d)
		}
	})
}

func TestAttemptTimeoutError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", providertest.Slow(time.Hour, "never"))
		cfg := fastConfig()
		cfg.Retry.MaxRetries = 1
		c := build(t, inProcess(srv).Model("openai/gpt-4o").AttemptTimeout(time.Second).Resilience(cfg))
		_, err := c.Chat(context.Background(), hi())
		if !errors.Is(err, aierrors.Timeout) || !errors.Is(err, client.ErrAttemptTimeout) {
			t.Fatalf("Chat() error = %v; want Timeout wrapping ErrAttemptTimeout", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Chat() error = %v; an attempt timeout is not the caller's deadline", err)
		}
		if n := srv.Requests("gpt-4o"); n != 2 {
			t.Errorf("requests = %d; want 2", n)
		}
		synctest.Wait()
	})
}

func TestCallerDeadlineIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", providertest.Slow(time.Minute, "late"))
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Fallback("anthropic/claude").AttemptTimeout(time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.Chat(ctx, hi())
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, aierrors.Timeout) {
			t.Fatalf("Chat() error = %v; want the caller's deadline", err)
		}
		if srv.Requests("gpt-4o") != 1 || srv.Requests("claude") != 0 {
			t.Errorf("requests = %d primary, %d fallback; want 1, 0", srv.Requests("gpt-4o"), srv.Requests("claude"))
		}
		if n := c.SignalsSnapshot().Circuit.ConsecutiveFailures; n != 0 {
			t.Errorf("ConsecutiveFailures = %d; the caller's deadline must not count", n)
		}
		synctest.Wait()
	})
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, f := range []struct {
		name, target, model string
		answer              providertest.Answer
	}{
		{"openai", "openai/gpt-4o", "gpt-4o", providertest.RateLimited(3 * time.Second)},
		{"anthropic", "anthropic/claude", "claude", providertest.AnthropicRateLimited(3 * time.Second)},
	} {
		t.Run(f.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				srv.Script(f.model, f.answer, providertest.OK("ok"))
				c := build(t, inProcess(srv).Model(f.target))
				start := time.Now()
				resp, err := c.Chat(context.Background(), hi())
				if err != nil || resp.Attempts != 2 {
					t.Fatalf("Chat() = %+v, %v; want success after 2 attempts", resp, err)
				}
				if d := time.Since(start); d < 3*time.Second {
					t.Errorf("Chat() took %v; want at least the 3s Retry-After", d)
				}
			})
		})
	}
}

func TestDefaultConfigWhenEnvironmentIgnored(t *testing.T) {
	clearEnv(t)
	t.Setenv("AI_LIB_MAX_RETRIES", "0")
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", providertest.ServerError())
		b := client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").
			Provider("openai", client.ProviderConfig{APIKey: openAIKey, BaseURL: srv.URL() + "/v1"}).
			HTTPClient(&http.Client{Transport: srv.Transport()})
		c := build(t, b)
		_, err := c.Chat(context.Background(), hi())
		if !errors.Is(err, aierrors.ServerError) {
			t.Fatalf("Chat() error = %v; want ServerError", err)
		}
		if n, want := srv.Requests("gpt-4o"), resilience.DefaultConfig().Retry.MaxRetries+1; n != want {
			t.Errorf("requests = %d; want %d (DefaultConfig, AI_LIB_MAX_RETRIES ignored)", n, want)
		}
	})
}

func TestStreamIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script("claude", providertest.Answer{Status: 200, Chunks: []string{"a", "b"}, ChunkDelay: 2 * time.Minute})
		c := build(t, inProcess(srv).Model("anthropic/claude").StreamIdleTimeout(30*time.Second))
		s, err := c.Stream(context.Background(), hi())
		if err != nil {
			t.Fatalf("Stream() error = %v (the first event may take longer than the idle timeout)", err)
		}
		defer s.Close()
		readAll(s)
		if !errors.Is(s.Err(), client.ErrStreamIdle) || !errors.Is(s.Err(), aierrors.Timeout) {
			t.Errorf("Err() = %v; want Timeout wrapping ErrStreamIdle", s.Err())
		}
		if s.Text() != "a" {
			t.Errorf("Text() = %q; want the first event", s.Text())
		}
	})
}

func TestStreamSlowConsumerIsNotIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.OKChunks("a", "b", "c"))
		c := build(t, inProcess(srv).Model("openai/gpt-4o").StreamIdleTimeout(time.Second))
		s, err := c.Stream(context.Background(), hi())
		if err != nil {
			t.Fatalf("Stream() error = %v", err)
		}
		defer s.Close()
		for s.Next() {
			time.Sleep(time.Minute) // the caller is slow, not the provider
		}
		if s.Err() != nil || s.Text() != "abc" {
			t.Errorf("Err() = %v, Text() = %q; want nil, abc", s.Err(), s.Text())
		}
	})
}

func TestStreamCancelledMidway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script("claude", providertest.Answer{Status: 200, Chunks: []string{"a", "b", "c"}, ChunkDelay: time.Minute})
		c := build(t, inProcess(srv).Model("anthropic/claude").StreamIdleTimeout(0))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := c.Stream(ctx, hi())
		if err != nil {
			t.Fatalf("Stream() error = %v", err)
		}
		defer s.Close()
		if !s.Next() || s.Delta() != "a" {
			t.Fatalf("Next() = false or Delta() = %q; want a", s.Delta())
		}
		time.AfterFunc(10*time.Second, cancel)
		if s.Next() {
			t.Fatalf("Next() = true with Delta %q; want false after cancel", s.Delta())
		}
		if !errors.Is(s.Err(), aierrors.Cancelled) || !errors.Is(s.Err(), context.Canceled) {
			t.Errorf("Err() = %v; want Cancelled and context.Canceled", s.Err())
		}
		if n := c.SignalsSnapshot().Circuit.ConsecutiveFailures; n != 0 {
			t.Errorf("ConsecutiveFailures = %d; cancellation must not count", n)
		}
		if n := c.SignalsSnapshot().CurrentInflight; n != 0 {
			t.Errorf("CurrentInflight = %d; want the permit back", n)
		}
	})
}

func TestStreamCloseFromAnotherGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"a", "b"}, ChunkDelay: time.Minute})
		c := build(t, inProcess(srv).Model("openai/gpt-4o").StreamIdleTimeout(0))
		s, err := c.Stream(context.Background(), hi())
		if err != nil {
			t.Fatalf("Stream() error = %v", err)
		}
		if !s.Next() {
			t.Fatalf("Next() = false, Err() = %v", s.Err())
		}
		time.AfterFunc(time.Second, func() { s.Close() })
		if s.Next() {
			t.Fatal("Next() = true; want false once closed")
		}
		if !errors.Is(s.Err(), context.Canceled) {
			t.Errorf("Err() = %v; want cancelled", s.Err())
		}
		s.Close()
	})
}

func TestStreamAttemptTimeoutBeforeFirstEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"late"}, ChunkDelay: time.Hour}, providertest.OKChunks("ok"))
		c := build(t, inProcess(srv).Model("openai/gpt-4o").AttemptTimeout(time.Minute))
		s, err := c.Stream(context.Background(), hi())
		if err != nil {
			t.Fatalf("Stream() error = %v", err)
		}
		defer s.Close()
		readAll(s)
		if s.Err() != nil || s.Text() != "ok" || s.Attempts() != 2 {
			t.Errorf("Err() = %v, Text() = %q, Attempts() = %d; want nil, ok, 2", s.Err(), s.Text(), s.Attempts())
		}
	})
}

// TestLastTargetWaitsOutAnOpenCircuit: with no fallback, a call that meets
// the target's open circuit waits for its probe instead of failing at
// once (resilience.WithNoFallback); with a fallback it moves on at once.
func TestLastTargetWaitsOutAnOpenCircuit(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		t.Run(fmt.Sprintf("fallback=%v", fallback), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				srv.SetDefault("gpt-4o", providertest.Unavailable())
				cfg := resilience.ResilientConfig{
					Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 5 * time.Second},
					CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 2, Cooldown: time.Second},
				}
				b := inProcess(srv).Model("openai/gpt-4o").Resilience(cfg)
				if fallback {
					b.Fallback("anthropic/claude")
				}
				c := build(t, b)
				// Two failures open the primary's circuit; with no
				// fallback the call then waits for probes (failed
				// probes are not retries) until its deadline.
				ctx1, cancel1 := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel1()
				_, _ = c.Chat(ctx1, hi())
				if s := c.SignalsSnapshot(); s.CircuitState != resilience.StateOpen {
					t.Fatalf("primary circuit %v; want open", s.CircuitState)
				}
				srv.SetDefault("gpt-4o", providertest.OK("back"))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				before, start := srv.Requests("gpt-4o"), time.Now()
				resp, err := c.Chat(ctx, hi())
				if err != nil {
					t.Fatalf("Chat() error = %v", err)
				}
				switch {
				case fallback && (resp.Model != "claude" || time.Since(start) != 0):
					t.Errorf("Chat() answered by %s after %v; want the fallback at once", resp.Model, time.Since(start))
				case !fallback && (resp.Content != "back" || time.Since(start) < 900*time.Millisecond || srv.Requests("gpt-4o") != before+1):
					t.Errorf("Chat() = %q after %v and %d requests; want the primary's probe after the cooldown, one request",
						resp.Content, time.Since(start), srv.Requests("gpt-4o")-before)
				}
			})
		})
	}
}
