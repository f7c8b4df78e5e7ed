package providertest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestOpenAIChatCompletion(t *testing.T) {
	for _, tg := range targets(t) {
		for _, path := range []string{"/v1/chat/completions", "/chat/completions", "/v1beta/openai/chat/completions"} {
			t.Run(tg.name+path, func(t *testing.T) {
				tg.srv.Script("gpt-4o", Answer{Text: "Hi there", Usage: Usage{PromptTokens: 7, CompletionTokens: 2}})
				status, h, body := mustPost(t, tg.client, tg.srv.URL()+path, openAIBody("gpt-4o", false))
				if status != http.StatusOK {
					t.Fatalf("POST %s status = %d; want 200 (body %s)", path, status, body)
				}
				if ct := h.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q; want application/json", ct)
				}
				if id := h.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
					t.Errorf("x-request-id = %q; want req_…", id)
				}
				var got struct {
					ID      string `json:"id"`
					Object  string `json:"object"`
					Created int64  `json:"created"`
					Model   string `json:"model"`
					Choices []struct {
						Index   int `json:"index"`
						Message struct {
							Role    string `json:"role"`
							Content string `json:"content"`
						} `json:"message"`
						FinishReason string `json:"finish_reason"`
					} `json:"choices"`
					Usage struct {
						PromptTokens     int `json:"prompt_tokens"`
						CompletionTokens int `json:"completion_tokens"`
						TotalTokens      int `json:"total_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("json.Unmarshal(%s) = %v", body, err)
				}
				if !strings.HasPrefix(got.ID, "chatcmpl-") || got.Object != "chat.completion" || got.Model != "gpt-4o" || got.Created == 0 {
					t.Errorf("completion header fields = %+v; want chatcmpl-…, chat.completion, gpt-4o, created set", got)
				}
				if len(got.Choices) != 1 || got.Choices[0].Message.Role != "assistant" ||
					got.Choices[0].Message.Content != "Hi there" || got.Choices[0].FinishReason != "stop" {
					t.Errorf("choices = %+v; want one assistant message %q, finish_reason stop", got.Choices, "Hi there")
				}
				if got.Usage.PromptTokens != 7 || got.Usage.CompletionTokens != 2 || got.Usage.TotalTokens != 9 {
					t.Errorf("usage = %+v; want 7/2/9", got.Usage)
				}
			})
		}
	}
}

func TestOpenAIStream(t *testing.T) {
	for _, tg := range targets(t) {
		for _, includeUsage := range []bool{false, true} {
			name := tg.name + "/plain"
			body := openAIBody("gpt-4o", true)
			if includeUsage {
				name = tg.name + "/include_usage"
				body = strings.TrimSuffix(body, "}") + `,"stream_options":{"include_usage":true}}`
			}
			t.Run(name, func(t *testing.T) {
				tg.srv.Script("gpt-4o", OK("Hello streaming world"))
				status, h, raw := mustPost(t, tg.client, tg.srv.URL()+"/v1/chat/completions", body)
				if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
					t.Fatalf("stream status, Content-Type = %d, %q; want 200, text/event-stream", status, h.Get("Content-Type"))
				}
				events, _, err := readSSE(strings.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if n := len(events); n == 0 || events[n-1].Data != "[DONE]" {
					t.Fatalf("last event = %v; want data: [DONE]", events)
				}
				type chunk struct {
					ID      string `json:"id"`
					Object  string `json:"object"`
					Choices []struct {
						Index int `json:"index"`
						Delta struct {
							Role    string  `json:"role"`
							Content *string `json:"content"`
						} `json:"delta"`
						FinishReason *string `json:"finish_reason"`
					} `json:"choices"`
					Usage *struct {
						TotalTokens int `json:"total_tokens"`
					} `json:"usage"`
				}
				var chunks []chunk
				for _, e := range events[:len(events)-1] {
					if e.Name != "" {
						t.Errorf("OpenAI event has name %q; want data-only", e.Name)
					}
					var c chunk
					if err := json.Unmarshal([]byte(e.Data), &c); err != nil {
						t.Fatalf("json.Unmarshal(%s) = %v", e.Data, err)
					}
					if c.Object != "chat.completion.chunk" || !strings.HasPrefix(c.ID, "chatcmpl-") {
						t.Errorf("chunk %s: want object chat.completion.chunk and id chatcmpl-…", e.Data)
					}
					chunks = append(chunks, c)
				}
				first := chunks[0].Choices[0]
				if first.Delta.Role != "assistant" || first.Delta.Content == nil || *first.Delta.Content != "" || first.FinishReason != nil {
					t.Errorf("first chunk = %s; want role assistant, content \"\", finish_reason null", events[0].Data)
				}
				if includeUsage {
					last := chunks[len(chunks)-1]
					if len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens == 0 {
						t.Errorf("last chunk = %s; want empty choices and usage", events[len(events)-2].Data)
					}
					chunks = chunks[:len(chunks)-1]
				}
				fin := chunks[len(chunks)-1].Choices[0]
				if fin.FinishReason == nil || *fin.FinishReason != "stop" {
					t.Errorf("final chunk = %+v; want finish_reason stop", fin)
				}
				var text strings.Builder
				for _, c := range chunks[1 : len(chunks)-1] {
					text.WriteString(*c.Choices[0].Delta.Content)
				}
				if text.String() != "Hello streaming world" || len(chunks) != 5 {
					t.Errorf("deltas = %q in %d chunks; want %q in 5", text.String(), len(chunks), "Hello streaming world")
				}
			})
		}
	}
}

func TestAnthropicMessage(t *testing.T) {
	for _, tg := range targets(t) {
		for _, path := range []string{"/v1/messages", "/messages"} {
			t.Run(tg.name+path, func(t *testing.T) {
				tg.srv.Script("claude-x", OK("Bonjour"))
				status, h, body := mustPost(t, tg.client, tg.srv.URL()+path, anthropicBody("claude-x", false))
				if status != http.StatusOK {
					t.Fatalf("status = %d; want 200 (%s)", status, body)
				}
				if id := h.Get("request-id"); !strings.HasPrefix(id, "req_") {
					t.Errorf("request-id = %q; want req_…", id)
				}
				var got struct {
					ID      string `json:"id"`
					Type    string `json:"type"`
					Role    string `json:"role"`
					Model   string `json:"model"`
					Content []struct {
						Type, Text string
					} `json:"content"`
					StopReason   string          `json:"stop_reason"`
					StopSequence json.RawMessage `json:"stop_sequence"`
					Usage        struct {
						InputTokens  int `json:"input_tokens"`
						OutputTokens int `json:"output_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("json.Unmarshal(%s) = %v", body, err)
				}
				if !strings.HasPrefix(got.ID, "msg_") || got.Type != "message" || got.Role != "assistant" || got.Model != "claude-x" ||
					got.StopReason != "end_turn" || string(got.StopSequence) != "null" {
					t.Errorf("message = %s; want msg_…, message, assistant, claude-x, end_turn, null", body)
				}
				if len(got.Content) != 1 || got.Content[0].Type != "text" || got.Content[0].Text != "Bonjour" {
					t.Errorf("content = %+v; want one text block Bonjour", got.Content)
				}
				// "Be brief." + "Say hello" = 4 words.
				if got.Usage.InputTokens != 4 || got.Usage.OutputTokens != 1 {
					t.Errorf("usage = %+v; want 4 in, 1 out", got.Usage)
				}
			})
		}
	}
}

