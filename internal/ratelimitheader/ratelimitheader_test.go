package ratelimitheader

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

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

// parseByGet and retryAfterByGet are Parse and RetryAfter as they were
// written before the one-pass lookup: each header read with Get. The
// equivalence tests hold the new ones to them.
func parseByGet(h http.Header, now time.Time) (l Limits, ok bool) {
	l = unknown()
	if len(h) == 0 {
		return l, false
	}
	dim := func(d *dimension, limitKey, remainingKey, resetKey string, reset resetParser) {
		if v := Get(h, limitKey); v != "" {
			d.seen = true
			if n, ok := parseCount(v); ok {
				d.limit = n
			}
		}
		if v := Get(h, remainingKey); v != "" {
			d.seen = true
			if n, ok := parseCount(v); ok {
				d.remaining = n
			}
		}
		if v := Get(h, resetKey); v != "" {
			d.seen = true
			if r, ok := reset(strings.TrimSpace(v), now); ok {
				d.reset = r
			}
		}
	}
	req, tok := newDim(), newDim()
	dim(&req, "X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests", parseGoDurationByFloat)
	dim(&tok, "X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens", parseGoDurationByFloat)
	areq, atok := newDim(), newDim()
	dim(&areq, "Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset", parseRFC3339)
	dim(&atok, "Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset", parseRFC3339)
	if !atok.seen {
		in, out := newDim(), newDim()
		dim(&in, "Anthropic-Ratelimit-Input-Tokens-Limit", "Anthropic-Ratelimit-Input-Tokens-Remaining", "Anthropic-Ratelimit-Input-Tokens-Reset", parseRFC3339)
		dim(&out, "Anthropic-Ratelimit-Output-Tokens-Limit", "Anthropic-Ratelimit-Output-Tokens-Remaining", "Anthropic-Ratelimit-Output-Tokens-Reset", parseRFC3339)
		atok = tighter(in, out)
	}
	merge(&req, areq)
	merge(&tok, atok)
	ietf := newDim()
	dim(&ietf, "Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset", parseDeltaSeconds)
	if v := Get(h, "Ratelimit"); v != "" {
		parseCombined(&ietf, v)
	}
	merge(&req, ietf)
	plain := newDim()
	dim(&plain, "X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", parseResetNumber)
	merge(&req, plain)
	l.RequestsLimit, l.RequestsRemaining, l.RequestsReset = req.limit, req.remaining, req.reset
	l.TokensLimit, l.TokensRemaining, l.TokensReset = tok.limit, tok.remaining, tok.reset
	return l, req.seen || tok.seen
}

// parseGoDurationByFloat is parseGoDuration as it was: ParseFloat first,
// whatever the last byte.
func parseGoDurationByFloat(s string, _ time.Time) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return fromFloat(f, float64(time.Second))
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxWait {
		return 0, false
	}
	return d, true
}

func retryAfterByGet(h http.Header, now time.Time) (time.Duration, bool) {
	if len(h) == 0 {
		return 0, false
	}
	if v := Get(h, "Retry-After-Ms"); v != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			if d, ok := fromFloat(f, float64(time.Millisecond)); ok {
				return d, true
			}
		}
	}
	v := strings.TrimSpace(Get(h, "Retry-After"))
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return fromFloat(f, float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 || d > maxWait {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

// ambiguous reports whether Get's answer for some name depends on map
// order: two spellings other than the canonical one carry a value, and
// the canonical key carries none.
func ambiguous(h http.Header) bool {
	for _, name := range names {
		if len(h[name]) > 0 {
			continue
		}
		n := 0
		for k, vs := range h {
			if len(vs) > 0 && strings.EqualFold(k, name) {
				n++
			}
		}
		if n > 1 {
			return true
		}
	}
	return false
}

// rawHeader builds a header from "Key: value" lines keeping each key as
// written, as a hand-built map would.
func rawHeader(s string) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		h[k] = append(h[k], strings.TrimSpace(v))
	}
	return h
}

func checkSameAsGet(t *testing.T, h http.Header) {
	t.Helper()
	if ambiguous(h) {
		return
	}
	gotL, gotOK := Parse(h, now)
	wantL, wantOK := parseByGet(h, now)
	if gotL != wantL || gotOK != wantOK {
		t.Errorf("Parse(%q) = %+v, %v; reading each header with Get gives %+v, %v", h, gotL, gotOK, wantL, wantOK)
	}
	gotD, gotOK := RetryAfter(h, now)
	wantD, wantOK := retryAfterByGet(h, now)
	if gotD != wantD || gotOK != wantOK {
		t.Errorf("RetryAfter(%q) = %v, %v; reading each header with Get gives %v, %v", h, gotD, gotOK, wantD, wantOK)
	}
}

