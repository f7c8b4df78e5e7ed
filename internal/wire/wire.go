package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format is a wire format.
type Format uint8

// The wire formats.
const (
	OpenAI    Format = iota + 1 // POST {base}/chat/completions
	Anthropic                   // POST {base}/messages
)

// String returns "openai" or "anthropic".
func (f Format) String() string {
	switch f {
	case OpenAI:
		return "openai"
	case Anthropic:
		return "anthropic"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Path is the path appended to a provider's base URL for a chat request.
func (f Format) Path() string {
	if f == Anthropic {
		return "/messages"
	}
	return "/chat/completions"
}

// ErrMalformed is wrapped by every decoding error about an answer that is
// not what the format promises (not JSON, missing fields, unknown shape).
var ErrMalformed = errors.New("malformed answer")

// maxQuoted bounds a provider-chosen string (an event or error type)
// quoted in an error message: the string comes from the network and may be
// as long as a whole body.
const maxQuoted = 64

// clip cuts s to at most maxQuoted bytes, on a UTF-8 boundary, marking the
// cut with "...".
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Message is one chat message, independent of the format. The client has
// checked it (see client.ChatRequest's validation): roles are "system",
// "user", "assistant" or "tool"; Parts only on user messages; ToolCalls only
// on assistant messages; ToolCallID only (and always) on tool messages.
type Message struct {
	Role       string
	Content    string
	Parts      []Part
	ToolCalls  []ToolCall
	ToolCallID string
	// ToolError marks a tool result that reports the tool's failure: the
	// Anthropic format sends is_error; OpenAI's has no such field.
	ToolError bool
	// Reasoning is an assistant turn's reasoning as its provider returned
	// it; sent back only when Request.EchoReasoning says so.
	Reasoning string
	// ThinkingBlocks are an Anthropic assistant turn's thinking and
	// redacted_thinking blocks (a JSON array), signatures included; the
	// Anthropic format sends them back before the turn's tool calls, which
	// extended thinking requires. Other formats ignore them.
	ThinkingBlocks json.RawMessage
	// ReasoningDetails are OpenRouter's reasoning_details of an assistant
	// turn (a JSON array); sent back only when
	// Request.EchoReasoningDetails says so.
	ReasoningDetails json.RawMessage
}

// Part is one piece of multi-part content: text, or an image (Image true)
// given by URL (https: or data:) or by Data and MediaType.
type Part struct {
	Text      string
	Image     bool
	URL       string
	Data      []byte
	MediaType string
	Detail    string // OpenAI's image detail ("low", "high", "auto"); "" sends none
}

// ToolCall is one call of a tool by the model. Arguments is the JSON the
// model wrote: a JSON object, "{}" when it wrote nothing, or a JSON string
// holding the raw text when that was not valid JSON (a cut answer).
type ToolCall struct {
	ID, Name  string
	Arguments json.RawMessage
	// Signature is an opaque token the provider attached to the call and
	// wants back with it (Gemini's thought_signature, which its
	// OpenAI-compatible API sends in extra_content.google); sent back only
	// when Request.GoogleSignatures says so.
	Signature string
}

// Tool is a function the model may call. Parameters is a JSON Schema of
// type object; nil means no parameters.
type Tool struct {
	Name, Description string
	Parameters        json.RawMessage
}

// ResponseFormat asks for JSON output: Type "json_object" or
// "json_schema" (with Name, Schema and Strict).
type ResponseFormat struct {
	Type, Name string
	Schema     json.RawMessage
	Strict     bool
}

// The ToolChoice keywords; any other non-empty value names a tool.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
)

// DefaultAnswerTool is the name of the tool that carries JSON output in
// the Anthropic format when ResponseFormat has no Name.
const DefaultAnswerTool = "json_response"

// Request is what the client sends, independent of the format.
type Request struct {
	Model    string
	Messages []Message
	// MaxTokens is the answer's token budget; 0 = not sent (OpenAI) or
	// AnthropicMaxTokens (Anthropic, where it is required).
	MaxTokens int
	// MaxCompletionTokens makes the OpenAI format send max_completion_tokens
	// instead of max_tokens (OpenAI itself deprecated max_tokens, and its
	// reasoning models reject it; most compatible servers know only
	// max_tokens).
	MaxCompletionTokens bool
	// AnthropicMaxTokens is the max_tokens sent in the Anthropic format when
	// MaxTokens is 0.
	AnthropicMaxTokens int
	Temperature        *float64
	TopP               *float64
	Stop               []string
	Stream             bool
	// StreamUsage makes an OpenAI-format stream request ask for the usage
	// chunk (stream_options.include_usage), for servers known to accept it.
	StreamUsage bool
	// EchoReasoning sends an assistant message's Reasoning back as
	// reasoning_content when the message called tools, empty if it has
	// none (DeepSeek's thinking mode requires the field there, and ignores
	// it elsewhere).
	EchoReasoning bool
	// GoogleSignatures sends tool calls' Signatures back as
	// extra_content.google.thought_signature (Gemini's OpenAI-compatible
	// API; Gemini 3 rejects a turn's calls whose first call has none).
	// PlaceholderSignature, when set, is sent on the first call of an
	// assistant turn none of whose calls has one (a history from another
	// provider).
	GoogleSignatures     bool
	PlaceholderSignature string
	// SchemaInPrompt asks for a json_schema ResponseFormat the way a
	// provider that has only JSON mode takes it (DeepSeek: "This
	// response_format type is unavailable now"): response_format
	// json_object, and the schema in a system message.
	SchemaInPrompt bool
	// AssistantPrefix marks a final assistant message (a prefill) with
	// "prefix": true, which Mistral requires of a conversation that does
	// not end with a user or tool message.
	AssistantPrefix bool
	// EchoReasoningDetails sends an assistant turn's ReasoningDetails back
	// as reasoning_details: OpenRouter requires them unchanged with the
	// turn's tool calls for some models ("Gemini models require OpenRouter
	// reasoning details to be preserved in each request"), and uses them
	// for others' thinking with tools.
	EchoReasoningDetails bool
	// OneSystemMessage joins the system messages (the caller's, wherever
	// they are, and the JSON-mode prompt) into one, first: Gemini's
	// OpenAI-compatible API keeps only the last system message it is sent.
	OneSystemMessage bool
	// ToolResultNames sends each tool result with the name of the function
	// it answers, found by its call's id in the conversation: Gemini's
	// OpenAI-compatible API refuses a result it cannot name
	// ("function_response.name: Name cannot be empty").
	ToolResultNames bool
	// AssistantAfterTool puts an assistant message between a tool result
	// and a user message that follows it, which Mistral's models require
	// (mistral-common's validator: "Unexpected role 'user' after role
	// 'tool'"); OpenAI accepts both orders. (A system message there is
	// refused either side of such a turn, and is left as it is.)
	AssistantAfterTool bool
	// NineCharToolIDs sends tool call ids as Mistral requires them (9
	// letters and digits): ids made by other providers ("call_…",
	// "toolu_…") are mapped, the same way in the call and in its result.
	NineCharToolIDs bool

	Tools []Tool
	// ToolChoice is "", a ToolChoice keyword or a tool's name.
	ToolChoice     string
	ResponseFormat *ResponseFormat
	// Extra holds top-level fields added to the body; they replace the
	// fields of the same name the encoder wrote.
	Extra map[string]any
}

// AnswerTool returns the name of the tool that carries JSON output when r
// is sent in format f, or "" when the format asks for JSON natively (or r
// does not ask for JSON). Only the Anthropic format uses one: a tool whose
// input schema is the requested schema, which the model is made to call;
// the decoders return its input as the answer's text.
func AnswerTool(f Format, r *Request) string {
	if f != Anthropic || r.ResponseFormat == nil {
		return ""
	}
	if r.ToolChoice != "" && !isToolChoiceKeyword(r.ToolChoice) {
		return "" // a named tool is forced: this turn is a tool call
	}
	if r.ResponseFormat.Name != "" {
		return r.ResponseFormat.Name
	}
	return DefaultAnswerTool
}

func isToolChoiceKeyword(s string) bool {
	return s == ToolChoiceAuto || s == ToolChoiceNone || s == ToolChoiceRequired
}

// Usage is token accounting. PromptTokens counts every input token, the
// ones read from the provider's cache (CachedPromptTokens) included;
// CompletionTokens counts every output token, hidden reasoning
// (ReasoningTokens) included.
type Usage struct {
	PromptTokens, CompletionTokens, TotalTokens int
	CachedPromptTokens                          int
	ReasoningTokens                             int
}

// Response is a decoded non-streaming answer.
type Response struct {
	ID, Model    string
	Content      string
	Reasoning    string // reasoning_content (DeepSeek, vLLM), reasoning (OpenRouter, Ollama), Anthropic thinking
	FinishReason string // in OpenAI's vocabulary: "stop", "length", "tool_calls", "content_filter", ...
	Usage        Usage
	ToolCalls    []ToolCall
	// ThinkingBlocks: Anthropic's thinking and redacted_thinking blocks,
	// as a JSON array (Message.ThinkingBlocks); nil when none.
	ThinkingBlocks json.RawMessage
	// ReasoningDetails: OpenRouter's reasoning_details, a JSON array
	// (Message.ReasoningDetails); nil when none.
	ReasoningDetails json.RawMessage
}

// APIError is an error object found inside a successful HTTP answer or a
// stream.
type APIError struct {
	// Status is the HTTP status the error's type stands for (500 when the
	// type is unknown), for classification; the HTTP status of the answer
	// itself was 200.
	Status int
	// Type is the provider's error type or code, "" when none.
	Type string
	// Body is the raw JSON error object as received.
	Body []byte
}

// Error returns a short description without the provider's message.
func (e *APIError) Error() string {
	if e.Type == "" {
		return "provider sent an error object"
	}
	return "provider sent an error object of type " + strconv.Quote(clip(e.Type))
}

// Encode returns the JSON body of r in format f.
//
// The request object is built first and marshalled here, once its
// builder has returned: encoding/json's reflection is the deepest stack a
// Chat call reaches before its request is sent, and nothing else's frame
// should sit under it (see client's Chat).
func Encode(f Format, r *Request) ([]byte, error) {
	var v any
	switch f {
	case OpenAI:
		v = openAIBody(r)
	case Anthropic:
		v = anthropicBody(r)
	default:
		return nil, fmt.Errorf("wire: unknown format %v", f)
	}
	body, err := json.Marshal(v)
	if err != nil || len(r.Extra) == 0 {
		return body, err
	}
	return mergeExtra(body, r.Extra)
}

// mergeExtra sets the top-level fields of extra in the JSON object body.
func mergeExtra(body []byte, extra map[string]any) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := unmarshal(body, &fields); err != nil {
		return nil, err
	}
	for k, v := range extra {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("wire: extra field %q: %w", k, err)
		}
		fields[k] = raw
	}
	return json.Marshal(fields)
}

