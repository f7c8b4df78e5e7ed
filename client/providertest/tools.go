package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// ToolCall is a tool call a scripted model makes: see [Answer.ToolCalls]
// and [CallTools].
type ToolCall struct {
	// ID is the call's id; "" means one made up in the route's style
	// ("call_…" for OpenAI, "toolu_…" for Anthropic).
	ID string
	// Name is the tool's name.
	Name string
	// Arguments is the JSON object of arguments, as text; "" means "{}".
	// On OpenAI routes it is sent as a JSON string, as OpenAI does, so
	// any text can be scripted there (a cut answer's invalid JSON); on
	// Anthropic routes it must be a JSON object.
	Arguments string
}

// ToolResult is a tool result found in a request: an OpenAI role "tool"
// message, or an Anthropic tool_result block.
type ToolResult struct {
	CallID  string // tool_call_id or tool_use_id
	Content string // the text of the result (text blocks joined)
	IsError bool   // Anthropic's is_error: the result reports a failed call
}

// CallTools is a successful reply in which the model calls tools (in
// parallel when more than one), with no text: rendered as OpenAI
// tool_calls with finish_reason "tool_calls", or as Anthropic tool_use
// blocks with stop_reason "tool_use"; streamed as the format's tool-call
// fragments (OpenAI delta.tool_calls by index, Anthropic
// content_block_start and input_json_delta events), the arguments split in
// a few pieces.
func CallTools(calls ...ToolCall) Answer {
	return Answer{Status: http.StatusOK, ToolCalls: append([]ToolCall(nil), calls...)}
}

// callID returns the id of call i of the answer to request number seq.
func (c ToolCall) callID(f Format, seq int64, i int) string {
	if c.ID != "" {
		return c.ID
	}
	if f == FormatAnthropic {
		return fmt.Sprintf("toolu_providertest%08d_%d", seq, i)
	}
	return fmt.Sprintf("call_providertest%08d_%d", seq, i)
}

func (c ToolCall) arguments() string {
	if strings.TrimSpace(c.Arguments) == "" {
		return "{}"
	}
	return c.Arguments
}

// input returns the arguments as the JSON object of an Anthropic tool_use
// block ({} when they are not one).
func (c ToolCall) input() json.RawMessage {
	a := bytes.TrimSpace([]byte(c.arguments()))
	if len(a) > 0 && a[0] == '{' && json.Valid(a) {
		var b bytes.Buffer
		_ = json.Compact(&b, a)
		return b.Bytes()
	}
	return json.RawMessage("{}")
}

