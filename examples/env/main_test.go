package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/resilience"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clearEnv unsets every AI_LIB_* variable for the test, then sets kv.
func clearEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, v := range append(tuning, "AI_LIB_RPSS") {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

// TestRuns runs the commands of the example's doc comment and checks the
// lines that carry each lesson.
func TestRuns(t *testing.T) {
	def := resilience.DefaultConfig()
	tests := []struct {
		name    string
		env     []string
		wantErr bool
		want    []string
	}{
		{"defaults", nil, false, []string{
			"  none (try AI_LIB_MAX_RETRIES=0 go run ./examples/env)",
			fmt.Sprintf("  retries            %d (backoff from %v", def.Retry.MaxRetries, def.Retry.InitialDelay),
			fmt.Sprintf("opens after %d consecutive failures", def.CircuitBreaker.FailureThreshold),
			`  "Hello after two 503s" after 3 requests in`,
			"  circuit now closed (0 consecutive failures)",
		}},
		{"no retries", []string{"AI_LIB_MAX_RETRIES", "0"}, false, []string{
			`  AI_LIB_MAX_RETRIES="0"`,
			"  retries            0 (",
			"  failed after 1 requests in",
			"E3002 overloaded",
		}},
		{"one retry, breaker at 2", []string{"AI_LIB_MAX_RETRIES", "1", "AI_LIB_BREAKER_FAILURE_THRESHOLD", "2"}, false, []string{
			"  retries            1 (",
			"opens after 2 consecutive failures",
			"  failed after 2 requests in",
			"  circuit now open",
		}},
		{"malformed", []string{"AI_LIB_RPS", "fast"}, true, []string{
			"Build failed, naming each bad variable:",
			`AI_LIB_RPS="fast": not a number`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t, tt.env...)
			var out strings.Builder
			err := run(&out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("run() = %v; want error %v\noutput:\n%s", err, tt.wantErr, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
