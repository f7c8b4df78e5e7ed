package wire

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/internal/sse"
)

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("want is not JSON: %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

var weather = Tool{Name: "get_weather", Description: "Weather in a city",
	Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}

// loop is a tool loop's conversation: a question, the model's two
// parallel calls, their results, and an image question.
var loop = []Message{
	{Role: "system", Content: "be brief"},
	{Role: "user", Content: "Weather in Paris and Rome?"},
	{Role: "assistant", ToolCalls: []ToolCall{
		{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
		{ID: "call_2", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Rome"}`)},
	}},
	{Role: "tool", ToolCallID: "call_1", Content: "18C sunny"},
	{Role: "tool", ToolCallID: "call_2", Content: "24C clear"},
	{Role: "user", Parts: []Part{
		{Text: "And this?"},
		{Image: true, URL: "https://example.com/a.png"},
		{Image: true, Data: []byte("PNG"), MediaType: "image/png"},
		{Image: true, URL: "data:image/jpeg;base64,SlBH"},
	}},
}

func TestEncodeTools(t *testing.T) {
	tests := []struct {
		name string
		f    Format
		r    Request
		want string
	}{
		{"openai tool loop", OpenAI, Request{Model: "gpt-4o", Messages: loop, Tools: []Tool{weather, {Name: "now"}}, ToolChoice: "auto"},
			`{"model":"gpt-4o","messages":[
			{"role":"system","content":"be brief"},
			{"role":"user","content":"Weather in Paris and Rome?"},
			{"role":"assistant","content":null,"tool_calls":[
				{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
			{"role":"tool","content":"18C sunny","tool_call_id":"call_1"},
			{"role":"tool","content":"24C clear","tool_call_id":"call_2"},
			{"role":"user","content":[{"type":"text","text":"And this?"},
				{"type":"image_url","image_url":{"url":"https://example.com/a.png"}},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,UE5H"}},
				{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,SlBH"}}]}],
			"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
				{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],
			"tool_choice":"auto"}`},
		{"openai named tool choice", OpenAI, Request{Model: "m", Messages: loop[1:2], Tools: []Tool{weather}, ToolChoice: "get_weather"},
			`{"model":"m","messages":[{"role":"user","content":"Weather in Paris and Rome?"}],
			"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
			"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`},
		{"openai json schema", OpenAI, Request{Model: "m", Messages: loop[1:2], ResponseFormat: &ResponseFormat{Type: "json_schema", Name: "w", Schema: json.RawMessage(`{"type":"object"}`), Strict: true}},
			`{"model":"m","messages":[{"role":"user","content":"Weather in Paris and Rome?"}],
			"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object"},"strict":true}}}`},
		{"openai json object and extra", OpenAI, Request{Model: "m", Messages: loop[1:2], ResponseFormat: &ResponseFormat{Type: "json_object"},
			Extra: map[string]any{"reasoning_effort": "low", "max_tokens": 9}},
			`{"model":"m","messages":[{"role":"system","content":"Answer with a JSON object."},{"role":"user","content":"Weather in Paris and Rome?"}],
			"response_format":{"type":"json_object"},"reasoning_effort":"low","max_tokens":9}`},
		{"openai stream usage", OpenAI, Request{Model: "m", Messages: loop[1:2], Stream: true, StreamUsage: true},
			`{"model":"m","messages":[{"role":"user","content":"Weather in Paris and Rome?"}],"stream":true,"stream_options":{"include_usage":true}}`},
		{"anthropic tool loop", Anthropic, Request{Model: "claude", Messages: loop, AnthropicMaxTokens: 100, Tools: []Tool{weather}, ToolChoice: "required"},
			`{"model":"claude","max_tokens":100,"system":"be brief","messages":[
			{"role":"user","content":"Weather in Paris and Rome?"},
			{"role":"assistant","content":[
				{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
				{"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
			{"role":"user","content":[
				{"type":"tool_result","tool_use_id":"call_1","content":"18C sunny"},
				{"type":"tool_result","tool_use_id":"call_2","content":"24C clear"}]},
			{"role":"user","content":[{"type":"text","text":"And this?"},
				{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"UE5H"}},
				{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"SlBH"}}]}],
			"tools":[{"name":"get_weather","description":"Weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
			"tool_choice":{"type":"any"}}`},
		{"anthropic choices", Anthropic, Request{Model: "c", Messages: loop[1:2], MaxTokens: 5, Tools: []Tool{weather}, ToolChoice: "get_weather"},
			`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"Weather in Paris and Rome?"}],
			"tools":[{"name":"get_weather","description":"Weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
			"tool_choice":{"type":"tool","name":"get_weather"}}`},
		{"anthropic assistant text and call", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: []Message{{Role: "assistant", Content: "Let me check.",
			ToolCalls: []ToolCall{{ID: "t", Name: "now", Arguments: json.RawMessage(`"not json"`)}}}}},
			`{"model":"c","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"t","name":"now","input":{}}]}]}`},
		{"anthropic ids of other providers", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: []Message{
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "functions.now:0", Name: "now"}}}, {Role: "tool", ToolCallID: "functions.now:0", Content: "12:00"}}},
			`{"model":"c","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"functions_now_0","name":"now","input":{}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"functions_now_0","content":"12:00"}]}]}`},
		{"anthropic json schema", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: loop[1:2],
			ResponseFormat: &ResponseFormat{Type: "json_schema", Name: "report", Schema: json.RawMessage(`{"properties":{"t":{"type":"number"}}}`)}},
			`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"Weather in Paris and Rome?"}],
			"tools":[{"name":"report","description":"Give your answer by calling this tool with a JSON object that follows its input schema.","input_schema":{"type":"object","properties":{"t":{"type":"number"}}}}],
			"tool_choice":{"type":"tool","name":"report"}}`},
		{"anthropic json object with tools", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: loop[1:2], Tools: []Tool{weather},
			ResponseFormat: &ResponseFormat{Type: "json_object"}, Extra: map[string]any{"thinking": map[string]any{"type": "disabled"}}},
			`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"Weather in Paris and Rome?"}],
			"tools":[{"name":"get_weather","description":"Weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
				{"name":"json_response","description":"Give your answer as a JSON object by calling this tool.","input_schema":{"type":"object"}}],
			"tool_choice":{"type":"any"},"thinking":{"type":"disabled"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.f, &tt.r)
			if err != nil || !jsonEqual(t, got, []byte(tt.want)) {
				t.Errorf("Encode(%v, ...) = %s, %v;\nwant %s", tt.f, got, err, tt.want)
			}
		})
	}
}

func TestDecodeTools(t *testing.T) {
	tests := []struct {
		name   string
		f      Format
		answer string // AnswerTool
		body   string
		want   Response
	}{
		{"openai tool calls", OpenAI, "", `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,
			"tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
			{"id":"call_b","type":"function","function":{"name":"now","arguments":""}}]},"finish_reason":"tool_calls"}],
			"usage":{"prompt_tokens":80,"completion_tokens":20,"total_tokens":100,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12}}}`,
			Response{ID: "chatcmpl-1", Model: "gpt-4o", FinishReason: "tool_calls",
				Usage:     Usage{PromptTokens: 80, CompletionTokens: 20, TotalTokens: 100, CachedPromptTokens: 64, ReasoningTokens: 12},
				ToolCalls: []ToolCall{{ID: "call_a", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}, {ID: "call_b", Name: "now", Arguments: json.RawMessage(`{}`)}}}},
		// Gemini's OpenAI-compatible API answers calls with "id": "": each
		// gets one made for it (madeIDsCleared checks them).
		{"gemini calls without ids", OpenAI, "", `{"id":"x","object":"chat.completion","model":"gemini-2.5-pro","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[` +
			`{"id":"","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
			`{"id":"","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}]}`,
			Response{ID: "x", Model: "gemini-2.5-pro", FinishReason: "tool_calls", ToolCalls: []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}, {Name: "get_weather", Arguments: json.RawMessage(`{"city":"Rome"}`)}}}},
		{"openai lenient: object arguments, stop", OpenAI, "", `{"choices":[{"message":{"content":"","tool_calls":[{"id":"x","function":{"name":"f","arguments":{"a":1}}}]},"finish_reason":"stop"}]}`,
			Response{FinishReason: "tool_calls", ToolCalls: []ToolCall{{ID: "x", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}}}},
		// text-generation-inference: "eos_token" for a normal end, in some
		// versions; "stop_sequence" for a stop sequence in all.
		{"tgi eos_token with a tool call", OpenAI, "", `{"object":"chat.completion","id":"","model":"tgi","system_fingerprint":"2.4.1-sha-d2ed52f","choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"0","type":"function","function":{"description":null,"name":"get_weather","arguments":{"city":"Paris"}}}]},"logprobs":null,"finish_reason":"eos_token"}],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}`,
			Response{Model: "tgi", FinishReason: "tool_calls", Usage: Usage{PromptTokens: 9, CompletionTokens: 5, TotalTokens: 14},
				ToolCalls: []ToolCall{{ID: "0", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}}}},
		{"tgi eos_token", OpenAI, "", `{"choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"eos_token"}]}`,
			Response{Content: "Paris.", FinishReason: "stop"}},
		{"tgi stop_sequence", OpenAI, "", `{"choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop_sequence"}]}`,
			Response{Content: "Paris.", FinishReason: "stop"}},
		{"one tool call as an object", OpenAI, "", `{"choices":[{"message":{"tool_calls":{"id":"x","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}},"finish_reason":"tool_calls"}]}`,
			Response{FinishReason: "tool_calls", ToolCalls: []ToolCall{{ID: "x", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}}}},
		{"openai cut arguments", OpenAI, "", `{"choices":[{"message":{"tool_calls":[{"id":"x","function":{"name":"f","arguments":"{\"a\":"}}]},"finish_reason":"length"}]}`,
			Response{FinishReason: "length", ToolCalls: []ToolCall{{ID: "x", Name: "f", Arguments: json.RawMessage(`"{\"a\":"`)}}}},
		{"deepseek cache hits", OpenAI, "", `{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11,"prompt_cache_hit_tokens":8,"prompt_cache_miss_tokens":2}}`,
			Response{Content: "hi", FinishReason: "stop", Usage: Usage{PromptTokens: 10, CompletionTokens: 1, TotalTokens: 11, CachedPromptTokens: 8}}},
		{"anthropic parallel tool use", Anthropic, "", `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[
			{"type":"text","text":"I'll check both."},
			{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
			{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}],
			"stop_reason":"tool_use","stop_sequence":null,
			"usage":{"input_tokens":20,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":30}}`,
			Response{ID: "msg_1", Model: "claude", Content: "I'll check both.", FinishReason: "tool_calls",
				Usage:     Usage{PromptTokens: 125, CompletionTokens: 30, TotalTokens: 155, CachedPromptTokens: 100},
				ToolCalls: []ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}, {ID: "toolu_2", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Rome"}`)}}}},
		{"anthropic answer tool is content", Anthropic, "json_response", `{"type":"message","content":[
			{"type":"tool_use","id":"toolu_1","name":"json_response","input":{ "city" : "Paris", "t": 18 }}],"stop_reason":"tool_use"}`,
			Response{Content: `{"city":"Paris","t":18}`, FinishReason: "stop"}},
		{"anthropic answer tool beside a real call", Anthropic, "report", `{"type":"message","content":[
			{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}},{"type":"tool_use","id":"toolu_2","name":"report","input":{"a":1}}],"stop_reason":"tool_use"}`,
			Response{Content: `{"a":1}`, FinishReason: "tool_calls", ToolCalls: []ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{}`)}}}},
		{"anthropic tool of the answer's name without json mode", Anthropic, "", `{"type":"message","content":[
			{"type":"tool_use","id":"toolu_1","name":"json_response","input":{}}],"stop_reason":"tool_use"}`,
			Response{FinishReason: "tool_calls", ToolCalls: []ToolCall{{ID: "toolu_1", Name: "json_response", Arguments: json.RawMessage(`{}`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.f, []byte(tt.body), tt.answer)
			got.ToolCalls = madeIDsCleared(t, got.ToolCalls, tt.want.ToolCalls)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode() = %+v, %v;\nwant %+v", got, err, tt.want)
			}
		})
	}
}

// feed decodes events in order and returns the decoder and the text and
// kinds it gave.
func feed(t *testing.T, f Format, answerTool string, events ...sse.Event) (*StreamDecoder, string, []Kind) {
	t.Helper()
	d := NewStreamDecoder(f, answerTool)
	var text string
	var kinds []Kind
	for _, ev := range events {
		ch, err := d.Decode(ev)
		if err != nil {
			t.Fatalf("Decode(%q) error = %v", ev.Data, err)
		}
		text += ch.Text
		kinds = append(kinds, ch.Kind)
	}
	return d, text, kinds
}

func data(ss ...string) []sse.Event {
	out := make([]sse.Event, len(ss))
	for i, s := range ss {
		out[i] = sse.Event{Type: "message", Data: s}
	}
	return out
}

func TestStreamOpenAIToolCalls(t *testing.T) {
	paris := ToolCall{ID: "call_a", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}
	rome := ToolCall{ID: "call_b", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Rome"}`)}
	tests := []struct {
		name   string
		events []sse.Event
		want   []ToolCall
		finish string
	}{
		{"fragments by index, interleaved", data(
			`{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"Rome\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
			`[DONE]`), []ToolCall{paris, rome}, "tool_calls"},
		{"no index, each call whole", data(
			`{"choices":[{"delta":{"tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"id":"call_b","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}]}`,
			`{"choices":[{"delta":{},"finish_reason":"stop"}]}`,
			`[DONE]`), []ToolCall{paris, rome}, "tool_calls"},
		{"no index, one chunk, object arguments", data(
			`{"choices":[{"delta":{"tool_calls":[{"id":"call_a","function":{"name":"get_weather","arguments":{"city":"Paris"}}},{"id":"call_b","function":{"name":"get_weather","arguments":{"city":"Rome"}}}]},"finish_reason":"tool_calls"}]}`,
			`[DONE]`), []ToolCall{paris, rome}, "tool_calls"},
		{"index 0 reused for each whole call", data(
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_b","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}]}`,
			`[DONE]`), []ToolCall{paris, rome}, ""},
		{"no index, fragments continue the last call", data(
			`{"choices":[{"delta":{"tool_calls":[{"id":"call_a","function":{"name":"get_weather","arguments":"{\"city\":"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"\"Paris\"}"}}]}}]}`,
			`[DONE]`), []ToolCall{paris}, ""},
		// text-generation-inference 2.x: each delta's tool_calls is one
		// object, not a list; the name comes in the first, null after,
		// the id is empty, and the end is "eos_token"
		// (huggingface/text-generation-inference#2794).
		{"tgi 2.x: tool_calls an object in each delta", data(
			`{"object":"chat.completion.chunk","id":"","created":1733213355,"model":"/models/Qwen2.5-7B-Instruct-AWQ","system_fingerprint":"2.4.1-sha-d2ed52f","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":{"index":0,"id":"","type":"function","function":{"name":"get_weather","arguments":"{"}}},"logprobs":null,"finish_reason":null}],"usage":null}`,
			`{"object":"chat.completion.chunk","id":"","created":1733213355,"model":"/models/Qwen2.5-7B-Instruct-AWQ","system_fingerprint":"2.4.1-sha-d2ed52f","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":{"index":0,"id":"","type":"function","function":{"name":null,"arguments":"\"city\": "}}},"logprobs":null,"finish_reason":null}],"usage":null}`,
			`{"object":"chat.completion.chunk","id":"","created":1733213355,"model":"/models/Qwen2.5-7B-Instruct-AWQ","system_fingerprint":"2.4.1-sha-d2ed52f","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":{"index":0,"id":"","type":"function","function":{"name":null,"arguments":"\"Paris\"}"}}},"logprobs":null,"finish_reason":"eos_token"}],"usage":null}`,
			`[DONE]`), []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city": "Paris"}`)}}, "tool_calls"},
		// Gemini's OpenAI-compatible API: parallel calls each whole, all at
		// index 0, without ids (NousResearch/hermes-agent#62937).
		{"gemini: parallel calls whole at one index", data(
			`{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
			`[DONE]`), []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}, {Name: "get_weather", Arguments: json.RawMessage(`{"city":"Rome"}`)}}, "tool_calls"},
		{"parallel calls whole, without index or id", data(
			`{"choices":[{"delta":{"tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"type":"function","function":{"name":"get_time","arguments":"{}"}}]}}]}`,
			`{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}`,
			`[DONE]`), []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}, {Name: "get_time", Arguments: json.RawMessage(`{}`)}}, "tool_calls"},
		// A server that repeats the name in every fragment of one call.
		{"name repeated in each fragment", data(
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"","function":{"name":"get_weather","arguments":"{\"city\":"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"","function":{"name":"get_weather","arguments":" {\"x\": 1}}"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"","function":{"name":"get_weather","arguments":""}}]}}]}`,
			`{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}`,
			`[DONE]`), []ToolCall{{Name: "get_weather", Arguments: json.RawMessage(`{"city": {"x": 1}}`)}}, "tool_calls"},
		{"no arguments at all", data(
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_n","type":"function","function":{"name":"now"}}]}}]}`,
			`{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}`,
			`[DONE]`), []ToolCall{{ID: "call_n", Name: "now", Arguments: json.RawMessage(`{}`)}}, "tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, text, kinds := feed(t, OpenAI, "", tt.events...)
			if got := madeIDsCleared(t, d.ToolCalls(), tt.want); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToolCalls() = %s; want %s", fmtCalls(got), fmtCalls(tt.want))
			}
			if text != "" || d.FinishReason() != tt.finish {
				t.Errorf("text %q finish %q; want no text, finish %q", text, d.FinishReason(), tt.finish)
			}
			if kinds[0] != ToolDelta {
				t.Errorf("first chunk kind = %d; want ToolDelta: a tool call is the stream's first content", kinds[0])
			}
		})
	}
}

