package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ailib-go/ailib/client"
	aierrors "github.com/ailib-go/ailib/errors"
)

// canned is a function-backed transport answering every request with the
// same status, content type and body.
type canned struct {
	status      int
	contentType string
	body        []byte
}

func (c canned) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode:    c.status,
		Header:        http.Header{"Content-Type": {c.contentType}},
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}, nil
}

// fuzzClient builds a client of one target whose provider answers with rt,
// with no retry and no breaker: one request per call.
func fuzzClient(t *testing.T, anthropic bool, rt http.RoundTripper) *client.AiClient {
	t.Helper()
	target := "openai/gpt-4o"
	if anthropic {
		target = "anthropic/claude"
	}
	c, err := client.NewBuilder().IgnoreEnvironment().Model(target).APIKey(openAIKey).
		Resilience(offConfig()).HTTPClient(&http.Client{Transport: rt}).Build()
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	return c
}

// checkCallError checks an error of Chat, Stream or ChatStream.Err: an
// *aierrors.Error of a known code, attributed to the target, whose text is
// one bounded line without the key.
func checkCallError(t *testing.T, err error) {
	t.Helper()
	var ae *aierrors.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T); want an *aierrors.Error", err, err)
	}
	if ae.Code.Code() == "" || strings.HasPrefix(ae.Code.String(), "StandardErrorCode(") {
		t.Fatalf("error %v: unknown code %d", err, ae.Code)
	}
	if ae.Provider == "" {
		t.Fatalf("error %v: no provider", err)
	}
	msg := err.Error()
	if len(msg) > 2048 || strings.ContainsAny(msg, "\r\n") || !utf8.ValidString(msg) {
		t.Fatalf("error text %q (%d bytes): want one valid line of at most 2 KiB", msg, len(msg))
	}
	if strings.Contains(msg, openAIKey) {
		t.Fatalf("error text %q contains the API key", msg)
	}
}

// FuzzStreamBody serves arbitrary bytes as the SSE body of a 200 answer
// to a streaming request, in both formats, and reads the stream to its end.
// Whatever the bytes, Stream returns a stream or an *aierrors.Error (never
// both, never a panic); the stream ends; its deltas add up to Text; it
// ends without error only if the body held the format's terminal event;
// (or was a complete JSON answer); every error is classified; Close gives
// the in-flight permit back. Each body is read without and with
// StreamReasoning.
func FuzzStreamBody(f *testing.F) {
	f.Add(false, []byte("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add(false, []byte(": ping\r\n\r\ndata: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\\ud800b\"}}]}\r\rdata: [DONE]\r\r"))
	f.Add(false, []byte("data: {\"error\":{\"message\":\"key sk-test-openai-0123456789abcdef\",\"code\":429}}\n\n"))
	f.Add(false, []byte("data: {\"choices\":[{\"delta\":{\"content\":\"cut\"}}]}\n\ndata: {\"choi"))
	f.Add(false, []byte("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"not a stream\"}}]}"))
	f.Add(true, []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \\xff\"}}\n\n"+
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add(true, []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"))
	f.Add(true, []byte("event: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\ndata: \xff\xfe\n\n"))
	f.Add(true, []byte("<html><body>502 Bad Gateway</body></html>"))
	f.Add(false, []byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\"}}]}}]}\n\n"+
		"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"))
	f.Add(false, []byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}},{\"function\":{\"arguments\":\"{\"}}]}}]}\n\ndata: [DONE]\n\n"))
	f.Add(true, []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": 1}\"}}\n\n"+
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	f.Add(true, []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"json_response\",\"input\":{}}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}\n\n"))
	f.Add(false, []byte("data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"Hm\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"reasoning\":\"m.\",\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add(true, []byte("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"So\"}}\n\n"+
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\" yes\"}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n"))
	f.Fuzz(func(t *testing.T, anthropic bool, body []byte) {
		for _, reasoning := range []bool{false, true} {
			checkStreamBody(t, anthropic, reasoning, body)
		}
	})
}

