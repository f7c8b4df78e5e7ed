package providertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"unicode"
)

// This file holds the providers' wire shapes: what the server decodes from a
// request and what it encodes in answers.

// chatRequest is the union of the OpenAI Chat Completions and Anthropic
// Messages request fields the server reads.
type chatRequest struct {
	Model    string          `json:"model"`
	Messages []chatMessage   `json:"messages"`
	System   json.RawMessage `json:"system"`
	Stream   bool            `json:"stream"`
	// MaxTokens is a pointer so that Anthropic's required field can be
	// told apart from 0.
	MaxTokens *int `json:"max_tokens"`
	// MaxCompletionTokens is OpenAI's newer name for MaxTokens, which
	// its reasoning models require.
	MaxCompletionTokens *int `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools          []requestTool   `json:"tools"`
	ToolChoice     json.RawMessage `json:"tool_choice"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

// requestTool is a tool definition of either format: OpenAI's
// {"type":"function","function":{"name",...}} or Anthropic's {"name",...}.
type requestTool struct {
	Name     string `json:"name"`
	Function *struct {
		Name string `json:"name"`
	} `json:"function"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

// promptWords estimates the prompt's token count: one per word of the system
// prompt and every message.
func (r *chatRequest) promptWords() int {
	n := contentWords(r.System)
	for _, m := range r.Messages {
		n += contentWords(m.Content)
	}
	return n
}

// contentWords counts the words of a content value: a string, or an array of
// blocks/parts with "text" fields.
func contentWords(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return len(strings.Fields(s))
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		n := 0
		for _, p := range parts {
			n += len(strings.Fields(p.Text))
		}
		return n
	}
	return 0
}

// splitWords splits text into word chunks whose concatenation is text; each
// chunk but the first starts with the spaces before its word.
func splitWords(text string) []string {
	var chunks []string
	start, spaceStart := 0, 0
	prevSpace := false
	for i, r := range text {
		sp := unicode.IsSpace(r)
		switch {
		case sp && !prevSpace:
			spaceStart = i
		case !sp && prevSpace && spaceStart > start:
			chunks = append(chunks, text[start:spaceStart])
			start = spaceStart
		}
		prevSpace = sp
	}
	if start < len(text) {
		chunks = append(chunks, text[start:])
	}
	return chunks
}

// marshal encodes v as JSON without HTML escaping and without a trailing
// newline, as the providers do.
func marshal(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("providertest: " + err.Error()) // our own types always encode
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// strPtr returns nil for "" (encoded as null) and &s otherwise.
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// --- OpenAI ---

type openAIErrorBody struct {
	Error openAIErrorObject `json:"error"`
}

type openAIErrorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// openAIErrorJSON renders {"error":{"message","type","param","code"}};
// empty param and code are null.
func openAIErrorJSON(msg, typ, param, code string) string {
	return marshal(openAIErrorBody{openAIErrorObject{Message: msg, Type: typ, Param: strPtr(param), Code: strPtr(code)}})
}

type openAICompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	SystemFingerprint string         `json:"system_fingerprint"`
	Choices           []openAIChoice `json:"choices"`
	// Usage is an *openAIUsage, json.RawMessage("null"), or nil (omitted).
	Usage any `json:"usage,omitempty"`
}

type openAIChoice struct {
	Index        int            `json:"index"`
	Message      *openAIMessage `json:"message,omitempty"`
	Delta        *openAIDelta   `json:"delta,omitempty"`
	Logprobs     *struct{}      `json:"logprobs"`
	FinishReason *string        `json:"finish_reason"`
}

type openAIMessage struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
	// ReasoningContent is DeepSeek's reasoning beside the content; nil
	// (omitted) for an answer without reasoning.
	ReasoningContent *string          `json:"reasoning_content,omitempty"`
	Refusal          *string          `json:"refusal"`
	ToolCalls        []openAIToolCall `json:"tool_calls,omitempty"`
}

type openAIDelta struct {
	Role             string           `json:"role,omitempty"`
	Content          *string          `json:"content,omitempty"`
	ReasoningContent *string          `json:"reasoning_content,omitempty"`
	ToolCalls        []openAIToolCall `json:"tool_calls,omitempty"`
}

// openAIToolCall is a tool call of a message, or a fragment of one in a
// stream delta (with Index).
type openAIToolCall struct {
	Index    *int               `json:"index,omitempty"`
	ID       string             `json:"id,omitempty"`
	Type     string             `json:"type,omitempty"`
	Function openAIFunctionCall `json:"function"`
}

type openAIFunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type openAIUsage struct {
	PromptTokens            int                 `json:"prompt_tokens"`
	CompletionTokens        int                 `json:"completion_tokens"`
	TotalTokens             int                 `json:"total_tokens"`
	PromptTokensDetails     *openAIPromptDetail `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *openAIOutputDetail `json:"completion_tokens_details,omitempty"`
}

type openAIPromptDetail struct {
	CachedTokens int `json:"cached_tokens"`
	AudioTokens  int `json:"audio_tokens"`
}

type openAIOutputDetail struct {
	ReasoningTokens          int `json:"reasoning_tokens"`
	AudioTokens              int `json:"audio_tokens"`
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

// openAIUsageOf renders u with the details objects OpenAI sends.
func openAIUsageOf(u Usage) *openAIUsage {
	return &openAIUsage{
		PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.PromptTokens + u.CompletionTokens,
		PromptTokensDetails:     &openAIPromptDetail{CachedTokens: u.CachedPromptTokens},
		CompletionTokensDetails: &openAIOutputDetail{ReasoningTokens: u.ReasoningTokens},
	}
}

// openAIErrorFor is the format-neutral error of a status in OpenAI's shape.
func openAIErrorFor(status int, msg string) string {
	typ, code := "invalid_request_error", ""
	def := http.StatusText(status)
	switch {
	case status == http.StatusUnauthorized:
		code = "invalid_api_key"
		def = "Incorrect API key provided."
	case status == http.StatusNotFound:
		code = "model_not_found"
		def = "The model does not exist or you do not have access to it."
	case status == http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
		def = "Rate limit reached for requests. Please try again later."
	case status == http.StatusServiceUnavailable:
		typ = "server_error"
		def = "The engine is currently overloaded, please try again later."
	case status >= 500:
		typ = "server_error"
		def = "The server had an error while processing your request. Sorry about that!"
	}
	if msg == "" {
		msg = def
	}
	return openAIErrorJSON(msg, typ, "", code)
}

// --- Anthropic ---

type anthropicErrorBody struct {
	Type  string               `json:"type"`
	Error anthropicErrorObject `json:"error"`
}

type anthropicErrorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// anthropicErrorJSON renders {"type":"error","error":{"type","message"}}.
func anthropicErrorJSON(typ, msg string) string {
	return marshal(anthropicErrorBody{"error", anthropicErrorObject{typ, msg}})
}

// anthropicErrorFor is the format-neutral error of a status in Anthropic's
// shape.
func anthropicErrorFor(status int, msg string) string {
	typ, def := "invalid_request_error", http.StatusText(status)
	switch {
	case status == http.StatusUnauthorized:
		typ, def = "authentication_error", "invalid x-api-key"
	case status == http.StatusPaymentRequired:
		typ, def = "billing_error", "Your credit balance is too low to access the Anthropic API."
	case status == http.StatusForbidden:
		typ, def = "permission_error", "Your API key does not have permission to use the specified resource."
	case status == http.StatusNotFound:
		typ, def = "not_found_error", "Not found"
	case status == http.StatusRequestEntityTooLarge:
		typ, def = "request_too_large", "Request exceeds the maximum allowed number of bytes."
	case status == http.StatusTooManyRequests:
		typ, def = "rate_limit_error", "Number of requests has exceeded your rate limit."
	case status == StatusOverloaded:
		typ, def = "overloaded_error", "Overloaded"
	case status == http.StatusGatewayTimeout:
		typ, def = "timeout_error", "Request timed out"
	case status >= 500:
		typ, def = "api_error", "Internal server error"
	}
	if msg == "" {
		msg = def
	}
	return anthropicErrorJSON(typ, msg)
}

type anthropicMessage struct {
	ID           string             `json:"id"`
	Type         string             `json:"type"`
	Role         string             `json:"role"`
	Model        string             `json:"model"`
	Content      []anthropicContent `json:"content"`
	StopReason   *string            `json:"stop_reason"`
	StopSequence *string            `json:"stop_sequence"`
	Usage        anthropicUsage     `json:"usage"`
}

type anthropicContent struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// PartialJSON is an input_json_delta's piece; a pointer so that the
	// empty first piece the API sends is kept.
	PartialJSON *string `json:"partial_json,omitempty"`
	// Thinking and Signature are a thinking block's, or a thinking_delta's
	// and a signature_delta's.
	Thinking  *string `json:"thinking,omitempty"`
	Signature *string `json:"signature,omitempty"`
}

func textBlock(typ, text string) anthropicContent { return anthropicContent{Type: typ, Text: &text} }

// fakeSignature is the signature of a thinking block of reasoning: base64
// of "providertest:" and the reasoning's SHA-256. Stable, and not a real
// signature.
func fakeSignature(reasoning string) string {
	sum := sha256.Sum256([]byte(reasoning))
	return base64.StdEncoding.EncodeToString(append([]byte("providertest:"), sum[:]...))
}

type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// anthropicUsageOf renders u: input_tokens counts only the prompt tokens
// not read from the cache, as the Messages API reports them.
func anthropicUsageOf(u Usage) anthropicUsage {
	return anthropicUsage{InputTokens: max(u.PromptTokens-u.CachedPromptTokens, 0), CacheReadInputTokens: u.CachedPromptTokens, OutputTokens: u.CompletionTokens}
}

type anthropicMessageStart struct {
	Type    string           `json:"type"`
	Message anthropicMessage `json:"message"`
}

type anthropicBlockDelta struct {
	Type  string           `json:"type"`
	Index int              `json:"index"`
	Delta anthropicContent `json:"delta"`
}