func fmtCalls(cs []ToolCall) string {
	b, _ := json.Marshal(cs)
	return string(b)
}

func TestStreamAnthropicToolUse(t *testing.T) {
	ev := func(typ, data string) sse.Event { return sse.Event{Type: typ, Data: data} }
	events := []sse.Event{
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"usage":{"input_tokens":40,"cache_read_input_tokens":300,"cache_creation_input_tokens":0,"output_tokens":1}}}`),
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
		ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`),
		ev("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":1}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":2}`),
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":50}}`),
		ev("message_stop", `{"type":"message_stop"}`),
	}
	d, text, _ := feed(t, Anthropic, "", events...)
	want := []ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{"city": "Paris"}`)}, {ID: "toolu_2", Name: "now", Arguments: json.RawMessage(`{}`)}}
	if got := d.ToolCalls(); !reflect.DeepEqual(got, want) {
		t.Errorf("ToolCalls() = %s; want %s", fmtCalls(got), fmtCalls(want))
	}
	if text != "Checking." || d.FinishReason() != "tool_calls" {
		t.Errorf("text %q finish %q; want Checking., tool_calls", text, d.FinishReason())
	}
	if u := d.Usage(); u != (Usage{PromptTokens: 340, CompletionTokens: 50, TotalTokens: 390, CachedPromptTokens: 300}) {
		t.Errorf("Usage() = %+v", u)
	}

	// Only a tool call: the first content event is the tool_use block.
	_, _, kinds := feed(t, Anthropic, "", events[0], events[4])
	if kinds[1] != ToolDelta {
		t.Errorf("content_block_start tool_use kind = %d; want ToolDelta", kinds[1])
	}

	// JSON mode: the answer tool's input is the text.
	d, text, _ = feed(t, Anthropic, "json_response",
		events[0],
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"json_response","input":{}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"t\":"}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"18}"}}`),
		events[11], events[12])
	if text != `{"t":18}` || d.ToolCalls() != nil || d.FinishReason() != "stop" {
		t.Errorf("JSON mode: text %q calls %v finish %q; want {\"t\":18}, none, stop", text, d.ToolCalls(), d.FinishReason())
	}
}