// checkStreamBody is one FuzzStreamBody run, with or without
// StreamReasoning: with it, Next may stop at a piece of reasoning with an
// empty Delta, and the pieces add up to Reasoning (up to what an error
// cut).
func checkStreamBody(t *testing.T, anthropic, reasoning bool, body []byte) {
	t.Helper()
	c := fuzzClient(t, anthropic, canned{status: 200, contentType: "text/event-stream", body: body})
	defer c.CloseIdleConnections()
	req := toolRequest()
	req.StreamReasoning = reasoning
	s, err := c.Stream(context.Background(), req)
	if err != nil {
		if s != nil {
			t.Fatalf("Stream() = %v and error %v; want one of them", s, err)
		}
		checkCallError(t, err)
		return
	}
	defer s.Close()
	var joined, thought strings.Builder
	for n := 0; s.Next(); n++ {
		if n > len(body) {
			t.Fatalf("more deltas (%d) than body bytes", n)
		}
		if s.Delta() == "" && s.ReasoningDelta() == "" {
			t.Fatal("Next() = true with an empty Delta() and ReasoningDelta()")
		}
		joined.WriteString(s.Delta())
		thought.WriteString(s.ReasoningDelta())
	}
	if joined.String() != s.Text() {
		t.Fatalf("deltas %q != Text() %q", joined.String(), s.Text())
	}
	switch {
	case !reasoning && thought.Len() > 0:
		t.Fatalf("ReasoningDelta gave %q without StreamReasoning", thought.String())
	case reasoning && s.Err() == nil && thought.String() != s.Reasoning(),
		reasoning && !strings.HasPrefix(s.Reasoning(), thought.String()):
		t.Fatalf("reasoning deltas %q != Reasoning() %q (Err %v)", thought.String(), s.Reasoning(), s.Err())
	}
	if !utf8.ValidString(s.Text()) {
		t.Fatalf("Text() = %q: not valid UTF-8", s.Text())
	}
	if err := s.Err(); err != nil {
		checkCallError(t, err)
	} else {
		terminal := "[DONE]"
		if anthropic {
			terminal = "message_stop"
		}
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		isJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
		// A stream that closes after saying why it finished is whole
		// (servers that never send [DONE]).
		if !bytes.Contains(body, []byte(terminal)) && !isJSON && s.FinishReason() == "" {
			t.Fatalf("stream ended without error, but the body has no %s, no finish reason and is not a JSON answer", terminal)
		}
	}
	checkToolCalls(t, s.ToolCalls())
	s.Close()
	if n := c.SignalsSnapshot().CurrentInflight; n != 0 {
		t.Fatalf("CurrentInflight = %d after Close; want 0", n)
	}
}

// toolRequest is a request with a tool, in JSON mode, so that the fuzzed
// answers meet the tool-call decoders and (for Anthropic) the JSON answer
// tool.
func toolRequest() client.ChatRequest {
	req := hi()
	req.Tools = []client.Tool{{Name: "f"}}
	req.ResponseFormat = client.JSONObject()
	return req
}

// checkToolCalls checks what ToolCall promises: an id-bearing call with a
// name and Arguments that are valid JSON.
func checkToolCalls(t *testing.T, calls []client.ToolCall) {
	t.Helper()
	for i, c := range calls {
		if c.Name == "" || !json.Valid(c.Arguments) || !utf8.Valid(c.Arguments) {
			t.Fatalf("ToolCalls()[%d] = %+v (arguments %q): want a name and valid JSON arguments", i, c, c.Arguments)
		}
	}
}

// FuzzChatBody serves arbitrary bytes with an arbitrary status as the
// answer to a Chat call, in both formats: Chat returns a response or an
// *aierrors.Error, never both and never a panic; an error status is never
// a success, and a success has valid UTF-8 content.
func FuzzChatBody(f *testing.F) {
	f.Add(false, 200, []byte(`{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}`))
	f.Add(false, 200, []byte(`{"choices":[{"message":{"content":"caf\xe9"}}]}`))
	f.Add(false, 200, []byte(`{"error":{"message":"Incorrect API key provided: sk-test-openai-0123456789abcdef","code":"invalid_api_key"}}`))
	f.Add(false, 429, []byte(`{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`))
	f.Add(false, 200, []byte(`<!DOCTYPE html><title>Just a moment...</title>`))
	f.Add(false, 302, []byte(``))
	f.Add(true, 200, []byte(`{"type":"message","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn"}`))
	f.Add(true, 529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	f.Add(true, 200, []byte(`null`))
	f.Add(false, 200, []byte(`{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"tool_calls"}]}`))
	f.Add(true, 200, []byte(`{"type":"message","content":[{"type":"tool_use","id":"t","name":"json_response","input":{"a":1}},{"type":"tool_use","id":"u","name":"f","input":null}],"stop_reason":"tool_use"}`))
	f.Fuzz(func(t *testing.T, anthropic bool, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200 + (status%400+400)%400 // a status net/http can carry
		}
		c := fuzzClient(t, anthropic, canned{status: status, contentType: "application/json", body: body})
		defer c.CloseIdleConnections()
		resp, err := c.Chat(context.Background(), toolRequest())
		switch {
		case err != nil && resp != nil:
			t.Fatalf("Chat() = %+v and error %v; want one of them", resp, err)
		case err != nil:
			checkCallError(t, err)
		case status < 200 || status > 299:
			t.Fatalf("Chat() succeeded with HTTP %d", status)
		case !utf8.ValidString(resp.Content):
			t.Fatalf("Chat().Content = %q: not valid UTF-8", resp.Content)
		default:
			checkToolCalls(t, resp.ToolCalls)
		}
	})
}
