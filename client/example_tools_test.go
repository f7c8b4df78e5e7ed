package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
)

// A tool loop: the model calls a tool, the program runs it and sends the
// result back with ToolResult, and the model answers.
func ExampleToolResult() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("gpt-4o",
		providertest.CallTools(providertest.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}),
		providertest.OK("It is 18°C and sunny in Paris."))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	req := client.ChatRequest{
		Messages: []client.Message{client.User("What's the weather in Paris?")},
		Tools: []client.Tool{{
			Name:        "get_weather",
			Description: "Current weather in a city",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
		}},
	}
	for {
		resp, err := c.Chat(context.Background(), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		if len(resp.ToolCalls) == 0 {
			fmt.Println(resp.Content)
			return
		}
		req.Messages = append(req.Messages, resp.Message()) // the assistant turn, its calls included
		for _, call := range resp.ToolCalls {
			var args struct{ City string }
			_ = json.Unmarshal(call.Arguments, &args)
			fmt.Printf("%s(%s) [%s]\n", call.Name, args.City, resp.FinishReason)
			req.Messages = append(req.Messages, client.ToolResult(call.ID, `{"temp_c":18,"sky":"sunny"}`))
		}
	}
	// Output:
	// get_weather(Paris) [tool_calls]
	// It is 18°C and sunny in Paris.
}

// A tool that failed: ToolFailure tells the model so, and Anthropic's
// models get the result flagged is_error, so they correct the call or say
// it failed rather than read the message as data.
func ExampleToolFailure() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("claude-sonnet-4-5",
		providertest.CallTools(providertest.ToolCall{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Pariss"}`}),
		providertest.OK("I could not find a city named Pariss; did you mean Paris?"))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("anthropic/claude-sonnet-4-5").
		BaseURL(srv.URL() + "/v1").
		APIKey("sk-ant-example").
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	req := client.ChatRequest{
		Messages: []client.Message{client.User("What's the weather in Pariss?")},
		Tools:    []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
	}
	resp, err := c.Chat(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Messages = append(req.Messages, resp.Message())
	for _, call := range resp.ToolCalls {
		req.Messages = append(req.Messages, client.ToolFailure(call.ID, "unknown city: Pariss"))
	}
	if resp, err = c.Chat(context.Background(), req); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content)
	fmt.Printf("sent: %+v\n", srv.Received()[1].ToolResults)
	// Output:
	// I could not find a city named Pariss; did you mean Paris?
	// sent: [{CallID:toolu_1 Content:unknown city: Pariss IsError:true}]
}

// Message turns an answer into the assistant turn to append to the
// conversation.
func ExampleChatResponse_Message() {
	resp := &client.ChatResponse{Content: "Let me check.", ToolCalls: []client.ToolCall{{ID: "call_1", Name: "now", Arguments: json.RawMessage(`{}`)}}}
	m := resp.Message()
	fmt.Println(m.Role, m.Content, m.ToolCalls[0].Name)
	// Output: assistant Let me check. now
}

// JSON output that follows a schema. Anthropic has no response_format:
// ailib asks through a forced tool and returns its input as Content.
func ExampleJSONSchema() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("claude-3-5-haiku-latest", providertest.OK(`{"city": "Paris", "temp_c": 18}`))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("anthropic/claude-3-5-haiku-latest").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	resp, err := c.Chat(context.Background(), client.ChatRequest{
		Messages: []client.Message{client.User("Weather in Paris?")},
		ResponseFormat: client.JSONSchema("weather", json.RawMessage(`{"type":"object",
			"properties":{"city":{"type":"string"},"temp_c":{"type":"number"}},
			"required":["city","temp_c"],"additionalProperties":false}`), true),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if resp.FinishReason == "content_filter" { // the model refused
		fmt.Println("refused:", resp.Content)
		return
	}
	var w struct {
		City  string  `json:"city"`
		TempC float64 `json:"temp_c"`
	}
	err = json.Unmarshal([]byte(resp.Content), &w)
	fmt.Println(w.City, w.TempC, err, resp.FinishReason, len(resp.ToolCalls))
	fmt.Println("sent as a forced tool:", srv.Received()[0].ToolChoice)
	// Output:
	// Paris 18 <nil> stop 0
	// sent as a forced tool: weather
}

// JSON mode: any JSON object. OpenAI-format providers get
// response_format {"type":"json_object"}.
func ExampleJSONObject() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("gpt-4o", providertest.OK(`{"answer":42}`))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	resp, err := c.Chat(context.Background(), client.ChatRequest{
		Messages:       []client.Message{client.User("Reply in JSON: the answer?")},
		ResponseFormat: client.JSONObject(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content, srv.Received()[0].ResponseFormat)
	// Output: {"answer":42} json_object
}

// Images go with text in a user message of parts: by URL, or as bytes
// with their media type.
func ExampleUserParts() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("claude-3-5-haiku-latest", providertest.OK("Two cats."))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("anthropic/claude-3-5-haiku-latest").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	png := []byte("\x89PNG\r\n\x1a\n...") // an image's bytes, e.g. from os.ReadFile
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{
		client.UserParts(
			client.TextPart("What is in these pictures?"),
			client.ImageURL("https://example.com/cat.jpg"),
			client.ImageData("image/png", png),
		),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content, srv.Received()[0].Images, "images sent")
	// Output: Two cats. 2 images sent
}

// An image given by its bytes needs its media type: a request without it
// fails before anything is sent.
func ExampleImageData() {
	srv := providertest.New()
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{
		client.UserParts(client.TextPart("What is this?"), client.ImageData("", []byte{0xff, 0xd8})),
	}})
	fmt.Println(err)
	// Output: ailib: E1001 invalid_request: client: invalid request: ChatRequest.Messages[0].Parts[1].Image.MediaType is empty: an image given by Data needs its media type, e.g. "image/png"
}

