package wire

import (
	"bytes"
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

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

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
}

// Usage is token accounting.
type Usage struct {
	PromptTokens, CompletionTokens, TotalTokens int
}

// Response is a decoded non-streaming answer.
type Response struct {
	ID, Model    string
	Content      string
	FinishReason string // in OpenAI's vocabulary: "stop", "length", "tool_calls", "content_filter", ...
	Usage        Usage
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
func Encode(f Format, r Request) ([]byte, error) {
	switch f {
	case OpenAI:
		return encodeOpenAI(r)
	case Anthropic:
		return encodeAnthropic(r)
	}
	return nil, fmt.Errorf("wire: unknown format %v", f)
}

// Decode decodes a complete non-streaming answer in format f. An error
// object in the body is returned as an [*APIError]; anything else that is
// not an answer wraps [ErrMalformed].
func Decode(f Format, body []byte) (Response, error) {
	switch f {
	case OpenAI:
		return decodeOpenAI(body)
	case Anthropic:
		return decodeAnthropic(body)
	}
	return Response{}, fmt.Errorf("wire: unknown format %v", f)
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
	"timeout_error":           504,
	"timeout":                 504,
	"deadline_exceeded":       504,
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
// OpenAI and a number for some compatible servers (OpenRouter, Gemini).
type openAIError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
	Status  string          `json:"status"` // Gemini: "RESOURCE_EXHAUSTED"
}

// apiError builds an APIError from an OpenAI-family error object. body is
// the whole JSON document that held it.
func (e *openAIError) apiError(body []byte) *APIError {
	var code string
	status := 0
	if len(e.Code) > 0 {
		var n int
		if err := json.Unmarshal(e.Code, &n); err == nil {
			if n >= 400 && n <= 599 {
				status = n
			}
		} else {
			_ = json.Unmarshal(e.Code, &code)
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
