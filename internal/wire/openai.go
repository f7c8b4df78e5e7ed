package wire

import (
	"bytes"
	"cmp"
	"encoding/json"
	"hash/fnv"
	"slices"
	"strings"
)

type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	MaxTokens           int             `json:"max_tokens,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options,omitempty"`
	Tools          []openAITool   `json:"tools,omitempty"`
	ToolChoice     any            `json:"tool_choice,omitempty"`
	ResponseFormat *openAIRespFmt `json:"response_format,omitempty"`
}

// openAIMessage is a message of the Chat Completions API. Content is a
// string, a list of content parts, or nil (null: an assistant turn that
// only called tools).
type openAIMessage struct {
	Role             string               `json:"role"`
	Content          any                  `json:"content"`
	ReasoningContent *string              `json:"reasoning_content,omitempty"`
	ReasoningDetails json.RawMessage      `json:"reasoning_details,omitempty"`
	ToolCalls        []openAIToolCallJSON `json:"tool_calls,omitempty"`
	ToolCallID       string               `json:"tool_call_id,omitempty"`
	// Name is the function a tool result answers (Request.ToolResultNames).
	Name string `json:"name,omitempty"`
	// Prefix marks a final assistant message as the start of the answer
	// (Mistral, Request.AssistantPrefix).
	Prefix bool `json:"prefix,omitempty"`
}

type openAITextPart struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
}

type openAIImagePart struct {
	Type     string `json:"type"` // "image_url"
	ImageURL struct {
		URL    string `json:"url"`
		Detail string `json:"detail,omitempty"`
	} `json:"image_url"`
}

type openAIToolCallJSON struct {
	ID       string `json:"id"`
	Type     string `json:"type"` // "function"
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
	ExtraContent *googleExtra `json:"extra_content,omitempty"`
}

// googleExtra is the extra_content of a tool call in Gemini's
// OpenAI-compatible API: the call's thought signature.
type googleExtra struct {
	Google *struct {
		ThoughtSignature string `json:"thought_signature,omitempty"`
	} `json:"google,omitempty"`
}

// signature returns the thought signature in e, or "".
func (e *googleExtra) signature() string {
	if e == nil || e.Google == nil {
		return ""
	}
	return e.Google.ThoughtSignature
}

type openAITool struct {
	Type     string `json:"type"` // "function"
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type openAINamedTool struct {
	Type     string `json:"type"` // "function"
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type openAIRespFmt struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict bool            `json:"strict,omitempty"`
	} `json:"json_schema,omitempty"`
}

// oneSystemMessage returns msgs with their system messages of text joined
// into one, first (Request.OneSystemMessage).
func oneSystemMessage(msgs []openAIMessage) []openAIMessage {
	var texts []string
	rest := make([]openAIMessage, 0, len(msgs))
	for _, m := range msgs {
		if text, ok := m.Content.(string); ok && m.Role == "system" {
			texts = append(texts, text)
			continue
		}
		rest = append(rest, m)
	}
	if len(texts) == 0 || len(texts) == 1 && len(rest) == len(msgs)-1 && msgs[0].Role == "system" {
		return msgs // none, or one already first
	}
	return append([]openAIMessage{{Role: "system", Content: strings.Join(texts, "\n\n")}}, rest...)
}

// nameToolResults sets each tool result's Name to the function of the
// call it answers: the nearest earlier call with its id, since an id may
// come again in a later turn (Request.ToolResultNames).
func nameToolResults(msgs []openAIMessage) {
	names := map[string]string{}
	for i := range msgs {
		for _, c := range msgs[i].ToolCalls {
			names[c.ID] = c.Function.Name
		}
		if msgs[i].Role == "tool" {
			msgs[i].Name = names[msgs[i].ToolCallID]
		}
	}
}

// toolBridge is the assistant message AssistantAfterTool puts between a
// tool result and the user's next message: the shortest text an
// assistant turn may hold (one with neither text nor tool calls is
// refused), saying only that the results arrived.
const toolBridge = "ok"

