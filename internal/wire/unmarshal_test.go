package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// unmarshalTargets makes a fresh value of each type unmarshal decodes.
var unmarshalTargets = []func() any{
	func() any { return new(openAIResponse) },
	func() any { return new(openAIChunk) },
	func() any { return new(anthropicResponse) },
	func() any { return new(anthropicEvent) },
	func() any { return new(map[string]json.RawMessage) },
	func() any { return new(string) },
}

// FuzzUnmarshalMatchesEncodingJSON checks that unmarshal decodes every
// input as encoding/json does: it fails where encoding/json fails, and
// gives the same value where it succeeds.
func FuzzUnmarshalMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"c1","model":"m","choices":[{"message":{"content":"hi","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}`,
		`{"ID":"c1","Choices":[{"Message":{"Content":"case"}}]}`,
		`{"id":"a","id":"b"}`,
		"{\"id\":\"\xff\xfe\"}",
		`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]}`,
		`{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{"x":[1,2]}}],"usage":{"input_tokens":3}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a"}}`,
		`{"error":{"message":"bad","type":"invalid_request_error","code":null}}`,
		`{"choices":[{"message":{"content":[{"type":"thinking","thinking":[]},{"type":"text","text":"a"}]},"delta":{"content":[{"TYPE":"text","Text":"b"}]}}]}`,
		`{"choices":[{"message":{"content":[{"type":"text","text":1}]}}]}`, `{"choices":[{"delta":{"content":7}}]}`,
		`{"usage":{"prompt_tokens":1.5}}`, `{"usage":{"prompt_tokens":"1"}}`, `{"choices":{}}`, `[]`, `null`, `"\ud800"`,
		`{"id":"x"} trailing`, `{"usage":{"prompt_tokens":99999999999999999999}}`, `{"id":"x",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range unmarshalTargets {
			got, want := target(), target()
			gotErr, wantErr := unmarshal(data, got), json.Unmarshal(data, want)
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("%T from %q: unmarshal error = %v; encoding/json error = %v", got, data, gotErr, wantErr)
			}
			if gotErr == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%T from %q: unmarshal gives %+v; encoding/json gives %+v", got, data, got, want)
			}
		}
	})
}

// chatCompletion is a real OpenAI chat completion answer.
const chatCompletion = `{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-4o-2024-08-06",
  "choices": [
    {
      "index": 0,
      "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []},
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 9, "completion_tokens": 10, "total_tokens": 19,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}`

// BenchmarkDecode decodes a chat completion as Decode does (unmarshal)
// and as it did before (encoding/json).
func BenchmarkDecode(b *testing.B) {
	data := []byte(chatCompletion)
	for _, bc := range []struct {
		name      string
		unmarshal func([]byte, any) error
	}{{"unmarshal", unmarshal}, {"encoding-json", json.Unmarshal}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r openAIResponse
				if err := bc.unmarshal(data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodedStringsOwnTheirBytes checks that what Decode returns does
// not alias the body: the client reads bodies into pooled buffers.
func TestDecodedStringsOwnTheirBytes(t *testing.T) {
	data := []byte(chatCompletion)
	r, err := Decode(OpenAI, data, "")
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.ID, want.Model, want.Content = strings.Clone(r.ID), strings.Clone(r.Model), strings.Clone(r.Content)
	for i := range data {
		data[i] = 'X'
	}
	if r.ID != want.ID || r.Model != want.Model || r.Content != want.Content || r.Content != "Hello! How can I assist you today?" {
		t.Errorf("after the body was overwritten: %q %q %q", r.ID, r.Model, r.Content)
	}
}
