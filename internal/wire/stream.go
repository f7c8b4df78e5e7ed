package wire

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math/rand/v2"
	"strings"

	"github.com/ailib-go/ailib/internal/sse"
)

// Kind says what a stream event means to the caller.
type Kind uint8

// The kinds of stream events.
const (
	Skip      Kind = iota // nothing for the caller: keep-alive, role-only chunk, metadata
	Content               // a piece of the answer's text
	Done                  // the format's terminal event ([DONE], message_stop)
	ToolDelta             // a piece of a tool call (see [StreamDecoder.ToolCalls])
)

// Chunk is one decoded stream event.
type Chunk struct {
	Kind Kind
	Text string // for Content
	// Reasoning is the piece of reasoning or thinking the event carried
	// (DeepSeek's reasoning_content, the reasoning of vLLM, OpenRouter and
	// Ollama, Mistral's thinking chunks, Anthropic's thinking_delta),
	// whatever Kind says of the rest of it: an OpenAI-format chunk may
	// carry reasoning beside text or a tool call. [StreamDecoder.Reasoning]
	// holds it too.
	Reasoning string
}

// StreamDecoder turns the SSE events of one streamed answer into chunks
// and collects the answer's metadata and tool calls. It is not safe for
// concurrent use.
type StreamDecoder struct {
	format     Format
	answerTool string
	id, model  string
	finish     string
	usage      Usage          // OpenAI format
	anthUsage  anthropicUsage // Anthropic format
	set        *Response      // SetResponse

	calls   []*callBuilder
	byIndex map[int]int // tool call index (OpenAI) or block index (Anthropic) → calls position
	last    int         // the position of the call fed last

	answerBlock *int // Anthropic: the block index of the JSON answer tool
	answered    bool
	refused     bool                // OpenAI: the text came as refusal deltas (refusalFinish)
	reasoning   strings.Builder     // reasoning_content or reasoning deltas; Anthropic thinking
	thinking    []anthropicThinking // Anthropic: thinking blocks, for ThinkingBlocks
	details     []*reasoningDetail  // OpenRouter's reasoning_details, assembled
	detailAt    map[int]int         // a detail's index → its position in details
	detailBytes int                 // the reasoning_details received, for HeldBytes

	// notCalls: Anthropic blocks that are neither text nor the caller's
	// tool calls (thinking, server_tool_use, ...): input_json_delta events
	// of these are not a call's arguments.
	notCalls map[int]bool
}

// callBuilder assembles one streamed tool call.
type callBuilder struct {
	id, name  string
	signature string
	args      strings.Builder
	whole     json.RawMessage // arguments sent as a JSON object instead of a string
	start     json.RawMessage // Anthropic: the input of content_block_start
	madeID    string          // the id made for a call that came without one (callID), once asked for
	end       jsonEnd         // where the string arguments' value ends
}

// NewStreamDecoder returns a decoder for format f. answerTool is
// [AnswerTool] of the request: the input of a call of that tool is streamed
// as text.
func NewStreamDecoder(f Format, answerTool string) *StreamDecoder {
	return &StreamDecoder{format: f, answerTool: answerTool}
}

// Decode decodes one event. An error event is returned as an [*APIError];
// an event that is not valid for the format wraps [ErrMalformed].
//
// An event whose data is blank or starts with ':' (other than an error
// event) is skipped: no chunk of either format looks so, and proxies send
// keep-alives so, a comment put in a data field (Vertex AI's partner
// models send "data: : keepalive" while the model has not begun, and
// gateways wrap OpenRouter's ": OPENROUTER PROCESSING" the same way).
func (d *StreamDecoder) Decode(ev sse.Event) (Chunk, error) {
	if ev.Type != "error" && keepAliveData(ev.Data) {
		return Chunk{Kind: Skip}, nil
	}
	if d.format == Anthropic {
		return d.anthropic(ev.Type, ev.Data)
	}
	return d.openAI(ev.Type, ev.Data)
}

// keepAliveData reports whether an event's data is blank or a comment.
func keepAliveData(data string) bool {
	t := strings.TrimLeft(data, " \t\r\n")
	return t == "" || t[0] == ':'
}

