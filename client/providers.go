package client

import (
	"net/url"
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
	// echoReasoningDetails: send an assistant turn's reasoning_details
	// back (wire.Request.EchoReasoningDetails).
	echoReasoningDetails bool
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
	// oneSystemMessage: join the system messages into one, first
	// (wire.Request.OneSystemMessage).
	oneSystemMessage bool
	// toolResultNames: name the function each tool result answers
	// (wire.Request.ToolResultNames).
	toolResultNames bool
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
	{name: "openrouter", baseURL: "https://openrouter.ai/api/v1", format: wire.OpenAI, keyEnv: []string{"OPENROUTER_API_KEY"}, echoReasoningDetails: true},
	{name: "xai", baseURL: "https://api.x.ai/v1", format: wire.OpenAI, keyEnv: []string{"XAI_API_KEY"}},
	{name: "together", baseURL: "https://api.together.xyz/v1", format: wire.OpenAI, keyEnv: []string{"TOGETHER_API_KEY"}},
	{name: "gemini", baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", format: wire.OpenAI, keyEnv: []string{"GEMINI_API_KEY", "GOOGLE_API_KEY"}, googleSignatures: true, oneSystemMessage: true, toolResultNames: true},
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

// completionTokensField reports whether a target of spec at baseURL
// serving model gets its token cap as max_completion_tokens rather than
// max_tokens. OpenAI's own API wants the new name (its reasoning models
// refuse max_tokens), and so do Azure OpenAI and OpenAI's reasoning models
// wherever they are served; but "openai" pointed at another server is
// most often a self-hosted or third-party one, and there max_completion_tokens
// is dropped unread by Ollama, DeepSeek, text-generation-inference, LocalAI
// and llama.cpp before 2026 (the answer then runs to the context's end) and
// refused by Mistral, while max_tokens is read by all of them. A gateway
// that then refuses max_tokens for a model not named here is answered by
// the refusal's resend (refusedMaxTokens).
func completionTokensField(spec *providerSpec, baseURL, model string) bool {
	if !spec.maxCompletionTokens {
		return false
	}
	if strings.TrimRight(baseURL, "/") == strings.TrimRight(spec.baseURL, "/") {
		return true
	}
	if u, err := url.Parse(baseURL); err == nil {
		host := strings.ToLower(u.Hostname())
		// OpenAI's own hosts (eu.api.openai.com for data residency) and
		// Azure OpenAI's.
		for _, own := range []string{".openai.com", ".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"} {
			if strings.HasSuffix(host, own) {
				return true
			}
		}
	}
	return openAIReasoningModel(model)
}

// openAIReasoningModel reports whether model names one of OpenAI's
// reasoning model families (o1, o3, o4-mini, gpt-5...), which refuse
// max_tokens, also behind a gateway ("openai/gpt-5" on OpenRouter-style
// names).
func openAIReasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	m = strings.TrimPrefix(m, "ft:") // a fine-tune: "ft:o4-mini-2025-04-16:org::id"
	return strings.HasPrefix(m, "gpt-5") || len(m) >= 2 && m[0] == 'o' && m[1] >= '1' && m[1] <= '9'
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
// "Authorization: Bearer KEY"; for openai itself (its own base URL, Azure
// OpenAI hosts, and OpenAI's reasoning models wherever they are served) the
// token budget is sent as max_completion_tokens, for the others (openai
// pointed at another server included) as max_tokens, and as
// max_completion_tokens from the first answer that refuses max_tokens on;
// mistral gets tool
// call ids made by other providers as 9 letters and digits (the only ids
// it accepts), a final assistant message marked "prefix": true (it
// refuses one without) and an assistant turn ("ok") between a tool result
// and a user message that follows it (it refuses the two side by side; so
// do Mistral's models elsewhere, which get the turn on any OpenAI-format
// target), deepseek and gemini what they require back with a tool turn
// ([Message.Reasoning], [ToolCall.Signature]); gemini, which keeps only the
// last system message it is sent and refuses a tool result it cannot name,
// gets one system message, first, and each tool result with its function's
// name; deepseek, which has JSON
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
