package wire

import (
	"encoding/json"
	"strings"
)

type anthropicRequest struct {
	Model         string    `json:"model"`
	MaxTokens     int       `json:"max_tokens"`
	System        string    `json:"system,omitempty"`
	Messages      []Message `json:"messages"`
	Temperature   *float64  `json:"temperature,omitempty"`
	TopP          *float64  `json:"top_p,omitempty"`
	StopSequences []string  `json:"stop_sequences,omitempty"`
	Stream        bool      `json:"stream,omitempty"`
}

// encodeAnthropic moves system messages into the top-level system field
// (joined with a blank line, in order) and clamps temperature to the
// Messages API's range 0..1.
func encodeAnthropic(r Request) ([]byte, error) {
	req := anthropicRequest{
		Model:         r.Model,
		MaxTokens:     r.MaxTokens,
		TopP:          r.TopP,
		StopSequences: r.Stop,
		Stream:        r.Stream,
		Messages:      make([]Message, 0, len(r.Messages)),
	}
	if req.MaxTokens <= 0 {
		req.MaxTokens = r.AnthropicMaxTokens
	}
	if r.Temperature != nil {
		t := min(*r.Temperature, 1)
		req.Temperature = &t
	}
	var system []string
	for _, m := range r.Messages {
		if m.Role == "system" {
			system = append(system, m.Content)
			continue
		}
		req.Messages = append(req.Messages, m)
	}
	req.System = strings.Join(system, "\n\n")
	return json.Marshal(req)
}

type anthropicUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type anthropicErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func anthropicAPIError(e *anthropicErrorBody, body []byte) *APIError {
	typ := ""
	if e != nil {
		typ = e.Type
	}
	return &APIError{Status: statusFor(typ), Type: typ, Body: append([]byte(nil), body...)}
}

type anthropicResponse struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Model   string `json:"model"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason *string             `json:"stop_reason"`
	Usage      *anthropicUsage     `json:"usage"`
	Error      *anthropicErrorBody `json:"error"`
}

// stopReason maps Anthropic's stop_reason to OpenAI's finish_reason
// vocabulary, so that an answer reads the same whichever target gave it.
func stopReason(s string) string {
	switch s {
	case "end_turn", "stop_sequence":
		return "stop"
	case "max_tokens":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return s
}

func decodeAnthropic(body []byte) (Response, error) {
	var r anthropicResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Response{}, malformed("not a message: %v", err)
	}
	if r.Type == "error" || r.Error != nil {
		return Response{}, anthropicAPIError(r.Error, body)
	}
	if r.Type != "message" {
		return Response{}, malformed("answer of type %q, want \"message\"", clip(r.Type))
	}
	out := Response{ID: r.ID, Model: r.Model}
	var b strings.Builder
	for _, c := range r.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	out.Content = b.String()
	if r.StopReason != nil {
		out.FinishReason = stopReason(*r.StopReason)
	}
	if r.Usage != nil {
		out.Usage = Usage{
			PromptTokens:     r.Usage.InputTokens,
			CompletionTokens: r.Usage.OutputTokens,
			TotalTokens:      r.Usage.InputTokens + r.Usage.OutputTokens,
		}
	}
	return out, nil
}

type anthropicEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string          `json:"id"`
		Model string          `json:"model"`
		Usage *anthropicUsage `json:"usage"`
	} `json:"message"`
	Delta *struct {
		Type       string  `json:"type"`
		Text       string  `json:"text"`
		StopReason *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *struct {
		InputTokens  *int `json:"input_tokens"`
		OutputTokens *int `json:"output_tokens"`
	} `json:"usage"`
	Error *anthropicErrorBody `json:"error"`
}

func (d *StreamDecoder) anthropic(eventType, data string) (Chunk, error) {
	var ev anthropicEvent
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return Chunk{}, malformed("stream event %q is not JSON: %v", clip(eventType), err)
	}
	typ := eventType
	if typ == "" || typ == "message" {
		typ = ev.Type
	}
	switch typ {
	case "error":
		return Chunk{}, anthropicAPIError(ev.Error, []byte(data))
	case "message_start":
		if m := ev.Message; m != nil {
			d.id, d.model = m.ID, m.Model
			if m.Usage != nil {
				d.usage.PromptTokens = m.Usage.InputTokens
				d.usage.CompletionTokens = m.Usage.OutputTokens
			}
		}
	case "content_block_delta":
		if ev.Delta != nil && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
			return Chunk{Kind: Content, Text: ev.Delta.Text}, nil
		}
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != nil {
			d.finish = stopReason(*ev.Delta.StopReason)
		}
		if u := ev.Usage; u != nil {
			if u.InputTokens != nil {
				d.usage.PromptTokens = *u.InputTokens
			}
			if u.OutputTokens != nil {
				d.usage.CompletionTokens = *u.OutputTokens
			}
		}
	case "message_stop":
		return Chunk{Kind: Done}, nil
	}
	// ping, content_block_start/stop, other delta types (thinking,
	// tool input) and event types added later carry no text.
	return Chunk{Kind: Skip}, nil
}
