package providertest

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

func TestRateLimitStyles(t *testing.T) {
	rateHeaders := []string{
		"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
		"anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset",
		"Retry-After", "retry-after-ms",
	}
	type answer struct {
		status  int
		headers map[string]string // every rate-limit header sent
	}
	// Each style: a bucket of 10 rps, burst 2; three requests at t=0, then
	// one 50ms later. Only the headers differ between styles.
	for _, tc := range []struct {
		style     RateLimitStyle
		anthropic bool
		want      []answer
	}{
		{RateLimitOpenAIPerMinute, false, []answer{
			{200, map[string]string{"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "100ms"}},
			{200, map[string]string{"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "100ms"}},
			{429, map[string]string{"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "100ms",
				"Retry-After": "1", "retry-after-ms": "100"}},
			{429, map[string]string{"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "50ms",
				"Retry-After": "1", "retry-after-ms": "50"}},
		}},
		{RateLimitAnthropicPerMinute, true, []answer{
			{200, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "1",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z"}},
			{200, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z"}},
			{429, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z", "Retry-After": "1"}},
			{429, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z", "Retry-After": "1"}},
		}},
		// The per-minute headers go on any route.
		{RateLimitAnthropicPerMinute, false, []answer{
			{200, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "1",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z"}},
			{200, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z"}},
			{429, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z", "Retry-After": "1"}},
			{429, map[string]string{"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "0",
				"anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z", "Retry-After": "1"}},
		}},
		{RateLimitRetryAfterOnly, false, []answer{
			{200, map[string]string{}}, {200, map[string]string{}},
			{429, map[string]string{"Retry-After": "1"}}, {429, map[string]string{"Retry-After": "1"}},
		}},
		{RateLimitBare, true, []answer{
			{200, map[string]string{}}, {200, map[string]string{}}, {429, map[string]string{}}, {429, map[string]string{}},
		}},
	} {
		t.Run(fmt.Sprintf("%v/anthropic=%v", tc.style, tc.anthropic), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The bubble starts at 2000-01-01; move to a round second.
				time.Sleep(time.Until(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
				srv := New()
				srv.SetRateLimitStyle("m", 10, 2, tc.style)
				c := srv.Client()
				u, body := srv.URL()+"/v1/chat/completions", openAIBody("m", false)
				if tc.anthropic {
					u, body = srv.URL()+"/v1/messages", anthropicBody("m", false)
				}
				for i, w := range tc.want {
					if i == 3 {
						time.Sleep(50 * time.Millisecond)
					}
					st, h, b := mustPost(t, c, u, body)
					got := answer{st, map[string]string{}}
					for _, k := range rateHeaders {
						if v := h.Get(k); v != "" {
							got.headers[k] = v
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(w) {
						t.Errorf("request %d: %v; want %v", i+1, got, w)
					}
					if st == http.StatusTooManyRequests && errorType(t, b, tc.anthropic) != map[bool]string{true: "rate_limit_error", false: "requests"}[tc.anthropic] {
						t.Errorf("request %d: body %s; want the route's rate-limit error", i+1, b)
					}
				}
				if st := srv.Stats("m"); st.Limited != 2 {
					t.Errorf("Stats.Limited = %d; want 2", st.Limited)
				}
			})
		})
	}
	if RateLimitBucket.String() != "bucket" || RateLimitStyle(9).String() != "RateLimitStyle(9)" {
		t.Errorf("String: %q, %q", RateLimitBucket, RateLimitStyle(9))
	}
}

func TestFaultsCallKey(t *testing.T) {
	// Two orders of the same calls meet the same faults, call by call.
	outcomes := func(order []string) map[string][]int {
		srv := New()
		defer srv.Close()
		srv.SetFaults("m", Faults{Seed: 3, Unavailable: 0.5, CallKey: "X-Call"})
		got := map[string][]int{}
		for _, key := range order {
			st, _, _ := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false), "X-Call", key)
			got[key] = append(got[key], st)
		}
		return got
	}
	a := outcomes([]string{"a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d"})
	b := outcomes([]string{"d", "c", "b", "a", "a", "d", "b", "c", "c", "b", "a", "d"})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("outcomes depend on the order: %v vs %v", a, b)
	}
	n503 := 0
	for _, sts := range a {
		for _, st := range sts {
			if st == http.StatusServiceUnavailable {
				n503++
			}
		}
	}
	if n503 == 0 || n503 == 12 {
		t.Errorf("%d of 12 answers are 503 at 50%%: %v", n503, a)
	}
}
