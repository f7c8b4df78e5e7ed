package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/resilience"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOffline runs the demo on the embedded provider (as go run does with
// no API key) and checks the lines that carry its lessons: it says it runs
// a tuned configuration and how it differs from the defaults; each retry
// line names its call, and that call's line shows the extra requests; each
// call says how long it waited; the circuit opens, calls move to the
// fallback, and the primary comes back.
func TestOffline(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("ANTHROPIC_API_KEY", "")
	var out strings.Builder
	if err := run(&out, true, 0, 6); err != nil {
		t.Fatalf("run() = %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	has := func(s string) {
		t.Helper()
		if !strings.Contains(text, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	// The tuned configuration, said and compared with DefaultConfig.
	has("A configuration tuned so that the story fits in seconds; resilience.DefaultConfig differs:")
	def := resilience.DefaultConfig()
	has(fmt.Sprintf("breaker opens    after 4 consecutive failures       (default: after %d)", def.CircuitBreaker.FailureThreshold))
	has(fmt.Sprintf("retries          2, backoff from 100ms              (default: %d, backoff from %v)", def.Retry.MaxRetries, def.Retry.InitialDelay))

	callLine := regexp.MustCompile(`^  call +(\d+)  (ok|FAIL) +(\S+) +(\d+) requests? +\S+ \(waited ([^)]+)\)`)
	retryLine := regexp.MustCompile(`^  (call +(\d+)|stream) +retry (\S+) +in \S+ after (.+)$`)
	requestsOf := map[int]int{}
	retriesOf := map[int]int{}
	byFallback := 0
	for _, l := range strings.Split(text, "\n") {
		if m := callLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			requestsOf[n], _ = strconv.Atoi(m[4])
			if m[3] == "anthropic/"+fallbackModel {
				byFallback++
			}
			continue
		}
		if strings.Contains(l, " retry ") {
			m := retryLine.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("retry line %q does not name its call", l)
				continue
			}
			if m[2] != "" {
				n, _ := strconv.Atoi(m[2])
				retriesOf[n]++
			}
		}
		if strings.HasPrefix(l, "  call ") && !callLine.MatchString(l) && !retryLine.MatchString(l) {
			t.Errorf("call line %q does not say its requests and time waited", l)
		}
	}
	if len(requestsOf) != 44 {
		t.Errorf("%d call lines; want 44, each with its time waited", len(requestsOf))
	}
	if len(retriesOf) == 0 {
		t.Errorf("no retry line names a call")
	}
	for n, r := range retriesOf {
		if requestsOf[n] < r+1 {
			t.Errorf("call %d has %d retry lines but made %d requests", n, r, requestsOf[n])
		}
	}
	if byFallback == 0 {
		t.Errorf("no call was answered by the fallback")
	}
	has("circuit  openai/gpt-4o                        closed → open")
	has("the outage is over")
	has("half_open → closed")
	has("stream   retry openai/gpt-4o")
	has("(from openai/gpt-4o, 2 requests, finish reason \"stop\")")
	has("calls              44 ok, 0 failed (+1 stream)")
}
