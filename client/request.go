package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/wire"
)

// The message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	// RoleTool is a tool's result, answering one [ToolCall] of the
	// assistant turn before it: see [ToolResult].
	RoleTool = "tool"
)

// Message is one chat message. Role is [RoleSystem], [RoleUser],
// [RoleAssistant] or [RoleTool].
//
// A message carries text in Content, or, for a user message, text and
// images in Parts (not both). An assistant message may carry the
// ToolCalls the model made (send them back as they came, see
// [ChatResponse.Message]); a RoleTool message carries one tool's result in
// Content and the ID of the call it answers in ToolCallID.
//
// Each wire format gets its own shape: for Anthropic, system messages go
// to the top-level system field, consecutive tool results become one user
// message of tool_result blocks, and tool calls become tool_use blocks.
type Message struct {
	Role string
	// Content is the message's text; leave it empty when Parts is set.
	Content string
	// Parts is multi-part user content: text and images, in order.
	Parts []Part
	// ToolCalls are the calls of an assistant turn that called tools.
	ToolCalls []ToolCall
	// ToolCallID is, for RoleTool, the [ToolCall.ID] this result answers.
	ToolCallID string
	// ToolError marks a tool result (RoleTool) that reports the tool's
	// failure, Content saying what went wrong (see [ToolFailure]): Anthropic
	// gets the result with is_error, which its models read as a failed
	// call; OpenAI-format providers, which have no such flag, get Content.
	ToolError bool `json:",omitempty"`
	// Reasoning is an assistant turn's reasoning as its provider returned
	// it ([ChatResponse.Reasoning]; [ChatResponse.Message] keeps it). It is
	// sent back only where the provider requires it: to deepseek, on a
	// turn that called tools (its thinking mode rejects such a turn
	// without it). Other providers never see it.
	Reasoning string `json:",omitempty"`
	// ThinkingBlocks are an Anthropic assistant turn's thinking and
	// redacted_thinking blocks, signatures included, as a JSON array
	// ([ChatResponse.Message] keeps them). They are sent back to anthropic
	// before the turn's tool calls, which extended thinking requires, and
	// to no other provider.
	ThinkingBlocks json.RawMessage `json:",omitempty"`
	// ReasoningDetails are an OpenRouter assistant turn's reasoning_details
	// as a JSON array ([ChatResponse.Message] keeps them). They are sent
	// back to openrouter unchanged, which some of its models require with
	// the turn's tool calls ("Gemini models require OpenRouter reasoning
	// details to be preserved in each request"), and to no other provider.
	ReasoningDetails json.RawMessage `json:",omitempty"`
}

// Part is one piece of multi-part user content: exactly one of Text and
// Image is set.
type Part struct {
	Text  string
	Image *Image
}

// Image is an image in a user message, given by URL or by its bytes.
// OpenAI-format providers get an image_url part (bytes as a base64 data:
// URL); Anthropic gets an image block with a base64 source (bytes and
// data: URLs) or a url source.
type Image struct {
	// URL is an https:// URL, or a base64 data: URL
	// ("data:image/png;base64,..."). Leave it empty and set Data instead
	// to send bytes.
	URL string
	// Data is the image's raw bytes, sent base64-encoded.
	Data []byte
	// MediaType is "image/png", "image/jpeg", "image/gif" or
	// "image/webp"; required with Data.
	MediaType string
	// Detail is the resolution OpenAI-format providers look at the image
	// in: "low" (fewer tokens), "high" or "auto"; "" sends none (the
	// provider's default, auto). Anthropic has no such setting and gets
	// the image alone.
	Detail string
}

// TextPart returns a text part.
func TextPart(text string) Part { return Part{Text: text} }

// ImageURL returns an image part given by an https:// or base64 data:
// URL.
func ImageURL(url string) Part { return Part{Image: &Image{URL: url}} }

// ImageData returns an image part holding the image's bytes; mediaType is
// "image/png", "image/jpeg", "image/gif" or "image/webp".
func ImageData(mediaType string, data []byte) Part {
	return Part{Image: &Image{Data: data, MediaType: mediaType}}
}

// UserParts returns a user message made of parts: text and images, in
// order.
func UserParts(parts ...Part) Message { return Message{Role: RoleUser, Parts: parts} }

// User returns a user message.
func User(text string) Message { return Message{Role: RoleUser, Content: text} }