// openAIBody is r as the Chat Completions API's request object, for
// Encode to marshal.
func openAIBody(r *Request) *openAIRequest {
	req := openAIRequest{
		Model:       r.Model,
		Messages:    make([]openAIMessage, 0, len(r.Messages)),
		Temperature: r.Temperature,
		TopP:        r.TopP,
		Stop:        r.Stop,
		Stream:      r.Stream,
	}
	if r.Stream && r.StreamUsage {
		req.StreamOptions = &struct {
			IncludeUsage bool `json:"include_usage"`
		}{true}
	}
	schemaInPrompt := r.SchemaInPrompt && r.ResponseFormat != nil && r.ResponseFormat.Type == "json_schema"
	prompt := jsonPrompt(r, schemaInPrompt)
	for _, m := range r.Messages {
		if prompt != "" && m.Role != "system" {
			// After the caller's leading system messages.
			req.Messages = append(req.Messages, openAIMessage{Role: "system", Content: prompt})
			prompt = ""
		}
		if n := len(req.Messages); r.AssistantAfterTool && n > 0 && req.Messages[n-1].Role == "tool" && m.Role == "user" {
			req.Messages = append(req.Messages, openAIMessage{Role: "assistant", Content: toolBridge})
		}
		req.Messages = append(req.Messages, openAIMessageOf(m, r))
	}
	if prompt != "" {
		req.Messages = append(req.Messages, openAIMessage{Role: "system", Content: prompt})
	}
	if r.OneSystemMessage {
		req.Messages = oneSystemMessage(req.Messages)
	}
	if r.ToolResultNames {
		nameToolResults(req.Messages)
	}
	if n := len(req.Messages); r.AssistantPrefix && n > 0 && req.Messages[n-1].Role == "assistant" && len(req.Messages[n-1].ToolCalls) == 0 {
		req.Messages[n-1].Prefix = true
	}
	if r.MaxCompletionTokens {
		req.MaxCompletionTokens = r.MaxTokens
	} else {
		req.MaxTokens = r.MaxTokens
	}
	for _, t := range r.Tools {
		var ot openAITool
		ot.Type = "function"
		ot.Function.Name, ot.Function.Description = t.Name, t.Description
		ot.Function.Parameters = objectSchema(t.Parameters)
		req.Tools = append(req.Tools, ot)
	}
	switch c := r.ToolChoice; {
	case c == "" || len(r.Tools) == 0:
		// tool_choice without tools is an error for OpenAI.
	case isToolChoiceKeyword(c):
		req.ToolChoice = c
	default:
		var nt openAINamedTool
		nt.Type = "function"
		nt.Function.Name = c
		req.ToolChoice = nt
	}
	if f := r.ResponseFormat; f != nil {
		req.ResponseFormat = &openAIRespFmt{Type: f.Type}
		if schemaInPrompt {
			req.ResponseFormat.Type = "json_object"
		} else if f.Type == "json_schema" {
			name := f.Name
			if name == "" {
				name = DefaultAnswerTool
			}
			req.ResponseFormat.JSONSchema = &struct {
				Name   string          `json:"name"`
				Schema json.RawMessage `json:"schema,omitempty"`
				Strict bool            `json:"strict,omitempty"`
			}{name, f.Schema, f.Strict}
		}
	}
	return &req
}

// jsonPrompt is the system message JSON output needs in the OpenAI
// format, or "": the schema, for a provider with JSON mode only
// (schemaInPrompt); else, for json_object, a request for JSON when no
// message names it, as JSON mode requires ("'messages' must contain the
// word 'json' in some form": OpenAI, DeepSeek, Groq), which a request
// made for another target need not do.
func jsonPrompt(r *Request, schemaInPrompt bool) string {
	switch {
	case schemaInPrompt:
		return schemaPrompt(r.ResponseFormat)
	case r.ResponseFormat == nil || r.ResponseFormat.Type != "json_object":
		return ""
	}
	for _, m := range r.Messages {
		if containsJSON(m.Content) {
			return ""
		}
		for _, p := range m.Parts {
			if containsJSON(p.Text) {
				return ""
			}
		}
	}
	return "Answer with a JSON object."
}

// containsJSON reports whether s has "json" in any case.
func containsJSON(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if strings.EqualFold(s[i:i+4], "json") {
			return true
		}
	}
	return false
}

// schemaPrompt is the system message that carries a json_schema
// ResponseFormat to a provider with JSON mode only (Request.SchemaInPrompt).
func schemaPrompt(f *ResponseFormat) string {
	schema := objectSchema(f.Schema)
	var compact bytes.Buffer
	if json.Compact(&compact, schema) == nil {
		schema = compact.Bytes()
	}
	return "Answer with a single JSON object that follows this JSON Schema, and nothing else:\n" + string(schema)
}

