package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
)

// eventStream is an answer that sends body as an event stream.
func eventStream(body string) providertest.Answer {
	return providertest.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: body}
}

// TestKeepAliveInADataField: Vertex AI's partner models send "data: :
// keepalive" while the model has not begun, and gateways wrap OpenRouter's
// ": OPENROUTER PROCESSING" so; an empty data field is a data event too.
// Such events are no chunk: before, each failed its stream as "not JSON",
// and every retry met the same keep-alive.
func TestKeepAliveInADataField(t *testing.T) {
	srv := providertest.New()
	srv.Script("gpt-4o", eventStream("data: : keepalive\n\ndata:\n\n"+
		`data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}`+"\n\n"+
		"data: : keepalive\n\n"+
		`data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"+
		"data: [DONE]\n\n"))
	srv.Script("claude", eventStream("data: : keepalive\n\n"+
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"+
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"+
		"data: : keepalive\n\n"+
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	for _, target := range []string{"openai/gpt-4o", "anthropic/claude"} {
		c := build(t, inProcess(srv).Model(target).Resilience(offConfig()))
		s, err := c.Stream(context.Background(), hi())
		if err != nil {
			t.Fatalf("%s: Stream() error = %v; want the answer", target, err)
		}
		readAll(s)
		s.Close()
		if s.Err() != nil || s.Text() != "Hello" || s.FinishReason() != "stop" {
			t.Errorf("%s: Err = %v, Text = %q, FinishReason = %q; want nil, Hello, stop", target, s.Err(), s.Text(), s.FinishReason())
		}
	}
}

// TestStreamLineAsLongAsAnAnswer: a server may send a whole tool call in
// one event (Ollama always does), of megabytes when a model writes a file
// through a tool; a line may be as long as MaxResponseBytes allows the
// answer to be. Before, lines were cut at 1 MiB whatever MaxResponseBytes.
func TestStreamLineAsLongAsAnAnswer(t *testing.T) {
	content := strings.Repeat("x", 3<<20/2)
	args := `{"path":"out.txt","content":"` + content + `"}`
	quoted := `"` + strings.ReplaceAll(args, `"`, `\"`) + `"`
	srv := providertest.New()
	srv.Script("qwen3", eventStream(`data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_1","index":0,"type":"function","function":{"name":"write_file","arguments":`+quoted+`}}]},"finish_reason":null}]}`+"\n\n"+
		`data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`+"\n\ndata: [DONE]\n\n"))
	c := build(t, client.NewBuilder().IgnoreEnvironment().Model("ollama/qwen3").
		HTTPClient(&http.Client{Transport: srv.Transport()}).Resilience(offConfig()))
	s, err := c.Stream(context.Background(), hi())
	if err != nil {
		t.Fatalf("Stream() error = %v; want the tool call", err)
	}
	defer s.Close()
	readAll(s)
	calls := s.ToolCalls()
	if s.Err() != nil || len(calls) != 1 || string(calls[0].Arguments) != args {
		t.Fatalf("Err = %v, %d calls; want nil and one call with the %d bytes of arguments", s.Err(), len(calls), len(args))
	}
}
