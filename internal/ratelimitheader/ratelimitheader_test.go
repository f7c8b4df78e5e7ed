package ratelimitheader

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		h      http.Header
		want   Limits
		wantOK bool
	}{
		{"no headers", nil, unknown(), false},
		{"unrelated headers", hdr("Content-Type", "application/json"), unknown(), false},
		{
			"openai/full set",
			hdr("x-ratelimit-limit-requests", "60", "x-ratelimit-limit-tokens", "150000",
				"x-ratelimit-remaining-requests", "59", "x-ratelimit-remaining-tokens", "149984",
				"x-ratelimit-reset-requests", "1s", "x-ratelimit-reset-tokens", "6m0s"),
			Limits{60, 59, time.Second, 150000, 149984, 6 * time.Minute}, true,
		},
		{
			"groq/fractional resets",
			hdr("x-ratelimit-limit-requests", "14400", "x-ratelimit-remaining-requests", "14370",
				"x-ratelimit-reset-requests", "2m59.56s", "x-ratelimit-reset-tokens", "7.66s"),
			Limits{14400, 14370, 2*time.Minute + 59560*time.Millisecond, -1, -1, 7660 * time.Millisecond}, true,
		},
		{
			"openai/milliseconds reset",
			hdr("x-ratelimit-remaining-tokens", "0", "x-ratelimit-reset-tokens", "120ms"),
			Limits{-1, -1, 0, -1, 0, 120 * time.Millisecond}, true,
		},
		{
			"openai/garbage values ignored",
			hdr("x-ratelimit-limit-requests", "lots", "x-ratelimit-remaining-requests", "-3",
				"x-ratelimit-reset-requests", "soon"),
			unknown(), true,
		},
		{
			"anthropic/requests and tokens",
			hdr("anthropic-ratelimit-requests-limit", "50", "anthropic-ratelimit-requests-remaining", "0",
				"anthropic-ratelimit-requests-reset", "2025-03-01T12:00:30Z",
				"anthropic-ratelimit-tokens-limit", "40000", "anthropic-ratelimit-tokens-remaining", "39000",
				"anthropic-ratelimit-tokens-reset", "2025-03-01T12:00:01.5Z"),
			Limits{50, 0, 30 * time.Second, 40000, 39000, 1500 * time.Millisecond}, true,
		},
		{
			"anthropic/input and output tokens only, output tighter",
			hdr("anthropic-ratelimit-input-tokens-limit", "40000", "anthropic-ratelimit-input-tokens-remaining", "30000",
				"anthropic-ratelimit-input-tokens-reset", "2025-03-01T12:00:10Z",
				"anthropic-ratelimit-output-tokens-limit", "8000", "anthropic-ratelimit-output-tokens-remaining", "100",
				"anthropic-ratelimit-output-tokens-reset", "2025-03-01T12:00:20Z"),
			Limits{-1, -1, 0, 8000, 100, 20 * time.Second}, true,
		},
		{
			"anthropic/reset in the past ignored",
			hdr("anthropic-ratelimit-requests-remaining", "5", "anthropic-ratelimit-requests-reset", "2025-03-01T11:00:00Z"),
			Limits{-1, 5, 0, -1, -1, 0}, true,
		},
		{
			"ietf/separate headers",
			hdr("RateLimit-Limit", "100, 100;w=60", "RateLimit-Remaining", "7", "RateLimit-Reset", "42"),
			Limits{100, 7, 42 * time.Second, -1, -1, 0}, true,
		},
		{
			"ietf/combined draft-06",
			hdr("RateLimit", "limit=10, remaining=0, reset=3"),
			Limits{10, 0, 3 * time.Second, -1, -1, 0}, true,
		},
		{
			"ietf/combined draft-07",
			hdr("RateLimit", `"default";r=50;t=30`),
			Limits{-1, 50, 30 * time.Second, -1, -1, 0}, true,
		},
		{
			"openrouter/x-ratelimit-reset unix millis",
			hdr("X-RateLimit-Limit", "20", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1740830460000"),
			Limits{20, 0, time.Minute, -1, -1, 0}, true,
		},
		{
			"gateway/x-ratelimit-reset unix seconds",
			hdr("X-RateLimit-Reset", "1740830410"),
			Limits{-1, -1, 10 * time.Second, -1, -1, 0}, true,
		},
		{
			"gateway/x-ratelimit-reset delta seconds",
			hdr("X-RateLimit-Reset", "12"),
			Limits{-1, -1, 12 * time.Second, -1, -1, 0}, true,
		},
		{
			"openai beats un-prefixed",
			hdr("x-ratelimit-remaining-requests", "3", "X-RateLimit-Remaining", "9"),
			Limits{-1, 3, 0, -1, -1, 0}, true,
		},
		{
			"non-canonical key in a hand-built map",
			http.Header{"x-ratelimit-remaining-requests": {"4"}},
			Limits{-1, 4, 0, -1, -1, 0}, true,
		},
		{
			"absurd reset ignored",
			hdr("x-ratelimit-reset-requests", "9999999h"),
			Limits{-1, -1, 0, -1, -1, 0}, true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Parse(%v) = %+v, %v; want %+v, %v", tt.h, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		h      http.Header
		want   time.Duration
		wantOK bool
	}{
		{"none", nil, 0, false},
		{"seconds", hdr("Retry-After", "20"), 20 * time.Second, true},
		{"zero means now", hdr("Retry-After", "0"), 0, true},
		{"fractional seconds", hdr("Retry-After", "1.5"), 1500 * time.Millisecond, true},
		{"http-date", hdr("Retry-After", "Sat, 01 Mar 2025 12:00:07 GMT"), 7 * time.Second, true},
		{"http-date in the past", hdr("Retry-After", "Sat, 01 Mar 2025 11:00:00 GMT"), 0, false},
		{"retry-after-ms wins", hdr("Retry-After", "2", "retry-after-ms", "350"), 350 * time.Millisecond, true},
		{"fractional ms", hdr("retry-after-ms", "12.5"), 12500 * time.Microsecond, true},
		{"bad ms falls back to seconds", hdr("retry-after-ms", "x", "Retry-After", "3"), 3 * time.Second, true},
		{"negative", hdr("Retry-After", "-5"), 0, false},
		{"garbage", hdr("Retry-After", "soon"), 0, false},
		{"NaN", hdr("Retry-After", "NaN"), 0, false},
		{"Inf", hdr("Retry-After", "+Inf"), 0, false},
		{"absurd", hdr("Retry-After", "1e300"), 0, false},
		{"more than a week", hdr("Retry-After", "700000"), 0, false},
		{"spaces", hdr("Retry-After", "  4 "), 4 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tt.h, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"1s", time.Second, true},
		{"6m0s", 6 * time.Minute, true},
		{"120ms", 120 * time.Millisecond, true},
		{"20ms", 20 * time.Millisecond, true},
		{"1h2m3s", time.Hour + 2*time.Minute + 3*time.Second, true},
		{"2.5", 2500 * time.Millisecond, true},
		{"", 0, false},
		{"-1s", 0, false},
		{"abc", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDuration(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestExhausted(t *testing.T) {
	l := unknown()
	if l.RequestsExhausted() || l.TokensExhausted() {
		t.Errorf("unknown().Exhausted = true; want false")
	}
	l.TokensRemaining = 0
	if !l.TokensExhausted() {
		t.Errorf("TokensExhausted() with 0 remaining = false; want true")
	}
}

// headerFromString builds a header from "Key: value" lines, as the fuzz
// targets feed it.
func headerFromString(s string) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h
}

func FuzzParse(f *testing.F) {
	f.Add("x-ratelimit-limit-requests: 60\nx-ratelimit-reset-requests: 6m0s\nx-ratelimit-reset-tokens: 120ms")
	f.Add("anthropic-ratelimit-requests-reset: 2025-03-01T12:00:30Z\nanthropic-ratelimit-output-tokens-remaining: 0")
	f.Add("RateLimit: limit=10, remaining=0, reset=3\nRateLimit-Limit: 100, 100;w=60")
	f.Add("X-RateLimit-Reset: 1740830460000\nX-RateLimit-Remaining: 1e9")
	f.Add("Retry-After: Sat, 01 Mar 2025 12:00:07 GMT\nretry-after-ms: 1e308")
	f.Fuzz(func(t *testing.T, s string) {
		h := headerFromString(s)
		l, _ := Parse(h, now)
		for _, d := range []time.Duration{l.RequestsReset, l.TokensReset} {
			if d < 0 || d > maxWait {
				t.Fatalf("Parse(%q) reset = %v; want within [0, %v]", s, d, maxWait)
			}
		}
		for _, n := range []int{l.RequestsLimit, l.RequestsRemaining, l.TokensLimit, l.TokensRemaining} {
			if n < -1 {
				t.Fatalf("Parse(%q) count = %d; want >= -1", s, n)
			}
		}
		d, ok := RetryAfter(h, now)
		if d < 0 || d > maxWait || (!ok && d != 0) {
			t.Fatalf("RetryAfter(%q) = %v, %v; want within [0, %v]", s, d, ok, maxWait)
		}
	})
}
