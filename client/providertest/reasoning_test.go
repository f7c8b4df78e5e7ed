package providertest

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current rendering")

// rawPost sends body and returns the status and the raw bytes of the
// response body, with the read error that ended it ("" at a clean EOF).
func rawPost(t *testing.T, c *http.Client, url, body string) (int, string, string) {
	t.Helper()
	resp, err := post(t.Context(), t, c, url, body)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	errText := ""
	if err != nil {
		errText = "read error"
	}
	return resp.StatusCode, string(b), errText
}

// withoutReasoning are answers without Reasoning, one of each kind, whose
// rendering must not change.
func withoutReasoning() []struct {
	name string
	a    Answer
} {
	weather := ToolCall{Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`}
	return []struct {
		name string
		a    Answer
	}{
		{"text", OK("Hello there, world")},
		{"empty", OK("")},
		{"chunks", OKChunks("Hel", "lo", "!")},
		{"tools", CallTools(weather, ToolCall{Name: "get_time"})},
		{"text+tools", Answer{Status: http.StatusOK, Text: "Let me check.", ToolCalls: []ToolCall{weather}}},
		{"usage", Answer{Text: "Some answer", Usage: Usage{PromptTokens: 10, CompletionTokens: 5, CachedPromptTokens: 3, ReasoningTokens: 2}}},
		{"cut", Answer{Text: "one two three four", CutAfter: 2}},
		{"cut at start", Answer{Text: "one two", CutAfter: CutAtStart}},
		{"cut past end", Answer{Text: "one two", CutAfter: 9}},
		{"error", Answer{Text: "one two three four", ErrorAfter: 3}},
		{"tools cut", Answer{Text: "Checking", ToolCalls: []ToolCall{weather}, CutAfter: 3}},
	}
}

// TestNoReasoningUnchanged: answers without Reasoning render byte for byte
// as they did before Reasoning existed (testdata/no_reasoning.golden was
// captured from that rendering), and say nothing of reasoning or thinking.
func TestNoReasoningUnchanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // a fixed clock: "created" is stable
		srv := New()
		c := srv.Client()
		var out strings.Builder
		for _, tt := range withoutReasoning() {
			for _, route := range []struct{ name, path, body string }{
				{"openai", "/v1/chat/completions", openAIBody("m", false)},
				{"openai stream", "/v1/chat/completions", openAIBody("m", true)},
				{"openai stream usage", "/v1/chat/completions",
					`{"model":"m","messages":[{"role":"user","content":"Hi there"}],"stream":true,"stream_options":{"include_usage":true}}`},
				{"anthropic", "/v1/messages", anthropicBody("m", false)},
				{"anthropic stream", "/v1/messages", anthropicBody("m", true)},
			} {
				srv.Script("m", tt.a)
				st, body, errText := rawPost(t, c, srv.URL()+route.path, route.body)
				fmt.Fprintf(&out, "=== %s / %s: %d %s\n%s\n", tt.name, route.name, st, errText, body)
				if strings.Contains(body, "reasoning_content") || strings.Contains(body, "thinking") || strings.Contains(body, "signature") {
					t.Errorf("%s / %s: body mentions reasoning: %s", tt.name, route.name, body)
				}
			}
		}
		golden := filepath.Join("testdata", "no_reasoning.golden")
		if *updateGolden {
			if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.String(); got != string(want) {
			t.Errorf("rendering without Reasoning changed:\n%s", firstDiff(got, string(want)))
		}
	})
}

// firstDiff shows where got and want first differ, line by line.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return "lengths differ"
}

// describe renders a stream event compactly for comparison. OpenAI chunks
// show their delta's raw JSON (so its exact keys are checked) and finish
// reason; Anthropic events their index and block or delta type and text.
func describe(t *testing.T, e sseEvent) string {
	t.Helper()
	if e.Name == "" { // OpenAI
		if e.Data == "[DONE]" {
			return "[DONE]"
		}
		var c struct {
			Error   json.RawMessage
			Choices []struct {
				Delta        json.RawMessage
				FinishReason *string `json:"finish_reason"`
			}
			Usage *struct {
				CompletionTokens        int `json:"completion_tokens"`
				CompletionTokensDetails struct {
					ReasoningTokens int `json:"reasoning_tokens"`
				} `json:"completion_tokens_details"`
			}
		}
		if err := json.Unmarshal([]byte(e.Data), &c); err != nil {
			t.Fatalf("chunk is not JSON: %s: %v", e.Data, err)
		}
		switch {
		case c.Error != nil:
			return "error"
		case len(c.Choices) == 0 && c.Usage != nil:
			return fmt.Sprintf("usage %d/%d", c.Usage.CompletionTokens, c.Usage.CompletionTokensDetails.ReasoningTokens)
		case len(c.Choices) != 1:
			t.Fatalf("chunk has %d choices: %s", len(c.Choices), e.Data)
		case c.Choices[0].FinishReason != nil:
			return "finish " + *c.Choices[0].FinishReason
		}
		return "delta " + string(c.Choices[0].Delta)
	}
	var ev struct {
		Type         string
		Index        int
		ContentBlock struct{ Type, Text, Thinking, Signature string } `json:"content_block"`
		Delta        struct {
			Type, Text, Thinking, Signature string
			PartialJSON                     string `json:"partial_json"`
			StopReason                      string `json:"stop_reason"`
		}
	}
	if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
		t.Fatalf("event %s is not JSON: %s: %v", e.Name, e.Data, err)
	}
	if ev.Type != e.Name {
		t.Errorf("event %q carries type %q", e.Name, ev.Type)
	}
	switch e.Name {
	case "content_block_start":
		b := ev.ContentBlock
		return fmt.Sprintf("start %d %s %q %q %q", ev.Index, b.Type, b.Text, b.Thinking, b.Signature)
	case "content_block_delta":
		d := ev.Delta
		switch d.Type {
		case "signature_delta":
			return fmt.Sprintf("delta %d signature_delta", ev.Index) // the value is checked apart
		case "input_json_delta":
			return fmt.Sprintf("delta %d %s %q", ev.Index, d.Type, d.PartialJSON)
		case "thinking_delta":
			return fmt.Sprintf("delta %d %s %q", ev.Index, d.Type, d.Thinking)
		}
		return fmt.Sprintf("delta %d %s %q", ev.Index, d.Type, d.Text)
	case "content_block_stop":
		return fmt.Sprintf("stop %d", ev.Index)
	case "message_delta":
		return "message_delta " + ev.Delta.StopReason
	}
	return e.Name
}

// streamOf posts a stream request for model m and returns its events
// described, its raw events, and the read error that ended it.
func streamOf(t *testing.T, tg target, anthropic bool, body string) ([]string, []sseEvent, error) {
	t.Helper()
	path := "/v1/chat/completions"
	if anthropic {
		path = "/v1/messages"
	}
	resp, err := post(t.Context(), t, tg.client, tg.srv.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; want 200", resp.StatusCode)
	}
	events, _, err := readSSE(resp.Body)
	var got []string
	for _, e := range events {
		got = append(got, describe(t, e))
	}
	return got, events, err
}

func checkEvents(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// trickyReasoning has leading, trailing and repeated spaces, a newline and
// a tab: its pieces must still concatenate to it.
const trickyReasoning = "  First, 9.11 < 9.8?\nCompare  the tenths:\t1 < 8. So yes. "

func TestReasoningOpenAIStream(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", Answer{Reasoning: "I think so.", Text: "Yes."})
			got, _, err := streamOf(t, tg, false, openAIBody("m", true))
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, got, []string{
				`delta {"role":"assistant","content":""}`, // the role chunk, as without reasoning
				`delta {"reasoning_content":"I"}`,
				`delta {"reasoning_content":" think"}`,
				`delta {"reasoning_content":" so."}`,
				`delta {"content":"Yes."}`,
				"finish stop",
				"[DONE]",
			})

			// Any reasoning: the pieces concatenate to it and all come
			// before the first content; usage counts them.
			tg.srv.Script("m", Answer{Reasoning: trickyReasoning, Text: "Yes, 9.8 is bigger."})
			got, events, err := streamOf(t, tg, false,
				`{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}`)
			if err != nil {
				t.Fatal(err)
			}
			var reasoning, text strings.Builder
			for i, e := range events {
				var c struct {
					Choices []struct {
						Delta struct {
							Role             string
							Content          *string
							ReasoningContent *string `json:"reasoning_content"`
						}
					}
				}
				json.Unmarshal([]byte(e.Data), &c)
				if len(c.Choices) == 0 {
					continue
				}
				d := c.Choices[0].Delta
				if i > 0 && d.Role != "" {
					t.Errorf("chunk %d carries the role again: %s", i, e.Data)
				}
				if d.ReasoningContent != nil {
					if d.Content != nil || text.Len() > 0 {
						t.Errorf("chunk %d: reasoning with or after content: %s", i, e.Data)
					}
					if *d.ReasoningContent == "" {
						t.Errorf("chunk %d: empty reasoning piece", i)
					}
					reasoning.WriteString(*d.ReasoningContent)
				}
				if d.Content != nil {
					text.WriteString(*d.Content)
				}
			}
			if reasoning.String() != trickyReasoning || text.String() != "Yes, 9.8 is bigger." {
				t.Errorf("reasoning, text = %q, %q; want %q, %q", reasoning.String(), text.String(), trickyReasoning, "Yes, 9.8 is bigger.")
			}
			nr, nt := len(strings.Fields(trickyReasoning)), 4
			if want := fmt.Sprintf("usage %d/%d", nr+nt, nr); got[len(got)-2] != want {
				t.Errorf("usage chunk = %q; want %q", got[len(got)-2], want)
			}

			// With tool calls and no text: the role chunk has no content,
			// as without reasoning, and the reasoning comes before the calls.
			tg.srv.Script("m", Answer{Reasoning: "Need weather.", ToolCalls: []ToolCall{{ID: "call_1", Name: "w", Arguments: `{"c":"P"}`}}})
			got, _, err = streamOf(t, tg, false, openAIBody("m", true))
			if err != nil {
				t.Fatal(err)
			}
			checkEvents(t, got, []string{
				`delta {"role":"assistant"}`,
				`delta {"reasoning_content":"Need"}`,
				`delta {"reasoning_content":" weather."}`,
				`delta {"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"w","arguments":""}}]}`,
				`delta {"tool_calls":[{"index":0,"function":{"arguments":"{\"c"}}]}`,
				`delta {"tool_calls":[{"index":0,"function":{"arguments":"\":\""}}]}`,
				`delta {"tool_calls":[{"index":0,"function":{"arguments":"P\"}"}}]}`,
				"finish tool_calls",
				"[DONE]",
			})
		})
	}
}

