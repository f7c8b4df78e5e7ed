package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// The examples run against providertest, a local fault-injection server,
// so they need no key and no network. Against a real provider, drop
// BaseURL and APIKey: the key comes from OPENAI_API_KEY.
func Example() {
	srv := providertest.NewServer()
	defer srv.Close()
	// The provider fails twice, then answers.
	srv.Script("gpt-4o", providertest.Unavailable(), providertest.RateLimited(0), providertest.OK("Hello, Gopher!"))

	c, err := client.NewBuilder().
		Model("openai/gpt-4o").
		BaseURL(srv.URL() + "/v1").
		APIKey("sk-example-key-0000").
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{
		Messages: []client.Message{client.User("Say hello")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s (from %s/%s after %d requests)\n", resp.Content, resp.Provider, resp.Model, resp.Attempts)
	// Output: Hello, Gopher! (from openai/gpt-4o after 3 requests)
}

// Build reports every problem at once, each naming the setting or the
// environment variable to fix.
func ExampleBuilder_Build() {
	_, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("gpt-4o").
		Fallback("anthropic/claude-3-5-sonnet-latest").
		AttemptTimeout(-time.Second).
		Build()
	fmt.Println(err)
	// Output:
	// client: Model("gpt-4o"): want "provider/model", e.g. "openai/gpt-4o"
	// client: provider "anthropic" needs an API key: call Provider("anthropic", ProviderConfig{APIKey: ...}) (IgnoreEnvironment is set, so ANTHROPIC_API_KEY is not read)
	// client: AttemptTimeout(-1s): negative (0 turns it off)
}

// A primary out of quota falls back to another provider, in that
// provider's own wire format.
func ExampleBuilder_Fallback() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetDefault("gpt-4o", providertest.InsufficientQuota())
	srv.SetDefault("claude-3-5-sonnet-latest", providertest.OK("Hello from Claude"))

	c, err := client.NewBuilder().
		Model("openai/gpt-4o").
		Fallback("anthropic/claude-3-5-sonnet-latest").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Hooks(resilience.Hooks{OnFallback: func(h resilience.FallbackHop) {
			if h.From != "" {
				fmt.Printf("fallback %s -> %s: %v\n", h.From, h.To, aierrors.CodeOf(h.Err).String())
			}
		}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s (%s, %d requests)\n", resp.Content, resp.Provider, resp.Attempts)
	// Output:
	// fallback openai/gpt-4o -> anthropic/claude-3-5-sonnet-latest: E2002 quota_exhausted
	// Hello from Claude (anthropic, 2 requests)
}

func ExampleAiClient_Stream() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("claude-3-5-haiku-latest", providertest.OKChunks("Streams ", "arrive ", "piece ", "by ", "piece."))

	c, err := client.NewBuilder().
		Model("anthropic/claude-3-5-haiku-latest").
		BaseURL(srv.URL() + "/v1").
		APIKey("sk-ant-example").
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Stream(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for s.Next() {
		fmt.Printf("[%s]", s.Delta())
	}
	fmt.Println()
	if err := s.Err(); err != nil {
		fmt.Println("stream failed after", len(s.Text()), "bytes:", err)
		return
	}
	fmt.Println(s.Text(), s.FinishReason())
	// Output:
	// [Streams ][arrive ][piece ][by ][piece.]
	// Streams arrive piece by piece. stop
}

// Errors carry a standard code: branch with errors.Is, read details with
// errors.As.
func ExampleAiClient_Chat_errors() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.SetDefault("gpt-4o", providertest.ContextLengthExceeded())

	c, err := client.NewBuilder().
		Model("openai/gpt-4o").
		BaseURL(srv.URL() + "/v1").
		APIKey("sk-example-key-0000").
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("a very long prompt")}})
	var ae *aierrors.Error
	switch {
	case errors.Is(err, aierrors.RateLimited), errors.Is(err, aierrors.Overloaded):
		fmt.Println("busy: try later")
	case errors.As(err, &ae):
		fmt.Println(ae.Code.String(), ae.HTTPStatus, ae.ProviderCode, "retryable:", ae.Retryable())
		fmt.Println("requests:", client.AttemptsOf(err))
	}
	// Output:
	// E1005 request_too_large 400 context_length_exceeded retryable: false
	// requests: 1
}
