package wire

import (
	"slices"
	"testing"

	"github.com/ailib-go/ailib/internal/sse"
)

// TestChunkReasoning: every event's piece of reasoning is in its chunk,
// whatever else the event carried, in the order the provider sent them,
// and the pieces are the decoder's Reasoning.
func TestChunkReasoning(t *testing.T) {
	ev := func(typ, data string) sse.Event { return sse.Event{Type: typ, Data: data} }
	for _, tt := range []struct {
		name   string
		f      Format
		events []sse.Event
		want   []Chunk
	}{
		{"deepseek reasoning_content", OpenAI, []sse.Event{
			ev("", `{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""}}]}`),
			ev("", `{"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Nine "}}]}`),
			ev("", `{"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"is odd."}}]}`),
			ev("", `{"choices":[{"index":0,"delta":{"content":"Odd.","reasoning_content":null}}]}`),
			ev("", `{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`),
			ev("", `[DONE]`),
		}, []Chunk{{Kind: Skip}, {Kind: Skip, Reasoning: "Nine "}, {Kind: Skip, Reasoning: "is odd."}, {Kind: Content, Text: "Odd."}, {Kind: Skip}, {Kind: Done}}},
		{"openrouter reasoning beside text and a call", OpenAI, []sse.Event{
			ev("", `{"choices":[{"index":0,"delta":{"reasoning":"Hmm. ","reasoning_details":[{"type":"reasoning.text","text":"Hmm. ","index":0}]}}]}`),
			ev("", `{"choices":[{"index":0,"delta":{"reasoning":"Yes.","content":"Sure"}}]}`),
			ev("", `{"choices":[{"index":0,"delta":{"reasoning":" Call.","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}`),
		}, []Chunk{{Kind: Skip, Reasoning: "Hmm. "}, {Kind: Content, Text: "Sure", Reasoning: "Yes."}, {Kind: ToolDelta, Reasoning: " Call."}}},
		{"mistral thinking chunks", OpenAI, []sse.Event{
			ev("", `{"id":"m1","object":"chat.completion.chunk","model":"magistral-medium-latest","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`),
			ev("", `{"id":"m1","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"Nine "}]}]},"finish_reason":null}]}`),
			ev("", `{"id":"m1","choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"is odd."},{"type":"reference","reference_ids":[1]}]}]},"finish_reason":null}]}`),
			ev("", `{"id":"m1","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Odd."}]},"finish_reason":null}]}`),
			ev("", `{"id":"m1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}`),
		}, []Chunk{{Kind: Skip}, {Kind: Skip, Reasoning: "Nine "}, {Kind: Skip, Reasoning: "is odd."}, {Kind: Content, Text: "Odd."}, {Kind: Skip}}},
		{"anthropic thinking", Anthropic, []sse.Event{
			ev("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"claude"}}`),
			ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"Start. ","signature":""}}`),
			ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Nine "}}`),
			ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"is odd."}}`),
			ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}}`),
			ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
			ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3"}}`),
			ev("content_block_stop", `{"type":"content_block_stop","index":1}`),
			ev("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`),
			ev("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Odd."}}`),
			ev("message_stop", `{"type":"message_stop"}`),
		}, []Chunk{{Kind: Skip}, {Kind: Skip, Reasoning: "Start. "}, {Kind: Skip, Reasoning: "Nine "}, {Kind: Skip, Reasoning: "is odd."},
			{Kind: Skip}, {Kind: Skip}, {Kind: Skip}, {Kind: Skip}, {Kind: Skip}, {Kind: Content, Text: "Odd."}, {Kind: Done}}},
	} {
		d := NewStreamDecoder(tt.f, "")
		var got []Chunk
		var pieces string
		for _, e := range tt.events {
			ch, err := d.Decode(e)
			if err != nil {
				t.Fatalf("%s: Decode(%s) = %v", tt.name, e.Data, err)
			}
			got = append(got, ch)
			pieces += ch.Reasoning
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: chunks\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
		if pieces != d.Reasoning() {
			t.Errorf("%s: the chunks' pieces %q are not the decoder's Reasoning %q", tt.name, pieces, d.Reasoning())
		}
	}
}
