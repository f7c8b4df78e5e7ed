package wire

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/internal/sse"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

func TestEncode(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}, {Role: "system", Content: "be kind"}, {Role: "assistant", Content: "hello"}}
	tests := []struct {
		name string
		f    Format
		r    Request
		want string
	}{
		{"openai minimal", OpenAI, Request{Model: "gpt-4o", Messages: msgs[1:2]},
			`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`},
		{"openai full", OpenAI, Request{Model: "m", Messages: msgs[1:2], MaxTokens: 5, Temperature: ptr(0.0), TopP: ptr(0.5), Stop: []string{"x"}, Stream: true},
			`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0,"top_p":0.5,"stop":["x"],"stream":true}`},
		{"openai max_completion_tokens", OpenAI, Request{Model: "m", Messages: msgs[1:2], MaxTokens: 7, MaxCompletionTokens: true},
			`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":7}`},
		{"anthropic system and default max_tokens", Anthropic, Request{Model: "claude", Messages: msgs, AnthropicMaxTokens: 4096},
			`{"model":"claude","max_tokens":4096,"system":"be brief\n\nbe kind","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}`},
		{"anthropic clamps temperature", Anthropic, Request{Model: "c", Messages: msgs[1:2], MaxTokens: 10, Temperature: ptr(1.5), Stop: []string{"END"}, Stream: true},
			`{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"temperature":1,"stop_sequences":["END"],"stream":true}`},
		// What the Messages API rejects: temperature with top_p, stop
		// sequences of white space, an empty turn before the last, a
		// prefill ending in white space.
		{"anthropic temperature without top_p", Anthropic, Request{Model: "c", Messages: msgs[1:2], MaxTokens: 10, Temperature: ptr(0.2), TopP: ptr(0.9), Stop: []string{"\n", " ", "END"}},
			`{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stop_sequences":["END"]}`},
		{"anthropic top_p alone", Anthropic, Request{Model: "c", Messages: msgs[1:2], MaxTokens: 10, TopP: ptr(0.9)},
			`{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"top_p":0.9}`},
		{"anthropic empty turn and prefill", Anthropic, Request{Model: "c", MaxTokens: 10, Messages: []Message{
			{Role: "user", Content: "hi"}, {Role: "assistant"}, {Role: "user", Content: "again"}, {Role: "assistant", Content: "Sure, "}}},
			`{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"user","content":"again"},{"role":"assistant","content":"Sure,"}]}`},
		// A system message after the prefill goes to the top-level field
		// and leaves the prefill last; white space only is as empty.
		{"anthropic prefill before a system message", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: []Message{
			{Role: "user", Content: "hi"}, {Role: "assistant", Content: "Sure, "}, {Role: "system", Content: "be brief"}}},
			`{"model":"c","max_tokens":5,"system":"be brief","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure,"}]}`},
		{"anthropic white-space turn", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: []Message{
			{Role: "user", Content: "hi"}, {Role: "assistant", Content: "\n\n"}, {Role: "user", Content: "again"}}},
			`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"user","content":"again"}]}`},
		{"anthropic white-space text beside a tool call", Anthropic, Request{Model: "c", MaxTokens: 5, Messages: []Message{
			{Role: "user", Content: "hi"}, {Role: "assistant", Content: "\n", ToolCalls: []ToolCall{{ID: "toolu_1", Name: "w", Arguments: json.RawMessage(`{}`)}}}, {Role: "tool", ToolCallID: "toolu_1", Content: "9"}}},
			`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"w","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"9"}]}]}`},
		{"deepseek schema in prompt", OpenAI, Request{Model: "d", SchemaInPrompt: true, Messages: []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}},
			ResponseFormat: &ResponseFormat{Type: "json_schema", Name: "w", Schema: json.RawMessage(`{"type":"object", "properties":{"t":{"type":"number"}}}`), Strict: true}},
			`{"model":"d","messages":[{"role":"system","content":"be brief"},{"role":"system","content":"Answer with a single JSON object that follows this JSON Schema, and nothing else:\n{\"type\":\"object\",\"properties\":{\"t\":{\"type\":\"number\"}}}"},{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`},
		{"mistral prefill", OpenAI, Request{Model: "m", AssistantPrefix: true, Messages: []Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "Sure"}}},
			`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure","prefix":true}]}`},
		{"mistral history", OpenAI, Request{Model: "m", AssistantPrefix: true, Messages: []Message{{Role: "assistant", Content: "Hello"}, {Role: "user", Content: "hi"}}},
			`{"model":"m","messages":[{"role":"assistant","content":"Hello"},{"role":"user","content":"hi"}]}`},
		// Mistral refuses a user message right after a tool result; a
		// tool result after a tool result, or an assistant turn after
		// one, needs nothing.
		{"mistral assistant after tool", OpenAI, Request{Model: "m", AssistantAfterTool: true, Messages: []Message{
			{Role: "user", Content: "weather?"}, {Role: "assistant", ToolCalls: []ToolCall{{ID: "a", Name: "w", Arguments: json.RawMessage(`{}`)}, {ID: "b", Name: "w", Arguments: json.RawMessage(`{}`)}}},
			{Role: "tool", ToolCallID: "a", Content: "9"}, {Role: "tool", ToolCallID: "b", Content: "12"}, {Role: "user", Content: "and Rome?"}}},
			`{"model":"m","messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"w","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"w","arguments":"{}"}}]},{"role":"tool","content":"9","tool_call_id":"a"},{"role":"tool","content":"12","tool_call_id":"b"},{"role":"assistant","content":"ok"},{"role":"user","content":"and Rome?"}]}`},
		{"mistral tool then assistant", OpenAI, Request{Model: "m", AssistantAfterTool: true, Messages: []Message{
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "a", Name: "w", Arguments: json.RawMessage(`{}`)}}}, {Role: "tool", ToolCallID: "a", Content: "9"}, {Role: "assistant", Content: "9 C"}, {Role: "user", Content: "thanks"}}},
			`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"w","arguments":"{}"}}]},{"role":"tool","content":"9","tool_call_id":"a"},{"role":"assistant","content":"9 C"},{"role":"user","content":"thanks"}]}`},
		{"openai user after tool as it is", OpenAI, Request{Model: "m", Messages: []Message{
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "a", Name: "w", Arguments: json.RawMessage(`{}`)}}}, {Role: "tool", ToolCallID: "a", Content: "9"}, {Role: "user", Content: "and Rome?"}}},
			`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"w","arguments":"{}"}}]},{"role":"tool","content":"9","tool_call_id":"a"},{"role":"user","content":"and Rome?"}]}`},
		// Gemini keeps only the last system message: one, first, holding
		// the caller's (wherever they were) and the JSON-mode prompt.
		{"gemini one system message", OpenAI, Request{Model: "g", OneSystemMessage: true, ResponseFormat: &ResponseFormat{Type: "json_object"}, Messages: []Message{
			{Role: "system", Content: "You are a pirate."}, {Role: "user", Content: "3 fruits"}, {Role: "system", Content: "Be brief."}, {Role: "user", Content: "more"}}},
			`{"model":"g","messages":[{"role":"system","content":"You are a pirate.\n\nAnswer with a JSON object.\n\nBe brief."},{"role":"user","content":"3 fruits"},{"role":"user","content":"more"}],"response_format":{"type":"json_object"}}`},
		{"gemini one system message as it is", OpenAI, Request{Model: "g", OneSystemMessage: true, Messages: []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}},
			`{"model":"g","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`},
		// Gemini refuses a tool result it cannot name.
		{"gemini tool results named", OpenAI, Request{Model: "g", ToolResultNames: true, Messages: []Message{
			{Role: "user", Content: "weather?"}, {Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Name: "get_weather", Arguments: json.RawMessage(`{}`)}, {ID: "c2", Name: "get_time", Arguments: json.RawMessage(`{}`)}}},
			{Role: "tool", ToolCallID: "c2", Content: "noon"}, {Role: "tool", ToolCallID: "c1", Content: "sunny"}}},
			`{"model":"g","messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},{"role":"tool","content":"noon","tool_call_id":"c2","name":"get_time"},{"role":"tool","content":"sunny","tool_call_id":"c1","name":"get_weather"}]}`},
		// An id that comes again in a later turn names the nearest call.
		{"gemini tool results named by the nearest call", OpenAI, Request{Model: "g", ToolResultNames: true, Messages: []Message{
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_0", Name: "get_weather", Arguments: json.RawMessage(`{}`)}}}, {Role: "tool", ToolCallID: "call_0", Content: "sunny"},
			{Role: "user", Content: "time?"},
			{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_0", Name: "get_time", Arguments: json.RawMessage(`{}`)}}}, {Role: "tool", ToolCallID: "call_0", Content: "noon"}}},
			`{"model":"g","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","content":"sunny","tool_call_id":"call_0","name":"get_weather"},{"role":"user","content":"time?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_time","arguments":"{}"}}]},{"role":"tool","content":"noon","tool_call_id":"call_0","name":"get_time"}]}`},
		{"json_object asks for JSON when no message does", OpenAI, Request{Model: "d", SchemaInPrompt: true, Messages: msgs[1:2], ResponseFormat: &ResponseFormat{Type: "json_object"}},
			`{"model":"d","messages":[{"role":"system","content":"Answer with a JSON object."},{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`},
		{"json_object leaves a request that names JSON alone", OpenAI, Request{Model: "d", Messages: []Message{{Role: "system", Content: "Reply in Json."}, {Role: "user", Content: "hi"}}, ResponseFormat: &ResponseFormat{Type: "json_object"}},
			`{"model":"d","messages":[{"role":"system","content":"Reply in Json."},{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`},
		{"the prompt goes once, after the leading system messages", OpenAI, Request{Model: "d", Messages: []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}, {Role: "system", Content: "again"}, {Role: "user", Content: "yo"}}, ResponseFormat: &ResponseFormat{Type: "json_object"}},
			`{"model":"d","messages":[{"role":"system","content":"be brief"},{"role":"system","content":"Answer with a JSON object."},{"role":"user","content":"hi"},{"role":"system","content":"again"},{"role":"user","content":"yo"}],"response_format":{"type":"json_object"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.f, &tt.r)
			if err != nil || string(got) != tt.want {
				t.Errorf("Encode(%v, ...) = %s, %v; want %s", tt.f, got, err, tt.want)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name       string
		f          Format
		body       string
		want       Response
		wantStatus int // APIError expected when > 0
		malformed  bool
	}{
		{"openai", OpenAI, `{"id":"c1","model":"gpt-4o","choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
			Response{ID: "c1", Model: "gpt-4o", Content: "Hi", FinishReason: "stop", Usage: Usage{PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4}}, 0, false},
		{"openai null content", OpenAI, `{"choices":[{"message":{"content":null},"finish_reason":"tool_calls"}]}`,
			Response{FinishReason: "tool_calls"}, 0, false},
		// Mistral's reasoning models answer with a list of chunks
		// (docs.mistral.ai, "Reasoning"): the answer is the text chunks,
		// the thinking chunks its Reasoning.
		{"mistral thinking and text chunks", OpenAI, `{"id":"m2","object":"chat.completion","model":"magistral-medium-2509","choices":[{"index":0,"message":{"role":"assistant","tool_calls":null,"content":[{"type":"thinking","thinking":[{"type":"text","text":"The user asks for a capital."}]},{"type":"text","text":"Paris"},{"type":"reference","reference_ids":[1]},{"type":"text","text":"."}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}`,
			Response{ID: "m2", Model: "magistral-medium-2509", Content: "Paris.", Reasoning: "The user asks for a capital.", FinishReason: "stop", Usage: Usage{PromptTokens: 10, CompletionTokens: 20, TotalTokens: 30}}, 0, false},
		// OpenAI's refusal (structured outputs): its text is the answer's,
		// but the finish reason says it is a refusal, as Anthropic's does.
		{"openai refusal", OpenAI, `{"id":"c","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":null,"refusal":"I'm sorry, I cannot assist with that request."}}]}`,
			Response{ID: "c", Content: "I'm sorry, I cannot assist with that request.", FinishReason: "content_filter"}, 0, false},
		{"openai refusal cut by the token cap", OpenAI, `{"choices":[{"finish_reason":"length","message":{"content":null,"refusal":"I'm sorry, I"}}]}`,
			Response{Content: "I'm sorry, I", FinishReason: "length"}, 0, false},
		// n > 1: the answer is choice 0 wherever the list puts it.
		{"openai choice 0 listed second", OpenAI, `{"choices":[{"index":1,"message":{"content":"B"},"finish_reason":"length"},{"index":0,"message":{"content":"A"},"finish_reason":"stop"}]}`,
			Response{Content: "A", FinishReason: "stop"}, 0, false},
		{"openai content neither string nor list", OpenAI, `{"choices":[{"message":{"content":{"text":"x"}}}]}`, Response{}, 0, true},
		{"openrouter error in a choice", OpenAI, `{"id":"gen-1","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"error","error":{"code":502,"message":"Upstream error from provider"}}]}`, Response{}, 502, false},
		{"openai error in 200", OpenAI, `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`, Response{}, 429, false},
		{"openrouter numeric code", OpenAI, `{"error":{"message":"upstream","code":502}}`, Response{}, 502, false},
		// OpenRouter: an upstream whose connection failed, said only in
		// native_finish_reason.
		{"openrouter upstream network error", OpenAI, `{"id":"gen-1","object":"chat.completion","model":"stealth/ox-alpha","provider":"Stealth","choices":[{"index":0,"finish_reason":"stop","native_finish_reason":"network_error","message":{"role":"assistant","content":null,"refusal":null,"reasoning":null}}]}`, Response{}, 502, false},
		{"openrouter native finish of a whole answer", OpenAI, `{"choices":[{"finish_reason":"stop","native_finish_reason":"end_turn","message":{"role":"assistant","content":"Hi"}}]}`,
			Response{Content: "Hi", FinishReason: "stop"}, 0, false},
		// LiteLLM's proxy: code is the HTTP status, as a string.
		{"litellm status as a string", OpenAI, `{"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached","type":null,"param":null,"code":"429"}}`, Response{}, 429, false},
		{"litellm auth", OpenAI, `{"error":{"message":"Authentication Error, invalid key","type":"auth_error","param":"None","code":"401"}}`, Response{}, 401, false},
		// text-generation-inference: the error a string, its type beside.
		{"tgi string error", OpenAI, `{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096","error_type":"validation"}`, Response{}, 422, false},
		{"openai unknown error type", OpenAI, `{"error":{"message":"?"}}`, Response{}, 500, false},
		{"openai no choices", OpenAI, `{"id":"x"}`, Response{}, 0, true},
		{"openai html", OpenAI, `<html>hi</html>`, Response{}, 0, true},
		{"anthropic", Anthropic, `{"id":"m1","type":"message","model":"claude","content":[{"type":"text","text":"Hel"},{"type":"tool_use"},{"type":"text","text":"lo"}],"stop_reason":"max_tokens","usage":{"input_tokens":5,"output_tokens":2}}`,
			Response{ID: "m1", Model: "claude", Content: "Hello", FinishReason: "length", Usage: Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}}, 0, false},
		{"anthropic error in 200", Anthropic, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, Response{}, 529, false},
		{"anthropic wrong type", Anthropic, `{"type":"completion"}`, Response{}, 0, true},
		{"anthropic truncated", Anthropic, `{"type":"message","content":[`, Response{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.f, []byte(tt.body), "")
			var apiErr *APIError
			switch {
			case tt.wantStatus > 0:
				if !errors.As(err, &apiErr) || apiErr.Status != tt.wantStatus || string(apiErr.Body) != tt.body {
					t.Fatalf("Decode(%s) error = %#v; want APIError status %d", tt.body, err, tt.wantStatus)
				}
			case tt.malformed:
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Decode(%s) error = %v; want ErrMalformed", tt.body, err)
				}
			default:
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Decode(%s) = %+v, %v; want %+v", tt.body, got, err, tt.want)
				}
			}
		})
	}
}