// Decode decodes a complete non-streaming answer in format f. answerTool
// is [AnswerTool] of the request: the input of a call of that tool is the
// answer's text, not a tool call. An error object in the body is returned
// as an [*APIError]; anything else that is not an answer wraps
// [ErrMalformed].
func Decode(f Format, body []byte, answerTool string) (Response, error) {
	switch f {
	case OpenAI:
		return decodeOpenAI(body)
	case Anthropic:
		return decodeAnthropic(body, answerTool)
	}
	return Response{}, fmt.Errorf("wire: unknown format %v", f)
}

// normalizeArguments turns the arguments text a model wrote into the JSON
// of ToolCall.Arguments: "{}" when empty, the text itself when it is valid
// JSON, else a JSON string holding the text.
func normalizeArguments(text string) json.RawMessage {
	t := strings.ToValidUTF8(strings.TrimSpace(text), "\uFFFD")
	if t == "" {
		return json.RawMessage("{}")
	}
	if json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(text) // invalid UTF-8 becomes U+FFFD
	return b
}

// rawArguments reads an arguments field that should be a JSON string (the
// OpenAI format) but may be an object or null on lenient servers.
func rawArguments(raw json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0, string(t) == "null":
		return json.RawMessage("{}")
	case t[0] == '"':
		var s string
		if unmarshal(t, &s) == nil {
			return normalizeArguments(s)
		}
	}
	return normalizeArguments(string(t))
}

