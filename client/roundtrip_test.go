package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
)

// moreProviders is builder with deepseek, gemini and mistral on srv too.
func moreProviders(srv *providertest.Server) *client.Builder {
	return builder(srv).
		Provider("deepseek", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-test-deepseek-0123456789"}).
		Provider("gemini", client.ProviderConfig{BaseURL: srv.URL() + "/v1beta/openai", APIKey: "AIzaTest0123456789abcdef"}).
		Provider("mistral", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "mistral-test-0123456789"})
}

// toolTurnBody decodes the assistant turn of a request body sent back
// after a tool call: its reasoning_content and its calls' signatures.
func toolTurnBody(t *testing.T, body []byte) (reasoning *string, signatures []string) {
	t.Helper()
	var req struct {
		Messages []struct {
			Role             string  `json:"role"`
			ReasoningContent *string `json:"reasoning_content"`
			ToolCalls        []struct {
				ExtraContent *struct {
					Google struct {
						ThoughtSignature string `json:"thought_signature"`
					} `json:"google"`
				} `json:"extra_content"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("request body: %v", err)
	}
	for _, m := range req.Messages {
		if m.Role != "assistant" {
			continue
		}
		for _, c := range m.ToolCalls {
			sig := "-"
			if c.ExtraContent != nil {
				sig = c.ExtraContent.Google.ThoughtSignature
			}
			signatures = append(signatures, sig)
		}
		return m.ReasoningContent, signatures
	}
	t.Fatalf("no assistant turn in %s", body)
	return nil, nil
}

// TestToolTurnsKeepWhatTheProviderRequiresBack: a tool loop sends back, with
// the model's calls, what the provider requires with them, and nothing to a
// provider that does not know it: DeepSeek's reasoning_content (its
// thinking mode rejects a tool turn without it) and Gemini's thought
// signatures (gemini 3 rejects calls that lost theirs).
func TestToolTurnsKeepWhatTheProviderRequiresBack(t *testing.T) {
	deepseekAnswer := `{"id":"d1","object":"chat.completion","model":"deepseek-v4-pro","choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning_content":"The user wants the weather; call get_weather.","tool_calls":[{"index":0,"id":"call_00_x","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"completion_tokens_details":{"reasoning_tokens":12}}}`
	geminiAnswer := `{"id":"g1","object":"chat.completion","model":"gemini-3-pro-preview","choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"function-call-1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"extra_content":{"google":{"thought_signature":"CiQBjz1rX8sig"}}},{"id":"function-call-2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},"finish_reason":"tool_calls"}]}`
	tests := []struct {
		name, first, then string // first answers; then gets the conversation again
		answer            string
		wantReasoning     string // "" = no reasoning_content sent
		wantSignatures    []string
	}{
		{"deepseek to deepseek", "deepseek/deepseek-v4-pro", "deepseek/deepseek-v4-pro", deepseekAnswer,
			"The user wants the weather; call get_weather.", []string{"-"}},
		{"deepseek to openai", "deepseek/deepseek-v4-pro", "openai/gpt-4o", deepseekAnswer, "", []string{"-"}},
		{"gemini to gemini", "gemini/gemini-3-pro-preview", "gemini/gemini-3-pro-preview", geminiAnswer, "", []string{"CiQBjz1rX8sig", "-"}},
		{"gemini to openai", "gemini/gemini-3-pro-preview", "openai/gpt-4o", geminiAnswer, "", []string{"-", "-"}},
		{"openai to gemini 3", "openai/gpt-4o", "gemini/gemini-3-flash", deepseekAnswer, "", []string{"skip_thought_signature_validator"}},
		{"openai to gemini 2.5", "openai/gpt-4o", "gemini/gemini-2.5-flash", deepseekAnswer, "", []string{"-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			b := moreProviders(srv).Model(tt.first)
			if tt.then != tt.first {
				b = b.Fallback(tt.then)
			}
			c := build(t, b)
			_, firstModel, _ := strings.Cut(tt.first, "/")
			_, thenModel, _ := strings.Cut(tt.then, "/")
			srv.Script(firstModel, providertest.Answer{Body: tt.answer})
			req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris and Rome?")},
				Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}}
			resp, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			if len(resp.ToolCalls) == 0 {
				t.Fatalf("no tool calls in %+v", resp)
			}
			if tt.answer == deepseekAnswer && tt.first != "openai/gpt-4o" && resp.Reasoning != "The user wants the weather; call get_weather." {
				t.Errorf("Reasoning = %q; want DeepSeek's reasoning_content", resp.Reasoning)
			}
			req.Messages = append(req.Messages, resp.Message())
			for _, call := range resp.ToolCalls {
				req.Messages = append(req.Messages, client.ToolResult(call.ID, `{"celsius":21}`))
			}
			// The next turn goes to tt.then: the first target, out of
			// quota, passes it on.
			srv.Clear()
			if firstModel != thenModel {
				srv.Script(firstModel, providertest.InsufficientQuota())
			}
			srv.Script(thenModel, providertest.Answer{Text: "21 in both"})
			if _, err := c.Chat(context.Background(), req); err != nil {
				t.Fatalf("second Chat() error = %v", err)
			}
			var last []byte
			for _, r := range srv.Received() {
				if r.Model == thenModel {
					last = r.Body
				}
			}
			reasoning, sigs := toolTurnBody(t, last)
			got := ""
			if reasoning != nil {
				got = *reasoning
			}
			if got != tt.wantReasoning || (reasoning != nil) != (tt.wantReasoning != "") {
				t.Errorf("reasoning_content sent = %v; want %q", reasoning, tt.wantReasoning)
			}
			if !slices.Equal(sigs, tt.wantSignatures) {
				t.Errorf("signatures sent = %q; want %q", sigs, tt.wantSignatures)
			}
		})
	}
}

// TestStreamReasoningIsBounded: reasoning arrives between content events
// and is kept; a stream that reasons without end is cut at
// MaxResponseBytes like one that writes without end.
func TestStreamReasoningIsBounded(t *testing.T) {
	srv := newServer(t)
	var events []string
	for range 200 {
		events = append(events, `data: {"choices":[{"delta":{"reasoning_content":"`+strings.Repeat("hmm ", 25)+`"}}]}`)
	}
	srv.Script("deepseek-v4-pro", sseAnswer(append(events, `data: {"choices":[{"delta":{"content":"done"},"finish_reason":"stop"}]}`, "data: [DONE]")...))
	c := build(t, moreProviders(srv).
		Model("deepseek/deepseek-v4-pro").MaxResponseBytes(10_000))
	s, err := c.Stream(context.Background(), hi())
	if err == nil {
		s.Close()
		t.Fatalf("Stream() opened a stream holding 20 000 bytes of reasoning; want ErrResponseTooLarge")
	}
	if !errors.Is(err, client.ErrResponseTooLarge) {
		t.Errorf("Stream() error = %v; want ErrResponseTooLarge", err)
	}
}

// TestToolLoopFallsBackToMistral: the calls an OpenAI model made reach
// Mistral, which accepts only ids of 9 letters and digits, with each
// result still answering its call.
func TestToolLoopFallsBackToMistral(t *testing.T) {
	srv := newServer(t)
	c := build(t, moreProviders(srv).
		Model("openai/gpt-4o").Fallback("mistral/mistral-large-latest"))
	srv.Script("gpt-4o",
		providertest.CallTools(providertest.ToolCall{ID: "call_9x8KlmN0pQrStUvW", Name: "get_weather", Arguments: `{"city":"Paris"}`}),
		providertest.InsufficientQuota())
	srv.Script("mistral-large-latest", providertest.OK("21 degrees"))
	req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris?")},
		Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	resp, err := c.Chat(context.Background(), req)
	if err != nil || len(resp.ToolCalls) != 1 {
		t.Fatalf("Chat() = %+v, %v; want one tool call", resp, err)
	}
	req.Messages = append(req.Messages, resp.Message(), client.ToolResult(resp.ToolCalls[0].ID, `{"celsius":21}`))
	if resp, err = c.Chat(context.Background(), req); err != nil || resp.Provider != "mistral" {
		t.Fatalf("second Chat() = %+v, %v; want mistral's answer", resp, err)
	}
	var body struct {
		Messages []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	for _, r := range srv.Received() {
		if r.Model == "mistral-large-latest" {
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(body.Messages) != 3 || len(body.Messages[1].ToolCalls) != 1 {
		t.Fatalf("mistral got %+v; want user, assistant with one call, tool", body.Messages)
	}
	id := body.Messages[1].ToolCalls[0].ID
	if len(id) != 9 || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" || body.Messages[2].ToolCallID != id {
		t.Errorf("mistral got call id %q answered by %q; want 9 letters and digits, the same in both", id, body.Messages[2].ToolCallID)
	}
}

// TestAnthropicToolTurnKeepsItsThinking: with extended thinking (asked for
// through Extra), the Messages API requires a tool turn's thinking blocks
// back, first and with their signatures; Message keeps them for that.
func TestAnthropicToolTurnKeepsItsThinking(t *testing.T) {
	srv := newServer(t)
	c := build(t, builder(srv).Model("anthropic/claude-sonnet-4-5"))
	srv.Script("claude-sonnet-4-5", providertest.Answer{Body: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
  "content":[{"type":"thinking","thinking":"I should look up the weather.","signature":"EqQBCgIYAhIMabc"},
             {"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris"}}],
  "stop_reason":"tool_use","usage":{"input_tokens":40,"output_tokens":60}}`}, providertest.OK("18 degrees."))
	req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris?")},
		Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}},
		Extra: map[string]map[string]any{"anthropic": {"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}}}
	resp, err := c.Chat(context.Background(), req)
	if err != nil || resp.Reasoning != "I should look up the weather." {
		t.Fatalf("Chat() = %+v, %v; want the thinking as Reasoning", resp, err)
	}
	req.Messages = append(req.Messages, resp.Message(), client.ToolResult("toolu_01A", `{"celsius":18}`))
	srv.Clear()
	if _, err := c.Chat(context.Background(), req); err != nil {
		t.Fatalf("second Chat() error = %v", err)
	}
	var body struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if got := srv.Received(); len(got) != 1 || json.Unmarshal(got[0].Body, &body) != nil || len(body.Messages) != 3 {
		t.Fatalf("second request: %d received; want one with three messages", len(got))
	}
	const want = `[{"type":"thinking","thinking":"I should look up the weather.","signature":"EqQBCgIYAhIMabc"},{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris"}}]`
	if string(body.Messages[1].Content) != want {
		t.Errorf("assistant turn sent back = %s; want %s", body.Messages[1].Content, want)
	}

	// A history that lost its shape is refused before anything is sent.
	bad := resp.Message()
	bad.ThinkingBlocks = json.RawMessage(`{"type":"thinking"}`)
	req.Messages[1] = bad
	if _, err := c.Chat(context.Background(), req); err == nil || !strings.Contains(err.Error(), "Messages[1].ThinkingBlocks is not a JSON array") {
		t.Errorf("Chat() with ThinkingBlocks not an array: error = %v; want it named", err)
	}
}

// TestJSONSchemaOnAJSONModeProvider: deepseek has JSON mode but refuses
// json_schema ("This response_format type is unavailable now"); a request
// for a schema reaches it as json_object with the schema in a system
// message, so a fallback to it from a provider that has json_schema works.
func TestJSONSchemaOnAJSONModeProvider(t *testing.T) {
	srv := newServer(t)
	c := build(t, moreProviders(srv).
		Model("openai/gpt-4o").Fallback("deepseek/deepseek-v4-pro"))
	srv.Script("gpt-4o", providertest.InsufficientQuota())
	srv.Script("deepseek-v4-pro", providertest.OK(`{"t":18}`))
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Temperature in Paris?")},
		ResponseFormat: client.JSONSchema("weather", json.RawMessage(`{"type":"object","properties":{"t":{"type":"number"}},"required":["t"]}`), true)})
	if err != nil || resp.Provider != "deepseek" || resp.Content != `{"t":18}` {
		t.Fatalf("Chat() = %+v, %v; want deepseek's JSON", resp, err)
	}
	var body struct {
		Messages []struct{ Role, Content string } `json:"messages"`
		Format   struct {
			Type string `json:"type"`
		} `json:"response_format"`
	}
	for _, r := range srv.Received() {
		switch {
		case r.Model == "gpt-4o" && r.ResponseFormat != "json_schema":
			t.Errorf("openai got response_format %q; want json_schema", r.ResponseFormat)
		case r.Model == "deepseek-v4-pro":
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if body.Format.Type != "json_object" || len(body.Messages) != 2 || body.Messages[0].Role != "system" ||
		!strings.Contains(body.Messages[0].Content, `"required":["t"]`) {
		t.Errorf("deepseek got %+v; want json_object and the schema in a system message first", body)
	}
}

// TestStreamUsageIsAskedWhereDocumented: a stream asks for its usage
// chunk (stream_options.include_usage) of the providers that document
// the field, and of no other: Mistral refuses fields it does not know.
func TestStreamUsageIsAskedWhereDocumented(t *testing.T) {
	srv := newServer(t)
	want := map[string]bool{"ollama/llama3.2": true, "openai/gpt-4o": true, "mistral/mistral-small-latest": false, "groq/llama-3.3-70b-versatile": false}
	for id, asked := range want {
		model := id[strings.IndexByte(id, '/')+1:]
		answer := providertest.OK("Hi.")
		answer.Usage.PromptTokens, answer.Usage.CompletionTokens = 3, 2
		srv.Script(model, answer)
		c := build(t, moreProviders(srv).Provider("ollama", client.ProviderConfig{BaseURL: srv.URL() + "/v1"}).Model(id))
		s, err := c.Stream(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
		if err != nil {
			t.Fatalf("%s: Stream() error = %v", id, err)
		}
		for s.Next() {
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: Close() = %v", id, err)
		}
		if got := s.Usage().TotalTokens > 0; got != asked {
			t.Errorf("%s: stream usage %+v; want usage reported %v (providertest sends it when asked)", id, s.Usage(), asked)
		}
		var body struct {
			StreamOptions *struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		rs := srv.Received()
		if err := json.Unmarshal(rs[len(rs)-1].Body, &body); err != nil {
			t.Fatal(err)
		}
		if got := body.StreamOptions != nil && body.StreamOptions.IncludeUsage; got != asked {
			t.Errorf("%s: stream_options.include_usage sent %v; want %v", id, got, asked)
		}
	}
}

// TestMistralGetsAnAssistantTurnAfterToolResults: Mistral's models refuse
// a user message right after a tool result ("Unexpected role 'user' after
// role 'tool'"), on Mistral's API and wherever mistral-common validates the
// conversation (vLLM, NIM); OpenAI takes the conversation as it is.
func TestMistralGetsAnAssistantTurnAfterToolResults(t *testing.T) {
	srv := newServer(t)
	want := map[string][]string{
		"mistral/mistral-large-latest": {"user", "assistant", "tool", "assistant", "user"},
		// A self-hosted server (vLLM) is "openai" with another base URL.
		"openai/mistralai/Devstral-Small-2-24B-Instruct-2512": {"user", "assistant", "tool", "assistant", "user"},
		"openai/gpt-4o": {"user", "assistant", "tool", "user"},
	}
	for id, roles := range want {
		model := id[strings.IndexByte(id, '/')+1:]
		srv.Script(model, providertest.OK("In Rome, 24."))
		c := build(t, moreProviders(srv).Model(id))
		req := client.ChatRequest{Messages: []client.Message{
			client.User("Weather in Paris?"),
			{Role: "assistant", ToolCalls: []client.ToolCall{{ID: "abcDEF123", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}}},
			client.ToolResult("abcDEF123", `{"celsius":21}`),
			client.User("And in Rome?"),
		}, Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}}
		if _, err := c.Chat(context.Background(), req); err != nil {
			t.Fatalf("%s: Chat() error = %v", id, err)
		}
		msgs := lastSentMessages(t, srv)
		if got := rolesOf(msgs); !slices.Equal(got, roles) {
			t.Errorf("%s: sent roles %v; want %v", id, got, roles)
		}
		if len(roles) == 5 && len(msgs) == 5 && (msgs[3].Content == nil || msgs[3].Content == "") {
			t.Errorf("%s: the assistant turn after the tool result has no text; Mistral refuses one with neither text nor tool calls", id)
		}
	}
}

// TestGeminiGetsOneSystemMessageAndNamedToolResults: Gemini's
// OpenAI-compatible API keeps only the last system message it is sent
// (the caller's was lost behind the JSON-mode prompt) and refuses a tool
// result it cannot name ("function_response.name: Name cannot be empty").
func TestGeminiGetsOneSystemMessageAndNamedToolResults(t *testing.T) {
	srv := newServer(t)
	srv.Script("gemini-2.5-flash", providertest.OK(`{"fruits":["fig"]}`))
	c := build(t, moreProviders(srv).Model("gemini/gemini-2.5-flash"))
	req := client.ChatRequest{Messages: []client.Message{
		client.System("You are a pirate."),
		client.User("Weather in Paris?"),
		{Role: "assistant", ToolCalls: []client.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}}},
		client.ToolResult("call_1", `{"sky":"sunny"}`),
		client.User("Now list 3 fruits."),
	}, ResponseFormat: client.JSONObject(), Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	if _, err := c.Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat() error = %v", err)
	}
	msgs := lastSentMessages(t, srv)
	if roles := rolesOf(msgs); !slices.Equal(roles, []string{"system", "user", "assistant", "tool", "user"}) {
		t.Fatalf("roles sent %v; want one system message, first", roles)
	}
	if sys, _ := msgs[0].Content.(string); !strings.HasPrefix(sys, "You are a pirate.") || !strings.Contains(sys, "JSON") {
		t.Errorf("system message %q; want the caller's, then the JSON-mode prompt", sys)
	}
	if msgs[3].Name != "get_weather" {
		t.Errorf("tool result name %q; want get_weather", msgs[3].Name)
	}
}

// TestOpenRouterToolTurnKeepsItsReasoningDetails: OpenRouter requires a
// Gemini model's reasoning_details back, unchanged, with the turn's tool
// calls (400 "Gemini models require OpenRouter reasoning details to be
// preserved in each request"); Message keeps them, the next request to
// openrouter carries them, and a fallback to another provider does not.
func TestOpenRouterToolTurnKeepsItsReasoningDetails(t *testing.T) {
	srv := newServer(t)
	or := client.ProviderConfig{BaseURL: srv.URL() + "/api/v1", APIKey: "sk-or-v1-0123456789abcdef0123456789abcdef"}
	c := build(t, builder(srv).Provider("openrouter", or).Model("openrouter/google/gemini-3-pro-preview").Fallback("openai/gpt-4o"))
	details := `[{"type":"reasoning.encrypted","data":"CiIBjz1rX0Qm","id":"tool_get_weather_abc","format":"google-gemini-v1","index":0}]`
	srv.Script("google/gemini-3-pro-preview", providertest.Answer{Body: `{"id":"gen-1","object":"chat.completion","model":"google/gemini-3-pro-preview","choices":[{"index":0,"finish_reason":"tool_calls",
		"message":{"role":"assistant","content":null,"reasoning":"Look it up.","reasoning_details":` + details + `,
		"tool_calls":[{"id":"tool_get_weather_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}]}`},
		providertest.OK("Sunny in Paris."))
	req := client.ChatRequest{Messages: []client.Message{client.User("Weather in Paris?")},
		Tools: []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	resp, err := c.Chat(context.Background(), req)
	if err != nil || len(resp.ToolCalls) != 1 || string(resp.Message().ReasoningDetails) != details {
		t.Fatalf("Chat() = %+v, %v; want a tool call and its reasoning details in Message", resp, err)
	}
	req.Messages = append(req.Messages, resp.Message(), client.ToolResult(resp.ToolCalls[0].ID, `{"sky":"sunny"}`))
	if _, err := c.Chat(context.Background(), req); err != nil {
		t.Fatalf("second Chat() error = %v", err)
	}
	srv.SetDefault("google/gemini-3-pro-preview", providertest.Unavailable())
	if resp, err := c.Chat(context.Background(), req); err != nil || resp.Provider != "openai" {
		t.Fatalf("third Chat() = %+v, %v; want the fallback's answer", resp, err)
	}
	var sent []bool
	for _, r := range srv.Received()[1:] {
		var body struct {
			Messages []struct {
				ReasoningDetails json.RawMessage `json:"reasoning_details"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		got := string(body.Messages[1].ReasoningDetails)
		if got != "" && got != details {
			t.Errorf("%s got reasoning_details %s; want them unchanged", r.Model, got)
		}
		sent = append(sent, got != "")
		if r.Model == "gpt-4o" && got != "" {
			t.Errorf("openai got OpenRouter's reasoning_details")
		}
	}
	if len(sent) == 0 || !sent[0] {
		t.Errorf("reasoning_details sent back %v; want them in the request after the tool call", sent)
	}

	// A history that lost their shape, or put them on a user turn, is
	// refused before anything is sent.
	n := len(srv.Received())
	bad := resp.Message()
	bad.ReasoningDetails = json.RawMessage(`{"type":"reasoning.encrypted"}`)
	req.Messages[1] = bad
	if _, err := c.Chat(context.Background(), req); err == nil || !strings.Contains(err.Error(), "Messages[1].ReasoningDetails is not a JSON array") {
		t.Errorf("Chat() with ReasoningDetails not an array: error = %v; want it named", err)
	}
	req.Messages[1] = resp.Message()
	req.Messages[0].ReasoningDetails = json.RawMessage(details)
	if _, err := c.Chat(context.Background(), req); err == nil || !strings.Contains(err.Error(), `Messages[0].ReasoningDetails is set on a "user" message`) {
		t.Errorf("Chat() with ReasoningDetails on a user turn: error = %v; want it named", err)
	}
	if got := len(srv.Received()); got != n {
		t.Errorf("%d requests sent for invalid histories; want none", got-n)
	}
}

// sentMessage is a message of a request body in the OpenAI format.
type sentMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
	Name    string `json:"name"`
}

// lastSentMessages returns the messages of the last request srv received.
func lastSentMessages(t *testing.T, srv *providertest.Server) []sentMessage {
	t.Helper()
	var body struct {
		Messages []sentMessage `json:"messages"`
	}
	rs := srv.Received()
	if err := json.Unmarshal(rs[len(rs)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Messages
}

// rolesOf returns the roles of msgs, in order.
func rolesOf(msgs []sentMessage) []string {
	roles := make([]string, len(msgs))
	for i, m := range msgs {
		roles[i] = m.Role
	}
	return roles
}
