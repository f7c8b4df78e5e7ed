package main

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSteps runs the example and checks each step's lesson.
func TestSteps(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("run() = %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	t.Log("\n" + text)
	steps := strings.Split(text, "\n\n")
	if len(steps) != 7 {
		t.Fatalf("%d steps in the output; want 7:\n%s", len(steps), text)
	}
	full := strings.Join(words, "")
	tests := []struct {
		step  int
		wants []string
	}{
		{1, []string{"   " + full + "\n", `-> complete in`, `1 request, finish reason "stop"`}},
		{2, []string{"   " + full + "\n", `2 requests, finish reason "stop"`}},
		{3, []string{"   " + strings.Join(words[:6], "") + "\n", "-> failed: E3001 server_error", "connection closed mid-stream",
			"errors.Is(err, client.ErrStreamTruncated) = true"}},
		{4, []string{"   " + strings.Join(words[:4], "") + "\n", "-> failed: E3002 overloaded (HTTP 200)"}},
		{5, []string{"-> failed: E3003 timeout", "errors.Is(err, context.DeadlineExceeded) = true"}},
		{6, []string{"   One \n", "-> failed: E3003 timeout", "stream sent nothing for 2s", "errors.Is(err, client.ErrStreamIdle) = true"}},
		{7, []string{"   (thinking) " + thinking + "\n   " + full + "\n", fmt.Sprintf("-> complete: %d pieces of thinking shown before the first word of text", len(strings.Fields(thinking)))}},
	}
	for _, tt := range tests {
		s := steps[tt.step-1]
		for _, w := range tt.wants {
			if !strings.Contains(s, w) {
				t.Errorf("step %d lacks %q:\n%s", tt.step, w, s)
			}
		}
	}
	if strings.Contains(steps[4], full) {
		t.Errorf("step 5 received the whole answer; want it cut by the deadline:\n%s", steps[4])
	}
}
