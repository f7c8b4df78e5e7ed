package providertest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestScriptConsumedInOrder(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			srv := tg.srv
			srv.Script("a", Unavailable(), RateLimited(time.Second), OK("third"))
			srv.Script("b", ServerError())
			srv.SetDefault("a", OK("default a"))
			if got := srv.Pending("a"); got != 3 {
				t.Errorf("Pending(a) = %d; want 3", got)
			}
			var got []string
			for _, model := range []string{"a", "b", "a", "a", "a", "b"} {
				status, _, body := mustPost(t, tg.client, srv.URL()+"/v1/chat/completions", openAIBody(model, false))
				s := model + ":" + strconv.Itoa(status)
				if status == 200 {
					var c struct {
						Choices []struct{ Message struct{ Content string } }
					}
					json.Unmarshal([]byte(body), &c)
					s += ":" + c.Choices[0].Message.Content
				}
				got = append(got, s)
			}
			want := []string{"a:503", "b:500", "a:429", "a:200:third", "a:200:default a", "b:200:" + DefaultText}
			if !slices.Equal(got, want) {
				t.Errorf("answers = %q; want %q", got, want)
			}
			if n := srv.Requests("a"); n != 4 {
				t.Errorf("Requests(a) = %d; want 4", n)
			}
			if n := srv.Pending("a"); n != 0 {
				t.Errorf("Pending(a) = %d; want 0", n)
			}
			st := srv.Stats("a")
			if st.Requests != 4 || st.ByStatus[503] != 1 || st.ByStatus[429] != 1 || st.ByStatus[200] != 2 {
				t.Errorf("Stats(a) = %+v; want 4 requests: 1×503, 1×429, 2×200", st)
			}
			rec := srv.Received()
			if len(rec) != 6 || rec[0].Model != "a" || rec[1].Model != "b" || rec[0].Format != FormatOpenAI ||
				rec[0].Path != "/v1/chat/completions" || rec[0].Stream || !strings.Contains(string(rec[0].Body), `"model":"a"`) {
				t.Errorf("Received() = %+v; want 6 requests, first to model a on /v1/chat/completions", rec)
			}
			// Received returns copies.
			rec[0].Body[0] = 'X'
			rec[0].Header.Set("X-Test", "1")
			if again := srv.Received(); again[0].Body[0] == 'X' || again[0].Header.Get("X-Test") != "" {
				t.Errorf("Received() shares memory with the server")
			}
			srv.Clear()
			if srv.Requests("a") != 0 || len(srv.Received()) != 0 || srv.Pending("a") != 0 {
				t.Errorf("after Clear: Requests=%d Received=%d Pending=%d; want 0, 0, 0",
					srv.Requests("a"), len(srv.Received()), srv.Pending("a"))
			}
		})
	}
}

func TestDefaultWildcard(t *testing.T) {
	srv := New()
	srv.SetDefault("", Unavailable())
	srv.SetDefault("good", OK("fine"))
	c := srv.Client()
	if st, _, _ := mustPost(t, c, srv.URL()+"/v1/chat/completions", openAIBody("any", false)); st != 503 {
		t.Errorf("model without default: status %d; want 503 (wildcard default)", st)
	}
	if st, _, _ := mustPost(t, c, srv.URL()+"/v1/chat/completions", openAIBody("good", false)); st != 200 {
		t.Errorf("model with default: status %d; want 200", st)
	}
}

func TestScriptCopiesAnswer(t *testing.T) {
	srv := New()
	a := OK("x")
	a.Header = http.Header{"X-Custom": {"1"}}
	srv.Script("m", a)
	a.Header.Set("X-Custom", "2")
	_, h, _ := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
	if got := h.Get("X-Custom"); got != "1" {
		t.Errorf("X-Custom = %q; want 1 (the scripted copy)", got)
	}
}