func TestAnthropicStream(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("claude-x", OKChunks("Hel", "lo", "!"))
			_, h, raw := mustPost(t, tg.client, tg.srv.URL()+"/v1/messages", anthropicBody("claude-x", true))
			if !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
				t.Errorf("Content-Type = %q; want text/event-stream", h.Get("Content-Type"))
			}
			events, _, err := readSSE(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			var text strings.Builder
			for _, e := range events {
				names = append(names, e.Name)
				var d struct {
					Type  string `json:"type"`
					Delta struct {
						Type, Text string
						StopReason string `json:"stop_reason"`
					} `json:"delta"`
				}
				if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
					t.Fatalf("json.Unmarshal(%s) = %v", e.Data, err)
				}
				if d.Type != e.Name {
					t.Errorf("event %q has data type %q; want equal", e.Name, d.Type)
				}
				if e.Name == "content_block_delta" {
					if d.Delta.Type != "text_delta" {
						t.Errorf("delta type = %q; want text_delta", d.Delta.Type)
					}
					text.WriteString(d.Delta.Text)
				}
				if e.Name == "message_delta" && d.Delta.StopReason != "end_turn" {
					t.Errorf("message_delta stop_reason = %q; want end_turn", d.Delta.StopReason)
				}
			}
			want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
				"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
			if !slices.Equal(names, want) {
				t.Errorf("events = %v; want %v", names, want)
			}
			if text.String() != "Hello!" {
				t.Errorf("text = %q; want Hello!", text.String())
			}
		})
	}
}

