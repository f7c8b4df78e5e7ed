package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ailib-go/ailib/internal/sse"
)

// maxErrorText bounds the text of a decoding error: it names the problem,
// it does not carry the provider's message or a large part of the body.
const maxErrorText = 512

// checkDecodeError checks an error of Decode or StreamDecoder.Decode: it
// is either an *APIError with an HTTP error status and a copy of the body,
// or wraps ErrMalformed, and its text is one short line.
func checkDecodeError(t *testing.T, err error, body []byte) {
	t.Helper()
	var apiErr *APIError
	isAPI := errors.As(err, &apiErr)
	if isAPI == errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v (%T): want exactly one of *APIError and ErrMalformed", err, err)
	}
	if isAPI {
		if apiErr.Status < 400 || apiErr.Status > 599 {
			t.Fatalf("APIError.Status = %d; want an HTTP error status", apiErr.Status)
		}
		if !bytes.Equal(apiErr.Body, body) {
			t.Fatalf("APIError.Body = %q; want the body %q", apiErr.Body, body)
		}
		if len(body) > 0 && &apiErr.Body[0] == &body[0] {
			t.Fatal("APIError.Body aliases the input; want a copy")
		}
	}
	msg := err.Error()
	if len(msg) > maxErrorText || bytes.ContainsAny([]byte(msg), "\r\n") {
		t.Fatalf("error text %q: want one line of at most %d bytes", msg, maxErrorText)
	}
}

// checkChunk checks a chunk decoded without error.
func checkChunk(t *testing.T, ch Chunk, d *StreamDecoder) {
	t.Helper()
	switch ch.Kind {
	case Content:
		if ch.Text == "" {
			t.Fatal("Content chunk with empty Text")
		}
	case Skip, Done, ToolDelta:
		if ch.Text != "" {
			t.Fatalf("chunk of kind %d carries text %q", ch.Kind, ch.Text)
		}
	default:
		t.Fatalf("chunk kind %d is not Skip, Content, Done or ToolDelta", ch.Kind)
	}
	if !utf8.ValidString(ch.Text) {
		t.Fatalf("chunk text %q is not valid UTF-8", ch.Text)
	}
	// The chunk's reasoning is what the event added to the decoder's.
	if !strings.HasSuffix(d.Reasoning(), ch.Reasoning) || (ch.Kind == Done && ch.Reasoning != "") {
		t.Fatalf("chunk of kind %d carries reasoning %q; the decoder holds %q", ch.Kind, ch.Reasoning, d.Reasoning())
	}
	if u := d.Usage(); u.TotalTokens == 0 && u.PromptTokens+u.CompletionTokens != 0 {
		t.Fatalf("Usage() = %+v: total not filled in", u)
	}
}

