package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
)

// weatherTool is the tool of these tests.
var weatherTool = client.Tool{
	Name:        "get_weather",
	Description: "Current weather in a city",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
}

// scriptedCalls are a model's parallel calls; the second has no id (the
// server makes one up in the route's style) and no arguments.
var scriptedCalls = []providertest.ToolCall{
	{ID: "call_paris", Name: "get_weather", Arguments: `{"city":"Paris"}`},
	{Name: "get_time"},
}

// checkCalls checks calls against scriptedCalls as a client sees them.
func checkCalls(t *testing.T, got []client.ToolCall) {
	t.Helper()
	if len(got) != 2 || got[0].ID != "call_paris" || got[0].Name != "get_weather" || string(got[0].Arguments) != `{"city":"Paris"}` ||
		got[1].ID == "" || got[1].Name != "get_time" || string(got[1].Arguments) != "{}" {
		t.Errorf("ToolCalls = %s; want get_weather {\"city\":\"Paris\"} (call_paris) and get_time {} with an id", fmtCalls(got))
	}
}

func fmtCalls(cs []client.ToolCall) string {
	b, _ := json.Marshal(cs)
	return string(b)
}

// bodyOf decodes a received request body.
func bodyOf(t *testing.T, r providertest.Request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	return m
}

func TestToolLoopChat(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script(f.model, providertest.CallTools(scriptedCalls...), providertest.OK("18C in Paris"))
			c := build(t, builder(srv).Model(f.target))
			req := client.ChatRequest{
				Messages: []client.Message{client.User("Weather in Paris, and the time?")},
				Tools:    []client.Tool{weatherTool, {Name: "get_time"}},
			}
			resp, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			if resp.FinishReason != "tool_calls" || resp.Content != "" {
				t.Errorf("Chat() finish %q content %q; want tool_calls, no text", resp.FinishReason, resp.Content)
			}
			checkCalls(t, resp.ToolCalls)

			req.Messages = append(req.Messages, resp.Message())
			for _, call := range resp.ToolCalls {
				req.Messages = append(req.Messages, client.ToolResult(call.ID, "result of "+call.Name))
			}
			resp2, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatalf("second Chat() error = %v", err)
			}
			if resp2.Content != "18C in Paris" || resp2.FinishReason != "stop" || resp2.ToolCalls != nil {
				t.Errorf("second Chat() = %q %q %v; want the answer", resp2.Content, resp2.FinishReason, resp2.ToolCalls)
			}
			got := srv.Received()[1]
			wantResults := []providertest.ToolResult{{CallID: "call_paris", Content: "result of get_weather"}, {CallID: resp.ToolCalls[1].ID, Content: "result of get_time"}}
			if !reflect.DeepEqual(got.ToolResults, wantResults) || len(got.ToolCalls) != 2 || got.ToolCalls[0].ID != "call_paris" {
				t.Errorf("second request carried calls %+v, results %+v; want both calls back and %+v", got.ToolCalls, got.ToolResults, wantResults)
			}
			if !reflect.DeepEqual(got.Tools, []string{"get_weather", "get_time"}) {
				t.Errorf("tools sent = %v", got.Tools)
			}
		})
	}
}