// TestStreamAnthropicServerToolInput: the input of a server tool
// (web search, MCP) streams as input_json_delta events of its own block;
// it is not part of the caller's tool call before it.
func TestStreamAnthropicServerToolInput(t *testing.T) {
	ev := func(typ, data string) sse.Event { return sse.Event{Type: typ, Data: data} }
	d, _, _ := feed(t, Anthropic, "",
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude"}}`),
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get","input":{}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
		ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":1}`),
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"model_context_window_exceeded"}}`),
		ev("message_stop", `{"type":"message_stop"}`))
	want := []ToolCall{{ID: "toolu_1", Name: "get", Arguments: json.RawMessage(`{"a":1}`)}}
	if got := d.ToolCalls(); !reflect.DeepEqual(got, want) {
		t.Errorf("ToolCalls() = %s; want %s", fmtCalls(got), fmtCalls(want))
	}
	if d.FinishReason() != "length" {
		t.Errorf("FinishReason() = %q; want length (model_context_window_exceeded)", d.FinishReason())
	}
}

// TestUsageReasoningBesideCompletion: xAI reports reasoning tokens beside
// the completion tokens (the total is the three's sum); completion tokens
// count them, as OpenAI's do.
func TestUsageReasoningBesideCompletion(t *testing.T) {
	for _, tt := range []struct {
		body string
		want Usage
	}{
		{`{"choices":[{"message":{"content":"4"}}],"usage":{"prompt_tokens":32,"completion_tokens":9,"total_tokens":135,"completion_tokens_details":{"reasoning_tokens":94}}}`,
			Usage{PromptTokens: 32, CompletionTokens: 103, TotalTokens: 135, ReasoningTokens: 94}},
		{`{"choices":[{"message":{"content":"4"}}],"usage":{"prompt_tokens":32,"completion_tokens":103,"total_tokens":135,"completion_tokens_details":{"reasoning_tokens":94}}}`,
			Usage{PromptTokens: 32, CompletionTokens: 103, TotalTokens: 135, ReasoningTokens: 94}},
	} {
		r, err := Decode(OpenAI, []byte(tt.body), "")
		if err != nil || r.Usage != tt.want {
			t.Errorf("Decode(%s).Usage = %+v, %v; want %+v", tt.body, r.Usage, err, tt.want)
		}
	}
}

// TestWhatTheProviderWantsBack: DeepSeek's reasoning and Gemini's thought
// signatures are read from answers and streams, and sent back only when
// the request says so.
func TestWhatTheProviderWantsBack(t *testing.T) {
	r, err := Decode(OpenAI, []byte(`{"choices":[{"message":{"content":"","reasoning_content":"think","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"sig1"}}}]},"finish_reason":"tool_calls"}]}`), "")
	if err != nil || r.Reasoning != "think" || len(r.ToolCalls) != 1 || r.ToolCalls[0].Signature != "sig1" {
		t.Fatalf("Decode = %+v, %v; want reasoning think, one call signed sig1", r, err)
	}
	// reasoning under OpenRouter's name; a reasoning object (not a string)
	// is no reason to fail the answer.
	for body, want := range map[string]string{
		`{"choices":[{"message":{"content":"a","reasoning":"why"}}]}`:            "why",
		`{"choices":[{"message":{"content":"a","reasoning":{"effort":"low"}}}]}`: "",
	} {
		if r, err := Decode(OpenAI, []byte(body), ""); err != nil || r.Reasoning != want || r.Content != "a" {
			t.Errorf("Decode(%s) = %+v, %v; want reasoning %q", body, r, err, want)
		}
	}

	d, text, _ := feed(t, OpenAI, "", data(
		`{"choices":[{"delta":{"role":"assistant","reasoning_content":"Let me "}}]}`,
		`{"choices":[{"delta":{"reasoning_content":"think."}}]}`,
		`{"choices":[{"delta":{"content":"Calling."}}]}`,
		`{"choices":[{"delta":{"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"},"extra_content":{"google":{"thought_signature":"sig1"}}}]}}]}`,
		`{"choices":[{"delta":{"tool_calls":[{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":"stop"}]}`,
		`[DONE]`)...)
	if text != "Calling." || d.Reasoning() != "Let me think." {
		t.Errorf("stream text %q reasoning %q; want Calling., Let me think.", text, d.Reasoning())
	}
	if calls := d.ToolCalls(); len(calls) != 2 || calls[0].Signature != "sig1" || calls[1].Signature != "" {
		t.Errorf("stream calls = %s; want c1 signed sig1, c2 unsigned", fmtCalls(calls))
	}
	if d.HeldBytes() < len("Let me think.") {
		t.Errorf("HeldBytes() = %d; want the reasoning counted", d.HeldBytes())
	}

	turn := Message{Role: "assistant", Reasoning: "think", ToolCalls: []ToolCall{
		{ID: "c1", Name: "f", Arguments: json.RawMessage(`{}`), Signature: "sig1"}, {ID: "c2", Name: "g", Arguments: json.RawMessage(`{}`)}}}
	plain := Message{Role: "assistant", Content: "hi", Reasoning: "think"}
	unsigned := Message{Role: "assistant", ToolCalls: []ToolCall{{ID: "c3", Name: "f", Arguments: json.RawMessage(`{}`)}, {ID: "c4", Name: "f", Arguments: json.RawMessage(`{}`)}}}
	for _, tt := range []struct {
		name string
		r    Request
		want string
	}{
		{"neither", Request{Model: "m", Messages: []Message{turn, plain}},
			`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]},{"role":"assistant","content":"hi"}]}`},
		{"reasoning on the tool turn only", Request{Model: "m", Messages: []Message{turn, plain}, EchoReasoning: true},
			`{"model":"m","messages":[{"role":"assistant","content":null,"reasoning_content":"think","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]},{"role":"assistant","content":"hi"}]}`},
		// A tool turn with no reasoning (another provider's calls) still
		// carries the field: DeepSeek's thinking mode refuses one without.
		{"reasoning field on a tool turn without reasoning", Request{Model: "m", Messages: []Message{unsigned}, EchoReasoning: true},
			`{"model":"m","messages":[{"role":"assistant","content":null,"reasoning_content":"","tool_calls":[{"id":"c3","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c4","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`},
		{"signatures, placeholder on an unsigned turn's first call", Request{Model: "m", Messages: []Message{turn, unsigned}, GoogleSignatures: true, PlaceholderSignature: "skip"},
			`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"sig1"}}},{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c3","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"skip"}}},{"id":"c4","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`},
	} {
		got, err := Encode(OpenAI, &tt.r)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Encode = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}

// TestAnthropicThinkingBlocks: with extended thinking, an answer's thinking
// and redacted_thinking blocks are read (whole, or from a stream's deltas)
// and sent back first in the turn when it called tools, as the Messages
// API requires; the thinking is the answer's Reasoning.
func TestAnthropicThinkingBlocks(t *testing.T) {
	const want = `[{"type":"thinking","thinking":"Look up the weather.","signature":"EqQBCgIYAhIM"},{"type":"redacted_thinking","data":"EmwKAhgBEgy3"}]`
	r, err := Decode(Anthropic, []byte(`{"id":"msg_1","type":"message","model":"claude","content":[
		{"type":"thinking","thinking":"Look up the weather.","signature":"EqQBCgIYAhIM"},
		{"type":"redacted_thinking","data":"EmwKAhgBEgy3"},
		{"type":"text","text":"Checking."},
		{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
		"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}`), "")
	if err != nil || string(r.ThinkingBlocks) != want || r.Reasoning != "Look up the weather." || r.Content != "Checking." || len(r.ToolCalls) != 1 {
		t.Fatalf("Decode = %+v (blocks %s), %v; want blocks %s, the thinking as Reasoning", r, r.ThinkingBlocks, err, want)
	}

	ev := func(typ, data string) sse.Event { return sse.Event{Type: typ, Data: data} }
	d, text, _ := feed(t, Anthropic, "",
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude"}}`),
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Look up "}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"the weather."}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
		ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3"}}`),
		ev("content_block_stop", `{"type":"content_block_stop","index":1}`),
		ev("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Checking."}}`),
		ev("content_block_start", `{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`),
		ev("content_block_delta", `{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}`),
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"}}`),
		ev("message_stop", `{"type":"message_stop"}`))
	if string(d.ThinkingBlocks()) != want || d.Reasoning() != "Look up the weather." || text != "Checking." || len(d.ToolCalls()) != 1 {
		t.Errorf("stream: blocks %s reasoning %q text %q calls %s; want blocks %s", d.ThinkingBlocks(), d.Reasoning(), text, fmtCalls(d.ToolCalls()), want)
	}

	call := []ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}}
	for _, tt := range []struct {
		name string
		m    Message
		want string
	}{
		{"tool turn", Message{Role: "assistant", Content: "Checking.", ToolCalls: call, ThinkingBlocks: json.RawMessage(want)},
			`{"role":"assistant","content":[{"type":"thinking","thinking":"Look up the weather.","signature":"EqQBCgIYAhIM"},{"type":"redacted_thinking","data":"EmwKAhgBEgy3"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]}`},
		{"answer turn", Message{Role: "assistant", Content: "18 degrees.", ThinkingBlocks: json.RawMessage(want)},
			`{"role":"assistant","content":"18 degrees."}`},
	} {
		body, err := Encode(Anthropic, &Request{Model: "claude", AnthropicMaxTokens: 10, Messages: []Message{{Role: "user", Content: "hi"}, tt.m}})
		var got struct{ Messages []json.RawMessage }
		if err != nil || json.Unmarshal(body, &got) != nil || len(got.Messages) != 2 || string(got.Messages[1]) != tt.want {
			t.Errorf("%s: Encode = %s, %v; want the turn %s", tt.name, body, err, tt.want)
		}
	}
	// The OpenAI format has no thinking blocks.
	body, _ := Encode(OpenAI, &Request{Model: "m", Messages: []Message{{Role: "assistant", ToolCalls: call, ThinkingBlocks: json.RawMessage(want)}}})
	if strings.Contains(string(body), "thinking") {
		t.Errorf("OpenAI body %s carries the thinking blocks", body)
	}
}

// TestAnthropicJSONWithThinking: extended thinking forbids a tool_choice
// that forces a tool, so JSON output asks for its tool with "auto".
func TestAnthropicJSONWithThinking(t *testing.T) {
	for _, tt := range []struct {
		extra map[string]any
		want  string
	}{
		{nil, `{"type":"tool","name":"json_response"}`},
		{map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}, `{"type":"auto"}`},
		{map[string]any{"thinking": json.RawMessage(`{"type":"adaptive"}`)}, `{"type":"auto"}`},
		{map[string]any{"thinking": map[string]any{"type": "disabled"}}, `{"type":"tool","name":"json_response"}`},
	} {
		body := anthropicBody(&Request{Model: "c", AnthropicMaxTokens: 10, Extra: tt.extra, ResponseFormat: &ResponseFormat{Type: "json_object"},
			Messages: []Message{{Role: "user", Content: "hi"}}})
		if got, _ := json.Marshal(body.ToolChoice); string(got) != tt.want {
			t.Errorf("Extra %v: tool_choice %s; want %s", tt.extra, got, tt.want)
		}
	}
}

