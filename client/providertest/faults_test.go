package providertest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

var allFaults = Faults{RateLimited: 0.1, ServerError: 0.1, Unavailable: 0.1, Overloaded: 0.1, Reset: 0.1, Slow: 0.1, StreamCut: 0.1}

// outcome makes one request and describes what the client saw: the status,
// "reset", "cut", or "slow" for a 200 that took DefaultSlowDelay.
func outcome(t *testing.T, c *http.Client, url, model string, stream bool) string {
	t.Helper()
	body := openAIBody(model, stream)
	if strings.HasSuffix(url, "/messages") {
		body = anthropicBody(model, stream)
	}
	start := time.Now()
	resp, err := post(context.Background(), t, c, url, body)
	if errors.Is(err, syscall.ECONNRESET) {
		return "reset"
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); errors.Is(err, io.ErrUnexpectedEOF) {
		return "cut"
	}
	if resp.StatusCode == 200 && time.Since(start) == DefaultSlowDelay {
		return "slow"
	}
	return strconv.Itoa(resp.StatusCode)
}

func TestFaultsReproducible(t *testing.T) {
	const n = 200
	run := func(t *testing.T, seed int64, interleave bool, path string, stream bool) []string {
		var out []string
		synctest.Test(t, func(t *testing.T) {
			srv := New()
			f := allFaults
			f.Seed = seed
			srv.SetFaults("", f) // every model, each with its own sequence
			u := srv.URL() + path
			for range n {
				if interleave {
					outcome(t, srv.Client(), u, "other", stream)
				}
				out = append(out, outcome(t, srv.Client(), u, "m", stream))
			}
		})
		return out
	}
	for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
		for _, stream := range []bool{false, true} {
			t.Run(path+"/stream="+strconv.FormatBool(stream), func(t *testing.T) {
				a, b := run(t, 1, false, path, stream), run(t, 1, true, path, stream)
				if !slices.Equal(a, b) {
					t.Errorf("seed 1 gave different outcomes for model m when another model's requests were interleaved:\n%v\n%v", a, b)
				}
				if c := run(t, 2, false, path, stream); slices.Equal(a, c) {
					t.Errorf("seeds 1 and 2 gave the same %d outcomes", n)
				}
				count := map[string]int{}
				for _, o := range a {
					count[o]++
				}
				wantRateLimit := "429"
				for _, o := range []string{wantRateLimit, "500", "503", "529", "reset", "slow", "cut", "200"} {
					// Each has probability 0.1 (200: 0.3); 200 draws see each at least a few times.
					if count[o] < 5 {
						t.Errorf("outcome %s seen %d times in %d; want about %d (counts %v)", o, count[o], n, n/10, count)
					}
				}
			})
		}
	}
}

func TestFaultsRestartAndOwnModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		u := srv.URL() + "/v1/chat/completions"
		f := Faults{Seed: 7, ServerError: 0.5}
		srv.SetFaults("m", f)
		var first []string
		for range 20 {
			first = append(first, outcome(t, srv.Client(), u, "m", false))
		}
		srv.SetFaults("m", f) // restarts the sequence
		var again []string
		for range 20 {
			again = append(again, outcome(t, srv.Client(), u, "m", false))
		}
		if !slices.Equal(first, again) {
			t.Errorf("SetFaults again: outcomes %v; want the same as before %v", again, first)
		}
		if got := outcome(t, srv.Client(), u, "clean", false); got != "200" {
			t.Errorf("model without faults: %s; want 200", got)
		}
		// The script comes before faults.
		srv.SetFaults("m", Faults{Seed: 1, Unavailable: 1})
		srv.Script("m", OK("scripted"))
		if got := outcome(t, srv.Client(), u, "m", false); got != "200" {
			t.Errorf("scripted answer under faults: %s; want 200", got)
		}
		if got := outcome(t, srv.Client(), u, "m", false); got != "503" {
			t.Errorf("after the script, Unavailable: 1: %s; want 503", got)
		}
		srv.SetFaults("m", Faults{})
		if got := outcome(t, srv.Client(), u, "m", false); got != "200" {
			t.Errorf("zero Faults: %s; want 200", got)
		}
	})
}