// argumentsObject returns Arguments as a JSON object for formats that
// need one (Anthropic's tool_use input): the object itself, an object held
// in a JSON string, or {} for anything else.
func argumentsObject(args json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(args)
	if len(t) > 0 && t[0] == '"' {
		var s string
		if unmarshal(t, &s) == nil {
			t = bytes.TrimSpace([]byte(s))
		}
	}
	if len(t) > 0 && t[0] == '{' && json.Valid(t) {
		return json.RawMessage(t)
	}
	return json.RawMessage("{}")
}

// argumentsText returns Arguments as the JSON string the OpenAI format
// sends: the JSON text, or the raw text a JSON string holds (arguments that
// were not valid JSON when the model wrote them go back as they came).
func argumentsText(args json.RawMessage) string {
	t := bytes.TrimSpace(args)
	switch {
	case len(t) == 0:
		return "{}"
	case t[0] == '"':
		var s string
		if unmarshal(t, &s) == nil {
			return s
		}
	}
	return string(t)
}

// objectSchema returns a tool's parameter schema with "type":"object"
// added when it has no type (both formats require object schemas), or the
// empty object schema when nil.
func objectSchema(schema json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(schema)
	if len(t) == 0 || string(t) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	var fields map[string]json.RawMessage
	if unmarshal(t, &fields) != nil {
		return json.RawMessage(t) // the client validated it; sent as given
	}
	if _, ok := fields["type"]; ok {
		return json.RawMessage(t)
	}
	fields["type"] = json.RawMessage(`"object"`)
	out, err := json.Marshal(fields)
	if err != nil {
		return json.RawMessage(t)
	}
	return out
}