// FuzzDecodeOpenAIChunk feeds arbitrary events to the OpenAI stream
// decoder: it must never panic, and must return a well-formed chunk or an
// error of the documented kinds.
func FuzzDecodeOpenAIChunk(f *testing.F) {
	f.Add("", `{"id":"c1","model":"m","choices":[{"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
	f.Add("", `{"choices":[{"delta":{"content":"Hel"}}]}`)
	f.Add("", `{"choices":[{"delta":{"refusal":"no"},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`)
	f.Add("", `{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`)
	f.Add("", "[DONE]")
	f.Add("message", `{"error":{"message":"overloaded","type":"server_error","code":502}}`)
	f.Add("error", `{"message":"boom","code":"rate_limit_exceeded"}`)
	f.Add("error", `not json`)
	f.Add("", `{"choices":[{"delta":{"content":"\xff\xfe"}}]}`)
	f.Add("", `{"choices":null,"error":null}`)
	f.Add("", `{"error":{"code":[1,2],"type":7}}`)
	f.Fuzz(func(t *testing.T, eventType, data string) {
		d := NewStreamDecoder(OpenAI, "")
		ch, err := d.Decode(sse.Event{Type: eventType, Data: data})
		if err != nil {
			checkDecodeError(t, err, []byte(data))
			return
		}
		checkChunk(t, ch, d)
		if data == "[DONE]" && ch.Kind != Done {
			t.Fatalf("[DONE] decoded as kind %d", ch.Kind)
		}
	})
}

// FuzzDecodeAnthropicEvent is FuzzDecodeOpenAIChunk for the Anthropic
// Messages event stream.
func FuzzDecodeAnthropicEvent(f *testing.F) {
	f.Add("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}}`)
	f.Add("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	f.Add("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`)
	f.Add("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}`)
	f.Add("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`)
	f.Add("message_stop", `{"type":"message_stop"}`)
	f.Add("ping", `{"type":"ping"}`)
	f.Add("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	f.Add("message", `{"type":"error","error":null}`)
	f.Add("", `{"type":"content_block_delta","delta":null}`)
	f.Add("content_block_delta", `{"delta":{"type":"text_delta","text":"\ud800"}}`)
	f.Fuzz(func(t *testing.T, eventType, data string) {
		d := NewStreamDecoder(Anthropic, "")
		ch, err := d.Decode(sse.Event{Type: eventType, Data: data})
		if err != nil {
			checkDecodeError(t, err, []byte(data))
			return
		}
		checkChunk(t, ch, d)
	})
}

// FuzzDecode feeds arbitrary bodies to the non-streaming decoders of both
// formats.
func FuzzDecode(f *testing.F) {
	f.Add(false, []byte(`{"id":"c","model":"m","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}`))
	f.Add(false, []byte(`{"choices":[{"message":{"content":null,"refusal":"no"}}]}`))
	f.Add(false, []byte(`{"error":{"message":"m","type":"invalid_request_error","code":"context_length_exceeded"}}`))
	f.Add(false, []byte(`[{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}]`))
	f.Add(false, []byte(`<html><body>502 Bad Gateway</body></html>`))
	f.Add(true, []byte(`{"type":"message","content":[{"type":"text","text":"a"},{"type":"tool_use"}],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":2}}`))
	f.Add(true, []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}`))
	f.Add(true, []byte(`{"type":"completion"}`))
	f.Add(true, []byte("null"))
	f.Add(false, []byte(`{"choices":[{"message":{"content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}},{"function":{"name":"g","arguments":{"x":1}}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":null}}`))
	f.Add(true, []byte(`{"type":"message","content":[{"type":"tool_use","id":"t","name":"json_response","input":{"a":1}},{"type":"tool_use","id":"u","name":"f","input":null}],"stop_reason":"tool_use","usage":{"cache_read_input_tokens":5}}`))
	f.Fuzz(func(t *testing.T, anthropic bool, body []byte) {
		format := OpenAI
		if anthropic {
			format = Anthropic
		}
		r, err := Decode(format, body, DefaultAnswerTool)
		if err != nil {
			checkDecodeError(t, err, body)
			if !reflect.DeepEqual(r, Response{}) {
				t.Fatalf("Decode(%v) = %+v with error %v; want the zero Response", format, r, err)
			}
			return
		}
		if !utf8.ValidString(r.Content) {
			t.Fatalf("Decode(%v).Content = %q: not valid UTF-8", format, r.Content)
		}
		checkToolCalls(t, r.ToolCalls)
	})
}

// checkToolCalls checks the promise of ToolCall: a name, and Arguments
// that are valid JSON.
func checkToolCalls(t *testing.T, calls []ToolCall) {
	t.Helper()
	for i, c := range calls {
		if c.Name == "" {
			t.Fatalf("ToolCalls[%d] has no name: %+v", i, c)
		}
		if !json.Valid(c.Arguments) || !utf8.Valid(c.Arguments) {
			t.Fatalf("ToolCalls[%d].Arguments = %q: not valid JSON", i, c.Arguments)
		}
	}
}

// splitEvents turns fuzz input into stream events: one per line, the
// event type before a tab when there is one.
func splitEvents(input string) []sse.Event {
	var out []sse.Event
	for _, line := range strings.Split(input, "\n") {
		typ, data, ok := strings.Cut(line, "\t")
		if !ok {
			typ, data = "", line
		}
		out = append(out, sse.Event{Type: typ, Data: data})
	}
	return out
}

// fuzzToolStream feeds a whole stream to a decoder: it must never panic,
// every chunk must be well formed, and the tool calls assembled at any
// point must keep their promise.
func fuzzToolStream(t *testing.T, f Format, answerTool, input string) {
	d := NewStreamDecoder(f, answerTool)
	for _, ev := range splitEvents(input) {
		ch, err := d.Decode(ev)
		if err != nil {
			checkDecodeError(t, err, []byte(ev.Data))
			continue
		}
		checkChunk(t, ch, d)
		checkToolCalls(t, d.ToolCalls())
		// Decoding can grow the input: encoding/json turns each byte of
		// invalid UTF-8 into U+FFFD, three bytes. Never more than that.
		if n := d.HeldBytes(); n < 0 || n > 3*len(input) {
			t.Fatalf("HeldBytes() = %d for %d bytes of input", n, len(input))
		}
	}
}

// FuzzOpenAIToolCallStream feeds streams of delta.tool_calls fragments to
// the OpenAI decoder.
func FuzzOpenAIToolCallStream(f *testing.F) {
	f.Add(`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}` + "\n" +
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}}]}` + "\n" +
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}}]}}]}` + "\n" +
		`{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}` + "\n[DONE]")
	f.Add(`{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":{"x":1}}},{"id":"b","function":{"name":"g"}}]}}]}`)
	f.Add(`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f"}}]}}]}` + "\n" +
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"g","arguments":"{\"u\":\"\xff\"}"}}]}}]}`)
	f.Add(`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{"}}]}}]}`)
	f.Add(`{"choices":[{"delta":{"tool_calls":[{"index":-1,"function":null},{"index":99999999999}]}}]}`)
	f.Add(`{"choices":[{"delta":{"tool_calls":null,"content":"x"}}]}`)
	f.Fuzz(func(t *testing.T, input string) { fuzzToolStream(t, OpenAI, "", input) })
}