func TestSetFaultsPanics(t *testing.T) {
	tests := []struct {
		name string
		f    Faults
	}{
		{"negative", Faults{Reset: -0.1}},
		{"above one", Faults{Slow: 1.5}},
		{"sum above one", Faults{ServerError: 0.6, Unavailable: 0.6}},
		{"NaN", Faults{Reset: nanValue()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "providertest: ") {
					t.Errorf("SetFaults(%+v) panic = %v; want a providertest: panic", tt.f, r)
				}
			}()
			New().SetFaults("m", tt.f)
		})
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestRateLimitOpenAI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.SetRateLimit("m", 2, 2) // 2 requests/s, bursts of 2
		srv.Script("m", OK("one"), OK("two"), OK("three"))
		c, u := srv.Client(), srv.URL()+"/v1/chat/completions"
		type result struct {
			status                            int
			remaining, reset, retryAfter, rms string
		}
		do := func() result {
			st, h, _ := mustPost(t, c, u, openAIBody("m", false))
			if h.Get("x-ratelimit-limit-requests") != "2" {
				t.Errorf("x-ratelimit-limit-requests = %q; want 2", h.Get("x-ratelimit-limit-requests"))
			}
			return result{st, h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests"),
				h.Get("Retry-After"), h.Get("retry-after-ms")}
		}
		want := []result{
			{200, "1", "500ms", "", ""},
			{200, "0", "1s", "", ""},
			{429, "0", "1s", "1", "500"},
		}
		for i, w := range want {
			if got := do(); got != w {
				t.Errorf("request %d at t=0: %+v; want %+v", i+1, got, w)
			}
		}
		if n := srv.Pending("m"); n != 1 {
			t.Errorf("Pending = %d; want 1 (the 429 consumed no scripted answer)", n)
		}
		time.Sleep(500 * time.Millisecond)
		if got, w := do(), (result{200, "0", "1s", "", ""}); got != w {
			t.Errorf("after 500ms: %+v; want %+v", got, w)
		}
		if st := srv.Stats("m"); st.Limited != 1 || st.ByStatus[429] != 1 || st.ByStatus[200] != 3 {
			t.Errorf("Stats = %+v; want 1 limited, 1×429, 3×200", st)
		}

		// A client that keeps to the limit never sees a 429.
		time.Sleep(10 * time.Second)
		for i := range 20 {
			if got := do(); got.status != 200 {
				t.Fatalf("paced request %d: %+v; want 200", i, got)
			}
			time.Sleep(500 * time.Millisecond)
		}

		srv.SetRateLimit("m", 0, 0) // removes the cap
		for range 5 {
			if st, h, _ := mustPost(t, c, u, openAIBody("m", false)); st != 200 || h.Get("x-ratelimit-limit-requests") != "" {
				t.Errorf("without a cap: %d, x-ratelimit-limit-requests %q; want 200 and no header", st, h.Get("x-ratelimit-limit-requests"))
			}
		}
	})
}

func TestRateLimitAnthropic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.SetRateLimit("claude", 0.5, 1) // one request every 2s
		c, u := srv.Client(), srv.URL()+"/v1/messages"
		st, h, _ := mustPost(t, c, u, anthropicBody("claude", false))
		if st != 200 || h.Get("anthropic-ratelimit-requests-limit") != "1" || h.Get("anthropic-ratelimit-requests-remaining") != "0" {
			t.Errorf("first request: %d %v; want 200 with limit 1, remaining 0", st, h)
		}
		reset, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-requests-reset"))
		if err != nil || time.Until(reset) != 2*time.Second {
			t.Errorf("anthropic-ratelimit-requests-reset = %q (%v); want now+2s", h.Get("anthropic-ratelimit-requests-reset"), err)
		}
		st, h, body := mustPost(t, c, u, anthropicBody("claude", false))
		if st != 429 || h.Get("Retry-After") != "2" || h.Get("retry-after-ms") != "" || errorType(t, body, true) != "rate_limit_error" {
			t.Errorf("second request: %d Retry-After %q %s; want 429, Retry-After 2, rate_limit_error", st, h.Get("Retry-After"), body)
		}
		time.Sleep(2 * time.Second)
		if st, _, _ := mustPost(t, c, u, anthropicBody("claude", false)); st != 200 {
			t.Errorf("after Retry-After: %d; want 200", st)
		}
	})
}

func TestBucketClockGoesBack(t *testing.T) {
	b := &bucket{rps: 1, burst: 1}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if ok, _, _ := b.take(now, FormatOpenAI); !ok {
		t.Fatal("first take refused; want a full bucket")
	}
	// An earlier clock (a synctest bubble after real time) must not panic or
	// refill; it starts counting from there.
	earlier := now.Add(-24 * time.Hour)
	if ok, wait, _ := b.take(earlier, FormatOpenAI); ok || wait != time.Second {
		t.Errorf("take at an earlier time = %v, %v; want refused, wait 1s", ok, wait)
	}
	if ok, _, _ := b.take(earlier.Add(time.Second), FormatOpenAI); !ok {
		t.Errorf("take 1s later refused; want allowed")
	}
}

// Faults.RetryAfterOnly: the random 429s carry Retry-After and no
// rate-limit header, in either route's error shape.
func TestFaultsRetryAfterOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.SetFaults("m", Faults{Seed: 1, RateLimited: 1, RetryAfter: 2 * time.Second, RetryAfterOnly: true})
		for _, path := range []string{"/v1/chat/completions", "/v1/messages"} {
			body := openAIBody("m", false)
			if path == "/v1/messages" {
				body = anthropicBody("m", false)
			}
			resp, err := post(context.Background(), t, srv.Client(), srv.URL()+path, body)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
				t.Errorf("%s: %d, Retry-After %q; want 429, 2", path, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			for k := range resp.Header {
				if k := strings.ToLower(k); strings.Contains(k, "ratelimit") || k == "retry-after-ms" {
					t.Errorf("%s: header %s; want Retry-After alone", path, k)
				}
			}
			if !strings.Contains(string(b), "rate") {
				t.Errorf("%s: body %s; want a rate-limit error", path, b)
			}
		}
	})
}
