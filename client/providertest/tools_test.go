package providertest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// jsonPath walks a decoded JSON value by object keys and array indexes.
func jsonPath(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %s: %v", s, err)
	}
	return v
}

var weatherCalls = []ToolCall{
	{ID: "call_paris", Name: "get_weather", Arguments: `{"city":"Paris"}`},
	{Name: "get_time", Arguments: ""},
}

func TestCallToolsChat(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name+"/openai", func(t *testing.T) {
			tg.srv.Script("gpt-4o", CallTools(weatherCalls...))
			status, _, body := mustPost(t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("gpt-4o", false))
			if status != http.StatusOK {
				t.Fatalf("status = %d; body %s", status, body)
			}
			v := decodeJSON(t, body)
			msg := jsonPath(v, "choices", 0, "message")
			if got := jsonPath(msg, "content"); got != nil {
				t.Errorf("message.content = %v; want null for a turn of tool calls only", got)
			}
			if got := jsonPath(v, "choices", 0, "finish_reason"); got != "tool_calls" {
				t.Errorf("finish_reason = %v; want tool_calls", got)
			}
			for i, want := range []struct{ id, name, args string }{{"call_paris", "get_weather", `{"city":"Paris"}`}, {"call_", "get_time", "{}"}} {
				c := jsonPath(msg, "tool_calls", i)
				id, _ := jsonPath(c, "id").(string)
				args, isString := jsonPath(c, "function", "arguments").(string)
				if !strings.HasPrefix(id, want.id) || jsonPath(c, "type") != "function" || jsonPath(c, "function", "name") != want.name || !isString || args != want.args {
					t.Errorf("tool_calls[%d] = %v; want id %s…, type function, name %s, arguments the string %s", i, c, want.id, want.name, want.args)
				}
			}
		})
		t.Run(tg.name+"/anthropic", func(t *testing.T) {
			tg.srv.Script("claude", Answer{Text: "Let me look.", ToolCalls: weatherCalls})
			status, _, body := mustPost(t, tg.client, tg.srv.URL()+"/v1/messages", anthropicBody("claude", false))
			if status != http.StatusOK {
				t.Fatalf("status = %d; body %s", status, body)
			}
			v := decodeJSON(t, body)
			if got := jsonPath(v, "stop_reason"); got != "tool_use" {
				t.Errorf("stop_reason = %v; want tool_use", got)
			}
			if jsonPath(v, "content", 0, "type") != "text" || jsonPath(v, "content", 0, "text") != "Let me look." {
				t.Errorf("content[0] = %v; want the text block", jsonPath(v, "content", 0))
			}
			b := jsonPath(v, "content", 1)
			if jsonPath(b, "type") != "tool_use" || jsonPath(b, "id") != "call_paris" || jsonPath(b, "name") != "get_weather" ||
				!reflect.DeepEqual(jsonPath(b, "input"), map[string]any{"city": "Paris"}) {
				t.Errorf("content[1] = %v; want tool_use get_weather with input object {city: Paris}", b)
			}
			if id, _ := jsonPath(v, "content", 2, "id").(string); !strings.HasPrefix(id, "toolu_") {
				t.Errorf("content[2].id = %q; want toolu_…", id)
			}
		})
	}
}