func TestToolChoiceOnTheWire(t *testing.T) {
	tests := []struct {
		choice            string
		openAI, anthropic any
		read              string // what providertest reads back
	}{
		{"auto", "auto", map[string]any{"type": "auto"}, "auto"},
		{"none", "none", map[string]any{"type": "none"}, "none"},
		{"required", "required", map[string]any{"type": "any"}, "required"},
		{"get_weather", map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}},
			map[string]any{"type": "tool", "name": "get_weather"}, "get_weather"},
		{"", nil, nil, ""},
	}
	for _, f := range formats[:2] {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.choice, func(t *testing.T) {
				srv := newServer(t)
				c := build(t, builder(srv).Model(f.target))
				_, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("hi")},
					Tools: []client.Tool{weatherTool}, ToolChoice: tt.choice})
				if err != nil {
					t.Fatal(err)
				}
				r := srv.Received()[0]
				body := bodyOf(t, r)
				want := tt.openAI
				if f.name == "anthropic" {
					want = tt.anthropic
				}
				if !reflect.DeepEqual(body["tool_choice"], want) || r.ToolChoice != tt.read {
					t.Errorf("tool_choice = %v (read %q); want %v", body["tool_choice"], r.ToolChoice, want)
				}
				tools, _ := body["tools"].([]any)
				if len(tools) != 1 {
					t.Fatalf("tools = %v", body["tools"])
				}
				var schema any
				if f.name == "anthropic" {
					schema = tools[0].(map[string]any)["input_schema"]
				} else {
					fn := tools[0].(map[string]any)["function"].(map[string]any)
					schema = fn["parameters"]
					if tools[0].(map[string]any)["type"] != "function" || fn["name"] != "get_weather" {
						t.Errorf("tool = %v", tools[0])
					}
				}
				if m, _ := schema.(map[string]any); m["type"] != "object" || m["required"] == nil {
					t.Errorf("tool schema = %v; want the Parameters schema", schema)
				}
			})
		}
	}
}

func TestToolCallsStream(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script(f.model, providertest.CallTools(scriptedCalls...), providertest.Answer{Status: 200, Text: "Checking now.", ToolCalls: scriptedCalls[:1]})
			c := build(t, builder(srv).Model(f.target))
			req := client.ChatRequest{Messages: []client.Message{client.User("Weather?")}, Tools: []client.Tool{weatherTool, {Name: "get_time"}}}

			// A stream of tool calls only is a normal stream.
			s, err := c.Stream(context.Background(), req)
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			var text string
			for s.Next() {
				text += s.Delta()
			}
			s.Close()
			if s.Err() != nil || text != "" || s.FinishReason() != "tool_calls" {
				t.Errorf("tool-only stream: err %v text %q finish %q; want nil, \"\", tool_calls", s.Err(), text, s.FinishReason())
			}
			checkCalls(t, s.ToolCalls())
			if m := s.Message(); m.Role != client.RoleAssistant || len(m.ToolCalls) != 2 {
				t.Errorf("Message() = %+v; want the assistant turn with its calls", m)
			}

			// Text, then a call.
			s, err = c.Stream(context.Background(), req)
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			text = ""
			for s.Next() {
				text += s.Delta()
			}
			s.Close()
			calls := s.ToolCalls()
			if s.Err() != nil || text != "Checking now." || len(calls) != 1 || string(calls[0].Arguments) != `{"city":"Paris"}` {
				t.Errorf("stream: err %v text %q calls %s; want the text and one call", s.Err(), text, fmtCalls(calls))
			}
		})
	}
}

func TestToolStreamRetryOnlyBeforeFirstCall(t *testing.T) {
	for _, f := range formats[:2] {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			calls := providertest.CallTools(scriptedCalls...)
			cutAtStart, cutAfterOne := calls, calls
			cutAtStart.CutAfter = providertest.CutAtStart
			cutAfterOne.CutAfter = 1
			srv.Script(f.model, cutAtStart, calls, cutAfterOne, calls)
			c := build(t, builder(srv).Model(f.target))
			req := client.ChatRequest{Messages: []client.Message{client.User("Weather?")}, Tools: []client.Tool{weatherTool, {Name: "get_time"}}}

			s, err := c.Stream(context.Background(), req)
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			for s.Next() {
			}
			s.Close()
			if s.Err() != nil || s.Attempts() != 2 {
				t.Errorf("cut before any event: err %v after %d attempts; want a retried, complete stream", s.Err(), s.Attempts())
			}
			checkCalls(t, s.ToolCalls())

			// Cut after the first tool-call event: that event reached the
			// stream, so no retry; Err says what happened.
			s, err = c.Stream(context.Background(), req)
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			for s.Next() {
			}
			s.Close()
			if !errors.Is(s.Err(), client.ErrStreamTruncated) || s.Attempts() != 1 {
				t.Errorf("cut after a tool-call event: err %v after %d attempts; want ErrStreamTruncated, 1 attempt", s.Err(), s.Attempts())
			}
			if srv.Pending(f.model) != 1 {
				t.Errorf("%d scripted answers left; want 1 (no retry after the first event)", srv.Pending(f.model))
			}
		})
	}
}