// dataURL returns the base64 data: URL of an image.
func dataURL(mediaType string, data []byte) string {
	return "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// ParseDataURL splits a base64 data: URL into its media type and its
// base64 payload. ok is false for anything else.
func ParseDataURL(u string) (mediaType, b64 string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		if len(u) >= 5 && strings.EqualFold(u[:5], "data:") {
			rest = u[5:]
		} else {
			return "", "", false
		}
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	params := strings.Split(meta, ";")
	if len(params) < 2 || !strings.EqualFold(params[len(params)-1], "base64") {
		return "", "", false
	}
	return strings.ToLower(strings.TrimSpace(params[0])), payload, true
}

// errorStatus maps a provider error type or code to the HTTP status it
// stands for. The types are OpenAI's, Anthropic's and those of common
// OpenAI-compatible servers.
var errorStatus = map[string]int{
	"invalid_request_error":   400,
	"invalid_request":         400,
	"context_length_exceeded": 400,
	"authentication_error":    401,
	"invalid_api_key":         401,
	"billing_error":           402,
	"permission_error":        403,
	"permission_denied":       403,
	"not_found_error":         404,
	"model_not_found":         404,
	"not_found":               404,
	"request_too_large":       413,
	"rate_limit_error":        429,
	"rate_limit_exceeded":     429,
	"insufficient_quota":      429,
	"resource_exhausted":      429,
	"tokens":                  429,
	"requests":                429,
	"api_error":               500,
	"server_error":            500,
	"internal_error":          500,
	"internal":                500,
	"service_unavailable":     503,
	"unavailable":             503,
	"overloaded_error":        529,
	"overloaded":              529,
	// text-generation-inference's error_type: its router answers
	// validation errors with 422 and a failed generation (out of memory,
	// a shard's error) with 424, a server's failure.
	"validation":            422,
	"generation":            500,
	"incomplete_generation": 500,
	"timeout_error":         504,
	"timeout":               504,
	"deadline_exceeded":     504,
}

// statusFor returns the status for the first known name, or 500.
func statusFor(names ...string) int {
	for _, n := range names {
		if s, ok := errorStatus[strings.ToLower(n)]; ok {
			return s
		}
	}
	return 500
}

// openAIError is the error object of the OpenAI family:
// {"error": {"message", "type", "code", "param"}}. Code is a string for
// OpenAI, a number for some compatible servers (OpenRouter, Gemini) and
// the HTTP status as a string for LiteLLM's proxy ("429").
// text-generation-inference sends the error as a string, its type beside
// it ({"error": "...", "error_type": "validation"}); UnmarshalJSON reads
// the string as the message, and the caller sets Type.
type openAIError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
	Status  string          `json:"status"` // Gemini: "RESOURCE_EXHAUSTED"
}

// UnmarshalJSON reads an error object, or a string as its message.
func (e *openAIError) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return unmarshal(b, &e.Message)
	}
	type object openAIError // without this method
	return unmarshal(b, (*object)(e))
}

// apiError builds an APIError from an OpenAI-family error object. body is
// the whole JSON document that held it.
func (e *openAIError) apiError(body []byte) *APIError {
	var code string
	status := 0
	if len(e.Code) > 0 {
		var n int
		if err := unmarshal(e.Code, &n); err == nil {
			if n >= 400 && n <= 599 {
				status = n
			}
		} else {
			_ = unmarshal(e.Code, &code)
			if n, err := strconv.Atoi(code); err == nil && n >= 400 && n <= 599 {
				status, code = n, ""
			}
		}
	}
	if status == 0 {
		status = statusFor(code, e.Type, e.Status)
	}
	typ := code
	if typ == "" {
		typ = e.Type
	}
	if typ == "" {
		typ = e.Status
	}
	return &APIError{Status: status, Type: typ, Body: bytes.Clone(body)}
}