func TestReasoningOpenAICompletion(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", Answer{Reasoning: "I think so.", Text: "Yes."},
				Answer{Reasoning: "Need weather.", ToolCalls: []ToolCall{{Name: "w"}}})
			_, _, body := mustPost(t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("m", false))
			if want := `"message":{"role":"assistant","content":"Yes.","reasoning_content":"I think so.","refusal":null}`; !strings.Contains(body, want) {
				t.Errorf("body = %s; want it to contain %s", body, want)
			}
			v := decodeJSON(t, body)
			if ct, rt := jsonPath(v, "usage", "completion_tokens"), jsonPath(v, "usage", "completion_tokens_details", "reasoning_tokens"); ct != 4.0 || rt != 3.0 {
				t.Errorf("completion_tokens, reasoning_tokens = %v, %v; want 4, 3", ct, rt)
			}

			_, _, body = mustPost(t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("m", false))
			v = decodeJSON(t, body)
			msg := jsonPath(v, "choices", 0, "message")
			if c, r, n := jsonPath(msg, "content"), jsonPath(msg, "reasoning_content"), jsonPath(msg, "tool_calls", 0, "function", "name"); c != nil || r != "Need weather." || n != "w" {
				t.Errorf("content, reasoning_content, tool = %v, %v, %v; want null, \"Need weather.\", w", c, r, n)
			}
		})
	}
}

