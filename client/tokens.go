package client

import "github.com/ailib-go/ailib/internal/wire"

// Token estimates for the token-per-minute limit
// (resilience.RateLimiterConfig.TokensPerMinute, AI_LIB_TPM, and the token
// limit learned from the provider's headers).
const (
	// BytesPerToken is the estimate of message bytes per input token:
	// about 4 for English text with the OpenAI and Anthropic tokenizers
	// (fewer for other scripts, so non-English text is underestimated and
	// charged the difference afterwards).
	BytesPerToken = 4
	// MessageOverheadTokens is the estimate of tokens each message adds
	// besides its text (role and framing).
	MessageOverheadTokens = 4
	// DefaultOutputTokenEstimate is the output estimate of a request
	// without MaxTokens to an OpenAI-format provider (which then has no
	// cap of its own to go by). Anthropic requests use their max_tokens,
	// [DefaultAnthropicMaxTokens] by default.
	DefaultOutputTokenEstimate = 1024
)

// estimateTokens is what a request to t is expected to spend: its input
// (message bytes / BytesPerToken, plus MessageOverheadTokens a message)
// and its output cap (MaxTokens; else the format's default). Each attempt
// reserves it; the answer's usage then replaces it.
func estimateTokens(req ChatRequest, t *target) int {
	in := 0
	for _, m := range req.Messages {
		in += (len(m.Content)+BytesPerToken-1)/BytesPerToken + MessageOverheadTokens
	}
	out := req.MaxTokens
	if out == 0 {
		out = DefaultOutputTokenEstimate
		if t.format == wire.Anthropic {
			out = DefaultAnthropicMaxTokens
		}
	}
	return in + out
}

// usedTokens is the usage to settle a reservation with (the int given to
// [resilience.WithTokens]): the answer's total, or -1 (keep the estimate)
// when the provider did not report it.
func usedTokens(u Usage) int {
	if total := u.TotalTokens; total > 0 {
		return total
	}
	if u.PromptTokens+u.CompletionTokens > 0 {
		return u.PromptTokens + u.CompletionTokens
	}
	return -1
}
