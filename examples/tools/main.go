// Command tools runs a tool loop through an AiClient whose primary target
// goes down in the middle of the loop.
//
//	go run ./examples/tools
//
// Step 1 goes to the primary, openai/gpt-4o-mini (OpenAI wire format): the model
// calls get_weather. The program runs the tool, appends the model's turn
// and the tool's result to the conversation, and sends it again; by then
// the primary is down (a simulated outage), so step 2 is answered by the
// fallback, anthropic/claude-haiku-4-5, in the Anthropic wire
// format: the OpenAI call id, the call and its result cross over as
// tool_use and tool_result blocks. A last call asks for the same answer as
// JSON that follows a schema (ResponseFormat), which Anthropic gets
// through a forced tool.
//
// With no keys it runs offline on an embedded provider
// (client/providertest) that plays both models. With OPENAI_API_KEY and
// ANTHROPIC_API_KEY set it talks to the real providers instead (the
// outage is still simulated, in the HTTP transport); -offline forces the
// embedded provider.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
)

// The models, offline and live.
var (
	primary  = "openai/gpt-4o-mini"
	fallback = "anthropic/claude-haiku-4-5"
)

func main() {
	offline := flag.Bool("offline", false, "use the embedded provider even when API keys are set")
	flag.StringVar(&primary, "primary", primary, "primary target (OpenAI format)")
	flag.StringVar(&fallback, "fallback", fallback, "fallback target (Anthropic format)")
	flag.Parse()
	live := !*offline && os.Getenv("OPENAI_API_KEY") != "" && os.Getenv("ANTHROPIC_API_KEY") != ""
	if err := run(os.Stdout, live); err != nil {
		fmt.Fprintln(os.Stderr, "tools:", err)
		os.Exit(1)
	}
}

// weatherTool is the tool the model may call.
var weatherTool = client.Tool{
	Name:        "get_weather",
	Description: "Current weather in a city: temperature in °C and sky.",
	Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","description":"City name"}},` +
		`"required":["city"]}`),
}

// getWeather is the tool itself (a fixed answer, for the demo).
func getWeather(args json.RawMessage) string {
	var in struct {
		City string `json:"city"`
	}
	if err := json.Unmarshal(args, &in); err != nil || in.City == "" {
		return `{"error":"want {\"city\": ...}"}`
	}
	out, _ := json.Marshal(map[string]any{"city": in.City, "temp_c": 18, "sky": "sunny"})
	return string(out)
}

// outage is an http.RoundTripper that answers 503 for the OpenAI-format
// routes while down is set, without sending anything: the simulated
// outage of the primary.
type outage struct {
	next http.RoundTripper
	down atomic.Bool
}

