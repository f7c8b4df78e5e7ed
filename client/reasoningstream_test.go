package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/resilience"
)

// streamStep is what one Next gave: its pieces and when.
type streamStep struct {
	at               time.Duration
	delta, reasoning string
}

// readSteps reads s to its end, noting each Next's pieces and when (since
// start).
func readSteps(s *client.ChatStream, start time.Time) []streamStep {
	var out []streamStep
	for s.Next() {
		out = append(out, streamStep{time.Since(start), s.Delta(), s.ReasoningDelta()})
	}
	return out
}

// TestStreamReasoningHandsPiecesOver: with StreamReasoning, Stream returns
// at the first piece of reasoning and Next stops at each piece as it
// arrives, then at the text; without it, reasoning is only kept (Next
// stops at text only, ReasoningDelta stays ""), as before.
func TestStreamReasoningHandsPiecesOver(t *testing.T) {
	for _, target := range []string{"deepseek/deepseek-reasoner", "anthropic/claude-sonnet-4-5"} {
		for _, on := range []bool{true, false} {
			synctest.Test(t, func(t *testing.T) {
				tr := &pacedStream{pieces: reasoningPieces(strings.HasPrefix(target, "anthropic"), 3, time.Second, false)}
				c := build(t, client.NewBuilder().IgnoreEnvironment().Model(target).APIKey("sk-test-000000").
					HTTPClient(&http.Client{Transport: tr}))
				req := hi()
				req.StreamReasoning = on
				start := time.Now()
				s, err := c.Stream(context.Background(), req)
				if err != nil {
					t.Fatalf("%s StreamReasoning=%v: Stream() error = %v", target, on, err)
				}
				defer s.Close()
				opened := time.Since(start)
				got := readSteps(s, start)
				want := []streamStep{{4 * time.Second, "42", ""}}
				wantOpened := 4 * time.Second
				if on {
					step := streamStep{delta: "", reasoning: "step "}
					want = []streamStep{step, step, step, {4 * time.Second, "42", ""}}
					for i := range 3 {
						want[i].at = time.Duration(i+1) * time.Second
					}
					wantOpened = time.Second
				}
				if opened != wantOpened || !slices.Equal(got, want) {
					t.Errorf("%s StreamReasoning=%v: Stream returned after %v, steps %+v; want %v, %+v", target, on, opened, got, wantOpened, want)
				}
				if s.Err() != nil || s.Text() != "42" || s.Reasoning() != "step step step " {
					t.Errorf("%s StreamReasoning=%v: Err = %v, Text = %q, Reasoning = %q", target, on, s.Err(), s.Text(), s.Reasoning())
				}
			})
		}
	}
}

// TestStreamReasoningFailureIsTheCallers: once a piece of reasoning was
// handed over, a failure ends the stream with an error, as one after text
// does: the call is not sent again (the caller has seen the reasoning).
// Without StreamReasoning the same stall is retried (TestReasoningThatStallsTimesOut).
func TestStreamReasoningFailureIsTheCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &pacedStream{pieces: reasoningPieces(false, 2, time.Second, true)}
		cfg := resilience.DefaultConfig()
		cfg.Retry.MaxRetries = 1
		c := build(t, client.NewBuilder().IgnoreEnvironment().Model("deepseek/deepseek-reasoner").APIKey("sk-test-000000").
			HTTPClient(&http.Client{Transport: tr}).Resilience(cfg).StreamIdleTimeout(2*time.Second))
		req := hi()
		req.StreamReasoning = true
		s, err := c.Stream(context.Background(), req)
		if err != nil {
			t.Fatalf("Stream() error = %v; want the stream at its first piece of reasoning", err)
		}
		defer s.Close()
		got := readSteps(s, time.Now())
		if len(got) != 2 || !errors.Is(s.Err(), client.ErrStreamIdle) || tr.requests.Load() != 1 {
			t.Errorf("steps %+v, Err = %v, requests = %d; want two pieces of reasoning, then ErrStreamIdle, one request", got, s.Err(), tr.requests.Load())
		}
	})
}