func TestReasoningAnthropicMessage(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", Answer{Reasoning: "I think so.", Text: "Yes."},
				Answer{Reasoning: "I think so.", Text: "Let me check.", ToolCalls: []ToolCall{{ID: "toolu_1", Name: "w", Arguments: `{"c":"P"}`}}},
				Answer{Reasoning: "Something else.", Text: "No."})
			var sigs []string
			for i, want := range []string{
				`[{"type":"thinking","thinking":"I think so.","signature":"SIG"},{"type":"text","text":"Yes."}]`,
				`[{"type":"thinking","thinking":"I think so.","signature":"SIG"},{"type":"text","text":"Let me check."},` +
					`{"type":"tool_use","id":"toolu_1","name":"w","input":{"c":"P"}}]`,
				`[{"type":"thinking","thinking":"Something else.","signature":"SIG"},{"type":"text","text":"No."}]`,
			} {
				_, _, body := mustPost(t, tg.client, tg.srv.URL()+"/v1/messages", anthropicBody("m", false))
				var m struct {
					Content []struct{ Signature string }
					Usage   struct {
						OutputTokens int `json:"output_tokens"`
					}
				}
				if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.Content) == 0 {
					t.Fatalf("body %s: %v", body, err)
				}
				sig := m.Content[0].Signature
				sigs = append(sigs, sig)
				if want := strings.ReplaceAll(want, "SIG", sig); !strings.Contains(body, `"content":`+want+`,`) {
					t.Errorf("answer %d: body = %s; want content %s", i, body, want)
				}
				if i == 0 && m.Usage.OutputTokens != 4 {
					t.Errorf("output_tokens = %d; want 4 (3 words of reasoning, 1 of text)", m.Usage.OutputTokens)
				}
			}
			checkSignature(t, sigs[0], "I think so.")
			if sigs[0] != sigs[1] || sigs[0] == sigs[2] {
				t.Errorf("signatures = %q; want the same for the same reasoning, another for another", sigs)
			}
		})
	}
}