// A stream may carry tool calls and no text: read it to the end, then take
// the assembled calls.
func ExampleChatStream_ToolCalls() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("claude-3-5-haiku-latest", providertest.CallTools(
		providertest.ToolCall{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		providertest.ToolCall{ID: "toolu_2", Name: "get_weather", Arguments: `{"city":"Rome"}`}))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("anthropic/claude-3-5-haiku-latest").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	s, err := c.Stream(context.Background(), client.ChatRequest{
		Messages: []client.Message{client.User("Weather in Paris and Rome?")},
		Tools:    []client.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for s.Next() {
		fmt.Print(s.Delta())
	}
	if err := s.Err(); err != nil {
		fmt.Println(err)
		return
	}
	for _, call := range s.ToolCalls() {
		fmt.Println(call.ID, call.Name, string(call.Arguments))
	}
	fmt.Println(s.FinishReason())
	// Output:
	// toolu_1 get_weather {"city":"Paris"}
	// toolu_2 get_weather {"city":"Rome"}
	// tool_calls
}

// Header adds headers to every attempt of one call; Extra adds
// provider-specific fields, each only to that provider's targets.
func ExampleChatRequest_perRequestOptions() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("gpt-4o", providertest.InsufficientQuota()) // the call falls back to Anthropic
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		Fallback("anthropic/claude-3-5-haiku-latest").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	_, err = c.Chat(context.Background(), client.ChatRequest{
		Messages: []client.Message{client.User("Hi")},
		Header:   http.Header{"X-Trace-Id": {"trace-42"}},
		Extra: map[string]map[string]any{
			"openai":    {"reasoning_effort": "low"},
			"anthropic": {"thinking": map[string]any{"type": "enabled", "budget_tokens": 1024}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range srv.Received() {
		var body map[string]any
		_ = json.Unmarshal(r.Body, &body)
		fmt.Println(r.Format, r.Header.Get("X-Trace-Id"), body["reasoning_effort"], body["thinking"])
	}
	// Output:
	// openai trace-42 low <nil>
	// anthropic trace-42 <nil> map[budget_tokens:1024 type:enabled]
}

// Message gives a streamed answer, text and calls, as the assistant turn
// to append before the tool results.
func ExampleChatStream_Message() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("gpt-4o", providertest.Answer{Status: http.StatusOK, Text: "Let me check.",
		ToolCalls: []providertest.ToolCall{{ID: "call_7", Name: "get_time"}}})
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}

	s, err := c.Stream(context.Background(), client.ChatRequest{
		Messages: []client.Message{client.User("What time is it?")},
		Tools:    []client.Tool{{Name: "get_time", Description: "The current time"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		fmt.Println(err)
		return
	}
	m := s.Message()
	fmt.Printf("%s %q %s %s\n", m.Role, m.Content, m.ToolCalls[0].ID, m.ToolCalls[0].Name)
	// Output: assistant "Let me check." call_7 get_time
}

// ImageURL takes an https:// URL or a base64 data: URL; anything else is
// refused before sending.
func ExampleImageURL() {
	srv := providertest.New()
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("anthropic/claude-3-5-haiku-latest").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-openai"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-example"}).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{
		client.UserParts(client.ImageURL("file:///tmp/cat.png"), client.ImageURL("data:image/bmp;base64,Qk0=")),
	}})
	fmt.Println(err)
	// Output: ailib: E1001 invalid_request: client: invalid request: ChatRequest.Messages[0].Parts[0].Image.URL = "file:///tmp/cat.png": want an https:// URL or a base64 data: URL; ChatRequest.Messages[0].Parts[1].Image.URL is a data: URL of type "image/bmp": want image/png, image/jpeg, image/gif or image/webp
}

// A reasoning model's answer: the reasoning comes apart from the text, in
// ChatResponse.Reasoning. Message keeps it, with the calls' thought
// signatures, so that a tool loop sends back what DeepSeek's thinking mode
// and Gemini 3 require with a tool turn (and nothing to other providers).
func ExampleChatResponse_Reasoning() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("deepseek-v4-pro", providertest.Answer{Body: `{"id":"d1","object":"chat.completion","model":"deepseek-v4-pro",
  "choices":[{"index":0,"message":{"role":"assistant","content":"9.8 is greater.","reasoning_content":"Compare 9.11 and 9.80: 80 > 11."},"finish_reason":"stop"}],
  "usage":{"prompt_tokens":18,"completion_tokens":40,"total_tokens":58,"completion_tokens_details":{"reasoning_tokens":30}}}`})
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("deepseek/deepseek-v4-pro").
		Provider("deepseek", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-deepseek"}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("9.11 or 9.8: which is greater?")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("reasoning:", resp.Reasoning)
	fmt.Println("answer:", resp.Content)
	fmt.Println("kept in the turn:", resp.Message().Reasoning == resp.Reasoning)
	// Output:
	// reasoning: Compare 9.11 and 9.80: 80 > 11.
	// answer: 9.8 is greater.
	// kept in the turn: true
}

// A reasoning model's stream: the reasoning arrives before the text and
// is kept apart from it.
func ExampleChatStream_Reasoning() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("deepseek-v4-pro", providertest.Answer{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: "" +
		`data: {"id":"d1","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"80 > 11, "}}]}` + "\n\n" +
		`data: {"id":"d1","choices":[{"index":0,"delta":{"reasoning_content":"so 9.8."}}]}` + "\n\n" +
		`data: {"id":"d1","choices":[{"index":0,"delta":{"content":"9.8 is greater."},"finish_reason":"stop"}]}` + "\n\n" +
		"data: [DONE]\n\n"})
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("deepseek/deepseek-v4-pro").
		Provider("deepseek", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-deepseek"}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Stream(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("9.11 or 9.8: which is greater?")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	for s.Next() {
		fmt.Println("text:", s.Delta())
	}
	fmt.Println("reasoning:", s.Reasoning())
	// Output:
	// text: 9.8 is greater.
	// reasoning: 80 > 11, so 9.8.
}

// Showing a model think as it streams: with StreamReasoning, Next also
// stops at each piece of reasoning, and Stream returns at the first one
// rather than after all of it.
func ExampleChatStream_ReasoningDelta() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("deepseek-reasoner", providertest.Answer{Reasoning: "80 > 11, so 9.8.", Text: "9.8 is greater."})
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("deepseek/deepseek-reasoner").
		Provider("deepseek", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-example-deepseek"}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Stream(context.Background(), client.ChatRequest{
		Messages:        []client.Message{client.User("9.11 or 9.8: which is greater?")},
		StreamReasoning: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	var thinking, text []string
	for s.Next() {
		if r := s.ReasoningDelta(); r != "" {
			thinking = append(thinking, r) // an app would show it greyed, as it comes
		}
		if d := s.Delta(); d != "" {
			text = append(text, d)
		}
	}
	if s.Err() != nil {
		fmt.Println(s.Err())
		return
	}
	fmt.Printf("thinking: %q\n", thinking)
	fmt.Printf("text: %q\n", text)
	// Output:
	// thinking: ["80" " >" " 11," " so" " 9.8."]
	// text: ["9.8" " is" " greater."]
}