func openAIMessageOf(m Message, r *Request) openAIMessage {
	out := openAIMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
	if r.NineCharToolIDs && m.ToolCallID != "" {
		out.ToolCallID = nineCharID(m.ToolCallID)
	}
	if len(m.Parts) > 0 {
		parts := make([]any, 0, len(m.Parts))
		for _, p := range m.Parts {
			if !p.Image {
				parts = append(parts, openAITextPart{Type: "text", Text: p.Text})
				continue
			}
			ip := openAIImagePart{Type: "image_url"}
			ip.ImageURL.URL, ip.ImageURL.Detail = p.URL, p.Detail
			if len(p.Data) > 0 {
				ip.ImageURL.URL = dataURL(p.MediaType, p.Data)
			}
			parts = append(parts, ip)
		}
		out.Content = parts
	}
	signed := slices.ContainsFunc(m.ToolCalls, func(c ToolCall) bool { return c.Signature != "" })
	for i, c := range m.ToolCalls {
		var tc openAIToolCallJSON
		tc.ID, tc.Type = c.ID, "function"
		if r.NineCharToolIDs {
			tc.ID = nineCharID(c.ID)
		}
		tc.Function.Name, tc.Function.Arguments = c.Name, argumentsText(c.Arguments)
		if r.GoogleSignatures {
			sig := c.Signature
			if !signed && i == 0 {
				sig = r.PlaceholderSignature
			}
			if sig != "" {
				tc.ExtraContent = &googleExtra{Google: &struct {
					ThoughtSignature string `json:"thought_signature,omitempty"`
				}{sig}}
			}
		}
		out.ToolCalls = append(out.ToolCalls, tc)
	}
	if d := bytes.TrimSpace(m.ReasoningDetails); r.EchoReasoningDetails && m.Role == "assistant" && len(d) > 0 && string(d) != "null" {
		out.ReasoningDetails = m.ReasoningDetails
	}
	if r.EchoReasoning && len(m.ToolCalls) > 0 {
		// Sent even when empty (calls another provider made, a history
		// written by hand): DeepSeek's thinking mode refuses a tool turn
		// without the field ("Missing `reasoning_content` field in the
		// assistant message"), and takes it empty.
		out.ReasoningContent = &m.Reasoning
	}
	if len(out.ToolCalls) > 0 && m.Content == "" && len(m.Parts) == 0 {
		out.Content = nil
	}
	return out
}

// nineCharID returns id in the form Mistral accepts (^[a-zA-Z0-9]{9}$):
// as it is when it has that form (Mistral's own ids), else 9 letters and
// digits drawn from its FNV-1a hash, so that a call and the result that
// answers it map alike. Two ids of one conversation collide with a
// chance of about one in 10^16 per pair.
func nineCharID(id string) string {
	if len(id) == 9 && strings.IndexFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	}) < 0 {
		return id
	}
	const digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	h := fnv.New64a()
	h.Write([]byte(id))
	n := h.Sum64()
	var b [9]byte
	for i := range b {
		b[i] = digits[n%62]
		n /= 62
	}
	return string(b[:])
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// The details are values, not pointers: a null or missing object
	// leaves them zero, and decoding allocates nothing for them.
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// PromptCacheHitTokens is DeepSeek's name for cached prompt tokens.
	PromptCacheHitTokens int `json:"prompt_cache_hit_tokens"`
}

func (u *openAIUsage) usage() Usage {
	if u == nil {
		return Usage{}
	}
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	out := Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: total}
	if n := u.PromptTokensDetails.CachedTokens; n > 0 {
		out.CachedPromptTokens = n
	} else if u.PromptCacheHitTokens > 0 {
		out.CachedPromptTokens = u.PromptCacheHitTokens
	}
	out.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	if r := out.ReasoningTokens; r > 0 && u.TotalTokens == u.PromptTokens+u.CompletionTokens+r {
		// xAI counts reasoning beside the completion, not in it (its total
		// is the three's sum); completion tokens include reasoning here,
		// as OpenAI counts them and as they are billed.
		out.CompletionTokens += r
	}
	return out
}

// openAIToolCall is a tool call in an answer, or a fragment of one in a
// stream delta. Arguments is a JSON string on the wire; lenient servers
// send an object.
type openAIToolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
	ExtraContent *googleExtra `json:"extra_content"`
}