type step struct {
	typ, data string
	kind      Kind
	text      string
	status    int // > 0: APIError with this status
}

func runStream(t *testing.T, f Format, steps []step) *StreamDecoder {
	t.Helper()
	d := NewStreamDecoder(f, "")
	for i, s := range steps {
		typ := s.typ
		if typ == "" {
			typ = "message"
		}
		c, err := d.Decode(sse.Event{Type: typ, Data: s.data})
		if s.status > 0 {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != s.status {
				t.Fatalf("step %d: Decode(%s) error = %v; want APIError %d", i, s.data, err, s.status)
			}
			continue
		}
		if err != nil || c.Kind != s.kind || c.Text != s.text {
			t.Fatalf("step %d: Decode(%s) = %+v, %v; want kind %d text %q", i, s.data, c, err, s.kind, s.text)
		}
	}
	return d
}

func TestStreamOpenAI(t *testing.T) {
	d := runStream(t, OpenAI, []step{
		{data: `{"id":"c","model":"gpt","choices":[{"delta":{"role":"assistant","content":""}}]}`, kind: Skip},
		{data: `{"choices":[{"delta":{"content":"Hel"}}]}`, kind: Content, text: "Hel"},
		{data: `{"choices":[{"delta":{"content":"lo"}}]}`, kind: Content, text: "lo"},
		{data: `{"choices":[{"delta":{},"finish_reason":"stop"}]}`, kind: Skip},
		{data: `{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2}}`, kind: Skip},
		{data: `[DONE]`, kind: Done},
	})
	if d.FinishReason() != "stop" || d.Usage() != (Usage{PromptTokens: 2, CompletionTokens: 2, TotalTokens: 4}) || d.Model() != "gpt" || d.ID() != "c" {
		t.Errorf("metadata = %q %+v %q %q; want stop {2 2 4} gpt c", d.FinishReason(), d.Usage(), d.Model(), d.ID())
	}
	runStream(t, OpenAI, []step{
		{data: `{"choices":[{"delta":{"content":"a"}}]}`, kind: Content, text: "a"},
		{data: `{"error":{"message":"boom","type":"server_error"}}`, status: 500},
	})
	runStream(t, OpenAI, []step{{typ: "error", data: `{"message":"x","type":"overloaded_error"}`, status: 529}})
	if _, err := NewStreamDecoder(OpenAI, "").Decode(sse.Event{Type: "message", Data: "nope"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode(nope) error = %v; want ErrMalformed", err)
	}
}

// TestStreamErrorsOfCompatibleServers: an error in a stream that has
// already answered 200 comes back as the provider's error, with its
// status, whichever way the server writes it; none reads as the end of a
// whole answer or as a malformed chunk.
func TestStreamErrorsOfCompatibleServers(t *testing.T) {
	tests := []struct {
		name, raw string
		status    int
	}{
		// llama.cpp's server (builds whose server_sent_event wrote the
		// event's name as the field), then [DONE].
		{"llama.cpp error field", `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hel"}}],"object":"chat.completion.chunk"}` + "\n\n" +
			`error: {"code":500,"message":"Input prompt is too big compared to KV size. Please try increasing KV size.","type":"server_error"}` + "\n\ndata: [DONE]\n\n", 500},
		// text-generation-inference 2.x: the error a string.
		{"tgi string error", `data: {"error":"Request failed during generation: Server error: CUDA out of memory","error_type":"generation"}` + "\n\ndata: [DONE]\n\n", 500},
		{"tgi validation", `data: {"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096. Given: 4000 inputs tokens and 500 max_new_tokens","error_type":"validation"}` + "\n\ndata: [DONE]\n\n", 422},
		// OpenRouter: the upstream's connection failed, said only in
		// native_finish_reason of a chunk that ends the stream as "stop".
		{"openrouter network_error", `data: {"id":"gen-1787584664","object":"chat.completion.chunk","created":1787584664,"model":"stealth/ox-alpha","provider":"Stealth","choices":[{"index":0,"delta":{"content":"","role":"assistant"},"finish_reason":"stop","native_finish_reason":"network_error"}]}` + "\n\ndata: [DONE]\n\n", 502},
		// LiteLLM's proxy: the status as a string.
		{"litellm rate limit", `data: {"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached","type":null,"param":null,"code":"429"}}` + "\n\n", 429},
		{"litellm bad request", `data: {"error":{"message":"litellm.BadRequestError: Invalid model","type":null,"param":null,"code":"400"}}` + "\n\n", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := sse.NewDecoder(strings.NewReader(tt.raw))
			d := NewStreamDecoder(OpenAI, "")
			for {
				ev, err := events.Next()
				if err != nil {
					t.Fatalf("the stream ended (%v) without an error; want APIError %d", err, tt.status)
				}
				c, err := d.Decode(ev)
				var apiErr *APIError
				if errors.As(err, &apiErr) {
					if apiErr.Status != tt.status {
						t.Errorf("APIError status %d; want %d", apiErr.Status, tt.status)
					}
					return
				}
				if err != nil {
					t.Fatalf("Decode(%s) error = %v; want APIError %d", ev.Data, err, tt.status)
				}
				if c.Kind == Done {
					t.Fatalf("the stream read as done; want APIError %d", tt.status)
				}
			}
		})
	}
}

