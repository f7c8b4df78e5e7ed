package client

import (
	"errors"
	"fmt"
	"math"
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
)

// Message is one chat message. Role is [RoleSystem], [RoleUser] or
// [RoleAssistant].
type Message struct {
	Role    string
	Content string
}

// User returns a user message.
func User(text string) Message { return Message{Role: RoleUser, Content: text} }

// System returns a system message. For Anthropic the system messages are
// joined (with a blank line) into the request's top-level system field.
func System(text string) Message { return Message{Role: RoleSystem, Content: text} }

// Assistant returns an assistant message: an earlier answer, or the start
// of the answer the model should continue.
func Assistant(text string) Message { return Message{Role: RoleAssistant, Content: text} }

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
	// as 1.
	Temperature *float64
	// TopP is nucleus sampling in [0, 1]; nil = the provider's default.
	TopP *float64
	// Stop lists sequences that end the answer (OpenAI "stop", Anthropic
	// "stop_sequences").
	Stop []string
}

// Usage is the token accounting of one answer, as the provider reported it
// (zero when it reported none, as OpenAI-compatible servers often do for
// streams).
type Usage struct {
	PromptTokens, CompletionTokens, TotalTokens int
}

// ChatResponse is a successful chat answer.
type ChatResponse struct {
	// Content is the answer's text.
	Content string
	// FinishReason says why the answer ended, in OpenAI's vocabulary for
	// every provider: "stop", "length", "tool_calls", "content_filter"
	// (Anthropic's end_turn and stop_sequence read "stop", max_tokens
	// "length").
	FinishReason string
	// Provider and Model name the target that answered, as configured
	// ("anthropic", "claude-3-5-sonnet-latest").
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
}

// validate checks req before any request is sent. The error is an
// *aierrors.Error with code InvalidRequest whose message names each bad
// field.
func (req *ChatRequest) validate() error {
	var errs []error
	if len(req.Messages) == 0 {
		errs = append(errs, errors.New("client: ChatRequest.Messages is empty: add at least one message, e.g. client.User(\"Hello\")"))
	}
	for i, m := range req.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			errs = append(errs, fmt.Errorf("client: ChatRequest.Messages[%d].Role = %q: want %q, %q or %q", i, m.Role, RoleSystem, RoleUser, RoleAssistant))
		}
		if n := invalidUTF8(m.Content); n >= 0 {
			// JSON would silently replace the bytes with U+FFFD: the
			// provider would not get what the caller wrote.
			errs = append(errs, fmt.Errorf("client: ChatRequest.Messages[%d].Content is not valid UTF-8 (at byte %d)", i, n))
		}
	}
	if req.MaxTokens < 0 {
		errs = append(errs, fmt.Errorf("client: ChatRequest.MaxTokens = %d: negative", req.MaxTokens))
	}
	if t := req.Temperature; t != nil && (math.IsNaN(*t) || *t < 0 || *t > 2) {
		errs = append(errs, fmt.Errorf("client: ChatRequest.Temperature = %v: want a number in [0, 2]", *t))
	}
	if p := req.TopP; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 1) {
		errs = append(errs, fmt.Errorf("client: ChatRequest.TopP = %v: want a number in [0, 1]", *p))
	}
	for i, s := range req.Stop {
		if s == "" {
			errs = append(errs, fmt.Errorf("client: ChatRequest.Stop[%d] is empty", i))
		}
		if n := invalidUTF8(s); n >= 0 {
			errs = append(errs, fmt.Errorf("client: ChatRequest.Stop[%d] is not valid UTF-8 (at byte %d)", i, n))
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

// wireRequest converts req for target t.
func (req *ChatRequest) wireRequest(t *target, stream bool) wire.Request {
	msgs := make([]wire.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = wire.Message{Role: m.Role, Content: m.Content}
	}
	return wire.Request{
		Model:               t.model,
		Messages:            msgs,
		MaxTokens:           req.MaxTokens,
		MaxCompletionTokens: t.spec.maxCompletionTokens,
		AnthropicMaxTokens:  DefaultAnthropicMaxTokens,
		Temperature:         req.Temperature,
		TopP:                req.TopP,
		Stop:                req.Stop,
		Stream:              stream,
	}
}