// openAIResponse is a chat completion. Its fields are values where a
// null reads the same as absent (content, finish_reason, usage), so that
// decoding allocates only the strings it keeps.
type openAIResponse struct {
	ID      string         `json:"id"`
	Model   string         `json:"model"`
	Choices []openAIChoice `json:"choices"`
	Usage   openAIUsage    `json:"usage"`
	Error   *openAIError   `json:"error"`
	// ErrorType is text-generation-inference's, beside an error that is
	// a string.
	ErrorType string `json:"error_type"`
}

// openAIChoice is a choice of a chat completion. It is a named type so
// that a decoding error names it briefly, not by its fields.
type openAIChoice struct {
	Message struct {
		Content   openAIContent   `json:"content"`
		Refusal   string          `json:"refusal"`
		ToolCalls openAIToolCalls `json:"tool_calls"`
		// The reasoning, under either name servers give it.
		ReasoningContent optionalText `json:"reasoning_content"`
		Reasoning        optionalText `json:"reasoning"`
		// ReasoningDetails is OpenRouter's structured reasoning, kept as
		// it came to be sent back.
		ReasoningDetails json.RawMessage `json:"reasoning_details"`
	} `json:"message"`
	FinishReason string `json:"finish_reason"`
	// NativeFinishReason is OpenRouter's: the upstream's own reason
	// (upstreamFailed).
	NativeFinishReason string `json:"native_finish_reason"`
	// Error is OpenRouter's: a choice that failed upstream has
	// finish_reason "error" and the error here, not at the top.
	Error *openAIError `json:"error"`
	Index *int         `json:"index"`
}

func decodeOpenAI(body []byte) (Response, error) {
	var r openAIResponse
	if err := unmarshal(body, &r); err != nil {
		return Response{}, malformed("not a chat completion: %v", err)
	}
	if r.Error != nil {
		if r.Error.Type == "" {
			r.Error.Type = r.ErrorType
		}
		return Response{}, r.Error.apiError(body)
	}
	if len(r.Choices) == 0 {
		return Response{}, malformed("chat completion without choices")
	}
	// The answer is choice 0 (n > 1 set through Extra), wherever it is
	// listed; the first listed when none is numbered so.
	c := r.Choices[0]
	for _, ch := range r.Choices {
		if ch.Index != nil && *ch.Index == 0 {
			c = ch
			break
		}
	}
	if c.Error != nil {
		return Response{}, c.Error.apiError(body)
	}
	if err := upstreamFailed(c.NativeFinishReason, body); err != nil {
		return Response{}, err
	}
	out := Response{ID: r.ID, Model: r.Model, Usage: r.Usage.usage()}
	out.Content = c.Message.Content.Text
	out.Reasoning = cmp.Or(string(c.Message.ReasoningContent), string(c.Message.Reasoning), c.Message.Content.Thinking)
	refused := out.Content == "" && c.Message.Refusal != ""
	if refused {
		out.Content = c.Message.Refusal
	}
	if d := bytes.TrimSpace(c.Message.ReasoningDetails); len(d) > 0 && d[0] == '[' && !bytes.Equal(d, []byte("[]")) {
		out.ReasoningDetails = bytes.Clone(d)
	}
	for _, tc := range c.Message.ToolCalls {
		if tc.Function == nil || tc.Function.Name == "" {
			continue // not a call anyone could answer
		}
		out.ToolCalls = append(out.ToolCalls, ToolCall{ID: callID(tc.ID), Name: tc.Function.Name, Arguments: rawArguments(tc.Function.Arguments), Signature: tc.ExtraContent.signature()})
	}
	out.FinishReason = toolFinish(c.FinishReason, len(out.ToolCalls) > 0)
	if refused {
		out.FinishReason = refusalFinish(out.FinishReason)
	}
	return out, nil
}

// refusalFinish is the finish reason of an answer that is a refusal
// (OpenAI's message.refusal, with finish_reason "stop"): "content_filter",
// as Anthropic's stop_reason "refusal" reads, so that a caller can tell a
// refusal from an answer whichever provider made it (a JSON answer's
// caller would otherwise parse "I'm sorry, I cannot..." as JSON). Another
// reason ("length") is kept.
func refusalFinish(finish string) string {
	if finish == "stop" || finish == "" {
		return "content_filter"
	}
	return finish
}

