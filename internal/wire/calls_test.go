package wire

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/internal/sse"
)

// feedData decodes OpenAI chunks, failing the test on a decode error.
func feedData(t *testing.T, chunks ...string) *StreamDecoder {
	t.Helper()
	d := NewStreamDecoder(OpenAI, "")
	for _, c := range chunks {
		if _, err := d.Decode(sse.Event{Type: "message", Data: c}); err != nil {
			t.Fatalf("Decode(%s) error = %v", c, err)
		}
	}
	return d
}

const finishCalls = `{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`

// TestACallSentAgainIsOneCall: a fragment with the call's own id is that
// call, whatever its arguments; and arguments that start a new object
// after a whole one replace it (a server resending the call, or sending
// "{}" before the real arguments), where they used to run together into
// no JSON at all.
func TestACallSentAgainIsOneCall(t *testing.T) {
	call := func(id, args string) string {
		return `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"` + id + `","type":"function","function":{"name":"get_weather","arguments":` + strconv.Quote(args) + `}}]}}]}`
	}
	for name, chunks := range map[string][]string{
		"whole call sent again with its id":    {call("call_1", `{"city":"Paris"}`), call("call_1", `{"city":"Paris"}`), finishCalls},
		"id and name on every delta, {} first": {call("call_1", `{}`), call("call_1", `{"city":"Paris"}`), finishCalls},
		"object arguments, the name with the real ones": {
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"function","function":{"arguments":{}}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]}}]}`,
			finishCalls},
	} {
		t.Run(name, func(t *testing.T) {
			calls := feedData(t, chunks...).ToolCalls()
			if len(calls) != 1 || string(calls[0].Arguments) != `{"city":"Paris"}` {
				t.Errorf("ToolCalls() = %s; want one call with {\"city\":\"Paris\"}", fmtCalls(calls))
			}
		})
	}
}

// nameOnEveryDelta is one call of n pieces, each naming the function and
// starting like an object inside the arguments' string.
func nameOnEveryDelta(n int) []string {
	frag := func(args string) string {
		return `{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"write_file","arguments":` + strconv.Quote(args) + `}}]}}]}`
	}
	chunks := []string{frag(`{"path":"a.txt","content":"`)}
	for range n {
		chunks = append(chunks, frag(`{abc`))
	}
	return append(chunks, frag(`"}`), finishCalls)
}

// TestNameOnEveryDeltaIsOneCall: pieces of one call that each name the
// function (some gateways send them so) and start like an object are one
// call. Telling them from a new call reads each piece once (jsonEnd): it
// used to read all the arguments again per piece with json.Valid, 28 s of
// CPU for a call of 256 KiB in 4-byte pieces (BenchmarkNameOnEveryDelta).
func TestNameOnEveryDeltaIsOneCall(t *testing.T) {
	d := feedData(t, nameOnEveryDelta(1<<12)...)
	calls := d.ToolCalls()
	if len(calls) != 1 || !strings.HasSuffix(string(calls[0].Arguments), `{abc"}`) {
		t.Fatalf("%d calls; want one", len(calls))
	}
	if !d.calls[0].end.whole() {
		t.Errorf("the arguments' end was not found: %+v", d.calls[0].end)
	}
}

// BenchmarkNameOnEveryDelta: the cost per piece must not grow with the
// call (compare -bench with pieces=1k and 16k: ns/op per piece alike).
func BenchmarkNameOnEveryDelta(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 14} {
		chunks := nameOnEveryDelta(n)
		b.Run(strconv.Itoa(n)+"pieces", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d := NewStreamDecoder(OpenAI, "")
				for _, c := range chunks {
					d.Decode(sse.Event{Type: "message", Data: c})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(chunks)), "ns/piece")
		})
	}
}

// TestJSONEnd: where a value of arguments ends, piece by piece.
func TestJSONEnd(t *testing.T) {
	for _, tt := range []struct {
		pieces []string
		whole  bool
	}{
		{[]string{`{}`}, true},
		{[]string{` {"a":`, `"}"`, `}`}, true},
		{[]string{`{"a":"\"}"`}, false},
		{[]string{`{"a":"\\"}`}, true},
		{[]string{`[1,{"b":[2]}]`, " \n"}, true},
		{[]string{`{}`, `{}`}, false},
		{[]string{`"str"`}, false},
		{[]string{`{"a":{"b":1}`}, false},
		{[]string{``}, false},
	} {
		var j jsonEnd
		for _, p := range tt.pieces {
			j.feed(p)
		}
		if j.whole() != tt.whole {
			t.Errorf("pieces %q: whole() = %v; want %v", tt.pieces, j.whole(), tt.whole)
		}
	}
}