// System returns a system message. For Anthropic the system messages are
// joined (with a blank line) into the request's top-level system field.
func System(text string) Message { return Message{Role: RoleSystem, Content: text} }

// Assistant returns an assistant message: an earlier answer, or the start
// of the answer the model should continue.
func Assistant(text string) Message { return Message{Role: RoleAssistant, Content: text} }

// ToolResult returns the result of the tool call callID (a [ToolCall.ID]),
// to append after the assistant turn that made the call. content is
// what the tool returned, usually JSON or plain text.
func ToolResult(callID, content string) Message {
	return Message{Role: RoleTool, ToolCallID: callID, Content: content}
}

// ToolFailure returns the result of the tool call callID when the tool
// failed: message says what went wrong, for the model to correct its call
// or tell the user. It is a [ToolResult] with ToolError set.
func ToolFailure(callID, message string) Message {
	return Message{Role: RoleTool, ToolCallID: callID, Content: message, ToolError: true}
}

// Tool is a function the model may call.
type Tool struct {
	// Name is what the model calls it: letters, digits, '_' and '-', at
	// most 64 (both formats' rule).
	Name string
	// Description tells the model what the tool does and when to use it.
	Description string
	// Parameters is a JSON Schema of type object describing the
	// arguments; nil means no parameters. A schema without "type" is sent
	// with "type":"object" added.
	Parameters json.RawMessage
}

// ToolCall is one call of a tool by the model.
type ToolCall struct {
	// ID is the provider's id of the call ("call_…", "toolu_…"); answer
	// it with [ToolResult](ID, ...).
	ID   string
	Name string
	// Arguments is the JSON object the model wrote: always valid JSON,
	// "{}" when it wrote nothing. Arguments that were not valid JSON (an
	// answer cut by MaxTokens) come as a JSON string holding the text.
	Arguments json.RawMessage
	// Signature is an opaque token the provider attached to the call and
	// requires back with it: Gemini's thought signature (gemini 3 models
	// reject a conversation whose tool calls lost theirs). Keep calls as
	// they came ([ChatResponse.Message] does) and it is sent back to
	// gemini, and to no other provider. A turn none of whose calls has
	// one (history from another provider) is sent to gemini 3 and later
	// with the placeholder Google documents for such histories.
	Signature string `json:",omitempty"`
}

// The values of [ChatRequest.ToolChoice] besides a tool's name.
const (
	ToolChoiceAuto     = "auto"     // the model decides (the default when Tools are set)
	ToolChoiceNone     = "none"     // the model answers with text only
	ToolChoiceRequired = "required" // the model must call at least one tool (Anthropic "any")
)

// ResponseFormat asks for JSON output. Use [JSONObject] or [JSONSchema].
//
// OpenAI-format providers get response_format. The Anthropic Messages API
// has no such field there, so ailib asks through a tool: it adds a tool
// named Name (or "json_response") whose input schema is Schema, makes the
// model call it, and returns the call's input as [ChatResponse.Content]
// (streamed as text by [ChatStream]); that call never appears in
// ToolCalls. When the request also has Tools (and ToolChoice is not
// "none" or a tool's name), the model must either call one of them or
// answer through that tool.
type ResponseFormat struct {
	// Type is "json_object" (any JSON object) or "json_schema".
	Type string
	// Name is the schema's name (json_schema): letters, digits, '_' and
	// '-'; "" means "json_response".
	Name string
	// Schema is the JSON Schema of the answer, of type object
	// (json_schema only).
	Schema json.RawMessage
	// Strict asks OpenAI for strict schema adherence (json_schema). OpenAI
	// then refuses (400) a schema whose objects do not all list every
	// property in "required" and set "additionalProperties": false; the
	// schema is sent as it is, so write it so (an optional field is one
	// whose type also allows null).
	Strict bool
}

// JSONObject asks for a JSON object, in any shape. JSON mode (OpenAI,
// DeepSeek, Groq) refuses a request none of whose messages names JSON: an
// OpenAI-format target then gets a system message asking for a JSON object
// after the leading system messages, so that a request written for another
// target works too.
func JSONObject() *ResponseFormat { return &ResponseFormat{Type: "json_object"} }

