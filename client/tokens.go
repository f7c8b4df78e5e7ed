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
	// ImageTokenEstimate is the input estimate of one image: about what
	// Anthropic charges for an image at its largest unscaled size (1.15
	// megapixels, ~1600 tokens), more than OpenAI charges for most.
	ImageTokenEstimate = 1600
)

// estimateTokens is what a request to t is expected to spend: its input
// (the bytes of message text, tool calls and results, tool definitions
// and the JSON schema divided by BytesPerToken, plus MessageOverheadTokens
// a message and ImageTokenEstimate an image) and its output cap
// (MaxTokens; else the format's default). Each attempt reserves it; the
// answer's usage then replaces it.
func estimateTokens(req *ChatRequest, t *target) int {
	in := 0
	for _, m := range req.Messages {
		n := len(m.Content)
		for _, p := range m.Parts {
			n += len(p.Text)
			if p.Image != nil {
				in += ImageTokenEstimate
			}
		}
		for _, c := range m.ToolCalls {
			n += len(c.ID) + len(c.Name) + len(c.Arguments)
		}
		in += ceilTokens(n) + MessageOverheadTokens
	}
	defs := 0
	for _, tool := range req.Tools {
		defs += len(tool.Name) + len(tool.Description) + len(tool.Parameters)
	}
	if f := req.ResponseFormat; f != nil {
		defs += len(f.Schema)
	}
	in += ceilTokens(defs)
	out := req.MaxTokens
	if out == 0 {
		out = DefaultOutputTokenEstimate
		if t.format == wire.Anthropic {
			out = DefaultAnthropicMaxTokens
		}
	}
	return in + out
}

func ceilTokens(bytes int) int { return (bytes + BytesPerToken - 1) / BytesPerToken }

// usedTokens is the usage to settle a reservation with, or -1 (keep the
// estimate) when the provider did not report it: the answer's total, less
// the cached prompt tokens for Anthropic, whose input-token limits do not
// count cache reads (OpenAI's token limits count every prompt token).
func usedTokens(u Usage, f wire.Format) int {
	total := u.TotalTokens
	if total <= 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	if total <= 0 {
		return -1
	}
	if f == wire.Anthropic && u.CachedPromptTokens > 0 {
		total = max(total-u.CachedPromptTokens, 0)
	}
	return total
}