// TestNineCharToolIDs: Mistral accepts only tool call ids of 9 letters and
// digits; others are mapped alike in the call and in its result, and its
// own are kept.
func TestNineCharToolIDs(t *testing.T) {
	r := Request{Model: "m", NineCharToolIDs: true, Messages: []Message{
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_9x8KlmN0pQrStUvW", Name: "f"}, {ID: "toolu_01A", Name: "f"}, {ID: "a1B2c3D4e", Name: "f"}}},
		{Role: "tool", ToolCallID: "call_9x8KlmN0pQrStUvW", Content: "1"},
		{Role: "tool", ToolCallID: "toolu_01A", Content: "2"},
		{Role: "tool", ToolCallID: "a1B2c3D4e", Content: "3"},
	}}
	body := openAIBody(&r)
	valid := regexp.MustCompile(`^[a-zA-Z0-9]{9}$`)
	calls := body.Messages[0].ToolCalls
	seen := map[string]bool{}
	for i, c := range calls {
		if !valid.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("call %d id %q: want 9 letters and digits, distinct", i, c.ID)
		}
		seen[c.ID] = true
		if res := body.Messages[i+1].ToolCallID; res != c.ID {
			t.Errorf("result %d answers %q; want its call's id %q", i, res, c.ID)
		}
	}
	if calls[2].ID != "a1B2c3D4e" {
		t.Errorf("Mistral's own id became %q; want it kept", calls[2].ID)
	}
	r.NineCharToolIDs = false
	if id := openAIBody(&r).Messages[0].ToolCalls[0].ID; id != "call_9x8KlmN0pQrStUvW" {
		t.Errorf("without NineCharToolIDs the id became %q", id)
	}
}

