package ratelimitheader

import (
	"net/http"
	"testing"
)

// openAIHeader is the header of a real OpenAI chat completion answer, as
// net/http hands it over (canonical keys): 13 ordinary headers and the 6
// x-ratelimit-* ones.
func openAIHeader(withLimits bool) http.Header {
	h := http.Header{
		"Date":                          {"Sat, 01 Mar 2025 12:00:00 GMT"},
		"Content-Type":                  {"application/json"},
		"Access-Control-Expose-Headers": {"X-Request-ID"},
		"Openai-Organization":           {"user-abcdefghijklmnopqrstuvwx"},
		"Openai-Processing-Ms":          {"412"},
		"Openai-Version":                {"2020-10-01"},
		"X-Request-Id":                  {"req_0123456789abcdef0123456789abcdef"},
		"Strict-Transport-Security":     {"max-age=31536000; includeSubDomains; preload"},
		"Cf-Cache-Status":               {"DYNAMIC"},
		"Set-Cookie":                    {"__cf_bm=abcdefghijklmnopqrstuvwxyz0123456789; path=/; expires=Sat, 01-Mar-25 12:30:00 GMT; domain=.api.openai.com; HttpOnly; Secure; SameSite=None"},
		"Server":                        {"cloudflare"},
		"Cf-Ray":                        {"91a2b3c4d5e6f708-AMS"},
		"Alt-Svc":                       {`h3=":443"; ma=86400`},
	}
	if withLimits {
		h["X-Ratelimit-Limit-Requests"] = []string{"10000"}
		h["X-Ratelimit-Limit-Tokens"] = []string{"30000000"}
		h["X-Ratelimit-Remaining-Requests"] = []string{"9999"}
		h["X-Ratelimit-Remaining-Tokens"] = []string{"29999980"}
		h["X-Ratelimit-Reset-Requests"] = []string{"6ms"}
		h["X-Ratelimit-Reset-Tokens"] = []string{"0s"}
	}
	return h
}

var (
	sinkLimits Limits
	sinkOK     bool
)

// BenchmarkParse reads the limits of an OpenAI answer, as the limiter does
// for every answer.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    http.Header
	}{
		{"openai", openAIHeader(true)},
		{"no-ratelimit-header", openAIHeader(false)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkLimits, sinkOK = Parse(bc.h, now)
			}
		})
	}
}

// BenchmarkRetryAfter looks for a wait in an OpenAI answer that has none,
// as the classifier does for every error answer.
func BenchmarkRetryAfter(b *testing.B) {
	h := openAIHeader(true)
	b.ReportAllocs()
	for b.Loop() {
		_, sinkOK = RetryAfter(h, now)
	}
}