func (d *StreamDecoder) newCall(id, name string) int {
	d.calls = append(d.calls, &callBuilder{id: id, name: name})
	return len(d.calls) - 1
}

// addArguments adds an OpenAI arguments fragment: a JSON string piece, or
// (lenient servers) the whole arguments as a JSON value. A piece that
// starts a new object after the arguments were already a whole value
// replaces them: a server sent the call again, whole (some resend the
// accumulated arguments, or send "{}" before the real ones), and the two
// values run together would be no JSON at all.
func (cb *callBuilder) addArguments(raw json.RawMessage) {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0, string(t) == "null":
	case t[0] == '"':
		var s string
		if unmarshal(t, &s) == nil {
			if startsObject(s) && cb.wholeArgs() {
				cb.args.Reset()
				cb.end = jsonEnd{}
			}
			cb.args.WriteString(s)
			cb.end.feed(s)
		}
	default:
		cb.whole = bytes.Clone(t)
	}
}

// wholeArgs reports whether the arguments received so far are a whole
// JSON value: a complete string of them, or an object sent as one.
func (cb *callBuilder) wholeArgs() bool { return cb.end.whole() || len(cb.whole) > 0 }

// followedBy reports whether a fragment bringing name and args, with no id
// of its own to tell, is the start of another call rather than more of
// this one: it names a function, this call is whole (named, its arguments
// a whole JSON value), and its arguments start another. Gemini's
// OpenAI-compatible API streams parallel calls each whole, all at index 0
// and without ids (NousResearch/hermes-agent#62937); servers that repeat
// the name in every fragment of one call send pieces of one value.
func (cb *callBuilder) followedBy(name string, args json.RawMessage) bool {
	if name == "" || cb.name == "" || !cb.wholeArgs() {
		return false
	}
	t := bytes.TrimSpace(args)
	if len(t) > 0 && t[0] == '"' {
		var piece string
		if unmarshal(t, &piece) != nil {
			return false
		}
		return startsObject(piece)
	}
	return len(t) > 0 && t[0] == '{'
}

// startsObject reports whether s starts, after white space, with '{'.
func startsObject(s string) bool {
	t := strings.TrimLeft(s, " \t\r\n")
	return t != "" && t[0] == '{'
}

// jsonEnd follows the arguments of a call as their pieces arrive, to tell
// when they are a whole JSON object or array: one pass over each piece,
// so that a call sent in thousands of pieces costs no more than its size
// (it checks nesting and strings, not every token: enough to know where a
// value ends).
type jsonEnd struct {
	depth                    int
	started, closed, inStr   bool
	escaped, trailing, other bool
}

func (j *jsonEnd) feed(s string) {
	for i := 0; i < len(s) && !j.other && !j.trailing; i++ {
		c := s[i]
		space := c == ' ' || c == '\t' || c == '\r' || c == '\n'
		switch {
		case j.closed:
			j.trailing = !space
		case !j.started:
			if c == '{' || c == '[' {
				j.started, j.depth = true, 1
			} else if !space {
				j.other = true // a scalar, or no JSON: never whole here
			}
		case j.inStr:
			switch {
			case j.escaped:
				j.escaped = false
			case c == '\\':
				j.escaped = true
			case c == '"':
				j.inStr = false
			}
		case c == '"':
			j.inStr = true
		case c == '{' || c == '[':
			j.depth++
		case c == '}' || c == ']':
			j.depth--
			j.closed = j.depth == 0
		}
	}
}

// whole reports whether the pieces fed so far are one whole object or
// array.
func (j *jsonEnd) whole() bool { return j.closed && !j.trailing && !j.other }

func (cb *callBuilder) call() ToolCall {
	args := cb.args.String()
	switch {
	case strings.TrimSpace(args) != "":
	case len(cb.whole) > 0:
		args = string(cb.whole)
	case len(cb.start) > 0:
		args = string(cb.start)
	}
	if cb.id == "" && cb.madeID == "" {
		cb.madeID = callID("")
	}
	return ToolCall{ID: cmp.Or(cb.id, cb.madeID), Name: cb.name, Arguments: normalizeArguments(args), Signature: cb.signature}
}

