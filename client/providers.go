package client

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ailib-go/ailib/internal/wire"
)

// DefaultAnthropicMaxTokens is the max_tokens sent to the Anthropic
// Messages API when [ChatRequest.MaxTokens] is 0. The Messages API requires
// the field; other providers get no limit unless MaxTokens is set.
const DefaultAnthropicMaxTokens = 4096

// AnthropicVersion is the anthropic-version header sent to Anthropic. A
// header set with [Builder.Header] or [ProviderConfig.Header] replaces it.
const AnthropicVersion = "2023-06-01"

// providerSpec is one built-in provider: where it lives, what it speaks,
// and where its key comes from.
type providerSpec struct {
	name    string
	baseURL string
	format  wire.Format
	// keyEnv lists the environment variables read for the key, in order;
	// empty for providers that need no key.
	keyEnv []string
	// maxCompletionTokens: send max_completion_tokens instead of max_tokens.
	maxCompletionTokens bool
	// streamUsage: ask for usage in streams (stream_options.include_usage),
	// which the provider documents; others may reject the field (Mistral
	// refuses fields it does not know) or send usage unasked (Groq's
	// x_groq.usage, Mistral's and Gemini's last chunk).
	streamUsage bool
	// echoReasoning: send an assistant turn's reasoning back
	// (wire.Request.EchoReasoning).
	echoReasoning bool
	// googleSignatures: send tool calls' thought signatures back
	// (wire.Request.GoogleSignatures).
	googleSignatures bool
	// nineCharToolIDs: send tool call ids as 9 letters and digits
	// (wire.Request.NineCharToolIDs).
	nineCharToolIDs bool
	// assistantPrefix: mark a final assistant message as a prefix
	// (wire.Request.AssistantPrefix).
	assistantPrefix bool
	// assistantAfterTool: an assistant message between a tool result and
	// a user message (wire.Request.AssistantAfterTool); targets of other
	// providers get it too when their model is one of Mistral's
	// (mistralModel).
	assistantAfterTool bool
	// jsonModeOnly: the provider has JSON mode but no json_schema
	// response_format (wire.Request.SchemaInPrompt).
	jsonModeOnly bool
}

// needsKey reports whether Build fails when no key is found.
func (p *providerSpec) needsKey() bool { return len(p.keyEnv) > 0 }

// providers is the table of built-in providers. Base URLs are never read
// from the environment: only code decides where requests (and keys) go.
var providers = []providerSpec{
	{name: "openai", baseURL: "https://api.openai.com/v1", format: wire.OpenAI, keyEnv: []string{"OPENAI_API_KEY"}, maxCompletionTokens: true, streamUsage: true},
	{name: "anthropic", baseURL: "https://api.anthropic.com/v1", format: wire.Anthropic, keyEnv: []string{"ANTHROPIC_API_KEY"}},
	{name: "deepseek", baseURL: "https://api.deepseek.com/v1", format: wire.OpenAI, keyEnv: []string{"DEEPSEEK_API_KEY"}, streamUsage: true, echoReasoning: true, jsonModeOnly: true},
	{name: "groq", baseURL: "https://api.groq.com/openai/v1", format: wire.OpenAI, keyEnv: []string{"GROQ_API_KEY"}},
	{name: "mistral", baseURL: "https://api.mistral.ai/v1", format: wire.OpenAI, keyEnv: []string{"MISTRAL_API_KEY"}, nineCharToolIDs: true, assistantPrefix: true, assistantAfterTool: true},
	{name: "openrouter", baseURL: "https://openrouter.ai/api/v1", format: wire.OpenAI, keyEnv: []string{"OPENROUTER_API_KEY"}},
	{name: "xai", baseURL: "https://api.x.ai/v1", format: wire.OpenAI, keyEnv: []string{"XAI_API_KEY"}},
	{name: "together", baseURL: "https://api.together.xyz/v1", format: wire.OpenAI, keyEnv: []string{"TOGETHER_API_KEY"}},
	{name: "gemini", baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", format: wire.OpenAI, keyEnv: []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"}, googleSignatures: true},
	{name: "ollama", baseURL: "http://localhost:11434/v1", format: wire.OpenAI, streamUsage: true},
}