// splitArguments splits arguments text into up to three pieces whose
// concatenation is the text, as providers stream them.
func splitArguments(s string) []string {
	if len(s) < 6 {
		return []string{s}
	}
	a, b := len(s)/3, 2*len(s)/3
	for a > 0 && !isRuneStart(s[a]) {
		a--
	}
	for b > a && !isRuneStart(s[b]) {
		b--
	}
	var out []string
	for _, p := range []string{s[:a], s[a:b], s[b:]} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// toolsOf reads the tool parts of a request body into r: the tools
// offered, the tool choice, the response format, the tool calls sent back
// in assistant turns, tool results and images.
func (c *chatRequest) toolsOf(f Format, r *Request) {
	for _, t := range c.Tools {
		name := t.Name
		if t.Function != nil {
			name = t.Function.Name
		}
		r.Tools = append(r.Tools, name)
	}
	r.ToolChoice = c.toolChoice()
	if c.ResponseFormat != nil {
		r.ResponseFormat = c.ResponseFormat.Type
	}
	for _, m := range c.Messages {
		for _, tc := range m.ToolCalls {
			r.ToolCalls = append(r.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		if m.Role == "tool" {
			r.ToolResults = append(r.ToolResults, ToolResult{CallID: m.ToolCallID, Content: contentText(m.Content)})
		}
		for _, b := range m.blocks() {
			switch b.Type {
			case "tool_use":
				r.ToolCalls = append(r.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Arguments: string(b.Input)})
			case "tool_result":
				r.ToolResults = append(r.ToolResults, ToolResult{CallID: b.ToolUseID, Content: contentText(b.Content), IsError: b.IsError})
			case "image", "image_url":
				r.Images++
			}
		}
	}
}

// toolChoice returns the request's tool choice in the API's words
// ("auto", "none", "required" or a tool's name); Anthropic's "any" reads
// "required".
func (c *chatRequest) toolChoice() string {
	if len(c.ToolChoice) == 0 || string(c.ToolChoice) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(c.ToolChoice, &s) == nil {
		return s
	}
	var o struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(c.ToolChoice, &o) != nil {
		return ""
	}
	switch {
	case o.Function != nil:
		return o.Function.Name
	case o.Type == "tool":
		return o.Name
	case o.Type == "any":
		return "required"
	}
	return o.Type
}

// forcedTool returns the tool an Anthropic request makes the model call:
// the named one of tool_choice {"type":"tool"}, or for {"type":"any"} the
// last tool offered; "" otherwise.
func (c *chatRequest) forcedTool() string {
	switch ch := c.toolChoice(); {
	case ch == "required" && len(c.Tools) > 0:
		return c.Tools[len(c.Tools)-1].Name
	case ch != "" && ch != "auto" && ch != "none":
		return ch
	}
	return ""
}

// requestBlock is a content block or part of a request message, of
// either format.
type requestBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

// blocks returns the message's content blocks, nil for string content.
func (m *chatMessage) blocks() []requestBlock {
	var bs []requestBlock
	if len(m.Content) == 0 || m.Content[0] != '[' || json.Unmarshal(m.Content, &bs) != nil {
		return nil
	}
	return bs
}

// contentText returns the text of a content value: a string, or the text
// of its blocks.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var bs []requestBlock
	_ = json.Unmarshal(raw, &bs)
	var b strings.Builder
	for _, x := range bs {
		b.WriteString(x.Text)
	}
	return b.String()
}

// toolProblem returns the provider's 400 message for a conversation whose
// tool calls and results do not pair up, or "". OpenAI: every "tool"
// message must answer a tool_calls id of the assistant turn before it, and
// every such id must be answered before the next other message. Anthropic:
// the message after an assistant turn with tool_use blocks must hold a
// tool_result for each, and a tool_result must answer a tool_use of the
// message before it.
func (c *chatRequest) toolProblem(f Format) string {
	if f == FormatAnthropic {
		for i, m := range c.Messages {
			var uses []string
			if m.Role == "assistant" {
				for _, b := range m.blocks() {
					if b.Type == "tool_use" {
						uses = append(uses, b.ID)
					}
				}
			}
			var prev map[string]bool
			if i > 0 && c.Messages[i-1].Role == "assistant" {
				prev = map[string]bool{}
				for _, b := range c.Messages[i-1].blocks() {
					if b.Type == "tool_use" {
						prev[b.ID] = true
					}
				}
			}
			for j, b := range m.blocks() {
				if b.Type == "tool_result" && !prev[b.ToolUseID] {
					return fmt.Sprintf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. "+
						"Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, j, b.ToolUseID)
				}
			}
			if len(uses) > 0 {
				answered := map[string]bool{}
				if i+1 < len(c.Messages) {
					for _, b := range c.Messages[i+1].blocks() {
						if b.Type == "tool_result" {
							answered[b.ToolUseID] = true
						}
					}
				}
				var missing []string
				for _, id := range uses {
					if !answered[id] {
						missing = append(missing, id)
					}
				}
				if len(missing) > 0 && i+1 < len(c.Messages) {
					return fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. "+
						"Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i, strings.Join(missing, ", "))
				}
			}
		}
		return ""
	}
	var open []string // ids of the last assistant turn not answered yet
	pending := map[string]bool{}
	for i, m := range c.Messages {
		if m.Role == "tool" {
			if !pending[m.ToolCallID] {
				return fmt.Sprintf("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages[%d])", i)
			}
			delete(pending, m.ToolCallID)
			continue
		}
		if len(pending) > 0 {
			var missing []string
			for _, id := range open {
				if pending[id] {
					missing = append(missing, id)
				}
			}
			return "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
				"The following tool_call_ids did not have response messages: " + strings.Join(missing, ", ")
		}
		open = open[:0]
		for _, tc := range m.ToolCalls {
			open = append(open, tc.ID)
			pending[tc.ID] = true
		}
	}
	return ""
}