func TestCallToolsStream(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name+"/openai", func(t *testing.T) {
			tg.srv.Script("gpt-4o", CallTools(weatherCalls...))
			resp, err := post(t.Context(), t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("gpt-4o", true))
			if err != nil {
				t.Fatal(err)
			}
			events, _, err := readSSE(resp.Body)
			resp.Body.Close()
			if err != nil || len(events) == 0 || events[len(events)-1].Data != "[DONE]" {
				t.Fatalf("stream: %d events, err %v; want events ending in [DONE]", len(events), err)
			}
			// Assemble the fragments by index, as a client must.
			type call struct{ id, name, args string }
			calls := map[float64]*call{}
			finish := ""
			pieces := 0
			for _, ev := range events[:len(events)-1] {
				v := decodeJSON(t, ev.Data)
				if f, ok := jsonPath(v, "choices", 0, "finish_reason").(string); ok {
					finish = f
				}
				frags, _ := jsonPath(v, "choices", 0, "delta", "tool_calls").([]any)
				for _, f := range frags {
					idx, ok := jsonPath(f, "index").(float64)
					if !ok {
						t.Fatalf("tool call fragment without index: %v", f)
					}
					c := calls[idx]
					if c == nil {
						c = &call{}
						calls[idx] = c
					}
					if id, _ := jsonPath(f, "id").(string); id != "" {
						c.id = id
					}
					if n, _ := jsonPath(f, "function", "name").(string); n != "" {
						c.name = n
					}
					a, _ := jsonPath(f, "function", "arguments").(string)
					c.args += a
					pieces++
				}
			}
			if finish != "tool_calls" || len(calls) != 2 || pieces < 4 {
				t.Fatalf("finish %q, %d calls in %d fragments; want tool_calls, 2 calls, split", finish, len(calls), pieces)
			}
			if c := calls[0]; c.id != "call_paris" || c.name != "get_weather" || c.args != `{"city":"Paris"}` {
				t.Errorf("call 0 = %+v", *c)
			}
			if c := calls[1]; !strings.HasPrefix(c.id, "call_") || c.name != "get_time" || c.args != "{}" {
				t.Errorf("call 1 = %+v", *c)
			}
		})
		t.Run(tg.name+"/anthropic", func(t *testing.T) {
			tg.srv.Script("claude", CallTools(weatherCalls[0]))
			resp, err := post(t.Context(), t, tg.client, tg.srv.URL()+"/v1/messages", anthropicBody("claude", true))
			if err != nil {
				t.Fatal(err)
			}
			events, _, err := readSSE(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			args, stop := "", ""
			for _, ev := range events {
				names = append(names, ev.Name)
				v := decodeJSON(t, ev.Data)
				switch ev.Name {
				case "content_block_start":
					b := jsonPath(v, "content_block")
					if jsonPath(b, "type") != "tool_use" || jsonPath(b, "id") != "call_paris" || jsonPath(b, "name") != "get_weather" || jsonPath(v, "index") != 0.0 {
						t.Errorf("content_block_start = %s; want tool_use call_paris get_weather at index 0", ev.Data)
					}
				case "content_block_delta":
					if jsonPath(v, "delta", "type") != "input_json_delta" {
						t.Errorf("delta = %s; want input_json_delta", ev.Data)
					}
					p, _ := jsonPath(v, "delta", "partial_json").(string)
					args += p
				case "message_delta":
					stop, _ = jsonPath(v, "delta", "stop_reason").(string)
				}
			}
			if names[0] != "message_start" || names[len(names)-1] != "message_stop" || stop != "tool_use" || args != `{"city":"Paris"}` {
				t.Errorf("events %v, stop %q, input %q; want message_start … message_stop, tool_use, {\"city\":\"Paris\"}", names, stop, args)
			}
		})
	}
}

func TestRequestToolParts(t *testing.T) {
	srv := newTestServer(t)
	openAI := `{"model":"m","messages":[
		{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"look","arguments":"{\"x\":1}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"a cat"}],
		"tools":[{"type":"function","function":{"name":"look","parameters":{"type":"object"}}}],
		"tool_choice":{"type":"function","function":{"name":"look"}},
		"response_format":{"type":"json_object"}}`
	anthropic := `{"model":"c","max_tokens":10,"messages":[
		{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"look","input":{"x":1}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a cat"}]}]}],
		"tools":[{"name":"look","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"}}`
	mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAI)
	mustPost(t, srv.Client(), srv.URL()+"/v1/messages", anthropic)
	got := srv.Received()
	want := []struct {
		choice, format string
		call           ToolCall
		result         ToolResult
	}{
		{"look", "json_object", ToolCall{ID: "call_1", Name: "look", Arguments: `{"x":1}`}, ToolResult{CallID: "call_1", Content: "a cat"}},
		{"required", "", ToolCall{ID: "toolu_1", Name: "look", Arguments: `{"x":1}`}, ToolResult{CallID: "toolu_1", Content: "a cat"}},
	}
	for i, w := range want {
		r := got[i]
		if !reflect.DeepEqual(r.Tools, []string{"look"}) || r.ToolChoice != w.choice || r.ResponseFormat != w.format || r.Images != 1 ||
			!reflect.DeepEqual(r.ToolCalls, []ToolCall{w.call}) || !reflect.DeepEqual(r.ToolResults, []ToolResult{w.result}) {
			t.Errorf("request %d (%s): tools %v choice %q format %q images %d calls %+v results %+v; want [look] %q %q 1 %+v %+v",
				i, r.Format, r.Tools, r.ToolChoice, r.ResponseFormat, r.Images, r.ToolCalls, r.ToolResults, w.choice, w.format, w.call, w.result)
		}
	}
}