// TestStreamReasoningBesideText: an event carrying reasoning and text
// (OpenRouter's shape) gives both in one Next; a server that answers the
// stream with one document gives its reasoning with its text.
func TestStreamReasoningBesideText(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       []streamStep
	}{
		{"one event", `data: {"id":"gen-1","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"Hmm."}}]}` + "\n\n" +
			`data: {"id":"gen-1","choices":[{"index":0,"delta":{"reasoning":" Yes.","content":"4"}}]}` + "\n\n" +
			`data: {"id":"gen-1","choices":[{"index":0,"delta":{"content":"2"},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n",
			[]streamStep{{0, "", "Hmm."}, {0, "4", " Yes."}, {0, "2", ""}}},
		{"one document", `{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"Hmm. Yes."},"finish_reason":"stop"}]}`,
			[]streamStep{{0, "42", "Hmm. Yes."}}},
	} {
		synctest.Test(t, func(t *testing.T) {
			tr := &pacedStream{pieces: []pacedPiece{piece(0, tt.body)}}
			c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openrouter/deepseek/deepseek-r1").APIKey("sk-or-v1-test000000").
				HTTPClient(&http.Client{Transport: tr}))
			req := hi()
			req.StreamReasoning = true
			s, err := c.Stream(context.Background(), req)
			if err != nil {
				t.Fatalf("%s: Stream() error = %v", tt.name, err)
			}
			defer s.Close()
			if got := readSteps(s, time.Now()); !slices.Equal(got, tt.want) || s.Err() != nil {
				t.Errorf("%s: steps %+v, Err = %v; want %+v", tt.name, got, s.Err(), tt.want)
			}
		})
	}
}

// magistralPieces is Mistral's reasoning model streaming: n pieces of
// thinking as content lists of "thinking" chunks, every gap, then its
// answer "42".
func magistralPieces(n int, gap time.Duration) []pacedPiece {
	var out []pacedPiece
	for range n {
		out = append(out, piece(gap, `data: {"id":"c1","object":"chat.completion.chunk","model":"magistral-medium-latest","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"step "}]}]},"finish_reason":null}]}`+"\n\n"))
	}
	return append(out, piece(gap, `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n"))
}

// TestMistralThinkingStreams: Magistral's thinking comes as content lists
// of "thinking" chunks; it is reasoning (kept, handed over with
// StreamReasoning) and shows the answer begun, so that the attempt
// timeout does not cut 30 s of it (before: dropped, and cut and sent
// again until the retries ran out).
func TestMistralThinkingStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &pacedStream{pieces: magistralPieces(3, time.Second)}
		c := build(t, client.NewBuilder().IgnoreEnvironment().Model("mistral/magistral-medium-latest").APIKey("test0000000000000000").
			HTTPClient(&http.Client{Transport: tr}))
		req := hi()
		req.StreamReasoning = true
		s, err := c.Stream(context.Background(), req)
		if err != nil {
			t.Fatalf("Stream() error = %v", err)
		}
		defer s.Close()
		var thought strings.Builder
		for s.Next() {
			thought.WriteString(s.ReasoningDelta())
		}
		if thought.String() != "step step step " || s.Reasoning() != "step step step " || s.Text() != "42" || s.Err() != nil {
			t.Errorf("reasoning deltas %q, Reasoning() %q, Text %q, Err %v; want the 3 steps, then 42", thought.String(), s.Reasoning(), s.Text(), s.Err())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		tr := &pacedStream{pieces: magistralPieces(30, time.Second)}
		c := build(t, client.NewBuilder().IgnoreEnvironment().Model("mistral/magistral-medium-latest").APIKey("test0000000000000000").
			HTTPClient(&http.Client{Transport: tr}).AttemptTimeout(5*time.Second).StreamIdleTimeout(3*time.Second))
		s, err := c.Stream(context.Background(), hi())
		if err != nil {
			t.Fatalf("Stream() error = %v after %d requests; want the answer after 30s of thinking", err, tr.requests.Load())
		}
		defer s.Close()
		readAll(s)
		if s.Err() != nil || s.Text() != "42" || tr.requests.Load() != 1 {
			t.Errorf("Err = %v, Text = %q, requests = %d; want nil, 42, 1", s.Err(), s.Text(), tr.requests.Load())
		}
	})
}