// geminiPlaceholderSignature is the thought signature Google documents
// for tool calls that have none because another model made them
// (ai.google.dev/gemini-api/docs/thought-signatures): it tells gemini 3
// not to validate them.
const geminiPlaceholderSignature = "skip_thought_signature_validator"

// signsToolCalls reports whether a gemini model requires thought
// signatures on a conversation's tool calls: gemini 3 and later, and names
// without a version (gemini-flash-latest and the like, which point at
// current models). gemini 1.x and 2.x models do not.
func signsToolCalls(model string) bool {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(model, "models/"), "gemini-")
	if !ok {
		return false
	}
	major, _, _ := strings.Cut(rest, ".")
	major, _, _ = strings.Cut(major, "-")
	n, err := strconv.Atoi(major)
	return err != nil || n >= 3
}

// mistralModel reports whether model names one of Mistral's model
// families, served elsewhere too (OpenRouter "mistralai/…", vLLM or NIM
// with "mistralai/Devstral-…"), where the same message-order validator
// (mistral-common's) refuses a user message right after a tool result.
func mistralModel(model string) bool {
	m := strings.ToLower(model)
	for _, family := range []string{"mistral", "mixtral", "pixtral", "codestral", "devstral", "magistral", "ministral", "voxtral"} {
		if strings.Contains(m, family) {
			return true
		}
	}
	return false
}

func lookupProvider(name string) (*providerSpec, bool) {
	for i := range providers {
		if providers[i].name == name {
			return &providers[i], true
		}
	}
	return nil, false
}

// Providers returns the names of the built-in providers, sorted:
//
//	name        base URL                                                   wire format  key variable
//	anthropic   https://api.anthropic.com/v1                               Messages     ANTHROPIC_API_KEY
//	deepseek    https://api.deepseek.com/v1                                OpenAI       DEEPSEEK_API_KEY
//	gemini      https://generativelanguage.googleapis.com/v1beta/openai    OpenAI       GEMINI_API_KEY, then GOOGLE_API_KEY
//	groq        https://api.groq.com/openai/v1                             OpenAI       GROQ_API_KEY
//	mistral     https://api.mistral.ai/v1                                  OpenAI       MISTRAL_API_KEY
//	ollama      http://localhost:11434/v1                                  OpenAI       (none: a key is sent only if set in code)
//	openai      https://api.openai.com/v1                                  OpenAI       OPENAI_API_KEY
//	openrouter  https://openrouter.ai/api/v1                               OpenAI       OPENROUTER_API_KEY
//	together    https://api.together.xyz/v1                                OpenAI       TOGETHER_API_KEY
//	xai         https://api.x.ai/v1                                        OpenAI       XAI_API_KEY
//
// The OpenAI format is POST {base}/chat/completions with
// "Authorization: Bearer KEY"; for openai itself the token budget is sent as
// max_completion_tokens, for the others as max_tokens; mistral gets tool
// call ids made by other providers as 9 letters and digits (the only ids
// it accepts), a final assistant message marked "prefix": true (it
// refuses one without) and an assistant turn ("ok") between a tool result
// and a user message that follows it (it refuses the two side by side; so
// do Mistral's models elsewhere, which get the turn on any OpenAI-format
// target), deepseek and gemini what they require back with a tool turn
// ([Message.Reasoning], [ToolCall.Signature]); deepseek, which has JSON
// mode but no json_schema, gets a [JSONSchema] request as json_object with
// the schema in a system message. The Messages format
// is POST {base}/messages with "x-api-key: KEY" and "anthropic-version:
// 2023-06-01"; system messages go to the top-level system field,
// max_tokens defaults to [DefaultAnthropicMaxTokens], temperature is
// capped at 1 (the Messages API's maximum) and, when set, sent without
// top_p (current models reject both); stop sequences of white space only,
// which it rejects, are left out; an empty assistant turn that is not the
// last is left out and a last one (a prefill) loses its trailing white
// space, both of which it rejects; and with extended thinking on (a
// "thinking" field in Extra), JSON output asks for its tool without
// forcing it, as thinking forbids forced tool use.
func Providers() []string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.name
	}
	slices.Sort(names)
	return names
}