// JSONSchema asks for a JSON object that follows schema (a JSON Schema of
// type object), named name; strict asks OpenAI for strict adherence, which
// needs a schema written for it (see [ResponseFormat].Strict). A model may
// refuse instead (OpenAI's refusal, Anthropic's): the answer's
// FinishReason is then "content_filter" and its Content the refusal.
func JSONSchema(name string, schema json.RawMessage, strict bool) *ResponseFormat {
	return &ResponseFormat{Type: "json_schema", Name: name, Schema: schema, Strict: strict}
}

// ChatRequest is one chat call. Only Messages is required. The same request
// is sent to every target of the fallback chain, each in its own wire
// format, with the target's model.
type ChatRequest struct {
	// Messages is the conversation, oldest first. At least one.
	Messages []Message
	// MaxTokens caps the answer's length in tokens; 0 = the provider's
	// default (for Anthropic, which requires a value,
	// [DefaultAnthropicMaxTokens]).
	MaxTokens int
	// Temperature is the sampling temperature in [0, 2]; nil = the
	// provider's default. Anthropic accepts [0, 1]: higher values are sent
	// as 1, and without TopP (its current models refuse both).
	//
	// A model that refuses Temperature, TopP or Stop (OpenAI's reasoning
	// models answer 400 unsupported_value naming the parameter, Claude
	// Opus 4.7 and later "`temperature` is deprecated for this model") is sent
	// the same request again without it, as a retry, and every later
	// request to that target goes without it: in a fallback chain, one model's
	// refusal of a sampling setting does not fail the call.
	Temperature *float64
	// TopP is nucleus sampling in [0, 1]; nil = the provider's default.
	TopP *float64
	// Stop lists sequences that end the answer (OpenAI "stop", Anthropic
	// "stop_sequences", where sequences of white space only are left
	// out).
	Stop []string

	// Tools are the functions the model may call. Its calls come back in
	// [ChatResponse.ToolCalls] (or [ChatStream.ToolCalls]) with
	// FinishReason "tool_calls".
	Tools []Tool
	// ToolChoice is "" (the provider's default, "auto"), [ToolChoiceAuto],
	// [ToolChoiceNone], [ToolChoiceRequired], or one Tool's Name to make
	// the model call that tool.
	ToolChoice string
	// ResponseFormat asks for JSON output; nil = free text. A model that
	// refuses a [JSONSchema] format (400, "This model does not support
	// response format `json_schema`") gets the request again in JSON mode
	// with the schema in a system message, and so does every later request
	// to that target.
	ResponseFormat *ResponseFormat
	// Header holds headers added to every attempt of this call (a trace
	// ID, a beta flag); they replace the client's value for the same key.
	// Credentials and the headers the protocol needs (Authorization,
	// x-api-key and any other credential header the client sends,
	// Content-Type, Content-Length, Accept, Host) are never replaced: such
	// keys are ignored.
	Header http.Header
	// Extra maps a provider name ("openai", "anthropic", "groq", ...) to
	// extra top-level JSON fields for that provider's targets only, such
	// as {"openai": {"reasoning_effort": "low"}} or {"anthropic":
	// {"thinking": ...}}. A field replaces the one ailib would send under
	// the same name; "model", "messages" and "stream" cannot be set.
	Extra map[string]map[string]any

	// StreamReasoning, for [AiClient.Stream] only, hands the model's
	// reasoning to the caller as it arrives (DeepSeek's reasoning_content,
	// the reasoning of vLLM, OpenRouter and Ollama, Mistral's thinking
	// chunks, Anthropic's thinking, which Extra turns on):
	// [ChatStream.Next] stops at each piece and [ChatStream.ReasoningDelta]
	// returns it, so an app can show a model thinking for a minute before
	// it writes. Stream then returns at the first piece of reasoning rather
	// than of text, and that is its price: a failure after it ends the
	// stream with an error, as one after text does, where without
	// StreamReasoning the call would be retried or fall back (paying for
	// the reasoning again) and the caller would see nothing of it. Without
	// it, the reasoning is still kept ([ChatStream.Reasoning]). Chat
	// ignores it.
	StreamReasoning bool
}

// Usage is the token accounting of one answer, as the provider reported it
// (zero when it reported none, as OpenAI-compatible servers often do for
// streams).
type Usage struct {
	// PromptTokens counts every input token, cached ones included (for
	// Anthropic: input_tokens + cache_read_input_tokens +
	// cache_creation_input_tokens). CompletionTokens counts every output
	// token, reasoning included. TotalTokens is their sum.
	PromptTokens, CompletionTokens, TotalTokens int
	// CachedPromptTokens are the prompt tokens served from the provider's
	// cache (OpenAI prompt_tokens_details.cached_tokens, Anthropic
	// cache_read_input_tokens).
	CachedPromptTokens int
	// ReasoningTokens are the completion tokens spent on hidden reasoning
	// (OpenAI completion_tokens_details.reasoning_tokens), when reported.
	ReasoningTokens int
}

