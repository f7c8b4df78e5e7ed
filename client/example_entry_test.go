package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
)

// System, User and Assistant make the plain text turns of a conversation;
// each provider gets them in its own shape (Anthropic's system field, for
// one).
func ExampleSystem() {
	for _, m := range []client.Message{
		client.System("Answer in one word."),
		client.User("Best language?"),
		client.Assistant("Go."),
	} {
		fmt.Printf("%s: %q\n", m.Role, m.Content)
	}
	// Output:
	// system: "Answer in one word."
	// user: "Best language?"
	// assistant: "Go."
}

// A final assistant message is a prefill: the model goes on from it.
// Anthropic continues it in its answer; here the answer starts after "{".
func ExampleAssistant() {
	srv := providertest.New()
	srv.Script("claude-sonnet-4-5", providertest.OK(`"city": "Paris"}`))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("anthropic/claude-sonnet-4-5").
		APIKey("sk-ant-example").
		BaseURL(srv.URL() + "/v1").
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{
		client.User("Where is the Louvre? Answer in JSON."),
		client.Assistant("{"),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("{" + resp.Content)
	// Output: {"city": "Paris"}
}

// TextPart is the text of a multi-part user message, beside its images.
func ExampleTextPart() {
	m := client.UserParts(client.TextPart("What is in this picture?"), client.ImageURL("https://example.com/cat.jpg"))
	for _, p := range m.Parts {
		if p.Image != nil {
			fmt.Println("image", p.Image.URL)
			continue
		}
		fmt.Println("text", p.Text)
	}
	// Output:
	// text What is in this picture?
	// image https://example.com/cat.jpg
}

// APIKey sets the primary provider's key. A provider that echoes the key
// in its error (as some OpenAI-compatible servers do) never gets it into
// the error the caller sees.
func ExampleBuilder_APIKey() {
	srv := providertest.New()
	srv.SetDefault("gpt-4o", providertest.InvalidAPIKey())
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/gpt-4o").
		APIKey("sk-proj-example-key-0123456789").
		BaseURL(srv.URL() + "/v1").
		HTTPClient(&http.Client{Transport: srv.Transport()}).
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	fmt.Println(err)
	// Output:
	// ailib: openai/gpt-4o: E1002 authentication (HTTP 401, invalid_api_key, request req_providertest00000001): Incorrect API key provided: ***. You can find your API key at https://platform.openai.com/account/api-keys.
}

// BaseURL points the primary provider at another server that speaks its
// wire format: a proxy, a gateway, or a self-hosted OpenAI-compatible
// server (vLLM, llama.cpp, LM Studio).
func ExampleBuilder_BaseURL() {
	vllm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"cmpl-1","object":"chat.completion","model":"meta-llama/Llama-3.1-8B-Instruct",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`)
	}))
	defer vllm.Close()
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Model("openai/meta-llama/Llama-3.1-8B-Instruct").
		APIKey("token-local").
		BaseURL(vllm.URL + "/v1").
		Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Content, resp.Usage.TotalTokens)
	// Output:
	// POST /v1/chat/completions
	// Hello. 7
}
