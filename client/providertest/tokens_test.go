package providertest

import (
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestSetTokenLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New()
		defer s.Close()
		c := &http.Client{Transport: s.Transport()}
		s.SetTokenLimit("m", 600) // 10 tokens a second
		s.SetDefault("m", Answer{Status: http.StatusOK, Text: "ok", Usage: Usage{PromptTokens: 100, CompletionTokens: 100}})
		// max_tokens 300 + 5 prompt words must fit; each answer uses 200.
		body := `{"model":"m","max_tokens":300,"messages":[{"role":"user","content":"one two three four five"}]}`
		url := s.URL() + "/v1/chat/completions"
		for i, want := range []struct {
			status    int
			remaining int
		}{{200, 400}, {200, 200}, {429, 200}} {
			status, h, _ := mustPost(t, c, url, body)
			rem, _ := strconv.Atoi(h.Get("X-Ratelimit-Remaining-Tokens"))
			if status != want.status || rem != want.remaining || h.Get("X-Ratelimit-Limit-Tokens") != "600" {
				t.Errorf("request %d = %d, remaining %d, limit %q; want %d, %d, \"600\"", i, status, rem, h.Get("X-Ratelimit-Limit-Tokens"), want.status, want.remaining)
			}
			if status == 429 && h.Get("Retry-After") == "" {
				t.Errorf("token 429 without Retry-After: %v", h)
			}
		}
		time.Sleep(11 * time.Second) // 200 + 110 >= 305
		if status, _, _ := mustPost(t, c, url, body); status != 200 {
			t.Errorf("request after the refill = %d; want 200", status)
		}
		if st := s.Stats("m"); st.Limited != 1 || st.ByStatus[429] != 1 {
			t.Errorf("Stats = %+v; want 1 limited 429", st)
		}
		s.SetTokenLimit("m", 0)
		if status, h, _ := mustPost(t, c, url, body); status != 200 || h.Get("X-Ratelimit-Limit-Tokens") != "" {
			t.Errorf("request without the cap = %d, %v; want 200 without token headers", status, h)
		}
	})
}

// TestTokenLimitReadsMaxCompletionTokens: OpenAI's newer name for the cap
// counts as max_tokens does.
func TestTokenLimitReadsMaxCompletionTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New()
		defer s.Close()
		c := &http.Client{Transport: s.Transport()}
		s.SetTokenLimit("m", 600)
		s.SetDefault("m", Answer{Status: http.StatusOK, Text: "ok"})
		url := s.URL() + "/v1/chat/completions"
		for body, want := range map[string]int{
			`{"model":"m","max_completion_tokens":700,"messages":[{"role":"user","content":"hi"}]}`: 429,
			`{"model":"m","max_tokens":700,"messages":[{"role":"user","content":"hi"}]}`:            429,
			`{"model":"m","max_completion_tokens":500,"messages":[{"role":"user","content":"hi"}]}`: 200,
		} {
			if status, _, _ := mustPost(t, c, url, body); status != want {
				t.Errorf("%s: status %d; want %d", body, status, want)
			}
		}
	})
}
