package errors

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ailib-go/ailib/internal/ratelimitheader"
)

// Waits written in messages: Azure "Please retry after 7 seconds", OpenAI
// "Please try again in 1.5s" / "in 7m12s", Gemini "Please retry in
// 20.04466179s".
var (
	msgWaitGo   = regexp.MustCompile(`(?i)(?:retry|try again)\s+(?:after|in)\s+((?:\d{1,9}(?:\.\d{1,12})?(?:ms|h|m|s))+)\b`)
	msgWaitUnit = regexp.MustCompile(`(?i)(?:retry|try again)\s+(?:after|in)\s+(\d{1,9}(?:\.\d{1,12})?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|hours?)?\b`)
)

// retryAfter finds how long the provider asked to wait; see
// [ClassifyResponse] for the order.
func retryAfter(now time.Time, code StandardErrorCode, h http.Header, info bodyInfo, msg string) time.Duration {
	if d, ok := ratelimitheader.RetryAfter(h, now); ok && d <= MaxRetryAfter {
		return d
	}
	if d, ok := ratelimitheader.RetryAfter(info.extraHeader, now); ok && d <= maxUpstreamWait {
		return d
	}
	if info.hasRetryDelay && info.retryDelay >= 0 && info.retryDelay <= MaxRetryAfter {
		return info.retryDelay
	}
	if d, ok := messageWait(msg); ok {
		return d
	}
	if code != RateLimited {
		return 0
	}
	for _, src := range []http.Header{h, info.extraHeader} {
		if d := exhaustedReset(src, now); d > 0 {
			return d
		}
	}
	return 0
}

// maxUpstreamWait bounds a wait read from an upstream's answer quoted in
// a router's (OpenRouter's metadata: its Retry-After, retry_after_seconds).
// The router sends the next request to another upstream, so a long wait of
// one of them is not the router's: taken as the target's, it would pause
// every model routed there. A short one is the best guess of when the
// model is served again.
const maxUpstreamWait = time.Minute

// messageWait reads a wait written in a message.
func messageWait(msg string) (time.Duration, bool) {
	if msg == "" {
		return 0, false
	}
	if len(msg) > 4*MaxMessageLen {
		msg = msg[:4*MaxMessageLen]
	}
	if m := msgWaitGo.FindStringSubmatch(msg); m != nil {
		if d, err := time.ParseDuration(strings.ToLower(m[1])); err == nil && d >= 0 && d <= MaxRetryAfter {
			return d, true
		}
	}
	if m := msgWaitUnit.FindStringSubmatch(msg); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, false
		}
		unit := time.Second
		switch u := strings.ToLower(m[2]); {
		case strings.HasPrefix(u, "ms"), strings.HasPrefix(u, "milli"):
			unit = time.Millisecond
		case strings.HasPrefix(u, "m"):
			unit = time.Minute
		case strings.HasPrefix(u, "h"):
			unit = time.Hour
		}
		d := time.Duration(f * float64(unit))
		if d >= 0 && d <= MaxRetryAfter {
			return d, true
		}
	}
	return 0, false
}

// exhaustedReset returns the reset time of the dimension the headers
// report as exhausted (the longer one when both are), or 0.
func exhaustedReset(h http.Header, now time.Time) time.Duration {
	if len(h) == 0 {
		return 0
	}
	l, ok := ratelimitheader.Parse(h, now)
	if !ok {
		return 0
	}
	var d time.Duration
	if l.RequestsExhausted() {
		d = max(d, l.RequestsReset)
	}
	if l.TokensExhausted() {
		d = max(d, l.TokensReset)
	}
	if d > MaxRetryAfter {
		return 0
	}
	return d
}