func TestPresets(t *testing.T) {
	type check struct {
		status    int
		header    map[string]string // exact values; "*" = present
		errType   string            // OpenAI error.type / Anthropic error.type
		code      string            // OpenAI error.code
		anthropic bool
	}
	tests := []struct {
		name string
		a    Answer
		want check
	}{
		{"RateLimited", RateLimited(1500 * time.Millisecond), check{429, map[string]string{"Retry-After": "2", "retry-after-ms": "1500",
			"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"}, "requests", "rate_limit_exceeded", false}},
		{"RateLimited no hint", RateLimited(0), check{429, map[string]string{"Retry-After": "", "retry-after-ms": "", "x-ratelimit-remaining-requests": "0"}, "requests", "rate_limit_exceeded", false}},
		{"InsufficientQuota", InsufficientQuota(), check{429, map[string]string{"Retry-After": ""}, "insufficient_quota", "insufficient_quota", false}},
		{"ContextLengthExceeded", ContextLengthExceeded(), check{400, nil, "invalid_request_error", "context_length_exceeded", false}},
		{"DeepSeekInsufficientBalance", DeepSeekInsufficientBalance(), check{402, nil, "unknown_error", "invalid_request_error", false}},
		{"AnthropicOverloaded", AnthropicOverloaded(), check{529, nil, "overloaded_error", "", true}},
		{"AnthropicRateLimited", AnthropicRateLimited(3 * time.Second), check{429, map[string]string{"Retry-After": "3",
			"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0", "anthropic-ratelimit-requests-reset": "*"}, "rate_limit_error", "", true}},
	}
	for _, tg := range targets(t) {
		for _, tt := range tests {
			// The preset's shape holds on both routes.
			for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
				t.Run(tg.name+"/"+tt.name+path, func(t *testing.T) {
					tg.srv.Script("m", tt.a)
					body := openAIBody("m", false)
					if strings.HasSuffix(path, "messages") {
						body = anthropicBody("m", false)
					}
					status, h, got := mustPost(t, tg.client, tg.srv.URL()+path, body)
					if status != tt.want.status {
						t.Fatalf("status = %d; want %d", status, tt.want.status)
					}
					for k, v := range tt.want.header {
						if g := h.Get(k); (v == "*" && g == "") || (v != "*" && g != v) {
							t.Errorf("header %s = %q; want %q", k, g, v)
						}
					}
					if typ := errorType(t, got, tt.want.anthropic); typ != tt.want.errType {
						t.Errorf("error type = %q; want %q (%s)", typ, tt.want.errType, got)
					}
					if !tt.want.anthropic {
						var e struct{ Error struct{ Code *string } }
						json.Unmarshal([]byte(got), &e)
						code := ""
						if e.Error.Code != nil {
							code = *e.Error.Code
						}
						if code != tt.want.code {
							t.Errorf("error code = %q; want %q", code, tt.want.code)
						}
					}
				})
			}
		}
	}
}

func TestAnthropicResetHeaderIsFuture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.Script("m", AnthropicRateLimited(90*time.Second))
		_, h, _ := mustPost(t, srv.Client(), srv.URL()+"/v1/messages", anthropicBody("m", false))
		reset, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-requests-reset"))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(reset); d != 90*time.Second {
			t.Errorf("anthropic-ratelimit-requests-reset - now = %v; want 1m30s", d)
		}
	})
}

func TestFormatNeutralErrors(t *testing.T) {
	tests := []struct {
		a             Answer
		status        int
		openai, anthr string
	}{
		{ServerError(), 500, "server_error", "api_error"},
		{Unavailable(), 503, "server_error", "api_error"},
		{Status(400, "bad thing"), 400, "invalid_request_error", "invalid_request_error"},
		{Status(401, ""), 401, "invalid_request_error", "authentication_error"},
		{Status(StatusOverloaded, ""), 529, "server_error", "overloaded_error"},
		{Status(429, ""), 429, "requests", "rate_limit_error"},
	}
	srv := New()
	c := srv.Client()
	for _, tt := range tests {
		srv.Script("m", tt.a, tt.a)
		st, _, body := mustPost(t, c, srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		if typ := errorType(t, body, false); st != tt.status || typ != tt.openai {
			t.Errorf("%v on OpenAI route = %d %q; want %d %q", tt.a.Status, st, typ, tt.status, tt.openai)
		}
		st, _, body = mustPost(t, c, srv.URL()+"/v1/messages", anthropicBody("m", false))
		if typ := errorType(t, body, true); st != tt.status || typ != tt.anthr {
			t.Errorf("%v on Anthropic route = %d %q; want %d %q", tt.a.Status, st, typ, tt.status, tt.anthr)
		}
	}
}

func TestHTML502(t *testing.T) {
	srv := New()
	srv.Script("m", HTML502())
	st, h, body := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
	if st != 502 || h.Get("Content-Type") != "text/html" || !strings.Contains(body, "<title>502 Bad Gateway</title>") {
		t.Errorf("HTML502 = %d %q %q; want 502, text/html, an HTML page", st, h.Get("Content-Type"), body)
	}
	if json.Valid([]byte(body)) {
		t.Errorf("HTML502 body is valid JSON; want HTML")
	}
}

func TestGeminiResourceExhausted(t *testing.T) {
	type geminiErr struct {
		Error struct {
			Code    int    `json:"code"`
			Status  string `json:"status"`
			Message string `json:"message"`
			Details []struct {
				Type       string `json:"@type"`
				RetryDelay string `json:"retryDelay"`
			} `json:"details"`
		} `json:"error"`
	}
	retryDelay := func(e geminiErr) string {
		for _, d := range e.Error.Details {
			if d.Type == "type.googleapis.com/google.rpc.RetryInfo" {
				return d.RetryDelay
			}
		}
		return ""
	}
	srv := New()
	srv.Script("gemini-2.0-flash", GeminiResourceExhausted(37*time.Second), GeminiCompatResourceExhausted(1500*time.Millisecond),
		GeminiResourceExhausted(0))
	c := srv.Client()

	st, _, body := mustPost(t, c, srv.URL()+"/v1beta/openai/chat/completions", openAIBody("gemini-2.0-flash", false))
	var e geminiErr
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	if st != 429 || e.Error.Code != 429 || e.Error.Status != "RESOURCE_EXHAUSTED" || retryDelay(e) != "37s" {
		t.Errorf("GeminiResourceExhausted(37s) = %d %+v; want 429 RESOURCE_EXHAUSTED retryDelay 37s", st, e)
	}

	_, _, body = mustPost(t, c, srv.URL()+"/v1beta/openai/chat/completions", openAIBody("gemini-2.0-flash", false))
	var arr []geminiErr
	if err := json.Unmarshal([]byte(body), &arr); err != nil || len(arr) != 1 || retryDelay(arr[0]) != "1.5s" {
		t.Errorf("GeminiCompatResourceExhausted(1.5s) = %s (%v); want a one-element array with retryDelay 1.5s", body, err)
	}

	_, _, body = mustPost(t, c, srv.URL()+"/v1beta/openai/chat/completions", openAIBody("gemini-2.0-flash", false))
	e = geminiErr{}
	json.Unmarshal([]byte(body), &e)
	if retryDelay(e) != "" {
		t.Errorf("GeminiResourceExhausted(0) has retryDelay %q; want none", retryDelay(e))
	}
}

func TestInvalidAPIKeyEchoesKey(t *testing.T) {
	const key = "sk-proj-SECRET-0123456789"
	srv := New()
	srv.Script("m", InvalidAPIKey(), InvalidAPIKey())
	st, _, body := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false), "Authorization", "Bearer "+key)
	if st != 401 || !strings.Contains(body, key) || errorType(t, body, false) != "invalid_request_error" {
		t.Errorf("InvalidAPIKey() = %d %s; want 401 echoing the key", st, body)
	}
	_, _, body = mustPost(t, srv.Client(), srv.URL()+"/v1/messages", anthropicBody("m", false), "x-api-key", key)
	if !strings.Contains(body, key) {
		t.Errorf("InvalidAPIKey() on Anthropic route = %s; want the x-api-key echoed", body)
	}
}

