package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLessons runs the example and checks each lesson's line: what the
// output shows is what the step's title says.
func TestLessons(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("run() = %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	// step returns the output of lesson n (from its title to the next).
	step := func(n string) string {
		i := strings.Index(text, n+". ")
		if i < 0 {
			t.Fatalf("no step %s in the output", n)
		}
		rest := text[i+len(n)+2:]
		if j := strings.Index(rest, "\n\n"); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	check := func(n string, wants ...string) {
		t.Helper()
		s := step(n)
		for _, w := range wants {
			if !strings.Contains(s, w) {
				t.Errorf("step %s lacks %q:\n%s", n, w, s)
			}
		}
	}
	// 1: no retry on quota, straight to Groq; then the cooldown keeps calls away.
	check("1",
		`"Hi from Llama on Groq" from groq/llama-3.3-70b-versatile after 2 requests (1 request to the primary)`,
		"(quota_exhausted, cooling down)",
		`"Hi from Llama on Groq" from groq/llama-3.3-70b-versatile after 1 request (0 requests to the primary)`,
		"primary cooling down for 1m0s more, because of E2002 quota_exhausted")
	if strings.Contains(step("1"), "    retry ") {
		t.Errorf("step 1 retried a quota error:\n%s", step("1"))
	}
	// 2: the 503 is retried on the primary, which answers.
	check("2", "retry openai/gpt-4o after overloaded",
		`"Hi from GPT-4o" from openai/gpt-4o after 2 requests (2 requests to the primary)`)
	// 3: too large: one request, no fallback.
	check("3", "error after 1 request: E1005 request_too_large from openai/gpt-4o")
	if strings.Contains(step("3"), "fallback ") {
		t.Errorf("step 3 fell back:\n%s", step("3"))
	}
	// 4: the circuit opens after 2 failures (one retry: a fallback follows), Groq's key is refused and masked.
	check("4", "circuit of openai/gpt-4o: closed -> open", "(2 requests to the primary)",
		"Incorrect API key provided: ***.", `"Hi from Claude" from anthropic/claude-haiku-4-5`)
	if strings.Contains(step("4"), "gsk_demo") {
		t.Errorf("step 4 shows the key:\n%s", step("4"))
	}
	// 5: the open circuit keeps every call away from the primary.
	s5 := step("5")
	if got := strings.Count(s5, "(0 requests to the primary)"); got != 3 {
		t.Errorf("step 5: %d calls with no request to the primary; want 3:\n%s", got, s5)
	}
	if got := strings.Count(s5, "primary's circuit: open"); got != 3 {
		t.Errorf("step 5: circuit open after %d calls; want 3:\n%s", got, s5)
	}
	check("5", "(circuit open)", "(authentication, cooling down)")
	// 6: every target failed; the text names each; the last one decides.
	check("6", "resilience: all 3 targets failed; ailib: openai/gpt-4o: E2002 quota_exhausted",
		"ailib: groq/llama-3.3-70b-versatile: E3002 overloaded", "ailib: anthropic/claude-haiku-4-5: E3002 overloaded",
		"aierrors.CodeOf(err) = E3002 overloaded; errors.Is(err, aierrors.QuotaExhausted) = false")
}
