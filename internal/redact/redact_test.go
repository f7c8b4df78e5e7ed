package redact

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain prose untouched", "The model `gpt-5` does not exist or you do not have access to it.", "The model `gpt-5` does not exist or you do not have access to it."},
		{"prose about a key untouched", "Invalid API key provided. Please check the key provided is valid.", "Invalid API key provided. Please check the key provided is valid."},
		{"token counts untouched", "max_tokens: 4096 is too large; tokens 12345", "max_tokens: 4096 is too large; tokens 12345"},
		{"openai legacy key", "key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD was revoked", "key sk-*** was revoked"},
		{"openai project key", "Incorrect API key provided: sk-proj-AbCdEf0123456789_-xyzXYZ0123.", "Incorrect API key provided: sk-proj-***."},
		{"openai partly masked key", "Incorrect API key provided: sk-proj-********************************************ab12. You can find", "Incorrect API key provided: sk-proj-***. You can find"},
		{"anthropic key", "x-api-key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AAA", "x-api-key sk-ant-api03-***"},
		{"openrouter key", "sk-or-v1-0123456789abcdef0123456789abcdef", "sk-or-v1-***"},
		{"google key in url", "GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA-1234567890abcdefghijklmnopqrstu failed", "GET https://generativelanguage.googleapis.com/v1beta/models?key=AIza*** failed"},
		{"groq key", "gsk_0123456789abcdefABCDEFghijkl", "gsk_***"},
		{"xai key", "xai-0123456789abcdefABCDEFghijkl", "xai-***"},
		{"huggingface token", "hf_abcdefghijklmnopqrstuvwxyz0123", "hf_***"},
		{"aws access key", "AKIAIOSFODNN7EXAMPLE is not authorized", "AKIA*** is not authorized"},
		{"bearer", "Authorization: Bearer abc.def-ghi_jkl~0123456789", "Authorization: Bearer ***"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "token eyJ***"},
		{"json api_key", `{"api_key": "0123456789abcdef0123456789abcdef"}`, `{"api_key": "***"}`},
		{"query token", "https://x.example/v1?token=Zm9vYmFyYmF6cXV4cXV1eA==&a=1", "https://x.example/v1?token=***&a=1"},
		{"password", "password=hunter2hunter2", "password=***"},
		{"several", "sk-aaaaaaaaaaaaaaaaaaaaaaaa and gsk_bbbbbbbbbbbbbbbbbbbbbbbb", "sk-*** and gsk_***"},
		{"hex after key word", "key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "key ***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzString(f *testing.F) {
	f.Add("Incorrect API key provided: sk-proj-abcdefghijklmnop0123456789")
	f.Add("Bearer abcdefghijklmnop api_key=\"x\"")
	f.Add("key=AIzaSyA-1234567890abcdefghijklmnopqrstu")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if len(out) > len(s)+len(Mask) && len(out) > 2*len(s)+8 {
			t.Fatalf("String(%q) grew to %d bytes", s, len(out))
		}
		planted := s + " sk-proj-PLANTEDsecret0123456789"
		if strings.Contains(String(planted), "PLANTEDsecret0123456789") {
			t.Fatalf("String(%q) kept the planted key", planted)
		}
	})
}

// stringAlways is String without its literal prechecks: every pattern runs.
func stringAlways(s string) string {
	if s == "" {
		return s
	}
	s = replaceSubmatches(prefixed, s, maskPrefixed)
	s = bearer.ReplaceAllString(s, "${1}${2}"+Mask)
	return replaceSubmatches(assigned, s, maskAssigned)
}

// FuzzStringSkipsOnlyWhatCannotMatch: the prechecks never change the
// result.
func FuzzStringSkipsOnlyWhatCannotMatch(f *testing.F) {
	for _, s := range []string{"req_8f3a9c0d1e2b", "Incorrect API key provided: sk-proj-abcdefghijklmnop0123456789",
		"BEARER abcdefghijkl", "Api_Key=abcdefgh12", "x-api-KEY: 0123456789abcdef", "SIGNATURE=abcdefgh123",
		"\u212aey=abcdefgh", "ſecret: abcdefghij", "eyJhbGciOi.eyJzdWIiOi.sig", "Basic dXNlcjpwYXNzd29yZA=="} {
		f.Add(s)
	}
	f.Add("0KeY 00000000") // the match's \b does not hold on the match alone: the old code panicked
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := String(s), stringAlways(s); got != want {
			t.Fatalf("String(%q) = %q; every pattern run gives %q", s, got, want)
		}
	})
}

func TestStringSkipsCleanText(t *testing.T) {
	for _, s := range []string{"req_8f3a9c0d1e2b4a5f6071829304a5b6c7", "The server had an error while processing your request."} {
		if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
			t.Errorf("String(%q) allocates %v times; want 0 (no pattern can match)", s, n)
		}
	}
}

func BenchmarkStringRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = String("req_8f3a9c0d1e2b4a5f6071829304a5b6c7")
	}
}