// TestStreamMistralChunks: Mistral's reasoning models stream deltas whose
// content is a list of chunks, thinking first; only text chunks are the
// answer.
func TestStreamMistralChunks(t *testing.T) {
	d := runStream(t, OpenAI, []step{
		{data: `{"id":"m","model":"magistral-small-2509","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`, kind: Skip},
		{data: `{"id":"m","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Okay"}]}]},"finish_reason":null}]}`, kind: Skip},
		{data: `{"id":"m","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Par"}]},"finish_reason":null}]}`, kind: Content, text: "Par"},
		{data: `{"id":"m","choices":[{"index":0,"delta":{"content":"is"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":9,"total_tokens":13}}`, kind: Content, text: "is"},
		{data: `[DONE]`, kind: Done},
	})
	if d.FinishReason() != "stop" || d.Usage().TotalTokens != 13 {
		t.Errorf("metadata = %q %+v; want stop, 13 tokens", d.FinishReason(), d.Usage())
	}
}

// TestStreamGroqUsage: Groq puts a stream's usage in the last chunk's
// x_groq object.
func TestStreamGroqUsage(t *testing.T) {
	d := runStream(t, OpenAI, []step{
		{data: `{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":null}],"x_groq":{"id":"req_1"}}`, kind: Content, text: "Hi"},
		{data: `{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":{"queue_time":0.02,"prompt_tokens":12,"prompt_time":0.001,"completion_tokens":3,"completion_time":0.004,"total_tokens":15,"total_time":0.005}}}`, kind: Skip},
		{data: `[DONE]`, kind: Done},
	})
	if d.Usage() != (Usage{PromptTokens: 12, CompletionTokens: 3, TotalTokens: 15}) {
		t.Errorf("Usage() = %+v; want {12 3 15}", d.Usage())
	}
}