// checkSignature checks that sig is the documented fake signature of
// reasoning: base64 of "providertest:" and the reasoning's SHA-256.
func checkSignature(t *testing.T, sig, reasoning string) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !strings.HasPrefix(string(b), "providertest:") || len(b) != len("providertest:")+32 {
		t.Errorf("signature %q: decodes to %q, %v; want \"providertest:\" and a SHA-256", sig, b, err)
	}
	if sig != fakeSignature(reasoning) {
		t.Errorf("signature %q is not fakeSignature(%q)", sig, reasoning)
	}
}

func TestReasoningAnthropicStream(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", Answer{Reasoning: "I think so.", Text: "Yes."},
				Answer{Reasoning: "I think so.", Text: "Let me check.", ToolCalls: []ToolCall{{ID: "toolu_1", Name: "w", Arguments: `{"c":"P"}`}}},
				Answer{Reasoning: "Need weather.", ToolCalls: []ToolCall{{ID: "toolu_2", Name: "w"}}})
			thinking := []string{
				"message_start",
				`start 0 thinking "" "" ""`,
				"ping",
				`delta 0 thinking_delta "I"`,
				`delta 0 thinking_delta " think"`,
				`delta 0 thinking_delta " so."`,
				"delta 0 signature_delta",
				"stop 0",
			}
			wants := [][]string{
				append(slices.Clone(thinking),
					`start 1 text "" "" ""`,
					`delta 1 text_delta "Yes."`,
					"stop 1",
					"message_delta end_turn",
					"message_stop"),
				append(slices.Clone(thinking),
					`start 1 text "" "" ""`,
					`delta 1 text_delta "Let"`,
					`delta 1 text_delta " me"`,
					`delta 1 text_delta " check."`,
					"stop 1",
					`start 2 tool_use "" "" ""`,
					`delta 2 input_json_delta ""`,
					`delta 2 input_json_delta "{\"c"`,
					`delta 2 input_json_delta "\":\""`,
					`delta 2 input_json_delta "P\"}"`,
					"stop 2",
					"message_delta tool_use",
					"message_stop"),
				{
					"message_start",
					`start 0 thinking "" "" ""`,
					"ping",
					`delta 0 thinking_delta "Need"`,
					`delta 0 thinking_delta " weather."`,
					"delta 0 signature_delta",
					"stop 0",
					`start 1 tool_use "" "" ""`,
					`delta 1 input_json_delta ""`,
					`delta 1 input_json_delta "{}"`,
					"stop 1",
					"message_delta tool_use",
					"message_stop",
				},
			}
			reasonings := []string{"I think so.", "I think so.", "Need weather."}
			for i, want := range wants {
				got, events, err := streamOf(t, tg, true, anthropicBody("m", true))
				if err != nil {
					t.Fatal(err)
				}
				checkEvents(t, got, want)
				for _, e := range events {
					var ev struct {
						Type  string
						Delta struct{ Type, Signature string }
					}
					json.Unmarshal([]byte(e.Data), &ev)
					if ev.Delta.Type == "signature_delta" {
						checkSignature(t, ev.Delta.Signature, reasonings[i])
					}
				}
			}
			// Pieces of any reasoning concatenate to it.
			tg.srv.Script("m", Answer{Reasoning: trickyReasoning, Text: "Yes."})
			_, events, err := streamOf(t, tg, true, anthropicBody("m", true))
			if err != nil {
				t.Fatal(err)
			}
			var reasoning strings.Builder
			for _, e := range events {
				var ev struct {
					Delta struct{ Type, Thinking string }
				}
				json.Unmarshal([]byte(e.Data), &ev)
				if ev.Delta.Type == "thinking_delta" {
					reasoning.WriteString(ev.Delta.Thinking)
				}
			}
			if reasoning.String() != trickyReasoning {
				t.Errorf("thinking = %q; want %q", reasoning.String(), trickyReasoning)
			}
			if last := events[len(events)-2]; !strings.Contains(last.Data, fmt.Sprintf(`"output_tokens":%d}`, len(strings.Fields(trickyReasoning))+1)) {
				t.Errorf("message_delta = %s; want output_tokens counting the reasoning", last.Data)
			}
		})
	}
}