func TestToolPairingRejected(t *testing.T) {
	srv := newTestServer(t)
	tests := []struct {
		name, path, body, want string
	}{
		{"openai result without call", "/v1/chat/completions",
			`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_x","content":"1"}]}`,
			"must be a response to a preceeding message with 'tool_calls'"},
		{"openai call without result", "/v1/chat/completions",
			`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"hi"}]}`,
			"did not have response messages: call_a"},
		{"anthropic result of no use", "/v1/messages",
			`{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_x","content":"1"}]}]}`,
			"unexpected `tool_use_id` found in `tool_result` blocks: toolu_x"},
		{"anthropic use without result", "/v1/messages",
			`{"model":"c","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"toolu_a","name":"f","input":{}}]},{"role":"user","content":"hi"}]}`,
			"`tool_use` ids were found without `tool_result` blocks immediately after: toolu_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := mustPost(t, srv.Client(), srv.URL()+tt.path, tt.body)
			if status != http.StatusBadRequest || !strings.Contains(body, tt.want) || !strings.Contains(body, "invalid_request_error") {
				t.Errorf("status %d body %s; want 400 invalid_request_error with %q", status, body, tt.want)
			}
		})
	}
}

func TestForcedToolAnswersJSON(t *testing.T) {
	srv := newTestServer(t)
	body := `{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"weather as JSON"}],
		"tools":[{"name":"report","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"report"}}`
	srv.Script("c", OK(`{"temp_c": 18}`), OK("not JSON"))
	_, _, got := mustPost(t, srv.Client(), srv.URL()+"/v1/messages", body)
	v := decodeJSON(t, got)
	if jsonPath(v, "content", 0, "type") != "tool_use" || jsonPath(v, "content", 0, "name") != "report" ||
		!reflect.DeepEqual(jsonPath(v, "content", 0, "input"), map[string]any{"temp_c": 18.0}) {
		t.Errorf("answer to a forced tool = %s; want a tool_use of report with the JSON as input", got)
	}
	_, _, got = mustPost(t, srv.Client(), srv.URL()+"/v1/messages", body)
	if v := decodeJSON(t, got); jsonPath(v, "content", 0, "text") != "not JSON" {
		t.Errorf("answer with text that is not JSON = %s; want it as text", got)
	}
}

func TestUsageDetails(t *testing.T) {
	srv := newTestServer(t)
	u := Usage{PromptTokens: 100, CompletionTokens: 40, CachedPromptTokens: 64, ReasoningTokens: 16}
	srv.Script("gpt-4o", Answer{Text: "hi", Usage: u})
	srv.Script("claude", Answer{Text: "hi", Usage: u})
	_, _, o := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("gpt-4o", false))
	_, _, a := mustPost(t, srv.Client(), srv.URL()+"/v1/messages", anthropicBody("claude", false))
	ov, av := decodeJSON(t, o), decodeJSON(t, a)
	if jsonPath(ov, "usage", "prompt_tokens") != 100.0 || jsonPath(ov, "usage", "prompt_tokens_details", "cached_tokens") != 64.0 ||
		jsonPath(ov, "usage", "completion_tokens_details", "reasoning_tokens") != 16.0 {
		t.Errorf("OpenAI usage = %v", jsonPath(ov, "usage"))
	}
	if jsonPath(av, "usage", "input_tokens") != 36.0 || jsonPath(av, "usage", "cache_read_input_tokens") != 64.0 || jsonPath(av, "usage", "output_tokens") != 40.0 {
		t.Errorf("Anthropic usage = %v; want input_tokens 36 (uncached), cache_read_input_tokens 64", jsonPath(av, "usage"))
	}
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}