// ChatResponse is a successful chat answer.
type ChatResponse struct {
	// Content is the answer's text. A model's reasoning is not part of it
	// (Anthropic thinking blocks, Mistral's "thinking" chunks, DeepSeek's
	// reasoning_content); only what it answered is.
	Content string
	// Reasoning is the model's reasoning, when the provider returns it
	// apart from the answer: DeepSeek's reasoning_content (also vLLM's),
	// the reasoning of OpenRouter and Ollama, Anthropic's thinking (with
	// extended thinking on). "" otherwise.
	Reasoning string `json:",omitempty"`
	// FinishReason says why the answer ended, in OpenAI's vocabulary for
	// every provider: "stop", "length", "tool_calls", "content_filter"
	// (Anthropic's end_turn and stop_sequence read "stop", max_tokens and
	// model_context_window_exceeded "length", refusal "content_filter";
	// OpenAI's refusal, whose text is Content, "content_filter" too;
	// text-generation-inference's eos_token and stop_sequence "stop"; a
	// reason with no counterpart, such as pause_turn, comes as it is).
	FinishReason string
	// Provider and Model name the target that answered, as configured
	// ("anthropic", "claude-sonnet-4-5").
	Provider, Model string
	// Usage is the provider's token accounting.
	Usage Usage
	// Attempts is the number of provider requests this call made, over
	// all targets, retries included. Local rejections (open circuit, rate
	// wait) send no request and are not counted.
	Attempts int
	// ID is the provider's identifier of the answer ("chatcmpl-...",
	// "msg_..."), when it sent one.
	ID string
	// RequestID is the provider's request ID header (x-request-id or
	// request-id), when it sent one: quote it in support requests.
	RequestID string
	// ToolCalls are the tools the model called, in order; FinishReason
	// is then "tool_calls". Run them, append [ChatResponse.Message] and a
	// [ToolResult] for each call, and send the conversation again.
	ToolCalls []ToolCall

	// thinkingBlocks: Anthropic's thinking blocks, for Message.
	thinkingBlocks json.RawMessage
	// reasoningDetails: OpenRouter's reasoning_details, for Message.
	reasoningDetails json.RawMessage
}

// Message returns the answer as an assistant message, its tool calls
// included, to append to the conversation. It keeps what the provider
// requires back with a tool turn: the reasoning, Anthropic's thinking
// blocks, OpenRouter's reasoning details and the calls' signatures.
func (r *ChatResponse) Message() Message {
	return Message{Role: RoleAssistant, Content: r.Content, ToolCalls: slices.Clone(r.ToolCalls),
		Reasoning: r.Reasoning, ThinkingBlocks: slices.Clone(r.thinkingBlocks), ReasoningDetails: slices.Clone(r.reasoningDetails)}
}