// TestReasoningCutAndErrorAfter: CutAfter and ErrorAfter count the
// reasoning pieces first, then the text's.
func TestReasoningCutAndErrorAfter(t *testing.T) {
	const reasoning, text = "a b c", "x y"
	oa := func(cut, errAfter int) Answer {
		return Answer{Reasoning: reasoning, Text: text, CutAfter: cut, ErrorAfter: errAfter}
	}
	role, ra, rb, rc, cx := `delta {"role":"assistant","content":""}`, `delta {"reasoning_content":"a"}`,
		`delta {"reasoning_content":" b"}`, `delta {"reasoning_content":" c"}`, `delta {"content":"x"}`
	head := []string{"message_start", `start 0 thinking "" "" ""`, "ping"}
	ta, tb, tc := `delta 0 thinking_delta "a"`, `delta 0 thinking_delta " b"`, `delta 0 thinking_delta " c"`
	tests := []struct {
		name      string
		anthropic bool
		a         Answer
		want      []string
		wantCut   bool
	}{
		{"openai cut at start", false, oa(CutAtStart, 0), nil, true},
		{"openai cut mid-reasoning", false, oa(2, 0), []string{role, ra, rb}, true},
		{"openai cut after reasoning", false, oa(3, 0), []string{role, ra, rb, rc}, true},
		{"openai cut after first text", false, oa(4, 0), []string{role, ra, rb, rc, cx}, true},
		{"openai error mid-reasoning", false, oa(0, 1), []string{role, ra, "error"}, false},
		{"anthropic cut mid-reasoning", true, oa(2, 0), append(slices.Clone(head), ta, tb), true},
		{"anthropic cut after reasoning", true, oa(3, 0),
			append(slices.Clone(head), ta, tb, tc, "delta 0 signature_delta", "stop 0", `start 1 text "" "" ""`), true},
		{"anthropic cut after first text", true, oa(4, 0),
			append(slices.Clone(head), ta, tb, tc, "delta 0 signature_delta", "stop 0", `start 1 text "" "" ""`, `delta 1 text_delta "x"`), true},
		{"anthropic error mid-reasoning", true, oa(0, 1), append(slices.Clone(head), ta, "error"), false},
	}
	for _, tg := range targets(t) {
		for _, tt := range tests {
			t.Run(tg.name+"/"+tt.name, func(t *testing.T) {
				tg.srv.Script("m", tt.a)
				body := openAIBody("m", true)
				if tt.anthropic {
					body = anthropicBody("m", true)
				}
				got, _, err := streamOf(t, tg, tt.anthropic, body)
				if cut := errors.Is(err, io.ErrUnexpectedEOF); cut != tt.wantCut || (!tt.wantCut && err != nil) {
					t.Errorf("stream ended with %v; want cut=%v", err, tt.wantCut)
				}
				checkEvents(t, got, tt.want)
			})
		}
	}
}

