package main

import (
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOffline runs the example on the embedded provider and checks the
// lines that carry its lesson: the first step's tool call comes from the
// OpenAI-format primary, the second step (after the outage) from the
// Anthropic-format fallback, which received the OpenAI call and its
// result in its own blocks; the JSON answer decodes and surfaces no tool
// call.
func TestOffline(t *testing.T) {
	var out strings.Builder
	if err := run(&out, false); err != nil {
		t.Fatalf("run() = %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	lines := strings.Split(text, "\n")
	find := func(prefix string) string {
		t.Helper()
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return strings.TrimSpace(l)
			}
		}
		t.Fatalf("no line starting %q in:\n%s", prefix, text)
		return ""
	}
	if l := find("step 1:"); !strings.Contains(l, primary+" called get_weather({\"city\":\"Paris\"}) as call_") || !strings.HasSuffix(l, "[tool_calls]") {
		t.Errorf("step 1 line = %q; want the primary calling get_weather", l)
	}
	if l := find("step 2:"); !strings.HasPrefix(l, "step 2: "+fallback+" answered after") || !strings.HasSuffix(l, "[stop]:") {
		t.Errorf("step 2 line = %q; want the fallback answering", l)
	}
	if !strings.Contains(text, "18°C and sunny in Paris") {
		t.Errorf("the answer built on the tool's result is missing:\n%s", text)
	}
	if l := find("anthropic received the call"); !strings.Contains(l, "call_w3aTh3r as a tool_use block") {
		t.Errorf("line %q; want the OpenAI call id received as tool_use", l)
	}
	if l := find("and its result"); !strings.Contains(l, "tool_result block for call_w3aTh3r") {
		t.Errorf("line %q; want the result received as tool_result", l)
	}
	l := find("JSON:")
	if !strings.Contains(l, fallback) {
		t.Errorf("JSON line = %q; want it answered by the fallback", l)
	}
	raw := l[strings.Index(l, "{"):]
	var v map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil || v["city"] != "Paris" {
		t.Errorf("JSON answer %q does not decode to the report: %v", raw, err)
	}
	if l := find("decoded:"); !strings.HasSuffix(l, "(tool calls surfaced: 0)") {
		t.Errorf("decoded line = %q; want no tool call surfaced for JSON output", l)
	}
}