// TestSameAsGet holds the one-pass lookup to what reading each header
// with Get finds, for canonical, lower-case, upper-case and oddly folded
// keys, empty values and empty value lists.
func TestSameAsGet(t *testing.T) {
	tests := []http.Header{
		nil,
		{},
		openAIHeader(true),
		openAIHeader(false),
		{"X-Ratelimit-Remaining-Requests": {}, "x-ratelimit-remaining-requests": {"4"}},
		{"X-Ratelimit-Remaining-Requests": {""}, "x-ratelimit-remaining-requests": {"4"}},
		{"X-Ratelimit-Remaining-Requests": {"3"}, "x-ratelimit-remaining-requests": {"4"}, "X-RATELIMIT-REMAINING-REQUESTS": {"5"}},
		{"X-RATELIMIT-RESET-TOKENS": {"7s"}, "retry-after": {"3"}, "RETRY-AFTER-MS": {"250"}},
		{"ratelimit": {`"default";r=50;t=30`}, "RateLimit-Limit": {"100"}},
		{"anthropic-ratelimit-input-tokens-remaining": {"10"}, "Anthropic-Ratelimit-Output-Tokens-Remaining": {"20"}},
		// U+212A KELVIN SIGN folds to k, U+017F LATIN SMALL LETTER LONG S to s.
		{"X-Ratelimit-Remaining-To\u212Aens": {"6"}, "Retry-After-M\u017F": {"90"}},
		{"X-Ratelimit-Reset": {"1740830460000"}, "x-ratelimit-limit": {"20"}},
		{"Retry-After": {"Sat, 01 Mar 2025 12:00:07 GMT"}},
		{"Retry-After": {"inf"}, "X-Ratelimit-Reset-Requests": {"NaN"}, "X-Ratelimit-Reset-Tokens": {"1."}},
		{strings.Repeat("x", 100): {"1"}, "R": {"1"}, "": {"1"}},
	}
	for _, h := range tests {
		checkSameAsGet(t, h)
	}
}

func FuzzSameAsGet(f *testing.F) {
	f.Add("x-ratelimit-limit-requests: 60\nX-Ratelimit-Limit-Requests: 61\nx-ratelimit-reset-requests: 6m0s")
	f.Add("ANTHROPIC-RATELIMIT-TOKENS-RESET: 2025-03-01T12:00:30Z\nanthropic-ratelimit-output-tokens-remaining: 0")
	f.Add("ratelimit: limit=10, remaining=0, reset=3\nRateLimit-Limit: 100, 100;w=60")
	f.Add("x-ratelimit-reset: 1740830460000\nX-RateLimit-Remaining: 1e9")
	f.Add("retry-after: Sat, 01 Mar 2025 12:00:07 GMT\nRetry-After-Ms: 1e308")
	f.Add("X-Ratelimit-Reset-Requests: inf\nRetry-After-M\u017f: 5")
	f.Fuzz(func(t *testing.T, s string) {
		checkSameAsGet(t, rawHeader(s))
		checkSameAsGet(t, headerFromString(s))
	})
}

// TestNamesStartWithUnfoldedLetters checks what fieldOf's first-byte test
// relies on: no rune other than a name's first letter in either case folds
// to it (as the Kelvin sign folds to k).
func TestNamesStartWithUnfoldedLetters(t *testing.T) {
	for _, n := range names {
		first := rune(n[0])
		for r := unicode.SimpleFold(first); r != first; r = unicode.SimpleFold(r) {
			if r >= utf8.RuneSelf {
				t.Errorf("%q starts with %q, which %q folds to", n, first, r)
			}
		}
		if n != http.CanonicalHeaderKey(n) {
			t.Errorf("names holds %q; want its canonical form %q", n, http.CanonicalHeaderKey(n))
		}
	}
}

// TestExactFieldMatchesNames keeps exactField's switch in step with names.
func TestExactFieldMatchesNames(t *testing.T) {
	for i, n := range names {
		if got := exactField(n); got != i {
			t.Errorf("exactField(%q) = %d; want %d", n, got, i)
		}
		if got := exactField(strings.ToLower(n)); got != -1 {
			t.Errorf("exactField(%q) = %d; want -1 (only the canonical spelling)", strings.ToLower(n), got)
		}
		if !canonicalASCII(n) {
			t.Errorf("canonicalASCII(%q) = false; every name is canonical", n)
		}
	}
	for _, k := range []string{"x-ratelimit-limit", "X-RateLimit-Limit", "X-Ratelimit-limit", "x", "Retry-\u212aey"} {
		if canonicalASCII(k) {
			t.Errorf("canonicalASCII(%q) = true; want false", k)
		}
	}
}
