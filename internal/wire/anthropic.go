package wire

import (
	"bytes"
	"encoding/json"
	"strings"
)

type anthropicRequest struct {
	Model         string             `json:"model"`
	MaxTokens     int                `json:"max_tokens"`
	System        string             `json:"system,omitempty"`
	Messages      []anthropicMessage `json:"messages"`
	Temperature   *float64           `json:"temperature,omitempty"`
	TopP          *float64           `json:"top_p,omitempty"`
	StopSequences []string           `json:"stop_sequences,omitempty"`
	Stream        bool               `json:"stream,omitempty"`
	Tools         []anthropicTool    `json:"tools,omitempty"`
	ToolChoice    *anthropicChoice   `json:"tool_choice,omitempty"`
}

// anthropicMessage is a message of the Messages API; Content is a string
// or a list of content blocks.
type anthropicMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

type anthropicText struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
}

type anthropicImage struct {
	Type   string `json:"type"` // "image"
	Source struct {
		Type      string `json:"type"` // "base64" or "url"
		MediaType string `json:"media_type,omitempty"`
		Data      string `json:"data,omitempty"`
		URL       string `json:"url,omitempty"`
	} `json:"source"`
}

type anthropicToolUse struct {
	Type  string          `json:"type"` // "tool_use"
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type anthropicToolResult struct {
	Type      string `json:"type"` // "tool_result"
	ToolUseID string `json:"tool_use_id"`
	Content   string `json:"content,omitempty"`
	IsError   bool   `json:"is_error,omitempty"`
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicChoice struct {
	Type string `json:"type"` // "auto", "any", "tool", "none"
	Name string `json:"name,omitempty"`
}

// encodeAnthropic moves system messages into the top-level system field
// (joined with a blank line, in order), clamps temperature to the Messages
// API's range 0..1, sends consecutive tool results as one user message of
// tool_result blocks, and asks for JSON output with a forced tool (see
// [AnswerTool]).
// anthropicBody is r as the Messages API's request object, for Encode to
// marshal.
func anthropicBody(r *Request) *anthropicRequest {
	req := anthropicRequest{
		Model:     r.Model,
		MaxTokens: r.MaxTokens,
		TopP:      r.TopP,
		Stream:    r.Stream,
		Messages:  make([]anthropicMessage, 0, len(r.Messages)),
	}
	if req.MaxTokens <= 0 {
		req.MaxTokens = r.AnthropicMaxTokens
	}
	if r.Temperature != nil {
		t := min(*r.Temperature, 1)
		req.Temperature = &t
		// Current models reject both ("temperature and top_p cannot both
		// be specified for this model"); the docs say to alter one.
		req.TopP = nil
	}
	for _, s := range r.Stop {
		// "each stop sequence must contain non-whitespace".
		if strings.TrimSpace(s) != "" {
			req.StopSequences = append(req.StopSequences, s)
		}
	}
	// The final turn is the last message that is not a system message:
	// system messages go to the top-level field, so one after a prefill
	// leaves the prefill last.
	final := len(r.Messages) - 1
	for final >= 0 && r.Messages[final].Role == "system" {
		final--
	}
	var system []string
	for i := 0; i < len(r.Messages); i++ {
		m := r.Messages[i]
		switch m.Role {
		case "system":
			system = append(system, m.Content)
		case "tool":
			var blocks []any
			for ; i < len(r.Messages) && r.Messages[i].Role == "tool"; i++ {
				blocks = append(blocks, anthropicToolResult{Type: "tool_result", ToolUseID: anthropicID(r.Messages[i].ToolCallID), Content: r.Messages[i].Content, IsError: r.Messages[i].ToolError})
			}
			i--
			req.Messages = append(req.Messages, anthropicMessage{Role: "user", Content: blocks})
		case "assistant":
			last := i == final
			if last {
				// A prefill: "final assistant content cannot end with
				// trailing whitespace".
				m.Content = strings.TrimRight(m.Content, " \t\r\n")
			}
			if !last && strings.TrimSpace(m.Content) == "" && len(m.Parts) == 0 && len(m.ToolCalls) == 0 {
				// An empty answer sent back (or one of white space, which
				// the API reads the same: "text content blocks must
				// contain non-whitespace text"): "all messages must have
				// non-empty content except for the optional final
				// assistant message". Leaving it out joins the user turns
				// around it, as the API does with consecutive turns.
				continue
			}
			req.Messages = append(req.Messages, anthropicMessageOf(m))
		default:
			req.Messages = append(req.Messages, anthropicMessageOf(m))
		}
	}
	req.System = strings.Join(system, "\n\n")
	for _, t := range r.Tools {
		req.Tools = append(req.Tools, anthropicTool{Name: t.Name, Description: t.Description, InputSchema: objectSchema(t.Parameters)})
	}
	switch c := r.ToolChoice; {
	case c == "" || len(r.Tools) == 0:
	case c == ToolChoiceAuto, c == ToolChoiceNone:
		req.ToolChoice = &anthropicChoice{Type: c}
	case c == ToolChoiceRequired:
		req.ToolChoice = &anthropicChoice{Type: "any"}
	default:
		req.ToolChoice = &anthropicChoice{Type: "tool", Name: c}
	}
	if answer := AnswerTool(Anthropic, r); answer != "" {
		f := r.ResponseFormat
		schema := json.RawMessage(`{"type":"object"}`)
		desc := "Give your answer as a JSON object by calling this tool."
		if f.Type == "json_schema" && len(f.Schema) > 0 {
			schema = objectSchema(f.Schema)
			desc = "Give your answer by calling this tool with a JSON object that follows its input schema."
		}
		req.Tools = append(req.Tools, anthropicTool{Name: answer, Description: desc, InputSchema: schema})
		if thinkingOn(r.Extra) {
			// Extended thinking rejects a tool_choice that forces a tool:
			// the model is asked, not made, to answer through it.
			req.ToolChoice = &anthropicChoice{Type: ToolChoiceAuto}
		} else if len(r.Tools) > 0 && r.ToolChoice != ToolChoiceNone {
			// The model may call the caller's tools or answer: it must
			// do one of the two.
			req.ToolChoice = &anthropicChoice{Type: "any"}
		} else {
			req.ToolChoice = &anthropicChoice{Type: "tool", Name: answer}
		}
	}
	return &req
}

// thinkingOn reports whether extra (Request.Extra) turns extended thinking
// on: a "thinking" field whose type is not "disabled".
func thinkingOn(extra map[string]any) bool {
	v, ok := extra["thinking"]
	if !ok || v == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var t struct {
		Type string `json:"type"`
	}
	return unmarshal(b, &t) == nil && t.Type != "" && t.Type != "disabled"
}

func anthropicMessageOf(m Message) anthropicMessage {
	if len(m.Parts) == 0 && len(m.ToolCalls) == 0 {
		return anthropicMessage{Role: m.Role, Content: m.Content}
	}
	var blocks []any
	if len(m.ToolCalls) > 0 && len(m.ThinkingBlocks) > 0 {
		// Extended thinking requires a tool turn's thinking back, first
		// and unmodified.
		var thinking []json.RawMessage
		if unmarshal(m.ThinkingBlocks, &thinking) == nil {
			for _, t := range thinking {
				blocks = append(blocks, t)
			}
		}
	}
	if strings.TrimSpace(m.Content) != "" {
		blocks = append(blocks, anthropicText{Type: "text", Text: m.Content})
	}
	for _, p := range m.Parts {
		if !p.Image {
			// The API rejects text blocks empty or of white space only.
			if strings.TrimSpace(p.Text) != "" {
				blocks = append(blocks, anthropicText{Type: "text", Text: p.Text})
			}
			continue
		}
		img := anthropicImage{Type: "image"}
		switch mt, b64, ok := ParseDataURL(p.URL); {
		case len(p.Data) > 0:
			img.Source.Type, img.Source.MediaType = "base64", p.MediaType
			img.Source.Data = dataURL(p.MediaType, p.Data)[len("data:"+p.MediaType+";base64,"):]
		case ok:
			img.Source.Type, img.Source.MediaType, img.Source.Data = "base64", mt, b64
		default:
			img.Source.Type, img.Source.URL = "url", p.URL
		}
		blocks = append(blocks, img)
	}
	for _, c := range m.ToolCalls {
		blocks = append(blocks, anthropicToolUse{Type: "tool_use", ID: anthropicID(c.ID), Name: c.Name, Input: argumentsObject(c.Arguments)})
	}
	if blocks == nil {
		blocks = []any{}
	}
	return anthropicMessage{Role: m.Role, Content: blocks}
}

// anthropicID returns a tool call id in the form the Messages API accepts
// (^[a-zA-Z0-9_-]+$): ids made by other providers ("functions.f:0") have
// every other character replaced by '_', the same way in a tool_use block
// and in the tool_result that answers it.
func anthropicID(id string) string {
	if id == "" {
		return "toolu_"
	}
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// anthropicUsage is the usage object of a message and of stream events.
// input_tokens counts only the input that was neither read from nor
// written to the cache.
type anthropicUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
}

// add overwrites u's counts with those o reports (stream events report
// cumulative counts).
func (u *anthropicUsage) add(o *anthropicUsage) {
	if o == nil {
		return
	}
	for _, p := range []struct{ dst, src **int }{
		{&u.InputTokens, &o.InputTokens}, {&u.OutputTokens, &o.OutputTokens},
		{&u.CacheReadInputTokens, &o.CacheReadInputTokens}, {&u.CacheCreationInputTokens, &o.CacheCreationInputTokens},
	} {
		if *p.src != nil {
			v := **p.src
			*p.dst = &v
		}
	}
}

// usage returns the usage in the common shape: every input token,
// cached or not, in PromptTokens.
func (u *anthropicUsage) usage() Usage {
	if u == nil {
		return Usage{}
	}
	v := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	in := v(u.InputTokens) + v(u.CacheReadInputTokens) + v(u.CacheCreationInputTokens)
	out := v(u.OutputTokens)
	return Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out, CachedPromptTokens: v(u.CacheReadInputTokens)}
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

// anthropicErrorEvent is the error of an "error" event: Anthropic's
// {"type": "error", "error": {...}}, or the flat object llama.cpp's
// server writes there ({"code": 400, "message": ..., "type":
// "exceed_context_size_error"}, its OpenAI-format error), read with its
// code as the status.
func anthropicErrorEvent(data []byte) error {
	var ev struct {
		Error *anthropicErrorBody `json:"error"`
	}
	if err := unmarshal(data, &ev); err != nil {
		return malformed("stream event \"error\" is not JSON: %v", err)
	}
	if ev.Error != nil {
		return anthropicAPIError(ev.Error, data)
	}
	var flat openAIError
	if unmarshal(data, &flat) == nil && (flat.Message != "" || flat.Type != "") {
		return flat.apiError(data)
	}
	return anthropicAPIError(nil, data)
}

// anthropicBlock is a content block of an answer (or of a
// content_block_start event).
type anthropicBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
	// thinking and redacted_thinking blocks.
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
	Data      string `json:"data"`
}

// anthropicThinking is a thinking or redacted_thinking block as the
// Messages API takes it back.
type anthropicThinking struct {
	Type      string  `json:"type"`
	Thinking  *string `json:"thinking,omitempty"`
	Signature *string `json:"signature,omitempty"`
	Data      *string `json:"data,omitempty"`
}

// thinkingOf returns b as a block to send back, and whether it is one.
func thinkingOf(b *anthropicBlock) (anthropicThinking, bool) {
	switch b.Type {
	case "thinking":
		return anthropicThinking{Type: b.Type, Thinking: &b.Thinking, Signature: &b.Signature}, true
	case "redacted_thinking":
		return anthropicThinking{Type: b.Type, Data: &b.Data}, true
	}
	return anthropicThinking{}, false
}

// thinkingJSON marshals blocks as a JSON array; nil when there are none.
func thinkingJSON(blocks []anthropicThinking) json.RawMessage {
	if len(blocks) == 0 {
		return nil
	}
	b, err := json.Marshal(blocks)
	if err != nil {
		return nil // strings only: cannot fail
	}
	return b
}

type anthropicResponse struct {
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	Model      string              `json:"model"`
	Content    []anthropicBlock    `json:"content"`
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
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return s
}

// answerFinish is the finish reason of an answer: "stop" for one whose
// only tool call was the JSON answer tool, "tool_calls" for one that called
// tools but says it stopped.
func answerFinish(finish string, answered, called bool) string {
	if answered && !called && finish == "tool_calls" {
		return "stop"
	}
	return toolFinish(finish, called)
}

func decodeAnthropic(body []byte, answerTool string) (Response, error) {
	var r anthropicResponse
	if err := unmarshal(body, &r); err != nil {
		return Response{}, malformed("not a message: %v", err)
	}
	if r.Type == "error" || r.Error != nil {
		return Response{}, anthropicAPIError(r.Error, body)
	}
	if r.Type != "message" {
		return Response{}, malformed("answer of type %q, want \"message\"", clip(r.Type))
	}
	out := Response{ID: r.ID, Model: r.Model}
	var b, reasoning strings.Builder
	var thinking []anthropicThinking
	var answer []byte
	answered := false
	for i := range r.Content {
		c := &r.Content[i]
		if t, ok := thinkingOf(c); ok {
			thinking = append(thinking, t)
			reasoning.WriteString(c.Thinking)
			continue
		}
		switch c.Type {
		case "text":
			b.WriteString(c.Text)
		case "tool_use":
			if c.Name == "" {
				continue // not a call anyone could answer
			}
			args := normalizeArguments(string(c.Input))
			if answerTool != "" && c.Name == answerTool && !answered {
				answered = true
				var compact bytes.Buffer
				if json.Compact(&compact, args) == nil {
					answer = compact.Bytes()
				} else {
					answer = args
				}
				continue
			}
			out.ToolCalls = append(out.ToolCalls, ToolCall{ID: c.ID, Name: c.Name, Arguments: args})
		}
	}
	out.Content = b.String()
	out.Reasoning, out.ThinkingBlocks = reasoning.String(), thinkingJSON(thinking)
	if answered {
		out.Content = string(answer)
	}
	if r.StopReason != nil {
		out.FinishReason = stopReason(*r.StopReason)
	}
	out.FinishReason = answerFinish(out.FinishReason, answered, len(out.ToolCalls) > 0)
	out.Usage = r.Usage.usage()
	return out, nil
}

type anthropicEvent struct {
	Type    string `json:"type"`
	Index   *int   `json:"index"`
	Message *struct {
		ID    string          `json:"id"`
		Model string          `json:"model"`
		Usage *anthropicUsage `json:"usage"`
	} `json:"message"`
	ContentBlock *anthropicBlock `json:"content_block"`
	Delta        *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
		Thinking    string  `json:"thinking"`
		Signature   string  `json:"signature"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *anthropicUsage     `json:"usage"`
	Error *anthropicErrorBody `json:"error"`
}

func (d *StreamDecoder) anthropic(eventType, data string) (Chunk, error) {
	if eventType == "error" {
		return Chunk{}, anthropicErrorEvent([]byte(data))
	}
	var ev anthropicEvent
	if err := unmarshal([]byte(data), &ev); err != nil {
		return Chunk{}, malformed("stream event %q is not JSON: %v", clip(eventType), err)
	}
	typ := eventType
	if typ == "" || typ == "message" {
		typ = ev.Type
	}
	index := -1
	if ev.Index != nil {
		index = *ev.Index
	}
	var reasoning string // a thinking block's start may hold some
	switch typ {
	case "error":
		return Chunk{}, anthropicAPIError(ev.Error, []byte(data))
	case "message_start":
		if m := ev.Message; m != nil {
			d.id, d.model = m.ID, m.Model
			d.anthUsage.add(m.Usage)
		}
	case "content_block_start":
		if b := ev.ContentBlock; b != nil && b.Type == "tool_use" {
			if d.answerTool != "" && b.Name == d.answerTool && d.answerBlock == nil {
				d.answerBlock = &index
				d.answered = true
				if in := wholeInput(b.Input); in != nil {
					// A server that sends the whole input here.
					return Chunk{Kind: Content, Text: string(in)}, nil
				}
				break
			}
			pos := d.newCall(b.ID, b.Name)
			if d.byIndex == nil {
				d.byIndex = map[int]int{}
			}
			d.byIndex[index] = pos
			d.last = pos
			d.calls[pos].start = bytes.Clone(b.Input)
			return Chunk{Kind: ToolDelta}, nil
		}
		if b := ev.ContentBlock; b != nil && b.Type == "text" && b.Text != "" {
			return Chunk{Kind: Content, Text: b.Text}, nil
		}
		if b := ev.ContentBlock; b != nil {
			if t, ok := thinkingOf(b); ok {
				d.thinking = append(d.thinking, t)
				d.reasoning.WriteString(b.Thinking)
				reasoning = b.Thinking
			}
		}
		if b := ev.ContentBlock; b != nil && b.Type != "text" && b.Type != "tool_use" && ev.Index != nil {
			if d.notCalls == nil {
				d.notCalls = map[int]bool{}
			}
			d.notCalls[index] = true
		}
	case "content_block_delta":
		if ev.Delta == nil {
			break
		}
		switch ev.Delta.Type {
		case "text_delta":
			if ev.Delta.Text != "" {
				return Chunk{Kind: Content, Text: ev.Delta.Text}, nil
			}
		case "thinking_delta", "signature_delta":
			// Blocks stream one after another: a delta belongs to the
			// thinking block started last.
			if n := len(d.thinking); n > 0 && d.thinking[n-1].Type == "thinking" {
				t := &d.thinking[n-1]
				if ev.Delta.Type == "thinking_delta" {
					*t.Thinking += ev.Delta.Thinking
					d.reasoning.WriteString(ev.Delta.Thinking)
					return Chunk{Kind: Skip, Reasoning: ev.Delta.Thinking}, nil
				}
				*t.Signature += ev.Delta.Signature
			}
		case "input_json_delta":
			if d.answerBlock != nil && *d.answerBlock == index {
				if ev.Delta.PartialJSON != "" {
					return Chunk{Kind: Content, Text: ev.Delta.PartialJSON}, nil
				}
				break
			}
			pos, ok := d.byIndex[index]
			if !ok {
				if d.notCalls[index] || len(d.calls) == 0 {
					// The input of a block that is not the caller's tool
					// (server_tool_use, mcp_tool_use), or of no known call.
					break
				}
				pos = d.last // a server that numbers its events otherwise
			}
			if ev.Delta.PartialJSON != "" {
				d.calls[pos].args.WriteString(ev.Delta.PartialJSON)
				return Chunk{Kind: ToolDelta}, nil
			}
		}
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != nil {
			d.finish = stopReason(*ev.Delta.StopReason)
		}
		d.anthUsage.add(ev.Usage)
	case "message_stop":
		return Chunk{Kind: Done}, nil
	}
	// ping, content_block_stop, other delta types (signatures) and event
	// types added later carry nothing for the caller.
	return Chunk{Kind: Skip, Reasoning: reasoning}, nil
}

// wholeInput returns the input of a content_block_start tool_use block
// when it is a non-empty JSON object (the Messages API sends {} there and
// the input in input_json_delta events; some servers send it whole), or
// nil.
func wholeInput(in json.RawMessage) json.RawMessage {
	var fields map[string]json.RawMessage
	if unmarshal(in, &fields) != nil || len(fields) == 0 {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, in) != nil {
		return nil
	}
	return b.Bytes()
}
