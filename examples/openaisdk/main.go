// Command openaisdk calls the official OpenAI Go SDK
// (github.com/openai/openai-go/v3) through ailib's resilience layer: the
// SDK's *http.Client gets a [resilience.Transport], so every HTTP attempt
// goes through one target's circuit breaker, rate limiter, in-flight cap
// and retry policy, and the SDK's own retries are turned off
// (option.WithMaxRetries(0)) so that there is one retry layer.
//
//	go run .                  # from examples/openaisdk
//
// With no OPENAI_API_KEY in the environment (or with -offline) it starts an
// embedded fault-injection provider (client/providertest) on a loopback
// port that answers 503, 503, then a completion, and then streams an
// answer: watch the two retries happen below the SDK. With OPENAI_API_KEY
// set it makes the same two calls to the real API (the SDK also reads
// OPENAI_BASE_URL and the other OPENAI_* variables). The key is never
// printed.
//
// This directory is its own Go module so that the SDK never becomes a
// dependency of ailib itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func main() {
	offline := flag.Bool("offline", false, "use the embedded provider even when OPENAI_API_KEY is set")
	model := flag.String("model", openai.ChatModelGPT5_4Mini, "chat model")
	flag.Parse()

	live := !*offline && os.Getenv("OPENAI_API_KEY") != ""
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *model, live); err != nil {
		fmt.Fprintln(os.Stderr, "openaisdk:", err)
		os.Exit(1)
	}
}

// newClient returns an OpenAI SDK client whose every HTTP attempt goes
// through exec, over base (nil: a clone of http.DefaultTransport), and the
// *http.Client it uses. The SDK's retries are off: exec retries, honouring
// Retry-After, and its breaker and limiter see each attempt. opts come
// after ours and may add the base URL, the key, and so on.
func newClient(exec *resilience.ResilientExecutor, base http.RoundTripper, opts ...option.RequestOption) (openai.Client, *http.Client) {
	hc := &http.Client{Transport: resilience.NewTransport(exec, base)}
	return openai.NewClient(append([]option.RequestOption{
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0), // one retry layer: the executor's
	}, opts...)...), hc
}

// run makes one chat call and one streamed call, and reports what the
// resilience layer did.
func run(ctx context.Context, out io.Writer, model string, live bool) error {
	cfg := resilience.DefaultConfig()
	var opts []option.RequestOption
	if !live {
		srv := providertest.NewServer()
		defer srv.Close()
		srv.Script(model, providertest.Unavailable(), providertest.Unavailable(), providertest.OK("Hello from behind two 503s!"))
		srv.SetDefault(model, providertest.OK("Streamed through the same executor."))
		opts = append(opts, option.WithBaseURL(srv.URL()+"/v1/"), option.WithAPIKey("sk-offline-placeholder"))
		cfg.Retry.InitialDelay = 100 * time.Millisecond // a short demo
		fmt.Fprintf(out, "offline: embedded provider at %s answers 503, 503, 200\n", srv.URL())
		defer func() { fmt.Fprintf(out, "provider requests: %d\n", srv.Requests(model)) }()
	}

	exec, err := resilience.NewResilientExecutor(cfg,
		resilience.WithName("openai/"+model),
		resilience.WithHooks(resilience.Hooks{
			OnAttemptEnd: func(a resilience.AttemptEnd) {
				outcome := "ok"
				if a.Err != nil {
					outcome = aierrors.CodeOf(a.Err).Name()
				}
				fmt.Fprintf(out, "  attempt %d: %s\n", a.Attempt, outcome)
			},
			OnRetry: func(r resilience.RetryScheduled) {
				fmt.Fprintf(out, "  retry in %v\n", r.Delay.Round(time.Millisecond))
			},
			OnStateChange: func(s resilience.StateChange) {
				fmt.Fprintf(out, "  circuit %s -> %s\n", s.From, s.To)
			},
		}))
	if err != nil {
		return err
	}
	client, hc := newClient(exec, nil, opts...)
	defer hc.CloseIdleConnections()

	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello in five words.")},
	}

	fmt.Fprintln(out, "chat:")
	completion, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		return describe(err)
	}
	if len(completion.Choices) > 0 {
		fmt.Fprintf(out, "  answer: %s\n", completion.Choices[0].Message.Content)
	}

	fmt.Fprintln(out, "stream:")
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	// The attempt (and its in-flight permit) ends when the stream is closed.
	if err := errors.Join(stream.Err(), stream.Close()); err != nil {
		return describe(err)
	}
	if len(acc.Choices) > 0 {
		fmt.Fprintf(out, "  answer: %s\n", acc.Choices[0].Message.Content)
	}

	s := exec.Signals()
	fmt.Fprintf(out, "circuit: %s, consecutive failures: %d, in flight: %d\n", s.CircuitState, s.Circuit.ConsecutiveFailures, s.CurrentInflight)
	return nil
}

// describe explains a failed call. A provider's error answer comes back as
// the SDK's *openai.Error (the Transport hands the last answer to the SDK);
// a local rejection or a transport failure as an *aierrors.Error.
func describe(err error) error {
	if apiErr, ok := errors.AsType[*openai.Error](err); ok {
		return fmt.Errorf("provider answered HTTP %d (%s): %w", apiErr.StatusCode, apiErr.Type, err)
	}
	if errors.Is(err, resilience.ErrCircuitOpen) {
		return fmt.Errorf("circuit open, not calling the provider: %w", err)
	}
	return fmt.Errorf("%s: %w", aierrors.CodeOf(err).Name(), err)
}