// jsonSchema is the answer schema of these tests.
var jsonSchema = json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"temp_c":{"type":"number"}},"required":["city","temp_c"]}`)

func TestJSONOutput(t *testing.T) {
	const answer = `{"city":"Paris","temp_c":18}`
	for _, f := range formats[:2] {
		for _, rf := range []*client.ResponseFormat{client.JSONObject(), client.JSONSchema("weather", jsonSchema, true)} {
			for _, stream := range []bool{false, true} {
				name := f.name + "/" + rf.Type
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					srv := newServer(t)
					srv.Script(f.model, providertest.OK(answer))
					c := build(t, builder(srv).Model(f.target))
					req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris as JSON")}, ResponseFormat: rf}
					var content, finish string
					var calls []client.ToolCall
					if stream {
						s, err := c.Stream(context.Background(), req)
						if err != nil {
							t.Fatal(err)
						}
						for s.Next() {
							content += s.Delta()
						}
						s.Close()
						if s.Err() != nil {
							t.Fatal(s.Err())
						}
						finish, calls = s.FinishReason(), s.ToolCalls()
					} else {
						resp, err := c.Chat(context.Background(), req)
						if err != nil {
							t.Fatal(err)
						}
						content, finish, calls = resp.Content, resp.FinishReason, resp.ToolCalls
					}
					var v map[string]any
					if json.Unmarshal([]byte(content), &v) != nil || v["city"] != "Paris" || finish != "stop" || calls != nil {
						t.Errorf("answer %q finish %q calls %v; want the JSON as content, stop, no tool call", content, finish, calls)
					}
					body := bodyOf(t, srv.Received()[0])
					if f.name == "openai" {
						got := body["response_format"].(map[string]any)
						if got["type"] != rf.Type || (rf.Type == "json_schema" && (got["json_schema"].(map[string]any)["name"] != "weather" || got["json_schema"].(map[string]any)["strict"] != true)) {
							t.Errorf("response_format = %v", got)
						}
						return
					}
					if _, ok := body["response_format"]; ok {
						t.Errorf("response_format sent to Anthropic")
					}
					name := "json_response"
					if rf.Type == "json_schema" {
						name = "weather"
					}
					if ch := body["tool_choice"].(map[string]any); ch["type"] != "tool" || ch["name"] != name {
						t.Errorf("tool_choice = %v; want the answer tool %s forced", ch, name)
					}
				})
			}
		}
	}
}

func TestImages(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nfake")
	low := client.ImageURL("data:image/webp;base64,UklGRg==")
	low.Image.Detail = "low"
	msg := client.UserParts(client.TextPart("What is in these?"), client.ImageURL("https://example.com/cat.jpg"),
		client.ImageData("image/png", png), low)
	for _, f := range formats[:2] {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			c := build(t, builder(srv).Model(f.target))
			if _, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{msg}}); err != nil {
				t.Fatal(err)
			}
			r := srv.Received()[0]
			content := bodyOf(t, r)["messages"].([]any)[0].(map[string]any)["content"].([]any)
			if len(content) != 4 || r.Images != 3 {
				t.Fatalf("content = %v (%d images); want 4 parts, 3 images", content, r.Images)
			}
			part := func(i int, keys ...string) any {
				var v any = content[i]
				for _, k := range keys {
					v = v.(map[string]any)[k]
				}
				return v
			}
			if f.name == "openai" {
				if part(0, "type") != "text" || part(0, "text") != "What is in these?" ||
					part(1, "type") != "image_url" || part(1, "image_url", "url") != "https://example.com/cat.jpg" ||
					part(2, "image_url", "url") != "data:image/png;base64,iVBORw0KGgpmYWtl" ||
					part(3, "image_url", "url") != "data:image/webp;base64,UklGRg==" || part(3, "image_url", "detail") != "low" ||
					part(1, "image_url", "detail") != nil {
					t.Errorf("OpenAI content parts = %v", content)
				}
				return
			}
			if part(3, "detail") != nil || part(3, "source", "detail") != nil {
				t.Errorf("Anthropic got an image detail it has no field for: %v", content[3])
			}
			if part(0, "type") != "text" || part(1, "type") != "image" || part(1, "source", "type") != "url" || part(1, "source", "url") != "https://example.com/cat.jpg" ||
				part(2, "source", "type") != "base64" || part(2, "source", "media_type") != "image/png" || part(2, "source", "data") != "iVBORw0KGgpmYWtl" ||
				part(3, "source", "type") != "base64" || part(3, "source", "media_type") != "image/webp" || part(3, "source", "data") != "UklGRg==" {
				t.Errorf("Anthropic content blocks = %v", content)
			}
		})
	}
}

func TestRequestHeaderEveryAttempt(t *testing.T) {
	for _, f := range formats[:2] {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			srv.Script(f.model, providertest.Unavailable(), providertest.OK("ok"))
			c := build(t, builder(srv).Model(f.target))
			req := hi()
			req.Header = http.Header{
				"X-Trace-Id":    {"trace-123"},
				"Authorization": {"Bearer stolen"},
				"X-Api-Key":     {"stolen"},
				"Content-Type":  {"text/plain"},
				"User-Agent":    {"my-app/1.0"},
			}
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			got := srv.Received()
			if len(got) != 2 {
				t.Fatalf("%d requests; want 2", len(got))
			}
			for i, r := range got {
				if r.Header.Get("X-Trace-Id") != "trace-123" || r.Header.Get("User-Agent") != "my-app/1.0" {
					t.Errorf("attempt %d: X-Trace-Id %q User-Agent %q; want the call's headers", i, r.Header.Get("X-Trace-Id"), r.Header.Get("User-Agent"))
				}
				if r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("attempt %d: Content-Type replaced: %q", i, r.Header.Get("Content-Type"))
				}
				switch f.name {
				case "openai":
					if r.Header.Get("Authorization") != "Bearer "+openAIKey || r.Header.Get("X-Api-Key") != "" {
						t.Errorf("attempt %d: Authorization %q x-api-key %q; want only the configured key", i, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
					}
				case "anthropic":
					if r.Header.Get("X-Api-Key") != anthropicKey || r.Header.Get("Authorization") != "" {
						t.Errorf("attempt %d: x-api-key %q Authorization %q; want only the configured key", i, r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"))
					}
				}
			}
			// The next call without Header sends none of them.
			if _, err := c.Chat(context.Background(), hi()); err != nil {
				t.Fatal(err)
			}
			if r := srv.Received()[2]; r.Header.Get("X-Trace-Id") != "" {
				t.Errorf("a later call carried X-Trace-Id %q", r.Header.Get("X-Trace-Id"))
			}
		})
	}
}

// TestUsageDetails checks the usage details in Chat and streams over
// loopback; TestTokenSettlementWithCachedTokens checks on fake time what
// the token limiter keeps.
func TestUsageDetails(t *testing.T) {
	u := providertest.Usage{PromptTokens: 1000, CompletionTokens: 100, CachedPromptTokens: 800, ReasoningTokens: 60}
	tests := []struct {
		f      int // index in formats
		stream bool
		want   client.Usage
	}{
		{0, false, client.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100, CachedPromptTokens: 800, ReasoningTokens: 60}},
		{0, true, client.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100, CachedPromptTokens: 800, ReasoningTokens: 60}},
		// Anthropic reports no reasoning count.
		{1, false, client.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100, CachedPromptTokens: 800}},
		{1, true, client.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100, CachedPromptTokens: 800}},
	}
	for _, tt := range tests {
		f := formats[tt.f]
		name := f.name
		if tt.stream {
			name += "/stream"
		}
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			srv.SetDefault(f.model, providertest.Answer{Status: 200, Text: "cached answer", Usage: u})
			c := build(t, builder(srv).Model(f.target))
			req := hi()
			req.MaxTokens = 500
			var got client.Usage
			if tt.stream {
				s, err := c.Stream(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				for s.Next() {
				}
				s.Close()
				got = s.Usage()
			} else {
				resp, err := c.Chat(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				got = resp.Usage
			}
			if got != tt.want {
				t.Errorf("Usage = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestExtraOnlyToItsProvider(t *testing.T) {
	srv := newServer(t)
	srv.SetDefault("gpt-4o", providertest.Unavailable())
	c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude-3-5-sonnet"))
	req := hi()
	req.Extra = map[string]map[string]any{
		"openai":    {"reasoning_effort": "low", "max_completion_tokens": 77},
		"anthropic": {"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}},
		"groq":      {"never": true},
	}
	resp, err := c.Chat(context.Background(), req)
	if err != nil || resp.Provider != "anthropic" {
		t.Fatalf("Chat() = %+v, %v; want an answer from the fallback", resp, err)
	}
	for _, r := range srv.Received() {
		body := bodyOf(t, r)
		if _, ok := body["never"]; ok {
			t.Errorf("%s got groq's extra field", r.Format)
		}
		switch r.Format {
		case providertest.FormatOpenAI:
			if body["reasoning_effort"] != "low" || body["max_completion_tokens"] != 77.0 || body["thinking"] != nil {
				t.Errorf("OpenAI body = %v; want its own extra fields only, replacing max_completion_tokens", body)
			}
		case providertest.FormatAnthropic:
			th, _ := body["thinking"].(map[string]any)
			if th["budget_tokens"] != 1024.0 || body["reasoning_effort"] != nil {
				t.Errorf("Anthropic body = %v; want thinking only", body)
			}
		}
	}
}

// TestFallbackAcrossFormatsMidLoop continues a tool loop begun on an
// OpenAI-format target on an Anthropic-format one: the OpenAI call ids,
// the image and the JSON schema all cross over.
func TestFallbackAcrossFormatsMidLoop(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "chat", true: "stream"}[stream], func(t *testing.T) {
			srv := newServer(t)
			srv.Script("gpt-4o", providertest.CallTools(providertest.ToolCall{ID: "call_abc", Name: "get_weather", Arguments: `{"city":"Paris"}`}))
			srv.SetDefault("claude-3-5-sonnet", providertest.OK(`{"city":"Paris","temp_c":18}`))
			c := build(t, builder(srv).Model("openai/gpt-4o").Fallback("anthropic/claude-3-5-sonnet"))
			req := client.ChatRequest{
				Messages: []client.Message{
					client.System("Answer in JSON."),
					client.UserParts(client.TextPart("Weather where this photo was taken?"), client.ImageData("image/jpeg", []byte("jpeg bytes"))),
				},
				Tools:          []client.Tool{weatherTool},
				ResponseFormat: client.JSONSchema("weather", jsonSchema, true),
				Header:         http.Header{"X-Trace-Id": {"loop-1"}},
			}
			first, err := c.Chat(context.Background(), req)
			if err != nil || first.Provider != "openai" || len(first.ToolCalls) != 1 {
				t.Fatalf("first step = %+v, %v; want a tool call from openai", first, err)
			}
			srv.SetDefault("gpt-4o", providertest.Unavailable()) // the primary goes down mid-loop
			req.Messages = append(req.Messages, first.Message(), client.ToolResult(first.ToolCalls[0].ID, `{"temp_c":18,"sky":"clear"}`))

			var content, provider string
			if stream {
				s, err := c.Stream(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				for s.Next() {
					content += s.Delta()
				}
				s.Close()
				if s.Err() != nil || s.ToolCalls() != nil {
					t.Fatalf("stream err %v calls %v", s.Err(), s.ToolCalls())
				}
				provider = s.Provider()
			} else {
				resp, err := c.Chat(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if resp.ToolCalls != nil || resp.FinishReason != "stop" {
					t.Errorf("answer calls %v finish %q; want the JSON answer only", resp.ToolCalls, resp.FinishReason)
				}
				content, provider = resp.Content, resp.Provider
			}
			if provider != "anthropic" || content != `{"city":"Paris","temp_c":18}` {
				t.Errorf("second step = %q from %s; want the JSON from anthropic", content, provider)
			}
			var last providertest.Request
			for _, r := range srv.Received() {
				if r.Header.Get("X-Trace-Id") != "loop-1" {
					t.Errorf("a %s attempt lacked the call's header", r.Format)
				}
				last = r
			}
			if last.Format != providertest.FormatAnthropic || last.Images != 1 ||
				!reflect.DeepEqual(last.ToolResults, []providertest.ToolResult{{CallID: "call_abc", Content: `{"temp_c":18,"sky":"clear"}`}}) ||
				len(last.ToolCalls) != 1 || last.ToolCalls[0].ID != "call_abc" || last.ToolCalls[0].Arguments != `{"city":"Paris"}` {
				t.Errorf("Anthropic request: format %s images %d calls %+v results %+v; want the OpenAI turn translated", last.Format, last.Images, last.ToolCalls, last.ToolResults)
			}
			body := bodyOf(t, last)
			if body["system"] != "Answer in JSON." || !reflect.DeepEqual(last.Tools, []string{"get_weather", "weather"}) || last.ToolChoice != "required" {
				t.Errorf("Anthropic request: system %v tools %v choice %q; want the system prompt, the tool and the answer tool, any", body["system"], last.Tools, last.ToolChoice)
			}
		})
	}
}

func TestValidationNamesEveryField(t *testing.T) {
	tests := []struct {
		name string
		req  client.ChatRequest
		want []string
	}{
		{"bad schema, unknown choice", client.ChatRequest{Messages: []client.Message{client.User("hi")},
			Tools:      []client.Tool{{Name: "a", Parameters: json.RawMessage(`{"type":"string"}`)}, {Name: "b", Parameters: json.RawMessage(`{"type":`)}},
			ToolChoice: "c"},
			[]string{"Tools[0].Parameters", "Tools[1].Parameters", "ToolChoice"}},
		{"tool result without call id", client.ChatRequest{Messages: []client.Message{client.User("hi"), {Role: client.RoleTool, Content: "42"}}},
			[]string{"Messages[1].ToolCallID"}},
		{"content and parts", client.ChatRequest{Messages: []client.Message{{Role: client.RoleUser, Content: "hi", Parts: []client.Part{client.TextPart("x")}}}},
			[]string{"Messages[0]", "both Content and Parts"}},
		{"image without media type", client.ChatRequest{Messages: []client.Message{client.UserParts(client.ImageData("", []byte{1}), client.ImageURL("data:;base64,AAAA"))}},
			[]string{"Messages[0].Parts[0].Image.MediaType", "Messages[0].Parts[1].Image.URL"}},
		{"image detail", client.ChatRequest{Messages: []client.Message{client.UserParts(client.Part{Image: &client.Image{URL: "https://example.com/a.png", Detail: "medium"}})}},
			[]string{`Messages[0].Parts[0].Image.Detail = "medium"`}},
		{"tool error on a user message", client.ChatRequest{Messages: []client.Message{{Role: client.RoleUser, Content: "hi", ToolError: true}}},
			[]string{"Messages[0].ToolError"}},
		{"tool names", client.ChatRequest{Messages: []client.Message{client.User("hi")}, Tools: []client.Tool{{Name: "has space"}, {Name: "x"}, {Name: "x"}}},
			[]string{"Tools[0].Name", "Tools[2].Name"}},
		{"response format", client.ChatRequest{Messages: []client.Message{client.User("hi")}, ResponseFormat: &client.ResponseFormat{Type: "xml"}},
			[]string{"ResponseFormat.Type"}},
		{"schema missing", client.ChatRequest{Messages: []client.Message{client.User("hi")}, ResponseFormat: &client.ResponseFormat{Type: "json_schema"}},
			[]string{"ResponseFormat.Schema"}},
		{"calls on a user message, bad arguments", client.ChatRequest{Messages: []client.Message{
			{Role: client.RoleUser, Content: "hi", ToolCalls: []client.ToolCall{{ID: "1", Name: "f"}}},
			{Role: client.RoleAssistant, ToolCalls: []client.ToolCall{{Name: "f", Arguments: json.RawMessage(`{`)}}}}},
			[]string{"Messages[0].ToolCalls", "Messages[1].ToolCalls[0].ID", "Messages[1].ToolCalls[0].Arguments"}},
		{"extra and header", client.ChatRequest{Messages: []client.Message{client.User("hi")},
			Extra:  map[string]map[string]any{"openai": {"model": "other", "f": func() {}}},
			Header: http.Header{"X-Bad": {"a\r\nb"}}},
			[]string{`Extra["openai"]["model"]`, `Extra["openai"]["f"]`, `Header["X-Bad"]`}},
	}
	for _, f := range formats[:2] {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				srv := newServer(t)
				c := build(t, builder(srv).Model(f.target))
				for _, call := range []func() error{
					func() error { _, err := c.Chat(context.Background(), tt.req); return err },
					func() error { _, err := c.Stream(context.Background(), tt.req); return err },
				} {
					err := call()
					var ae *aierrors.Error
					if !errors.As(err, &ae) || ae.Code != aierrors.InvalidRequest || strings.Count(err.Error(), "E1001") > 1 {
						t.Fatalf("error = %v; want one E1001 *aierrors.Error", err)
					}
					for _, w := range tt.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not name %s", err, w)
						}
					}
				}
				if n := len(srv.Received()); n != 0 {
					t.Errorf("%d requests sent; want none", n)
				}
			})
		}
	}
}

// TestGeminiCallsWithoutIDs: Gemini's OpenAI-compatible API answers tool
// calls with "id": "" (vercel/ai#7834), and streams parallel calls each
// whole at index 0. The README's tool loop must still work: each call gets
// an id of its own, answered by its result, and streamed calls stay apart.
// Before, the second Chat failed before sending ("ToolCalls[0].ID is
// empty"), and a stream fused two calls into one with arguments
// {"city":"Paris"}{"city":"Rome"}.
func TestGeminiCallsWithoutIDs(t *testing.T) {
	call := func(city string) string {
		return `{"index":0,"id":"","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"` + city + `\"}"}}`
	}
	whole := `{"id":"x","object":"chat.completion","model":"gemini-2.5-pro","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[` + call("Paris") + `,` + call("Rome") + `]}}]}`
	chunk := func(city string) string {
		return `data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[` + call(city) + `]}}]}` + "\n\n"
	}
	streamed := chunk("Paris") + chunk("Rome") + `data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\ndata: [DONE]\n\n"
	for _, stream := range []bool{false, true} {
		srv := providertest.New()
		first := providertest.Answer{Status: 200, Body: whole}
		if stream {
			first = eventStream(streamed)
		}
		srv.Script("gemini-2.5-pro", first, providertest.OK("Sunny in both"))
		c := build(t, client.NewBuilder().IgnoreEnvironment().Model("gemini/gemini-2.5-pro").
			Provider("gemini", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "AIza-test-0000000000"}).
			HTTPClient(&http.Client{Transport: srv.Transport()}).Resilience(offConfig()))
		req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris and Rome?")},
			Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}}
		var msg client.Message
		var calls []client.ToolCall
		if stream {
			s, err := c.Stream(t.Context(), req)
			if err != nil {
				t.Fatalf("Stream() error = %v", err)
			}
			readAll(s)
			s.Close()
			if s.Err() != nil {
				t.Fatalf("stream error = %v", s.Err())
			}
			msg, calls = s.Message(), s.ToolCalls()
		} else {
			resp, err := c.Chat(t.Context(), req)
			if err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			msg, calls = resp.Message(), resp.ToolCalls
		}
		if len(calls) != 2 || calls[0].ID == "" || calls[0].ID == calls[1].ID ||
			string(calls[0].Arguments) != `{"city":"Paris"}` || string(calls[1].Arguments) != `{"city":"Rome"}` {
			t.Fatalf("stream %v: calls = %+v; want Paris's and Rome's, each with an id of its own", stream, calls)
		}
		req.Messages = append(req.Messages, msg)
		for _, tc := range calls {
			req.Messages = append(req.Messages, client.ToolResult(tc.ID, `{"temp_c":20}`))
		}
		resp, err := c.Chat(t.Context(), req)
		if err != nil || resp.Content != "Sunny in both" {
			t.Fatalf("stream %v: the loop's second turn = %v, %v; want the answer", stream, resp, err)
		}
		got := srv.Received()[1]
		if len(got.ToolCalls) != 2 || len(got.ToolResults) != 2 || got.ToolResults[0].CallID != calls[0].ID || got.ToolResults[1].CallID != calls[1].ID {
			t.Errorf("stream %v: second request's calls %+v and results %+v; want each result answering its call by id", stream, got.ToolCalls, got.ToolResults)
		}
	}
}

// TestOpenAIRefusalReadsContentFilter: OpenAI answers a request it will
// not serve with message.refusal and finish_reason "stop"; the answer says
// content_filter, as Anthropic's stop_reason "refusal" does, so that a
// caller of JSON output does not parse "I'm sorry..." as its JSON. Before,
// it read "stop".
func TestOpenAIRefusalReadsContentFilter(t *testing.T) {
	const refusal = "I'm sorry, I cannot assist with that request."
	srv := providertest.New()
	srv.Script("gpt-4o", providertest.Answer{Status: 200, Body: `{"id":"c","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":null,"refusal":"` + refusal + `"}}]}`},
		eventStream(`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""}}]}`+"\n\n"+
			`data: {"choices":[{"index":0,"delta":{"refusal":"I'm sorry, I cannot assist with that request."}}]}`+"\n\n"+
			`data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n"))
	c := build(t, inProcess(srv).Model("openai/gpt-4o").Resilience(offConfig()))
	req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris, as JSON")}, ResponseFormat: client.JSONSchema("weather", jsonSchema, false)}
	resp, err := c.Chat(t.Context(), req)
	if err != nil || resp.FinishReason != "content_filter" || resp.Content != refusal {
		t.Errorf("Chat() = %+v, %v; want the refusal, finish reason content_filter", resp, err)
	}
	s, err := c.Stream(t.Context(), req)
	if err != nil {
		t.Fatalf("Stream() error = %v", err)
	}
	readAll(s)
	s.Close()
	if s.Err() != nil || s.FinishReason() != "content_filter" || s.Text() != refusal {
		t.Errorf("stream: Err = %v, FinishReason = %q, Text = %q; want the refusal, content_filter", s.Err(), s.FinishReason(), s.Text())
	}
}