func TestRequestValidation(t *testing.T) {
	for _, tg := range targets(t, WithAPIKey("sk-good")) {
		u := tg.srv.URL()
		tests := []struct {
			name      string
			path      string
			body      string
			hdr       []string
			status    int
			errType   string // error.type in the route's shape
			anthropic bool
		}{
			{"openai ok", "/v1/chat/completions", openAIBody("m", false), []string{"Authorization", "Bearer sk-good"}, 200, "", false},
			{"openai no key", "/v1/chat/completions", openAIBody("m", false), nil, 401, "invalid_request_error", false},
			{"openai bad key", "/v1/chat/completions", openAIBody("m", false), []string{"Authorization", "Bearer sk-bad"}, 401, "invalid_request_error", false},
			{"anthropic ok", "/v1/messages", anthropicBody("m", false), []string{"x-api-key", "sk-good"}, 200, "", true},
			{"anthropic no key", "/v1/messages", anthropicBody("m", false), nil, 401, "authentication_error", true},
			{"anthropic bad key", "/v1/messages", anthropicBody("m", false), []string{"x-api-key", "sk-bad"}, 401, "authentication_error", true},
			{"anthropic no version", "/v1/messages", anthropicBody("m", false), []string{"x-api-key", "sk-good", "anthropic-version", ""}, 400, "invalid_request_error", true},
			{"anthropic no max_tokens", "/v1/messages", `{"model":"m","messages":[]}`, []string{"x-api-key", "sk-good"}, 400, "invalid_request_error", true},
			{"openai bad json", "/v1/chat/completions", `{"model":`, []string{"Authorization", "Bearer sk-good"}, 400, "invalid_request_error", false},
			{"openai no model", "/v1/chat/completions", `{"messages":[]}`, []string{"Authorization", "Bearer sk-good"}, 400, "invalid_request_error", false},
			{"unknown path", "/v1/embeddings", `{"model":"m"}`, nil, 404, "invalid_request_error", false},
		}
		for _, tt := range tests {
			t.Run(tg.name+"/"+tt.name, func(t *testing.T) {
				status, _, body := mustPost(t, tg.client, u+tt.path, tt.body, tt.hdr...)
				if status != tt.status {
					t.Fatalf("POST %s = %d %s; want %d", tt.path, status, body, tt.status)
				}
				if tt.errType == "" {
					return
				}
				if got := errorType(t, body, tt.anthropic); got != tt.errType {
					t.Errorf("error type of %s = %q; want %q", body, got, tt.errType)
				}
			})
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	srv := New()
	resp, err := srv.Client().Get(srv.URL() + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d; want 405", resp.StatusCode)
	}
}

// errorType decodes error.type from an OpenAI or Anthropic error body.
func errorType(t *testing.T, body string, anthropic bool) string {
	t.Helper()
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string  `json:"type"`
			Message string  `json:"message"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", body, err)
	}
	if anthropic && e.Type != "error" {
		t.Errorf("Anthropic error body %s: type = %q; want error", body, e.Type)
	}
	if e.Error.Message == "" {
		t.Errorf("error body %s has no message", body)
	}
	return e.Error.Type
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"one", []string{"one"}},
		{"Hello! How are you?", []string{"Hello!", " How", " are", " you?"}},
		{"  lead  and trail ", []string{"  lead", "  and", " trail "}},
		{"line\nbreak", []string{"line", "\nbreak"}},
	}
	for _, tt := range tests {
		got := splitWords(tt.in)
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if strings.Join(got, "") != tt.in {
			t.Errorf("join(splitWords(%q)) = %q; want the input", tt.in, strings.Join(got, ""))
		}
	}
}

func TestKeepAlive(t *testing.T) {
	for _, tg := range targets(t, WithKeepAlive(2)) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", OKChunks("a", "b", "c", "d"))
			resp, err := post(t.Context(), t, tg.client, tg.srv.URL()+"/chat/completions", openAIBody("m", true))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if !strings.HasPrefix(string(raw), ": ping\n\n") {
				t.Errorf("stream starts %q; want a \": ping\" comment first", raw[:min(20, len(raw))])
			}
			events, comments, err := readSSE(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			// One at the start, one after the 2nd and the 4th delta.
			if comments != 3 {
				t.Errorf("comments = %d; want 3", comments)
			}
			if events[len(events)-1].Data != "[DONE]" {
				t.Errorf("last event = %+v; want [DONE]", events[len(events)-1])
			}
		})
	}
}
