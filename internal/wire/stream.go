package wire

import "github.com/ailib-go/ailib/internal/sse"

// Kind says what a stream event means to the caller.
type Kind uint8

// The kinds of stream events.
const (
	Skip    Kind = iota // no text: keep-alive, role-only chunk, metadata
	Content             // a piece of the answer's text
	Done                // the format's terminal event ([DONE], message_stop)
)

// Chunk is one decoded stream event.
type Chunk struct {
	Kind Kind
	Text string // for Content
}

// StreamDecoder turns the SSE events of one streamed answer into chunks
// and collects the answer's metadata. It is not safe for concurrent use.
type StreamDecoder struct {
	format    Format
	id, model string
	finish    string
	usage     Usage
}

// NewStreamDecoder returns a decoder for format f.
func NewStreamDecoder(f Format) *StreamDecoder { return &StreamDecoder{format: f} }

// Decode decodes one event. An error event is returned as an [*APIError];
// an event that is not valid for the format wraps [ErrMalformed].
func (d *StreamDecoder) Decode(ev sse.Event) (Chunk, error) {
	if d.format == Anthropic {
		return d.anthropic(ev.Type, ev.Data)
	}
	return d.openAI(ev.Type, ev.Data)
}

// SetResponse records the metadata (ID, model, finish reason, usage) of a
// complete answer that a server sent as one JSON document instead of a
// stream.
func (d *StreamDecoder) SetResponse(r Response) {
	d.id, d.model, d.finish, d.usage = r.ID, r.Model, r.FinishReason, r.Usage
}

// ID returns the answer's ID, once the stream has said it.
func (d *StreamDecoder) ID() string { return d.id }

// Model returns the model the provider reported, once it has.
func (d *StreamDecoder) Model() string { return d.model }

// FinishReason returns the finish reason in OpenAI's vocabulary, once the
// stream has said it.
func (d *StreamDecoder) FinishReason() string { return d.finish }

// Usage returns the token usage reported so far (zero when the provider
// sends none in streams).
func (d *StreamDecoder) Usage() Usage {
	u := d.usage
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
}