// TestToolFailureOnEachFormat: a failed tool's result is flagged is_error
// for Anthropic and is its message alone for OpenAI-format providers,
// which have no such flag; ToolError on another role is refused.
func TestToolFailureOnEachFormat(t *testing.T) {
	srv := providertest.New()
	srv.SetDefault("gpt-4o", providertest.OK("ok"))
	srv.SetDefault("claude", providertest.OK("ok"))
	msgs := []client.Message{
		client.User("Weather?"),
		{Role: client.RoleAssistant, ToolCalls: []client.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{}`)}}},
		client.ToolFailure("call_1", "timed out"),
	}
	for _, target := range []string{"openai/gpt-4o", "anthropic/claude"} {
		c := build(t, inProcess(srv).Model(target).Resilience(offConfig()))
		if _, err := c.Chat(t.Context(), client.ChatRequest{Messages: msgs}); err != nil {
			t.Fatalf("%s: Chat() error = %v", target, err)
		}
		got := srv.Received()[len(srv.Received())-1]
		anthropic := strings.HasPrefix(target, "anthropic")
		if len(got.ToolResults) != 1 || got.ToolResults[0].Content != "timed out" || got.ToolResults[0].IsError != anthropic {
			t.Errorf("%s: tool results sent %+v; want the message, is_error %v", target, got.ToolResults, anthropic)
		}
		if !anthropic && strings.Contains(string(got.Body), "is_error") {
			t.Errorf("%s: body carries is_error: %s", target, got.Body)
		}
	}
	c := build(t, inProcess(srv).Model("openai/gpt-4o"))
	_, err := c.Chat(t.Context(), client.ChatRequest{Messages: []client.Message{{Role: client.RoleUser, Content: "hi", ToolError: true}}})
	if !errors.Is(err, aierrors.InvalidRequest) || !strings.Contains(err.Error(), "Messages[0].ToolError is set on a \"user\" message") {
		t.Errorf("ToolError on a user message: %v; want an invalid request naming it", err)
	}
}