// callID is id, or when that is empty an id made for the call: Gemini's
// OpenAI-compatible API answers calls with "id": "" (vercel/ai#7834,
// openai/openai-dotnet#428), and a call is answered by its id, so a tool
// loop could not send the calls back. Made ids look like OpenAI's: every
// provider takes them, and a fallback's translation keeps them.
func callID(id string) string {
	if id != "" {
		return id
	}
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := []byte("call_000000000000000000000000")
	for i := len("call_"); i < len(b); i++ {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}

// ToolCalls returns the tool calls assembled so far, in the order they
// started; complete once the terminal event was decoded. nil when none.
// A call whose name never arrived is left out.
func (d *StreamDecoder) ToolCalls() []ToolCall {
	if d.set != nil {
		return d.set.ToolCalls
	}
	var out []ToolCall
	for _, cb := range d.calls {
		if cb.name != "" {
			out = append(out, cb.call())
		}
	}
	return out
}

// HeldBytes returns the number of bytes held besides the text: tool call
// names and arguments, and reasoning, to bound a stream's size.
func (d *StreamDecoder) HeldBytes() int {
	n := d.reasoning.Len() + d.detailBytes
	for _, t := range d.thinking {
		if t.Signature != nil {
			n += len(*t.Signature)
		}
		if t.Data != nil {
			n += len(*t.Data)
		}
	}
	for _, cb := range d.calls {
		n += len(cb.name) + cb.args.Len() + len(cb.whole) + len(cb.start)
	}
	return n
}

// SetResponse records a complete answer that a server sent as one JSON
// document instead of a stream: its metadata, usage and tool calls.
func (d *StreamDecoder) SetResponse(r Response) {
	d.id, d.model = r.ID, r.Model
	d.set = &r
}

// Reasoning returns the reasoning received so far (OpenAI format:
// reasoning_content or reasoning deltas), or the reasoning of the answer
// given to SetResponse.
func (d *StreamDecoder) Reasoning() string {
	if d.set != nil {
		return d.set.Reasoning
	}
	return d.reasoning.String()
}

// ThinkingBlocks returns the Anthropic thinking blocks received so far as
// a JSON array (nil when none), or those of the answer given to
// SetResponse.
func (d *StreamDecoder) ThinkingBlocks() json.RawMessage {
	if d.set != nil {
		return d.set.ThinkingBlocks
	}
	return thinkingJSON(d.thinking)
}

// ReasoningDetails returns OpenRouter's reasoning_details received so far,
// assembled from their fragments, as a JSON array (nil when none), or
// those of the answer given to SetResponse.
func (d *StreamDecoder) ReasoningDetails() json.RawMessage {
	if d.set != nil {
		return d.set.ReasoningDetails
	}
	if len(d.details) == 0 {
		return nil
	}
	out := make([]map[string]any, len(d.details))
	for i, detail := range d.details {
		m := make(map[string]any, len(detail.fields)+len(detail.texts))
		for k, v := range detail.fields {
			m[k] = v
		}
		for k, b := range detail.texts {
			m[k] = b.String()
		}
		out[i] = m
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	return b
}

// ID returns the answer's ID, once the stream has said it.
func (d *StreamDecoder) ID() string { return d.id }

// Model returns the model the provider reported, once it has.
func (d *StreamDecoder) Model() string { return d.model }

// FinishReason returns the finish reason in OpenAI's vocabulary, once the
// stream has said it.
func (d *StreamDecoder) FinishReason() string {
	if d.set != nil {
		return d.set.FinishReason
	}
	if d.finish == "" {
		return ""
	}
	finish := answerFinish(d.finish, d.answered, len(d.calls) > 0)
	if d.refused {
		finish = refusalFinish(finish)
	}
	return finish
}

// Usage returns the token usage reported so far (zero when the provider
// sends none in streams).
func (d *StreamDecoder) Usage() Usage {
	if d.set != nil {
		return d.set.Usage
	}
	u := d.usage
	if d.format == Anthropic {
		u = d.anthUsage.usage()
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
}
