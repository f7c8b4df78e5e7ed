package providertest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ailib-go/ailib/client/providertest"
)

// A listening server answers the first request with a 503 and the second
// with a completion; any HTTP client can talk to it.
func ExampleNewServer() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("gpt-4o", providertest.Unavailable(), providertest.OK("Hello, world"))

	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`
	for range 2 {
		resp, err := srv.Client().Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		var out struct {
			Choices []struct{ Message struct{ Content string } }
			Error   struct{ Type, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(resp.StatusCode, out.Error.Type)
			continue
		}
		fmt.Println(resp.StatusCode, out.Choices[0].Message.Content)
	}
	fmt.Println("requests:", srv.Requests("gpt-4o"))
	// Output:
	// 503 server_error
	// 200 Hello, world
	// requests: 2
}

// The in-process Transport needs no socket, so it also works inside
// testing/synctest bubbles. Here it streams an Anthropic answer.
func ExampleServer_Transport() {
	srv := providertest.New()
	srv.Script("claude-sonnet-4-5", providertest.OKChunks("Hello", " from", " the stream"))
	client := &http.Client{Transport: srv.Transport()}

	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/messages", strings.NewReader(
		`{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()

	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Type  string
			Delta struct{ Text string }
		}
		json.Unmarshal([]byte(data), &ev)
		if ev.Type == "content_block_delta" {
			fmt.Printf("%q\n", ev.Delta.Text)
		}
		if ev.Type == "message_stop" {
			fmt.Println("done")
		}
	}
	// Output:
	// "Hello"
	// " from"
	// " the stream"
	// done
}

// Random faults from a seed: the same seed gives the same outcomes.
func ExampleServer_SetFaults() {
	srv := providertest.New()
	srv.SetFaults("gpt-4o", providertest.Faults{Seed: 42, Unavailable: 0.3, RateLimited: 0.2})
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`
	var statuses []int
	for range 10 {
		resp, err := srv.Client().Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	fmt.Println(statuses)
	fmt.Println(srv.Stats("gpt-4o").ByStatus)
	// Output:
	// [200 429 429 200 503 200 503 200 200 503]
	// map[200:5 429:2 503:3]
}

// A provider-side rate limit: over the cap the server answers 429 with
// Retry-After and OpenAI's x-ratelimit-* headers.
func ExampleServer_SetRateLimit() {
	srv := providertest.New()
	srv.SetRateLimit("gpt-4o", 1, 2) // 1 request/s, bursts of 2
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`
	for range 3 {
		resp, err := srv.Client().Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%d remaining=%s retry-after=%q\n", resp.StatusCode,
			resp.Header.Get("x-ratelimit-remaining-requests"), resp.Header.Get("Retry-After"))
	}
	// Output:
	// 200 remaining=1 retry-after=""
	// 200 remaining=0 retry-after=""
	// 429 remaining=0 retry-after="1"
}

// A scripted model calls a tool; the test then reads what the tool loop
// sent back. Here with plain HTTP in the OpenAI format.
func ExampleCallTools() {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script("gpt-4o",
		providertest.CallTools(providertest.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}),
		providertest.OK("18°C in Paris"))

	post := func(body string) string {
		resp, err := srv.Client().Post(srv.URL()+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var out struct {
			Choices []struct {
				Message struct {
					Content   *string
					ToolCalls []struct {
						ID       string
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
				FinishReason string `json:"finish_reason"`
			}
		}
		json.NewDecoder(resp.Body).Decode(&out)
		c := out.Choices[0]
		if len(c.Message.ToolCalls) > 0 {
			tc := c.Message.ToolCalls[0]
			return fmt.Sprintf("%s: %s %s(%s)", c.FinishReason, tc.ID, tc.Function.Name, tc.Function.Arguments)
		}
		return c.FinishReason + ": " + *c.Message.Content
	}
	fmt.Println(post(`{"model":"gpt-4o","messages":[{"role":"user","content":"Weather in Paris?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`))
	fmt.Println(post(`{"model":"gpt-4o","messages":[{"role":"user","content":"Weather in Paris?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"18C"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}`))
	last := srv.Received()[1]
	fmt.Printf("tools %v, results %+v\n", last.Tools, last.ToolResults)
	// Output:
	// tool_calls: call_1 get_weather({"city":"Paris"})
	// stop: 18°C in Paris
	// tools [get_weather], results [{CallID:call_1 Content:18C IsError:false}]
}