// validate checks req before any request is sent. The error is an
// *aierrors.Error with code InvalidRequest whose message names each bad
// field.
func (req *ChatRequest) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("client: ChatRequest."+format, args...))
	}
	if len(req.Messages) == 0 {
		errs = append(errs, errors.New("client: ChatRequest.Messages is empty: add at least one message, e.g. client.User(\"Hello\")"))
	}
	for i, m := range req.Messages {
		validateMessage(add, i, &m)
	}
	if req.MaxTokens < 0 {
		add("MaxTokens = %d: negative", req.MaxTokens)
	}
	if t := req.Temperature; t != nil && (math.IsNaN(*t) || *t < 0 || *t > 2) {
		add("Temperature = %v: want a number in [0, 2]", *t)
	}
	if p := req.TopP; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 1) {
		add("TopP = %v: want a number in [0, 1]", *p)
	}
	for i, s := range req.Stop {
		if s == "" {
			add("Stop[%d] is empty", i)
		}
		if n := invalidUTF8(s); n >= 0 {
			add("Stop[%d] is not valid UTF-8 (at byte %d)", i, n)
		}
	}
	names := make(map[string]bool, len(req.Tools))
	for i, t := range req.Tools {
		switch {
		case !validName(t.Name):
			add("Tools[%d].Name = %q: want 1 to 64 letters, digits, '_' or '-'", i, clip(t.Name, 80))
		case names[t.Name]:
			add("Tools[%d].Name = %q: two tools have that name", i, t.Name)
		}
		names[t.Name] = true
		if n := invalidUTF8(t.Description); n >= 0 {
			add("Tools[%d].Description is not valid UTF-8 (at byte %d)", i, n)
		}
		if len(t.Parameters) > 0 {
			if problem := schemaProblem(t.Parameters); problem != "" {
				add("Tools[%d].Parameters is not a JSON Schema of an object: %s", i, problem)
			}
		}
	}
	switch c := req.ToolChoice; {
	case c == "", c == ToolChoiceAuto, c == ToolChoiceNone:
	case c == ToolChoiceRequired:
		if len(req.Tools) == 0 {
			add("ToolChoice = %q without Tools: the model has nothing to call", c)
		}
	case !names[c]:
		add("ToolChoice = %q: want \"\", %q, %q, %q or the Name of one of the Tools", clip(c, 80), ToolChoiceAuto, ToolChoiceNone, ToolChoiceRequired)
	}
	if f := req.ResponseFormat; f != nil {
		switch f.Type {
		case "json_object":
			if len(f.Schema) > 0 {
				add("ResponseFormat.Schema is set with Type \"json_object\": use Type \"json_schema\"")
			}
		case "json_schema":
			if len(f.Schema) == 0 {
				add("ResponseFormat.Schema is empty: Type \"json_schema\" needs a JSON Schema")
			} else if problem := schemaProblem(f.Schema); problem != "" {
				add("ResponseFormat.Schema is not a JSON Schema of an object: %s", problem)
			}
		default:
			add("ResponseFormat.Type = %q: want \"json_object\" or \"json_schema\"", clip(f.Type, 80))
		}
		name := f.Name
		if name != "" && !validName(name) {
			add("ResponseFormat.Name = %q: want 1 to 64 letters, digits, '_' or '-'", clip(name, 80))
		}
		if name == "" {
			name = wire.DefaultAnswerTool
		}
		if names[name] {
			// For Anthropic, JSON output is a tool of that name.
			add("ResponseFormat.Name %q is also the name of one of the Tools: rename one", name)
		}
	}
	for k, vs := range req.Header {
		if !validHeaderName(k) {
			add("Header[%q]: not a valid header name", clip(k, 80))
			continue
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				add("Header[%q]: value is not a valid header value (control characters or line breaks)", k)
				break
			}
		}
	}
	for provider, fields := range req.Extra {
		for k, v := range fields {
			switch k {
			case "model", "messages", "stream":
				add("Extra[%q][%q]: ailib sets that field itself", provider, k)
				continue
			case "":
				add("Extra[%q] has an empty field name", provider)
				continue
			}
			if _, err := json.Marshal(v); err != nil {
				add("Extra[%q][%q] cannot be sent as JSON: %v", provider, k, err)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = strings.TrimPrefix(e.Error(), "client: ")
	}
	return &aierrors.Error{
		Code:    aierrors.InvalidRequest,
		Message: "client: invalid request: " + strings.Join(msgs, "; "),
		Err:     errors.Join(errs...),
	}
}

// validateMessage checks message i.
func validateMessage(add func(string, ...any), i int, m *Message) {
	switch m.Role {
	case RoleSystem, RoleUser, RoleAssistant, RoleTool:
	default:
		add("Messages[%d].Role = %q: want %q, %q, %q or %q", i, clip(m.Role, 80), RoleSystem, RoleUser, RoleAssistant, RoleTool)
	}
	if n := invalidUTF8(m.Content); n >= 0 {
		// JSON would silently replace the bytes with U+FFFD: the
		// provider would not get what the caller wrote.
		add("Messages[%d].Content is not valid UTF-8 (at byte %d)", i, n)
	}
	if len(m.Parts) > 0 {
		switch {
		case m.Content != "":
			add("Messages[%d] has both Content and Parts: put the text in a TextPart", i)
		case m.Role != RoleUser:
			add("Messages[%d].Parts is set on a %q message: parts are for user messages", i, m.Role)
		}
	}
	for j, p := range m.Parts {
		validatePart(add, i, j, &p)
	}
	if len(m.ToolCalls) > 0 && m.Role != RoleAssistant {
		add("Messages[%d].ToolCalls is set on a %q message: only assistant turns call tools", i, m.Role)
	}
	validateAssistantArray(add, i, m.Role, "ThinkingBlocks", m.ThinkingBlocks)
	validateAssistantArray(add, i, m.Role, "ReasoningDetails", m.ReasoningDetails)
	for j, c := range m.ToolCalls {
		if c.ID == "" {
			add("Messages[%d].ToolCalls[%d].ID is empty: send the model's calls back as they came", i, j)
		}
		if c.Name == "" {
			add("Messages[%d].ToolCalls[%d].Name is empty", i, j)
		}
		if len(c.Arguments) > 0 && !json.Valid(c.Arguments) {
			add("Messages[%d].ToolCalls[%d].Arguments is not valid JSON", i, j)
		}
	}
	switch {
	case m.Role == RoleTool && m.ToolCallID == "":
		add("Messages[%d].ToolCallID is empty: a tool result must name the ToolCall it answers, see client.ToolResult", i)
	case m.Role != RoleTool && m.ToolCallID != "":
		add("Messages[%d].ToolCallID is set on a %q message: only tool results answer calls", i, m.Role)
	}
	if m.ToolError && m.Role != RoleTool {
		add("Messages[%d].ToolError is set on a %q message: only a tool result reports a failed call, see client.ToolFailure", i, m.Role)
	}
}

// validateAssistantArray checks a field of Messages[i] that only an
// assistant turn carries, as a JSON array its answer gave
// (ThinkingBlocks, ReasoningDetails).
func validateAssistantArray(add func(string, ...any), i int, role, field string, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var elems []json.RawMessage
	switch {
	case role != RoleAssistant:
		add("Messages[%d].%s is set on a %q message: only assistant turns carry it", i, field, role)
	case json.Unmarshal(raw, &elems) != nil:
		add("Messages[%d].%s is not a JSON array: keep it as ChatResponse.Message gave it", i, field)
	}
}

// validatePart checks part j of message i.
func validatePart(add func(string, ...any), i, j int, p *Part) {
	img := p.Image
	switch {
	case img != nil && p.Text != "":
		add("Messages[%d].Parts[%d] has both Text and Image: use one part for each", i, j)
		return
	case img == nil:
		if p.Text == "" {
			add("Messages[%d].Parts[%d] is empty: set Text or Image", i, j)
		} else if n := invalidUTF8(p.Text); n >= 0 {
			add("Messages[%d].Parts[%d].Text is not valid UTF-8 (at byte %d)", i, j, n)
		}
		return
	}
	field := fmt.Sprintf("Messages[%d].Parts[%d].Image", i, j)
	switch img.Detail {
	case "", "low", "high", "auto":
	default:
		add("%s.Detail = %q: want \"low\", \"high\", \"auto\" or none", field, clip(img.Detail, 80))
	}
	switch {
	case img.URL != "" && len(img.Data) > 0:
		add("%s has both URL and Data: set one", field)
	case len(img.Data) > 0:
		switch {
		case img.MediaType == "":
			add("%s.MediaType is empty: an image given by Data needs its media type, e.g. \"image/png\"", field)
		case !imageTypes[img.MediaType]:
			add("%s.MediaType = %q: want \"image/png\", \"image/jpeg\", \"image/gif\" or \"image/webp\"", field, clip(img.MediaType, 80))
		}
	case img.URL == "":
		add("%s has neither URL nor Data", field)
	default:
		if mt, b64, ok := wire.ParseDataURL(img.URL); ok {
			switch {
			case mt == "":
				add("%s.URL is a data: URL without a media type: want \"data:image/png;base64,...\"", field)
			case !imageTypes[mt]:
				add("%s.URL is a data: URL of type %q: want image/png, image/jpeg, image/gif or image/webp", field, clip(mt, 80))
			case !validBase64(b64):
				add("%s.URL is a data: URL whose data is not base64", field)
			}
			break
		}
		u, err := url.Parse(img.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("%s.URL = %q: want an https:// URL or a base64 data: URL", field, clip(img.URL, 80))
		}
	}
}

// validHeaderValue reports whether v holds no control characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// imageTypes are the media types both OpenAI and Anthropic accept.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil && s != ""
}

