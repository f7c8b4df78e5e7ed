package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLessons runs the example and checks the line that carries each
// lesson.
func TestLessons(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("run() = %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
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
	// 1: every call succeeds, each deployment serves about its cap's share
	// (12/6/3 of 21: 57/29/14%, of 60 calls: 34/17/9), and the 429s are
	// few (a loop that ignores the caps meets one on most calls).
	check("1", "60 of 60 calls succeeded")
	m := regexp.MustCompile(`answered: east (\d+), west (\d+), eu (\d+); 429s: (\d+)`).FindStringSubmatch(step("1"))
	if m == nil {
		t.Fatalf("step 1 has no answered line:\n%s", step("1"))
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	if east, west, eu := n(1), n(2), n(3); !(east > west && west > eu && eu >= 5) {
		t.Errorf("step 1 split east %d, west %d, eu %d; want east > west > eu (caps 12/6/3)", east, west, eu)
	}
	if limited := n(4); limited > 10 {
		t.Errorf("step 1 met %d 429s; want at most 10", limited)
	}
	// 2: the 429 moves the call at once, no 2s Retry-After sleep.
	check("2", "openai/gpt-4o#east -> openai/gpt-4o#west after rate_limited", `"Hi from west" after 2 request(s)`, "the call took 0s")
	// 3: one 401, then west is left alone.
	check("3", "after authentication", "west answered 401 1 time(s); cooling down for 5m0s (authentication)")
	if strings.Count(step("3"), "Hi from west") != 0 {
		t.Errorf("step 3: west answered with a revoked key:\n%s", step("3"))
	}
	// 4: the fallback only once every deployment failed, then at once.
	check("4", "openai/gpt-4o#west -> openai/gpt-4o#eu after quota_exhausted",
		`"Hi from Claude" after 4 request(s)`, `"Hi from Claude" after 1 request(s)`, "pool: 0 of 3 deployments available")
	// 5: weights 3:1:1 over 50 calls: exactly 30/10/10.
	check("5", "answered: east 30, west 10, eu 10; 429s: 0")
}