func TestConcurrentScripts(t *testing.T) {
	const workers, perWorker = 8, 25
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			srv := tg.srv
			var script []Answer
			for i := range workers * perWorker {
				script = append(script, OK(strconv.Itoa(i)))
			}
			srv.Script("m", script...)
			srv.SetDefault("m", Unavailable())
			var mu sync.Mutex
			seen := map[string]bool{}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for range perWorker {
						stream := w%2 == 0
						path, body := "/v1/chat/completions", openAIBody("m", stream)
						if w%3 == 0 {
							path, body = "/v1/messages", anthropicBody("m", stream)
						}
						resp, err := post(t.Context(), t, tg.client, srv.URL()+path, body)
						if err != nil {
							t.Error(err)
							return
						}
						text := responseText(t, resp)
						mu.Lock()
						if seen[text] {
							t.Errorf("answer %q handed out twice", text)
						}
						seen[text] = true
						mu.Unlock()
					}
				})
				// Readers and writers of the server's state run alongside.
				wg.Go(func() {
					srv.Stats("m")
					srv.Received()
					srv.SetFaults("other", Faults{Seed: int64(w), ServerError: 0.5})
					srv.Script("other", OK("x"))
				})
			}
			wg.Wait()
			if len(seen) != workers*perWorker || srv.Requests("m") != workers*perWorker || srv.Pending("m") != 0 {
				t.Errorf("distinct answers %d, Requests %d, Pending %d; want %d, %d, 0",
					len(seen), srv.Requests("m"), srv.Pending("m"), workers*perWorker, workers*perWorker)
			}
		})
	}
}

// responseText returns the text of a successful answer in either format,
// streamed or not, and closes the body.
func responseText(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status = %d; want 200", resp.StatusCode)
		return ""
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		events, _, err := readSSE(resp.Body)
		if err != nil {
			t.Error(err)
		}
		var b strings.Builder
		for _, e := range events {
			var d struct {
				Delta   struct{ Text string }
				Choices []struct{ Delta struct{ Content string } }
			}
			json.Unmarshal([]byte(e.Data), &d)
			b.WriteString(d.Delta.Text)
			for _, c := range d.Choices {
				b.WriteString(c.Delta.Content)
			}
		}
		return b.String()
	}
	var m struct {
		Content []struct{ Text string }
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Error(err)
	}
	if len(m.Content) > 0 {
		return m.Content[0].Text
	}
	if len(m.Choices) > 0 {
		return m.Choices[0].Message.Content
	}
	return ""
}