// upstreamFailed returns the error of an answer OpenRouter ended as
// "stop" though its upstream's connection failed: it says so only in
// native_finish_reason ("network_error", with no content and no usage:
// earendil-works/pi#8511). A failure of the provider's side, like a 502;
// nil for any other reason.
func upstreamFailed(native string, body []byte) error {
	if native != "network_error" {
		return nil
	}
	return &APIError{Status: 502, Type: native, Body: bytes.Clone(body)}
}

// toolFinish reads "tool_calls" for an answer that called tools but says
// it stopped normally (some compatible servers send "stop").
func toolFinish(finish string, called bool) string {
	finish = stopWord(finish)
	if called && (finish == "" || finish == "stop") {
		return "tool_calls"
	}
	return finish
}

// stopWord reads text-generation-inference's reasons for a normal end
// as OpenAI's "stop": its chat endpoint says "stop_sequence" for a stop
// sequence, and some of its versions "eos_token" for the end of the
// sequence (its router's FinishReason; later ones say "stop").
func stopWord(finish string) string {
	switch finish {
	case "eos_token", "stop_sequence":
		return "stop"
	}
	return finish
}

// openAIToolCalls is a message's or a delta's tool_calls: a list, as
// OpenAI sends it, or a single call as an object, as
// text-generation-inference 2.x sent it in stream deltas
// (huggingface/text-generation-inference#2794). Reading the object as a
// list of one keeps such a stream's tool call instead of failing it.
type openAIToolCalls []openAIToolCall

// UnmarshalJSON reads a list, or one object as a list of one.
func (cs *openAIToolCalls) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var c openAIToolCall
		if err := unmarshal(b, &c); err != nil {
			return err
		}
		*cs = openAIToolCalls{c}
		return nil
	}
	return unmarshal(b, (*[]openAIToolCall)(cs))
}

// openAIContent is an answer's content (or a stream delta's): a string,
// null (empty), or a list of typed chunks. Mistral's reasoning models
// (Magistral, and others asked for a reasoning_effort) send the list, in
// answers and in deltas: "thinking" chunks hold the model's reasoning,
// "text" chunks the answer, "reference" chunks citations. Text is the text
// chunks in order, Thinking the text of the thinking chunks.
type openAIContent struct {
	Text     string
	Thinking string
}

// UnmarshalJSON reads a string as itself and a list as its chunks;
// anything else is an error, as it was for a plain string field. A
// thinking chunk that cannot be read is left out: reasoning is never a
// reason to fail an answer. Both engines that decode answers (unmarshal,
// and encoding/json in the fuzz test that holds them equal) call it.
func (c *openAIContent) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return malformed("empty content")
	}
	switch b[0] {
	case 'n':
		return nil // null: as absent, like a string field
	case '"':
		return unmarshal(b, &c.Text)
	case '[':
		var parts []struct {
			Type     string          `json:"type"`
			Text     string          `json:"text"`
			Thinking json.RawMessage `json:"thinking"`
		}
		if err := unmarshal(b, &parts); err != nil {
			return err
		}
		var text, thinking strings.Builder
		for _, p := range parts {
			switch p.Type {
			case "text":
				text.WriteString(p.Text)
			case "thinking":
				var pieces []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				}
				_ = unmarshal(p.Thinking, &pieces)
				for _, t := range pieces {
					if t.Type == "text" {
						thinking.WriteString(t.Text)
					}
				}
			}
		}
		c.Text, c.Thinking = text.String(), thinking.String()
		return nil
	}
	return malformed("content is %s, want a string or a list of chunks", clip(string(b[:min(len(b), 16)])))
}

// optionalText is a field that servers send as a string, but that is not
// worth failing an answer for when one sends something else: a string
// reads as itself, anything else as empty.
type optionalText string

// UnmarshalJSON reads a string; it ignores every other value.
func (t *optionalText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return unmarshal(b, (*string)(t))
	}
	return nil
}

// openAIChunkChoice is a choice of a stream chunk. It is a named type so
// that a decoding error names it briefly, not by its fields.
type openAIChunkChoice struct {
	Index *int `json:"index"`
	Delta struct {
		Content          *openAIContent  `json:"content"`
		Refusal          *string         `json:"refusal"`
		ToolCalls        openAIToolCalls `json:"tool_calls"`
		ReasoningContent optionalText    `json:"reasoning_content"`
		Reasoning        optionalText    `json:"reasoning"`
		ReasoningDetails json.RawMessage `json:"reasoning_details"` // OpenRouter's, in fragments
	} `json:"delta"`
	FinishReason       *string `json:"finish_reason"`
	NativeFinishReason string  `json:"native_finish_reason"` // as in openAIResponse
}