func (o *outage) RoundTrip(r *http.Request) (*http.Response, error) {
	if o.down.Load() && strings.HasSuffix(r.URL.Path, "/chat/completions") {
		if r.Body != nil {
			r.Body.Close()
		}
		body := `{"error":{"message":"The server is overloaded (simulated outage).","type":"server_error","param":null,"code":null}}`
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable", Proto: "HTTP/1.1",
			ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	}
	return o.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
func (o *outage) CloseIdleConnections() {
	if c, ok := o.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func run(w io.Writer, live bool) error {
	out := &outage{next: http.DefaultTransport.(*http.Transport).Clone()}
	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	b := client.NewBuilder().
		Model(primary).
		Fallback(fallback).
		Resilience(cfg).
		HTTPClient(&http.Client{Transport: out})

	var srv *providertest.Server // nil in live mode
	if live {
		fmt.Fprintf(w, "Live: %s, falling back to %s (keys from the environment).\n\n", primary, fallback)
	} else {
		srv = providertest.NewServer()
		defer srv.Close()
		script(srv)
		fmt.Fprintf(w, "Offline: an embedded provider (client/providertest) plays %s and %s.\n\n", primary, fallback)
		b.IgnoreEnvironment().
			Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-demo-openai-0000000000"}).
			Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-demo-0000000000"})
	}
	c, err := b.Build()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	req := client.ChatRequest{
		Messages: []client.Message{
			client.System("You answer questions about the weather. Use the get_weather tool; never guess."),
			client.User("What's the weather in Paris right now?"),
		},
		Tools:     []client.Tool{weatherTool},
		MaxTokens: 300,
	}
	for step := 1; step <= 4; step++ {
		resp, err := c.Chat(ctx, req)
		if err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		from := resp.Provider + "/" + resp.Model
		if len(resp.ToolCalls) == 0 {
			fmt.Fprintf(w, "step %d: %s answered after %s [%s]:\n        %s\n", step, from, requests(resp.Attempts), resp.FinishReason, resp.Content)
			break
		}
		req.Messages = append(req.Messages, resp.Message()) // the model's turn, its calls included
		for _, call := range resp.ToolCalls {
			result := getWeather(call.Arguments)
			fmt.Fprintf(w, "step %d: %s called %s(%s) as %s [%s]\n", step, from, call.Name, call.Arguments, call.ID, resp.FinishReason)
			fmt.Fprintf(w, "        the program ran it: %s\n", result)
			req.Messages = append(req.Messages, client.ToolResult(call.ID, result))
		}
		if !out.down.Swap(true) {
			fmt.Fprintf(w, "        -- the primary goes down: the next step must fall back, mid-loop --\n")
		}
	}
	if srv != nil {
		// What the fallback received: the OpenAI turn in Anthropic's shape.
		last := srv.Received()[len(srv.Received())-1]
		for _, tc := range last.ToolCalls {
			fmt.Fprintf(w, "        %s received the call %s as a tool_use block\n", last.Format, tc.ID)
		}
		for _, tr := range last.ToolResults {
			fmt.Fprintf(w, "        and its result as a tool_result block for %s\n", tr.CallID)
		}
	}

	// JSON output with a schema, still through the fallback.
	req.Messages = append(req.Messages, client.User("Now give me that as JSON."))
	req.ResponseFormat = client.JSONSchema("weather_report", json.RawMessage(`{"type":"object",`+
		`"properties":{"city":{"type":"string"},"temp_c":{"type":"number"},"umbrella":{"type":"boolean"}},`+
		`"required":["city","temp_c","umbrella"],"additionalProperties":false}`), true)
	resp, err := c.Chat(ctx, req)
	if err != nil {
		return fmt.Errorf("JSON output: %w", err)
	}
	var report struct {
		City     string  `json:"city"`
		TempC    float64 `json:"temp_c"`
		Umbrella bool    `json:"umbrella"`
	}
	if err := json.Unmarshal([]byte(resp.Content), &report); err != nil {
		return fmt.Errorf("JSON output is not the schema's object: %w (%q)", err, resp.Content)
	}
	fmt.Fprintf(w, "JSON:   %s/%s answered %s\n        decoded: city=%s temp_c=%g umbrella=%v (tool calls surfaced: %d)\n",
		resp.Provider, resp.Model, resp.Content, report.City, report.TempC, report.Umbrella, len(resp.ToolCalls))
	return nil
}

// script sets up the embedded provider: gpt-4o calls get_weather once;
// Claude answers from the tool's result, then with the JSON report (which
// the embedded provider sends as the forced tool's input, as Claude would).
func script(srv *providertest.Server) {
	_, gpt, _ := strings.Cut(primary, "/")
	_, claude, _ := strings.Cut(fallback, "/")
	srv.Script(gpt, providertest.CallTools(providertest.ToolCall{ID: "call_w3aTh3r", Name: "get_weather", Arguments: `{"city":"Paris"}`}))
	srv.Script(claude,
		providertest.OK("It is 18°C and sunny in Paris right now."),
		providertest.OK(`{"city":"Paris","temp_c":18,"umbrella":false}`))
}

func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}
