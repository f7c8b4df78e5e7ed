package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// pacedStream is a transport that answers every request with an event
// stream whose pieces come one after another, each after its own wait,
// honouring the request's ctx: a model that reasons for a while before it
// writes. A nil piece stalls the stream until the ctx ends.
type pacedStream struct {
	pieces   []pacedPiece
	requests atomic.Int32
}

type pacedPiece struct {
	after time.Duration
	text  *string
}

func piece(after time.Duration, text string) pacedPiece { return pacedPiece{after, &text} }

func (p *pacedStream) RoundTrip(req *http.Request) (*http.Response, error) {
	p.requests.Add(1)
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	pr, pw := io.Pipe()
	go func() {
		for _, pc := range p.pieces {
			wait := time.After(pc.after)
			if pc.text == nil {
				wait = nil
			}
			select {
			case <-req.Context().Done():
				pw.CloseWithError(req.Context().Err())
				return
			case <-wait:
			}
			if _, err := pw.Write([]byte(*pc.text)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: pr, Request: req}, nil
}

// reasoningPieces is a model's reasoning sent every gap for n pieces, in
// the target's format, then its answer "42" (stall: no answer, the stream
// goes silent).
func reasoningPieces(anthropic bool, n int, gap time.Duration, stall bool) []pacedPiece {
	var out []pacedPiece
	if anthropic {
		out = append(out, piece(0, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"+
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"))
	}
	for range n {
		if anthropic {
			out = append(out, piece(gap, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"step \"}}\n\n"))
		} else {
			out = append(out, piece(gap, `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"step "},"finish_reason":null}]}`+"\n\n"))
		}
	}
	if stall {
		return append(out, pacedPiece{})
	}
	if anthropic {
		return append(out, piece(gap, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"42\"}}\n\n"+
			"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"+
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":9}}\n\n"+
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	}
	return append(out, piece(gap, `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n"))
}

// TestReasoningBeginsTheAnswer: a model that streams its reasoning for
// longer than the attempt timeout before it writes is answering, not
// silent: the attempt timeout, meant for a provider that does not answer,
// must not cut it (and pay for the reasoning again); the idle timeout
// bounds its silences instead. Before, the stream failed with "attempt
// timed out" after as many requests as retries allowed.
func TestReasoningBeginsTheAnswer(t *testing.T) {
	for _, target := range []string{"deepseek/deepseek-reasoner", "anthropic/claude-sonnet-4-5"} {
		t.Run(target, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &pacedStream{pieces: reasoningPieces(strings.HasPrefix(target, "anthropic"), 30, time.Second, false)}
				c := build(t, client.NewBuilder().IgnoreEnvironment().Model(target).APIKey("sk-test-000000").
					HTTPClient(&http.Client{Transport: tr}).
					AttemptTimeout(5*time.Second).StreamIdleTimeout(3*time.Second))
				start := time.Now()
				s, err := c.Stream(context.Background(), hi())
				if err != nil {
					t.Fatalf("Stream() error = %v after %d requests; want the answer after 30s of reasoning", err, tr.requests.Load())
				}
				defer s.Close()
				if waited := time.Since(start); waited != 31*time.Second {
					t.Errorf("Stream returned after %v; want 31s (30 pieces of reasoning, then the text)", waited)
				}
				readAll(s)
				if s.Err() != nil || s.Text() != "42" || tr.requests.Load() != 1 {
					t.Errorf("Err = %v, Text = %q, requests = %d; want nil, \"42\", 1", s.Err(), s.Text(), tr.requests.Load())
				}
				if got := s.Reasoning(); got != strings.Repeat("step ", 30) {
					t.Errorf("Reasoning() = %q; want 30 pieces", got)
				}
			})
		})
	}
}

// TestReasoningThatStallsTimesOut: once reasoning has begun, a silence of
// the idle timeout ends the attempt, as a Timeout wrapping ErrStreamIdle,
// and as no text reached the caller, the attempt is retried.
func TestReasoningThatStallsTimesOut(t *testing.T) {
	for _, target := range []string{"deepseek/deepseek-reasoner", "anthropic/claude-sonnet-4-5"} {
		t.Run(target, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := &pacedStream{pieces: reasoningPieces(strings.HasPrefix(target, "anthropic"), 3, time.Second, true)}
				cfg := resilience.DefaultConfig()
				cfg.Retry.MaxRetries = 1
				c := build(t, client.NewBuilder().IgnoreEnvironment().Model(target).APIKey("sk-test-000000").
					HTTPClient(&http.Client{Transport: tr}).Resilience(cfg).
					AttemptTimeout(time.Minute).StreamIdleTimeout(2*time.Second))
				_, err := c.Stream(context.Background(), hi())
				if !errors.Is(err, client.ErrStreamIdle) || !errors.Is(err, aierrors.Timeout) {
					t.Fatalf("Stream() error = %v; want a Timeout wrapping ErrStreamIdle", err)
				}
				if n := tr.requests.Load(); n != 2 {
					t.Errorf("requests = %d; want 2 (the stalled attempt retried)", n)
				}
			})
		})
	}
}

// TestRoleChunkIsNotReasoning: OpenRouter's first chunk, for any model,
// carries "reasoning_details": [] (or null) beside the role: no reasoning,
// so the attempt timeout still bounds the wait for the answer to begin
// (with the idle timeout off, nothing else would), and a first token that
// comes within it is no idle stream's.
func TestRoleChunkIsNotReasoning(t *testing.T) {
	for _, role := range []string{
		`{"role":"assistant","content":"","reasoning":null,"reasoning_details":[]}`,
		`{"role":"assistant","content":"","reasoning_details":null}`,
	} {
		first := piece(0, `data: {"id":"gen-1","provider":"OpenAI","model":"openai/o3","object":"chat.completion.chunk","choices":[{"index":0,"delta":`+role+`,"finish_reason":null}]}`+"\n\n")
		answer := func(after time.Duration) pacedPiece {
			return piece(after, `data: {"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
		}
		synctest.Test(t, func(t *testing.T) {
			tr := &pacedStream{pieces: []pacedPiece{first, answer(90 * time.Second)}}
			c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openrouter/openai/o3").APIKey("sk-or-v1-test000000").
				HTTPClient(&http.Client{Transport: tr}).Resilience(offConfig()).
				AttemptTimeout(2*time.Minute).StreamIdleTimeout(time.Minute))
			s, err := c.Stream(context.Background(), hi())
			if err != nil {
				t.Fatalf("%s: Stream() error = %v; want the answer after 90s, within the attempt timeout", role, err)
			}
			readAll(s)
			s.Close()
			if s.Err() != nil || s.Text() != "42" {
				t.Errorf("%s: Err = %v, Text = %q; want nil, 42", role, s.Err(), s.Text())
			}
		})
		synctest.Test(t, func(t *testing.T) {
			tr := &pacedStream{pieces: []pacedPiece{first, answer(time.Hour)}}
			c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openrouter/openai/o3").APIKey("sk-or-v1-test000000").
				HTTPClient(&http.Client{Transport: tr}).Resilience(offConfig()).
				AttemptTimeout(5*time.Second).StreamIdleTimeout(0))
			start := time.Now()
			s, err := c.Stream(context.Background(), hi())
			if err == nil {
				s.Close()
			}
			if waited := time.Since(start); !errors.Is(err, client.ErrAttemptTimeout) || waited != 5*time.Second {
				t.Errorf("%s: Stream() = %v after %v; want ErrAttemptTimeout after 5s", role, err, waited)
			}
		})
	}
}