type openAIChunk struct {
	ID      string              `json:"id"`
	Model   string              `json:"model"`
	Choices []openAIChunkChoice `json:"choices"`
	Usage   *openAIUsage        `json:"usage"`
	// XGroq carries Groq's usage in a stream's last chunk, where others
	// put the top-level usage.
	XGroq *struct {
		Usage *openAIUsage `json:"usage"`
	} `json:"x_groq"`
	Error     *openAIError `json:"error"`
	ErrorType string       `json:"error_type"` // as in openAIResponse
}

func (d *StreamDecoder) openAI(eventType, data string) (Chunk, error) {
	if data == "[DONE]" {
		return Chunk{Kind: Done}, nil
	}
	var c openAIChunk
	if err := unmarshal([]byte(data), &c); err != nil {
		return Chunk{}, malformed("stream chunk is not JSON: %v", err)
	}
	if c.Error != nil {
		if c.Error.Type == "" {
			c.Error.Type = c.ErrorType
		}
		return Chunk{}, c.Error.apiError([]byte(data))
	}
	if eventType == "error" {
		// Some compatible servers name the event instead of wrapping the
		// object in "error".
		var e openAIError
		_ = unmarshal([]byte(data), &e)
		return Chunk{}, e.apiError([]byte(data))
	}
	if c.ID != "" {
		d.id = c.ID
	}
	if c.Model != "" {
		d.model = c.Model
	}
	switch {
	case c.Usage != nil:
		d.usage = c.Usage.usage()
	case c.XGroq != nil && c.XGroq.Usage != nil:
		d.usage = c.XGroq.Usage.usage()
	}
	var text, reasoning string
	called := false
	for _, ch := range c.Choices {
		if ch.Index != nil && *ch.Index != 0 {
			// Another choice's delta (n > 1 set through Extra): the
			// answer is the first choice, as in a whole answer, wherever
			// the chunk lists it.
			continue
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			d.finish = *ch.FinishReason
		}
		if err := upstreamFailed(ch.NativeFinishReason, []byte(data)); err != nil {
			return Chunk{}, err
		}
		switch {
		case ch.Delta.Content != nil:
			text = ch.Delta.Content.Text
		case ch.Delta.Refusal != nil:
			text = *ch.Delta.Refusal
			d.refused = d.refused || text != ""
		}
		switch {
		case ch.Delta.ReasoningContent != "":
			reasoning = string(ch.Delta.ReasoningContent)
		case ch.Delta.Reasoning != "":
			reasoning = string(ch.Delta.Reasoning)
		case ch.Delta.Content != nil:
			reasoning = ch.Delta.Content.Thinking // Mistral's "thinking" chunks
		}
		d.reasoning.WriteString(reasoning)
		if len(ch.Delta.ReasoningDetails) > 0 {
			d.addReasoningDetails(ch.Delta.ReasoningDetails)
		}
		for _, tc := range ch.Delta.ToolCalls {
			d.openAIToolFragment(tc)
			called = true
		}
		break
	}
	switch {
	case text != "":
		return Chunk{Kind: Content, Text: text, Reasoning: reasoning}, nil
	case called:
		return Chunk{Kind: ToolDelta, Reasoning: reasoning}, nil
	}
	return Chunk{Kind: Skip, Reasoning: reasoning}, nil
}

// reasoningDetail is one of OpenRouter's reasoning_details being
// assembled from a stream's fragments: its text fields grow, its other
// fields are the last ones sent.
type reasoningDetail struct {
	fields map[string]json.RawMessage
	texts  map[string]*strings.Builder // "text", "summary", "data"
}

// detailCost is what one assembled detail costs beyond its bytes (its
// struct and maps), counted in HeldBytes so that a stream of empty details
// stays within the bound on what a stream holds.
const detailCost = 128