func TestStreamOpenAIUsageDetails(t *testing.T) {
	d, _, _ := feed(t, OpenAI, "", data(
		`{"choices":[{"delta":{"content":"hi"}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":256}}}`,
		`[DONE]`)...)
	if u := d.Usage(); u != (Usage{PromptTokens: 1200, CompletionTokens: 300, TotalTokens: 1500, CachedPromptTokens: 1024, ReasoningTokens: 256}) {
		t.Errorf("Usage() = %+v", u)
	}
}

func TestParseDataURL(t *testing.T) {
	for _, tt := range []struct {
		in, mt, b64 string
		ok          bool
	}{
		{"data:image/png;base64,AAAA", "image/png", "AAAA", true},
		{"DATA:Image/JPEG;charset=x;base64,QQ==", "image/jpeg", "QQ==", true},
		{"data:image/png,rawbytes", "", "", false},
		{"data:;base64,AAAA", "", "AAAA", true},
		{"https://x/y.png", "", "", false},
		{"data:image/png;base64", "", "", false},
	} {
		mt, b64, ok := ParseDataURL(tt.in)
		if mt != tt.mt || b64 != tt.b64 || ok != tt.ok {
			t.Errorf("ParseDataURL(%q) = %q, %q, %v; want %q, %q, %v", tt.in, mt, b64, ok, tt.mt, tt.b64, tt.ok)
		}
	}
}

