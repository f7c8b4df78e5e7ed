package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
)

// sseAnswer is a hand-written event stream, sent as it is.
func sseAnswer(events ...string) providertest.Answer {
	return providertest.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: strings.Join(events, "\n\n") + "\n\n"}
}

// TestHandWrittenToolAnswers reads answers written the way the providers
// (and OpenAI-compatible servers) send them, not as providertest renders
// them.
func TestHandWrittenToolAnswers(t *testing.T) {
	tests := []struct {
		name, target string
		stream       bool
		answer       providertest.Answer
		text         string
		calls        string // JSON of the ToolCalls
		finish       string
	}{
		{"openai chat, content null", "openai/gpt-4o", false, providertest.Answer{Status: 200, Body: `{
  "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1699896916, "model": "gpt-4o-0613",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
    {"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}}]},
    "logprobs": null, "finish_reason": "tool_calls"}],
  "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99}}`},
			"", `[{"ID":"call_abc123","Name":"get_current_weather","Arguments":{"location":"Boston, MA"}}]`, "tool_calls"},
		{"openai stream by index", "openai/gpt-4o", true, sseAnswer(
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]}`,
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}]}`,
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"logprobs":null,"finish_reason":null}]}`,
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\"Paris, France\"}"}}]},"logprobs":null,"finish_reason":null}]}`,
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
			`data: [DONE]`),
			"", `[{"ID":"call_DdmO9pD3xa9XTPNJ32zg2hcA","Name":"get_weather","Arguments":{"location":"Paris, France"}}]`, "tool_calls"},
		{"compatible stream, no index, whole calls, stop", "groq/llama-3.1-8b", true, sseAnswer(
			`data: {"id":"c","object":"chat.completion.chunk","model":"llama","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
			`data: {"id":"c","object":"chat.completion.chunk","model":"llama","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}]}`,
			`data: {"id":"c","object":"chat.completion.chunk","model":"llama","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}]}`,
			`data: {"id":"c","object":"chat.completion.chunk","model":"llama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`data: [DONE]`),
			"", `[{"ID":"call_1","Name":"get_weather","Arguments":{"city":"Paris"}},{"ID":"call_2","Name":"get_weather","Arguments":{"city":"Rome"}}]`, "tool_calls"},
		{"anthropic chat, text and tool_use", "anthropic/claude-3-5-sonnet", false, providertest.Answer{Status: 200, Body: `{
  "id": "msg_01Aq9w938a90dw8q", "model": "claude-3-5-sonnet-20241022", "stop_reason": "tool_use", "role": "assistant", "type": "message",
  "content": [
    {"type": "text", "text": "<thinking>I need to call the get_weather function.</thinking>"},
    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}}],
  "usage": {"input_tokens": 472, "output_tokens": 91, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}}`},
			"<thinking>I need to call the get_weather function.</thinking>",
			`[{"ID":"toolu_01A09q90qw90lq917835lq9","Name":"get_weather","Arguments":{"location":"San Francisco, CA","unit":"celsius"}}]`, "tool_calls"},
		{"anthropic stream, text then tool_use", "anthropic/claude-3-5-sonnet", true, sseAnswer(
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-haiku-20240307\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}",
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
			"event: ping\ndata: {\"type\": \"ping\"}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay\"}}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\", let's check.\"}}",
			"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisco, CA\\\"}\"}}",
			"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}",
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}",
			"event: message_stop\ndata: {\"type\":\"message_stop\"}"),
			"Okay, let's check.", `[{"ID":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","Name":"get_weather","Arguments":{"location":"San Francisco, CA"}}]`, "tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			_, model, _ := strings.Cut(tt.target, "/")
			srv.Script(model, tt.answer)
			c := build(t, builder(srv).Model(tt.target))
			req := client.ChatRequest{Messages: []client.Message{client.User("Weather?")}, Tools: []client.Tool{weatherTool}}
			var text, finish string
			var calls []client.ToolCall
			if tt.stream {
				s, err := c.Stream(context.Background(), req)
				if err != nil {
					t.Fatalf("Stream() error = %v", err)
				}
				for s.Next() {
					text += s.Delta()
				}
				s.Close()
				if s.Err() != nil {
					t.Fatalf("stream Err() = %v", s.Err())
				}
				finish, calls = s.FinishReason(), s.ToolCalls()
			} else {
				resp, err := c.Chat(context.Background(), req)
				if err != nil {
					t.Fatalf("Chat() error = %v", err)
				}
				text, finish, calls = resp.Content, resp.FinishReason, resp.ToolCalls
			}
			if text != tt.text || finish != tt.finish || !sameCalls(t, calls, tt.calls) {
				t.Errorf("answer = %q, %q, %s; want %q, %q, %s", text, finish, fmtCalls(calls), tt.text, tt.finish, tt.calls)
			}
		})
	}
}

// sameCalls compares calls with the JSON want, the arguments as JSON
// values (white space aside).
func sameCalls(t *testing.T, calls []client.ToolCall, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal([]byte(fmtCalls(calls)), &a); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	return reflect.DeepEqual(a, b)
}