// TestStreamOtherChoices: with n > 1 (set through Extra) each chunk
// carries one choice's delta; the answer is choice 0, as in a whole answer.
func TestStreamOtherChoices(t *testing.T) {
	d := runStream(t, OpenAI, []step{
		{data: `{"choices":[{"index":0,"delta":{"content":"A"}}]}`, kind: Content, text: "A"},
		{data: `{"choices":[{"index":1,"delta":{"content":"B"}}]}`, kind: Skip},
		{data: `{"choices":[{"index":1,"delta":{},"finish_reason":"length"}]}`, kind: Skip},
		{data: `{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`, kind: Content, text: "a"},
		{data: `[DONE]`, kind: Done},
	})
	if d.FinishReason() != "stop" {
		t.Errorf("FinishReason() = %q; want choice 0's stop", d.FinishReason())
	}
}

// TestStreamRefusal: refusal deltas are the answer's text, and the stream
// finishes as content_filter, as a whole answer's refusal does.
func TestStreamRefusal(t *testing.T) {
	d := runStream(t, OpenAI, []step{
		{data: `{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""}}]}`, kind: Skip},
		{data: `{"choices":[{"index":0,"delta":{"refusal":"I'm sorry, "}}]}`, kind: Content, text: "I'm sorry, "},
		{data: `{"choices":[{"index":0,"delta":{"refusal":"I cannot."}}]}`, kind: Content, text: "I cannot."},
		{data: `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, kind: Skip},
		{data: `[DONE]`, kind: Done},
	})
	if d.FinishReason() != "content_filter" {
		t.Errorf("FinishReason() = %q; want content_filter", d.FinishReason())
	}
}

// TestStreamChoiceZeroListedSecond: a chunk may list the choices in any
// order; choice 0's delta is the answer's wherever it sits.
func TestStreamChoiceZeroListedSecond(t *testing.T) {
	d := runStream(t, OpenAI, []step{
		{data: `{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}`, kind: Content, text: "A"},
		{data: `{"choices":[{"index":1,"delta":{},"finish_reason":"length"},{"index":0,"delta":{},"finish_reason":"stop"}]}`, kind: Skip},
		{data: `[DONE]`, kind: Done},
	})
	if d.FinishReason() != "stop" {
		t.Errorf("FinishReason() = %q; want choice 0's stop", d.FinishReason())
	}
}

// TestStreamKeepAliveInData: proxies put keep-alive comments, or nothing,
// in a data field (Vertex AI's partner models: "data: : keepalive"); such
// events are skipped in either format, but an error event is still read
// as an error.
func TestStreamKeepAliveInData(t *testing.T) {
	for _, f := range []Format{OpenAI, Anthropic} {
		for _, data := range []string{": keepalive", ":", "", " ", ": OPENROUTER PROCESSING"} {
			d := NewStreamDecoder(f, "")
			c, err := d.Decode(sse.Event{Type: "message", Data: data})
			if err != nil || c.Kind != Skip {
				t.Errorf("%v: Decode(data %q) = %+v, %v; want Skip", f, data, c, err)
			}
		}
		d := NewStreamDecoder(f, "")
		if _, err := d.Decode(sse.Event{Type: "error", Data: ""}); err == nil {
			t.Errorf("%v: Decode(an error event without data) error = nil; want an error", f)
		}
	}
}

func TestStreamAnthropic(t *testing.T) {
	d := runStream(t, Anthropic, []step{
		{typ: "message_start", data: `{"type":"message_start","message":{"id":"m","model":"claude","usage":{"input_tokens":9,"output_tokens":1}}}`, kind: Skip},
		{typ: "content_block_start", data: `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`, kind: Skip},
		{typ: "ping", data: `{"type":"ping"}`, kind: Skip},
		{typ: "content_block_delta", data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`, kind: Content, text: "Hi"},
		{typ: "content_block_delta", data: `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}`, kind: Skip},
		{typ: "content_block_stop", data: `{"type":"content_block_stop","index":0}`, kind: Skip},
		{typ: "message_delta", data: `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`, kind: Skip},
		{typ: "some_future_event", data: `{}`, kind: Skip},
		{typ: "message_stop", data: `{"type":"message_stop"}`, kind: Done},
	})
	if d.FinishReason() != "stop" || d.Usage() != (Usage{PromptTokens: 9, CompletionTokens: 3, TotalTokens: 12}) || d.Model() != "claude" {
		t.Errorf("metadata = %q %+v %q; want stop {9 3 12} claude", d.FinishReason(), d.Usage(), d.Model())
	}
	runStream(t, Anthropic, []step{
		{typ: "error", data: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, status: 529},
	})
	// llama.cpp's server on /v1/messages writes its error flat, the code
	// its status.
	runStream(t, Anthropic, []step{
		{typ: "message_start", data: `{"type":"message_start","message":{"id":"m","model":"llama","usage":{"input_tokens":9,"output_tokens":0}}}`, kind: Skip},
		{typ: "error", data: `{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}`, status: 400},
	})
	runStream(t, Anthropic, []step{{typ: "error", data: `{"code":500,"message":"Invalid diff: now finding less tool calls!","type":"server_error"}`, status: 500}})
	runStream(t, Anthropic, []step{{typ: "error", data: `{"code":503,"message":"Loading model","type":"unavailable_error"}`, status: 503}})
	// Without an event field the JSON type decides.
	runStream(t, Anthropic, []step{
		{data: `{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}`, kind: Content, text: "x"},
		{data: `{"type":"message_stop"}`, kind: Done},
	})
}

func TestAPIErrorText(t *testing.T) {
	e := &APIError{Status: 429, Type: "rate_limit_error", Body: []byte(`{"error":{"message":"secret"}}`)}
	if strings.Contains(e.Error(), "secret") {
		t.Errorf("APIError.Error() = %q; must not contain the body", e.Error())
	}
	var v any
	if json.Unmarshal(e.Body, &v) != nil || reflect.ValueOf(v).IsNil() {
		t.Errorf("Body not JSON")
	}
}