// validName reports whether s is a valid tool or schema name for both
// formats: ^[a-zA-Z0-9_-]{1,64}$.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// schemaProblem returns what is wrong with a JSON Schema that both formats
// must accept as a tool's input (or an answer's) schema, or "": it must be
// a JSON object whose "type", if any, is "object", whose "properties", if
// any, is an object of schemas, and whose "required", if any, is a list of
// strings.
func schemaProblem(schema json.RawMessage) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(schema, &fields); err != nil {
		if json.Valid(schema) {
			return "not a JSON object"
		}
		return "invalid JSON"
	}
	if fields == nil {
		return "null"
	}
	if raw, ok := fields["type"]; ok {
		var typ string
		if json.Unmarshal(raw, &typ) != nil || typ != "object" {
			return fmt.Sprintf("\"type\" is %s, want \"object\"", clip(string(raw), 40))
		}
	}
	if raw, ok := fields["properties"]; ok {
		var props map[string]json.RawMessage
		if json.Unmarshal(raw, &props) != nil {
			return "\"properties\" is not an object"
		}
		for name, p := range props {
			var v any
			_ = json.Unmarshal(p, &v)
			switch v.(type) {
			case map[string]any, bool:
			default:
				return fmt.Sprintf("property %q is not a schema", clip(name, 40))
			}
		}
	}
	if raw, ok := fields["required"]; ok {
		var req []string
		if json.Unmarshal(raw, &req) != nil {
			return "\"required\" is not a list of strings"
		}
	}
	return ""
}

