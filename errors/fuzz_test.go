package errors

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// headerFromString builds a header from "Key: value" lines, the form the
// fuzz target receives headers in.
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

func headerToString(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// FuzzClassifyResponse checks that no status, header or body makes
// ClassifyResponse panic, return nil for an error status, return an
// invalid code, or produce an Error text that is not one bounded line.
// The seed corpus is every real answer of the table tests plus the files
// in testdata/.
func FuzzClassifyResponse(f *testing.F) {
	for _, tc := range responseCases {
		f.Add(tc.status, headerToString(tc.header), tc.bodyBytes(f))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(429, "Retry-After: 3\nx-ratelimit-remaining-requests: 0", b)
		}
	}
	f.Add(-1, "X-Should-Retry: maybe\nRetry-After: 1e309", []byte(`[[[[[[{"error":`))
	f.Add(200, "retry-after-ms: NaN", []byte("data: {\"error\":{\"code\":\"429\"}}"))
	f.Fuzz(func(t *testing.T, status int, headers string, body []byte) {
		e := classifyResponseAt(testNow, status, headerFromString(headers), body)
		if e == nil {
			t.Fatalf("ClassifyResponse(%d, %q, %q) = nil; want non-nil", status, headers, body)
		}
		if status >= 400 && e.Code == Cancelled && status != 499 && !strings.Contains(strings.ToLower(string(body)), "cancel") {
			t.Errorf("ClassifyResponse(%d, ...) = Cancelled without a cancel in the body", status)
		}
		checkClassified(t, e)
	})
}

// TestClassifyResponseUsesTheClock runs the public entry point inside a
// synctest bubble, where time.Now is the bubble's fake clock, to check that
// HTTP-dates and RFC 3339 resets are taken relative to now.
func TestClassifyResponseUsesTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		h := http.Header{}
		h.Set("Retry-After", now.Add(30*time.Second).UTC().Format(http.TimeFormat))
		if got := ClassifyResponse(429, h, nil).RetryAfter; got != 30*time.Second {
			t.Errorf("ClassifyResponse(429, Retry-After: date in 30s).RetryAfter = %v; want 30s", got)
		}
		h = http.Header{}
		h.Set("Anthropic-Ratelimit-Tokens-Remaining", "0")
		h.Set("Anthropic-Ratelimit-Tokens-Reset", now.Add(8*time.Second).UTC().Format(time.RFC3339))
		if got := ClassifyResponse(429, h, nil).RetryAfter; got != 8*time.Second {
			t.Errorf("ClassifyResponse(429, anthropic tokens reset in 8s).RetryAfter = %v; want 8s", got)
		}
	})
}
