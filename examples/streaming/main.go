// Command streaming shows AiClient.Stream: text as it arrives, failures
// before the first text retried out of sight, failures after it reported
// with the partial text, cancellation, and a model's thinking shown as it
// comes.
//
//	go run ./examples/streaming
//
// It runs offline against an embedded fault-injection provider
// (client/providertest) speaking the Anthropic Messages stream format.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

const model = "claude-haiku-4-5"

var words = strings.SplitAfter("Streams deliver an answer piece by piece, so a reader sees the first words long before the last ones are written.", " ")

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run shows each way a stream ends, writing to out.
func run(out io.Writer) error {
	srv := providertest.NewServer(providertest.WithKeepAlive(3)) // with ": ping" comments to ignore
	defer srv.Close()

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	c, err := client.NewBuilder().
		Model("anthropic/" + model).
		IgnoreEnvironment().
		BaseURL(srv.URL() + "/v1").
		APIKey("sk-ant-demo-0000000000").
		Resilience(cfg).
		// Generous next to the 30ms between healthy pieces, so that a busy
		// machine's pauses never read as a stalled stream.
		StreamIdleTimeout(2 * time.Second).
		Build()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	base := providertest.Answer{Status: 200, Chunks: words, ChunkDelay: 30 * time.Millisecond}

	fmt.Fprintln(out, "1. A healthy stream:")
	srv.Script(model, base)
	show(out, c, context.Background())

	fmt.Fprintln(out, "\n2. The connection drops before any text: retried, the caller sees one clean stream.")
	cut := base
	cut.CutAfter = providertest.CutAtStart
	srv.Script(model, cut, base)
	show(out, c, context.Background())

	fmt.Fprintln(out, "\n3. The connection drops after 6 pieces: no retry (text was already delivered);")
	fmt.Fprintln(out, "   the error says so and the partial text stays available.")
	cut.CutAfter = 6
	srv.Script(model, cut)
	show(out, c, context.Background())

	fmt.Fprintln(out, "\n4. The provider sends `event: error` (overloaded) mid-stream:")
	overloaded := base
	overloaded.ErrorAfter = 4
	srv.Script(model, overloaded)
	show(out, c, context.Background())

	fmt.Fprintln(out, "\n5. The caller's deadline (300ms) passes mid-stream:")
	srv.Script(model, base)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	show(out, c, ctx)

	fmt.Fprintln(out, "\n6. The provider slows to one piece in 3 seconds; the idle timeout (2s) ends the stream:")
	srv.Script(model, providertest.Answer{Status: 200, Chunks: []string{"One ", "two ", "three."}, ChunkDelay: 3 * time.Second})
	show(out, c, context.Background())

	fmt.Fprintln(out, "\n7. A model that thinks before it writes: with StreamReasoning the thinking arrives as it comes,")
	fmt.Fprintln(out, "   rather than as silence until the first word of text.")
	srv.Script(model, providertest.Answer{Status: 200, Reasoning: thinking, Chunks: words, ChunkDelay: 30 * time.Millisecond})
	showThinking(out, c)
	return nil
}

const thinking = "The user asks about streams. Say what a reader gains: the first words early."

// showThinking streams an answer with its reasoning handed over as it
// comes, and shows which pieces came first.
func showThinking(out io.Writer, c *client.AiClient) {
	s, err := c.Stream(context.Background(), client.ChatRequest{
		Messages:  []client.Message{client.User("Tell me about streams.")},
		MaxTokens: 2048,
		// Claude thinks only when asked to; other reasoning models
		// (DeepSeek's reasoner, Magistral) always do.
		Extra:           map[string]map[string]any{"anthropic": {"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}}},
		StreamReasoning: true,
	})
	if err != nil {
		fmt.Fprintln(out, "   failed before anything arrived:", err)
		return
	}
	defer s.Close()
	thought, before := 0, 0
	for s.Next() {
		if r := s.ReasoningDelta(); r != "" {
			if thought == 0 {
				fmt.Fprint(out, "   (thinking) ")
			}
			fmt.Fprint(out, r)
			thought++
		}
		if d := s.Delta(); d != "" {
			if before == 0 {
				before = thought
				fmt.Fprint(out, "\n   ")
			}
			fmt.Fprint(out, d)
		}
	}
	fmt.Fprintln(out)
	if err := s.Err(); err != nil {
		fmt.Fprintln(out, "   -> failed:", err)
		return
	}
	fmt.Fprintf(out, "   -> complete: %d pieces of thinking shown before the first word of text\n", before)
}

// show streams one answer and reports how it ended.
func show(out io.Writer, c *client.AiClient, ctx context.Context) {
	start := time.Now()
	s, err := c.Stream(ctx, client.ChatRequest{Messages: []client.Message{client.User("Tell me about streams.")}})
	if err != nil {
		fmt.Fprintln(out, "   failed before any text:", err)
		return
	}
	defer s.Close()
	fmt.Fprint(out, "   ")
	for s.Next() {
		fmt.Fprint(out, s.Delta())
	}
	fmt.Fprintln(out)
	if err := s.Err(); err != nil {
		var ae *aierrors.Error
		errors.As(err, &ae)
		fmt.Fprintf(out, "   -> failed: %s (HTTP %d) after %d bytes of text: %v\n", ae.Code, ae.HTTPStatus, len(s.Text()), err)
		if errors.Is(err, client.ErrStreamTruncated) {
			fmt.Fprintln(out, "      errors.Is(err, client.ErrStreamTruncated) = true")
		}
		if errors.Is(err, client.ErrStreamIdle) {
			fmt.Fprintln(out, "      errors.Is(err, client.ErrStreamIdle) = true")
		}
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(out, "      errors.Is(err, context.DeadlineExceeded) = true: the caller's deadline, not the provider's fault")
		}
		return
	}
	n := fmt.Sprintf("%d requests", s.Attempts())
	if s.Attempts() == 1 {
		n = "1 request"
	}
	fmt.Fprintf(out, "   -> complete in %v: %s, finish reason %q, usage %+v\n",
		time.Since(start).Round(10*time.Millisecond), n, s.FinishReason(), s.Usage())
}
