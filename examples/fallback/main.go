// Command fallback shows how an AiClient moves across providers: which
// failures make it move on, which do not, and how an open circuit keeps
// calls away from a provider that is down.
//
//	go run ./examples/fallback
//
// It runs offline against an embedded fault-injection provider
// (client/providertest) serving three targets in two wire formats. With
// real providers the code is the same without BaseURL and the keys in code:
// the keys then come from OPENAI_API_KEY, GROQ_API_KEY and
// ANTHROPIC_API_KEY.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

func main() {
	srv := providertest.NewServer()
	defer srv.Close()

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	cfg.CircuitBreaker.FailureThreshold = 3

	c, err := client.NewBuilder().
		Model("openai/gpt-4o").
		Fallback("groq/llama-3.3-70b-versatile", "anthropic/claude-3-5-haiku-latest").
		IgnoreEnvironment().
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-demo-openai-0000000000"}).
		Provider("groq", client.ProviderConfig{BaseURL: srv.URL() + "/openai/v1", APIKey: "gsk_demo000000000000000000"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-demo-0000000000"}).
		Resilience(cfg).
		Hooks(resilience.Hooks{
			OnFallback: func(h resilience.FallbackHop) {
				if h.From != "" && h.To != "" {
					fmt.Printf("    fallback %s -> %s (%s)\n", h.From, h.To, aierrors.CodeOf(h.Err).Name())
					if errors.Is(h.Err, aierrors.Authentication) {
						fmt.Printf("      %v\n", h.Err)
					}
				}
			},
			OnStateChange: func(s resilience.StateChange) {
				fmt.Printf("    circuit of %s: %s -> %s\n", s.Target, s.From, s.To)
			},
		}).
		Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req := client.ChatRequest{Messages: []client.Message{client.User("Hello")}}
	call := func(title string) {
		fmt.Println(title)
		resp, err := c.Chat(context.Background(), req)
		if err != nil {
			var ae *aierrors.Error
			errors.As(err, &ae)
			fmt.Printf("  error after %s: %s from %s/%s\n    %v\n", requests(client.AttemptsOf(err)), ae.Code, ae.Provider, ae.Model, err)
			return
		}
		fmt.Printf("  %q from %s/%s after %s\n", resp.Content, resp.Provider, resp.Model, requests(resp.Attempts))
	}

	srv.SetDefault("llama-3.3-70b-versatile", providertest.OK("Hi from Llama on Groq"))
	srv.SetDefault("claude-3-5-haiku-latest", providertest.OK("Hi from Claude"))

	srv.Script("gpt-4o", providertest.InsufficientQuota())
	call("1. The primary is out of quota: no retry (it would not help), straight to the next target.")

	srv.Script("gpt-4o", providertest.Unavailable(), providertest.OK("Hi from GPT-4o"))
	call("\n2. A 503 on the primary is retried on the same target first.")

	srv.Script("gpt-4o", providertest.ContextLengthExceeded())
	call("\n3. A request that is too large fails at once: another provider would refuse it too.")

	srv.SetDefault("gpt-4o", providertest.Unavailable())
	srv.Script("llama-3.3-70b-versatile", providertest.InvalidAPIKey())
	call("\n4. The primary goes down (its circuit opens after 3 failures) and Groq rejects the key\n   (it echoes the key back; ailib masks it):")

	fmt.Println("\n5. The primary stays down: while its circuit is open, calls skip it without sending it anything.")
	for i := range 3 {
		before := srv.Requests("gpt-4o")
		resp, err := c.Chat(context.Background(), req)
		if err != nil {
			fmt.Println("  error:", err)
			continue
		}
		fmt.Printf("  call %d: from %s/%s; requests to the primary: %d; its circuit: %s\n",
			i+1, resp.Provider, resp.Model, srv.Requests("gpt-4o")-before, c.SignalsSnapshot().CircuitState)
	}

	srv.SetDefault("llama-3.3-70b-versatile", providertest.AnthropicOverloaded())
	srv.SetDefault("claude-3-5-haiku-latest", providertest.AnthropicOverloaded())
	call("\n6. Every target fails: the error is the last target's, and it says so.")
}

func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}