// TestReasoningChunkDelay: ChunkDelay is waited before each reasoning
// piece too.
func TestReasoningChunkDelay(t *testing.T) {
	for _, anthropic := range []bool{false, true} {
		t.Run(map[bool]string{false: "openai", true: "anthropic"}[anthropic], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := New()
				srv.Script("m", Answer{Reasoning: "a b c", Text: "x y", ChunkDelay: time.Second})
				path, body := "/v1/chat/completions", openAIBody("m", true)
				if anthropic {
					path, body = "/v1/messages", anthropicBody("m", true)
				}
				start := time.Now()
				resp, err := post(t.Context(), t, srv.Client(), srv.URL()+path, body)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var got []string // "elapsed event"
				br := bufio.NewReader(resp.Body)
				var data string
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						if err != io.EOF {
							t.Fatal(err)
						}
						break
					}
					line = strings.TrimSuffix(line, "\n")
					if d, ok := strings.CutPrefix(line, "data: "); ok {
						data = d
					}
					if line == "" && data != "" {
						var ev struct {
							Type    string
							Delta   struct{ Type string }
							Choices []struct {
								Delta map[string]any
							}
						}
						json.Unmarshal([]byte(data), &ev)
						kind := ev.Type
						if ev.Delta.Type != "" {
							kind = ev.Delta.Type
						}
						if len(ev.Choices) > 0 {
							for k := range ev.Choices[0].Delta {
								if k != "role" {
									kind = k
								}
							}
						}
						if data == "[DONE]" {
							kind = data
						}
						got = append(got, fmt.Sprintf("%v %s", time.Since(start), kind))
						data = ""
					}
				}
				want := []string{"0s content", "1s reasoning_content", "2s reasoning_content", "3s reasoning_content",
					"4s content", "5s content", "5s ", "5s [DONE]"}
				if anthropic {
					want = []string{"0s message_start", "0s content_block_start", "0s ping",
						"1s thinking_delta", "2s thinking_delta", "3s thinking_delta", "3s signature_delta", "3s content_block_stop",
						"3s content_block_start", "4s text_delta", "5s text_delta", "5s content_block_stop", "5s message_delta", "5s message_stop"}
				}
				checkEvents(t, got, want)
			})
		})
	}
}

// TestReasoningUsage: explicit usage is reported as given; estimated
// reasoning tokens never exceed the completion tokens; the token cap
// charges the reasoning.
func TestReasoningUsage(t *testing.T) {
	srv := New()
	c := srv.Client()
	srv.Script("m",
		Answer{Reasoning: "a b c", Text: "x", Usage: Usage{CompletionTokens: 10, ReasoningTokens: 7}},
		Answer{Reasoning: "a b c", Text: "x", Usage: Usage{CompletionTokens: 2}},
		Answer{Reasoning: "a b c", Text: "x", Usage: Usage{ReasoningTokens: 1}})
	for _, want := range [][2]float64{{10, 7}, {2, 2}, {4, 1}} {
		_, _, body := mustPost(t, c, srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		v := decodeJSON(t, body)
		if ct, rt := jsonPath(v, "usage", "completion_tokens"), jsonPath(v, "usage", "completion_tokens_details", "reasoning_tokens"); ct != want[0] || rt != want[1] {
			t.Errorf("completion_tokens, reasoning_tokens = %v, %v; want %v, %v", ct, rt, want[0], want[1])
		}
	}

	synctest.Test(t, func(t *testing.T) { // no refill between the requests
		srv := New()
		srv.SetTokenLimit("m", 1000)
		srv.Script("m", Answer{Text: "x"}, Answer{Reasoning: "a b c", Text: "x"})
		_, h, _ := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		if got := h.Get("x-ratelimit-remaining-tokens"); got != "994" { // 5 prompt words, 1 of text
			t.Errorf("remaining tokens = %s; want 994", got)
		}
		_, h, _ = mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		if got := h.Get("x-ratelimit-remaining-tokens"); got != "985" { // 5 prompt words, 3 of reasoning, 1 of text
			t.Errorf("remaining tokens = %s; want 985", got)
		}
	})
}