// invalidUTF8 returns the offset of the first byte of s that is not valid
// UTF-8, or -1.
func invalidUTF8(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return i
			}
		}
	}
	return -1
}

// wireRequest converts req for target t. The result is on the heap, not
// in the caller's frame, which encoding/json's reflection runs under.
func (req *ChatRequest) wireRequest(t *target, stream bool) *wire.Request {
	msgs := make([]wire.Message, len(req.Messages))
	for i, m := range req.Messages {
		wm := wire.Message{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID, ToolError: m.ToolError, Reasoning: m.Reasoning, ThinkingBlocks: m.ThinkingBlocks, ReasoningDetails: m.ReasoningDetails}
		for _, p := range m.Parts {
			if p.Image == nil {
				wm.Parts = append(wm.Parts, wire.Part{Text: p.Text})
				continue
			}
			wm.Parts = append(wm.Parts, wire.Part{Image: true, URL: p.Image.URL, Data: p.Image.Data, MediaType: p.Image.MediaType, Detail: p.Image.Detail})
		}
		for _, c := range m.ToolCalls {
			wm.ToolCalls = append(wm.ToolCalls, wire.ToolCall(c))
		}
		msgs[i] = wm
	}
	out := &wire.Request{
		Model:                t.model,
		Messages:             msgs,
		MaxTokens:            req.MaxTokens,
		MaxCompletionTokens:  t.completionTokens,
		AnthropicMaxTokens:   DefaultAnthropicMaxTokens,
		Temperature:          req.Temperature,
		TopP:                 req.TopP,
		Stop:                 req.Stop,
		Stream:               stream,
		StreamUsage:          t.spec.streamUsage,
		EchoReasoning:        t.spec.echoReasoning,
		GoogleSignatures:     t.spec.googleSignatures,
		NineCharToolIDs:      t.spec.nineCharToolIDs,
		AssistantPrefix:      t.spec.assistantPrefix,
		AssistantAfterTool:   t.spec.assistantAfterTool || (t.spec.format == wire.OpenAI && mistralModel(t.model)),
		EchoReasoningDetails: t.spec.echoReasoningDetails,
		OneSystemMessage:     t.spec.oneSystemMessage,
		ToolResultNames:      t.spec.toolResultNames,
		SchemaInPrompt:       t.spec.jsonModeOnly,
		ToolChoice:           req.ToolChoice,
	}
	if t.spec.googleSignatures && signsToolCalls(t.model) {
		out.PlaceholderSignature = geminiPlaceholderSignature
	}
	for _, tool := range req.Tools {
		out.Tools = append(out.Tools, wire.Tool(tool))
	}
	if f := req.ResponseFormat; f != nil {
		wf := wire.ResponseFormat(*f)
		out.ResponseFormat = &wf
	}
	if extra := req.Extra[t.provider]; len(extra) > 0 {
		out.Extra = make(map[string]any, len(extra))
		for k, v := range extra {
			out.Extra[k] = v
		}
	}
	return out
}