// TestOpenRouterReasoningDetails: OpenRouter's reasoning_details are read
// from answers and from streams, where each detail comes in fragments
// sharing its index, and sent back unchanged with the turn only when the
// request says so.
func TestOpenRouterReasoningDetails(t *testing.T) {
	details := `[{"type":"reasoning.encrypted","data":"CiIBjz1r","id":"tool_get_weather_abc","format":"google-gemini-v1","index":0}]`
	r, err := Decode(OpenAI, []byte(`{"choices":[{"message":{"role":"assistant","content":null,"reasoning":"Look it up.","reasoning_details":`+details+`,
		"tool_calls":[{"id":"tool_get_weather_abc","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`), "")
	if err != nil || string(r.ReasoningDetails) != details || r.Reasoning != "Look it up." {
		t.Fatalf("Decode = %+v, %v; want the reasoning details as they came", r, err)
	}
	if r, _ := Decode(OpenAI, []byte(`{"choices":[{"message":{"content":"a","reasoning_details":{"not":"a list"}}}]}`), ""); r.ReasoningDetails != nil || r.Content != "a" {
		t.Errorf("Decode(details not a list) = %+v; want the answer without them", r)
	}

	d, _, _ := feed(t, OpenAI, "", data(
		`{"choices":[{"delta":{"role":"assistant","reasoning":"Let me ","reasoning_details":[{"type":"reasoning.text","text":"Let me ","format":"anthropic-claude-v1","index":0}]}}]}`,
		`{"choices":[{"delta":{"reasoning":"think.","reasoning_details":[{"type":"reasoning.text","text":"think.","index":0}]}}]}`,
		`{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.text","text":null,"signature":"EqQB","index":0}]}}]}`,
		`{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"CiIB","id":"tool_x","format":"google-gemini-v1","index":1}]}}]}`,
		`{"choices":[{"delta":{"reasoning_details":"garbage"}}]}`,
		`{"choices":[{"delta":{"content":"Done."},"finish_reason":"stop"}]}`,
		`[DONE]`)...)
	want := `[{"format":"anthropic-claude-v1","index":0,"signature":"EqQB","text":"Let me think.","type":"reasoning.text"},{"data":"CiIB","format":"google-gemini-v1","id":"tool_x","index":1,"type":"reasoning.encrypted"}]`
	if got := string(d.ReasoningDetails()); got != want {
		t.Errorf("stream ReasoningDetails() = %s;\nwant %s", got, want)
	}
	if d.HeldBytes() < len(want) {
		t.Errorf("HeldBytes() = %d; want the reasoning details counted", d.HeldBytes())
	}

	// Every fragment numbered 0 (OpenRouterTeam/ai-sdk-provider#519): a
	// fragment of another type, or text after a signature, is another
	// detail; an element that is not an object is skipped alone.
	d, _, _ = feed(t, OpenAI, "", data(
		`{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.summary","summary":"Think","format":"openai-responses-v1","index":0}]}}]}`,
		`{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.summary","summary":"ing.","index":0},"x"]}}]}`,
		`{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.encrypted","data":"gAAAA","id":"rs_1","format":"openai-responses-v1","index":0}]}}]}`,
		`{"choices":[{"delta":{"reasoning_details":[{"type":"reasoning.text","text":"One.","index":0},{"type":"reasoning.text","signature":"s1","index":0},{"type":"reasoning.text","text":"Two.","index":0},{"type":"reasoning.text","signature":"s2","index":0}]}}]}`,
		`[DONE]`)...)
	want = `[{"format":"openai-responses-v1","index":0,"summary":"Thinking.","type":"reasoning.summary"},{"data":"gAAAA","format":"openai-responses-v1","id":"rs_1","index":0,"type":"reasoning.encrypted"},` +
		`{"index":0,"signature":"s1","text":"One.","type":"reasoning.text"},{"index":0,"signature":"s2","text":"Two.","type":"reasoning.text"}]`
	if got := string(d.ReasoningDetails()); got != want {
		t.Errorf("stream ReasoningDetails() = %s;\nwant %s", got, want)
	}
	// Empty details cost what they hold, not only their bytes.
	d, _, _ = feed(t, OpenAI, "", data(`{"choices":[{"delta":{"reasoning_details":[{},{},{},{}]}}]}`)...)
	if d.HeldBytes() < 4*detailCost {
		t.Errorf("HeldBytes() = %d for 4 empty details; want at least %d", d.HeldBytes(), 4*detailCost)
	}

	turn := Message{Role: "assistant", ReasoningDetails: json.RawMessage(details), ToolCalls: []ToolCall{{ID: "tool_get_weather_abc", Name: "get_weather", Arguments: json.RawMessage(`{}`)}}}
	nullTurn := Message{Role: "assistant", Content: "hi", ReasoningDetails: json.RawMessage("null")}
	if got, err := Encode(OpenAI, &Request{Model: "m", Messages: []Message{nullTurn}, EchoReasoningDetails: true}); err != nil || string(got) != `{"model":"m","messages":[{"role":"assistant","content":"hi"}]}` {
		t.Errorf("Encode(null details) = %s, %v; want none sent", got, err)
	}
	for echo, want := range map[bool]string{
		true:  `{"model":"m","messages":[{"role":"assistant","content":null,"reasoning_details":` + details + `,"tool_calls":[{"id":"tool_get_weather_abc","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}]}`,
		false: `{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"tool_get_weather_abc","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}]}`,
	} {
		got, err := Encode(OpenAI, &Request{Model: "m", Messages: []Message{turn}, EchoReasoningDetails: echo})
		if err != nil || string(got) != want {
			t.Errorf("Encode(echo %v) = %s, %v;\nwant %s", echo, got, err, want)
		}
	}
}

// madeIDsCleared returns got with the ids made for calls that came without
// one (callID) cleared where want has none, after checking they look made.
func madeIDsCleared(t *testing.T, got, want []ToolCall) []ToolCall {
	t.Helper()
	out := slices.Clone(got)
	seen := map[string]bool{}
	for _, c := range got {
		if seen[c.ID] {
			t.Errorf("two calls have the ID %q; want each its own", c.ID)
		}
		seen[c.ID] = true
	}
	for i := range out {
		if i < len(want) && want[i].ID == "" {
			if id := out[i].ID; !strings.HasPrefix(id, "call_") || len(id) != len("call_")+24 {
				t.Errorf("call %d: ID = %q; want one made for it, call_ and 24 letters or digits", i, id)
			}
			out[i].ID = ""
		}
	}
	return out
}