// FuzzAnthropicToolStream feeds streams of tool_use blocks and
// input_json_delta events to the Anthropic decoder, with and without a
// JSON answer tool.
func FuzzAnthropicToolStream(f *testing.F) {
	f.Add(false, "content_block_start\t"+`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`+"\n"+
		"content_block_delta\t"+`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}`+"\n"+
		"content_block_delta\t"+`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}`+"\n"+
		"message_delta\t"+`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5,"cache_read_input_tokens":3}}`+"\n"+
		"message_stop\t"+`{"type":"message_stop"}`)
	f.Add(true, "content_block_start\t"+`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"json_response","input":{"a":[1]}}}`+"\n"+
		"content_block_delta\t"+`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"b\""}}`)
	f.Add(false, "content_block_delta\t"+`{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"\ud800"}}`)
	f.Add(false, "content_block_start\t"+`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","name":"x","input":"not an object"}}`)
	f.Add(true, "\t"+`{"type":"content_block_start","content_block":null}`)
	f.Fuzz(func(t *testing.T, jsonMode bool, input string) {
		answer := ""
		if jsonMode {
			answer = DefaultAnswerTool
		}
		fuzzToolStream(t, Anthropic, answer, input)
	})
}

// TestErrorTextBounded checks that provider-chosen strings quoted in
// decoding errors (event types, answer types, error types) are cut: they
// come from the network and may be as long as a body. Found by
// FuzzDecodeAnthropicEvent.
func TestErrorTextBounded(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 1<<20))
	_, streamErr := NewStreamDecoder(Anthropic, "").Decode(sse.Event{Type: long, Data: "1"})
	_, typeErr := Decode(Anthropic, []byte(`{"type":"`+long+`"}`), "")
	_, apiErr := Decode(OpenAI, []byte(`{"error":{"code":"`+long+`"}}`), "")
	for name, err := range map[string]error{"stream event type": streamErr, "answer type": typeErr, "error type": apiErr} {
		switch {
		case err == nil:
			t.Errorf("%s of 1 MiB: error = nil; want an error", name)
		case len(err.Error()) > maxErrorText:
			t.Errorf("%s of 1 MiB: error = %.80q... (%d bytes); want at most %d bytes", name, err, len(err.Error()), maxErrorText)
		}
	}
}