// addReasoningDetails adds one delta's reasoning_details to those being
// assembled. OpenRouter streams each detail in fragments that share its
// index: a fragment's text, summary and data continue the detail's, its
// other fields replace them (a signature comes last). It numbers every
// fragment 0 in some streams (OpenRouterTeam/ai-sdk-provider#519), so a
// fragment of another type or id, or one with text after the detail's
// signature, starts a detail of its own; so does one without an index.
// Elements that are not objects are skipped: reasoning is never a reason
// to fail an answer.
func (d *StreamDecoder) addReasoningDetails(raw json.RawMessage) {
	var elems []json.RawMessage
	if unmarshal(raw, &elems) != nil || len(elems) == 0 {
		return // OpenRouter's first chunk has "reasoning_details": [] (or null): nothing held
	}
	d.detailBytes += len(raw)
	for _, e := range elems {
		var f map[string]json.RawMessage
		if unmarshal(e, &f) != nil || f == nil {
			continue
		}
		var index int
		indexed := len(f["index"]) > 0 && string(f["index"]) != "null" && unmarshal(f["index"], &index) == nil
		pos, known := d.detailAt[index]
		if !indexed || !known || !d.details[pos].continuedBy(f) {
			pos = len(d.details)
			d.details = append(d.details, &reasoningDetail{fields: map[string]json.RawMessage{}, texts: map[string]*strings.Builder{}})
			d.detailBytes += detailCost
			if indexed {
				if d.detailAt == nil {
					d.detailAt = map[int]int{}
				}
				d.detailAt[index] = pos
			}
		}
		d.details[pos].add(f)
	}
}

// continuedBy reports whether fragment f continues the detail rather
// than starting another at the same index.
func (r *reasoningDetail) continuedBy(f map[string]json.RawMessage) bool {
	for _, k := range []string{"type", "id"} {
		if v, have := f[k], r.fields[k]; len(v) > 0 && string(v) != "null" && have != nil && string(have) != "null" && !bytes.Equal(v, have) {
			return false
		}
	}
	if sig := r.fields["signature"]; sig != nil && string(sig) != "null" {
		for _, k := range []string{"text", "summary", "data"} {
			if v := f[k]; len(v) > 0 && string(v) != "null" && string(v) != `""` {
				return false // text after the signature that closed the detail
			}
		}
	}
	return true
}

// add merges fragment f into the detail.
func (r *reasoningDetail) add(f map[string]json.RawMessage) {
	for k, v := range f {
		var text string
		switch {
		case string(v) == "null":
			// A null does not erase what an earlier fragment said.
			if r.fields[k] == nil && r.texts[k] == nil {
				r.fields[k] = v
			}
		case (k == "text" || k == "summary" || k == "data") && unmarshal(v, &text) == nil:
			delete(r.fields, k) // a null said before
			b := r.texts[k]
			if b == nil {
				b = &strings.Builder{}
				r.texts[k] = b
			}
			b.WriteString(text)
		default:
			r.fields[k] = v
		}
	}
}

// openAIToolFragment adds one delta.tool_calls entry to the calls being
// assembled. Fragments are matched by index; a fragment with an id other
// than the one its index holds starts a new call (servers that send every
// call whole at index 0), and a fragment without index continues the last
// call unless it brings an id of its own (servers that omit the index and
// send each call whole).
func (d *StreamDecoder) openAIToolFragment(tc openAIToolCall) {
	var name string
	var args json.RawMessage
	if tc.Function != nil {
		name, args = tc.Function.Name, tc.Function.Arguments
	}
	pos := -1
	switch {
	case tc.Index != nil:
		if p, ok := d.byIndex[*tc.Index]; ok {
			// The same id is the same call; with an id missing on either
			// side, the same call unless the fragment starts another.
			if cur := d.calls[p]; tc.ID != "" && cur.id == tc.ID || (tc.ID == "" || cur.id == "") && !cur.followedBy(name, args) {
				pos = p
			}
		}
	case tc.ID == "" && len(d.calls) > 0 && !d.calls[d.last].followedBy(name, args):
		pos = d.last
	}
	if pos < 0 {
		pos = d.newCall(tc.ID, name)
		if tc.Index != nil {
			if d.byIndex == nil {
				d.byIndex = map[int]int{}
			}
			d.byIndex[*tc.Index] = pos
		}
	}
	d.last = pos
	cb := d.calls[pos]
	if cb.id == "" {
		cb.id = tc.ID
	}
	if cb.name == "" {
		cb.name = name
	}
	if sig := tc.ExtraContent.signature(); sig != "" {
		cb.signature = sig
	}
	cb.addArguments(args)
}
