package providertest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// DefaultText is the text a model answers with when nothing else was set
// for it: no script, no default, no fault.
const DefaultText = "Hello! How can I help you today?"

// CutAtStart, used as [Answer.CutAfter] or [Answer.ErrorAfter], cuts the
// stream (or sends the error event) right after the response headers,
// before any event.
const CutAtStart = -1

// Usage is the token usage reported in an answer. Zero PromptTokens and
// CompletionTokens are estimated from the request and the answer (about one
// token per word or piece of a tool call, the words of [Answer.Reasoning]
// included).
type Usage struct {
	PromptTokens, CompletionTokens int
	// CachedPromptTokens are the prompt tokens said to come from the cache
	// (part of PromptTokens): OpenAI prompt_tokens_details.cached_tokens;
	// Anthropic cache_read_input_tokens, input_tokens then counting the
	// rest.
	CachedPromptTokens int
	// ReasoningTokens are the completion tokens said to be reasoning (part
	// of CompletionTokens): OpenAI completion_tokens_details.reasoning_tokens.
	// Zero with a non-empty [Answer.Reasoning] means the reasoning's word
	// count (at most CompletionTokens). Anthropic has no such field.
	ReasoningTokens int
}

// Answer is one scripted reply of the [Server].
//
// The zero Answer is a 200 with empty content; use [OK] for a normal reply. Fields are applied in this order: Reset, Delay, then
// the status line, headers and body.
//
// # Rendering
//
// When Body is empty the server renders the answer in the format of the
// request's route: a chat completion (or an SSE stream when the request asked
// for one) for statuses below 400, and an error object in that provider's
// shape, with Text as the message, for statuses of 400 and above. A
// successful answer renders Reasoning, then Text, then ToolCalls (see each
// field for its shape in either format). Such answers are format-neutral:
// the same Answer works for OpenAI and Anthropic routes.
// A non-empty Body is sent as it is, whatever the route, with Content-Type
// application/json unless Header sets one. The error presets ([RateLimited],
// [AnthropicOverloaded], …) set Body, so they keep their provider's shape on
// every route; [ServerError] and [Unavailable] are format-neutral.
//
// [Server.Script] and [Server.SetDefault] copy the Answer, its Header and
// Chunks included, so the caller may reuse it.
type Answer struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Header is added to the response headers (it replaces the server's own
	// value for the same key).
	Header http.Header
	// Body is the raw response body. Empty means: render Text in the
	// request's format (see Rendering above).
	Body string
	// Text is the assistant's reply, or the error message for statuses of
	// 400 and above when Body is empty.
	Text string
	// Reasoning is the model's reasoning (thinking) sent before Text, as
	// reasoning models send it; empty means none, and the answer has no
	// trace of reasoning. On OpenAI routes it takes DeepSeek's shape:
	// message.reasoning_content beside content, or streamed as
	// {"delta":{"reasoning_content":piece}} chunks before the content
	// chunks (after the role chunk). On Anthropic routes it is a thinking
	// block before the text block, {"type":"thinking","thinking":…,
	// "signature":…} (the other blocks' indexes shift by one), streamed as
	// content_block_start, a thinking_delta per piece, a signature_delta
	// and content_block_stop. The pieces are Reasoning split into words,
	// as Text is. The signature is a stable fake, the base64 of
	// "providertest:" and the SHA-256 of Reasoning: not a real signature,
	// no provider would accept it. The server does not check that the
	// request asked for reasoning.
	Reasoning string
	// Chunks are the text deltas of a streamed reply, one content event each.
	// Empty means Text split into words (their concatenation is Text).
	Chunks []string
	// Delay is waited before the response headers are written. The wait ends
	// early, without an answer, when the request's context is done (the
	// client went away, or a listening server was closed).
	Delay time.Duration
	// ChunkDelay is waited before each content event of a stream (honouring
	// the request's context), reasoning pieces included, to test idle
	// timeouts and cancellation mid-stream.
	ChunkDelay time.Duration
	// CutAfter aborts the connection part-way through a successful answer,
	// without the terminal event: for a stream, after CutAfter content
	// events (Anthropic's message_start, content_block_start and ping are
	// sent first; the pieces of Reasoning count as content events, before
	// Text's, so a stream can be cut in the middle of its reasoning); for a
	// non-stream answer, after the first CutAfter bytes of the body
	// (truncated JSON). [CutAtStart] cuts right after the headers. 0 means no
	// cut. On a listening server the connection is closed mid-body; through
	// [Server.Transport] the body's Read returns [io.ErrUnexpectedEOF].
	CutAfter int
	// ErrorAfter sends an error event after ErrorAfter content events of a
	// stream (reasoning pieces counted first, as for CutAfter) and ends the
	// stream there, without the terminal event: an Anthropic "event:
	// error", or an OpenAI "data: {"error":…}" chunk.
	// [CutAtStart] sends it first. 0 means none.
	ErrorAfter int
	// ErrorBody is the data of that error event; empty means overloaded_error
	// (Anthropic) or server_error (OpenAI).
	ErrorBody string
	// Reset aborts the connection without any answer. On a listening server
	// the TCP connection is reset; through [Server.Transport] RoundTrip
	// returns an error wrapping syscall.ECONNRESET.
	Reset bool
	// Usage is the token usage reported on success.
	Usage Usage
	// ToolCalls are tool calls the model makes, after Text (see
	// [CallTools]). An answer with calls ends with finish_reason
	// "tool_calls" (OpenAI) or stop_reason "tool_use" (Anthropic).
	ToolCalls []ToolCall

	// prepare, when set, adjusts a copy of the answer at send time (headers
	// that depend on the clock or on the request).
	prepare func(a *Answer, r *Request, now time.Time)
}

// OK is a successful reply with the given text, rendered in the request's
// format, streamed when the request asks for a stream.
//
// On an Anthropic route whose request forces a tool (tool_choice
// {"type":"tool"}, or {"type":"any"}, which this server reads as the last
// tool offered), a Text that is a JSON object is sent as that tool's
// tool_use input, as a model obeying the request would: this is how
// clients that ask for JSON output through a forced tool (ailib's
// ResponseFormat) get their JSON.
func OK(text string) Answer { return Answer{Status: http.StatusOK, Text: text} }

// OKChunks is a successful reply streamed as exactly these content events.
// Non-stream requests get their concatenation.
func OKChunks(chunks ...string) Answer {
	a := Answer{Status: http.StatusOK, Chunks: append([]string(nil), chunks...)}
	for _, c := range chunks {
		a.Text += c
	}
	return a
}

// Status is a format-neutral reply with the given status; for statuses of
// 400 and above the body is the provider's error object with message text
// (empty text means a default message for that status).
func Status(status int, text string) Answer { return Answer{Status: status, Text: text} }

// Reset is an answer that aborts the connection without a reply.
func Reset() Answer { return Answer{Reset: true} }

// Slow is a successful reply with text, sent after delay.
func Slow(delay time.Duration, text string) Answer {
	return Answer{Status: http.StatusOK, Text: text, Delay: delay}
}

// RateLimited is OpenAI's 429 rate_limit_exceeded for requests per minute,
// with the headers OpenAI sends: Retry-After (whole seconds, rounded up),
// retry-after-ms, and x-ratelimit-{limit,remaining,reset}-{requests,tokens}
// (x-ratelimit-reset-requests is retryAfter). retryAfter <= 0 omits
// Retry-After, retry-after-ms and x-ratelimit-reset-requests.
func RateLimited(retryAfter time.Duration) Answer {
	h := http.Header{}
	h.Set("x-ratelimit-limit-requests", "60")
	h.Set("x-ratelimit-remaining-requests", "0")
	h.Set("x-ratelimit-limit-tokens", "150000")
	h.Set("x-ratelimit-remaining-tokens", "149980")
	h.Set("x-ratelimit-reset-tokens", "8ms")
	wait := "a moment"
	if retryAfter > 0 {
		setRetryAfter(h, retryAfter, true)
		h.Set("x-ratelimit-reset-requests", formatResetDuration(retryAfter))
		wait = formatResetDuration(retryAfter)
	}
	msg := "Rate limit reached for requests in organization org-providertest on requests per min (RPM): " +
		"Limit 60, Used 60, Requested 1. Please try again in " + wait +
		". Visit https://platform.openai.com/account/rate-limits to learn more."
	return Answer{Status: http.StatusTooManyRequests, Header: h,
		Body: openAIErrorJSON(msg, "requests", "", "rate_limit_exceeded")}
}

// InsufficientQuota is OpenAI's 429 insufficient_quota: the account is out of
// credit. Retrying does not help; it carries no Retry-After.
func InsufficientQuota() Answer {
	return Answer{Status: http.StatusTooManyRequests, Body: openAIErrorJSON(
		"You exceeded your current quota, please check your plan and billing details. "+
			"For more information on this error, read the docs: "+
			"https://platform.openai.com/docs/guides/error-codes/api-errors.",
		"insufficient_quota", "", "insufficient_quota")}
}

// ContextLengthExceeded is OpenAI's 400 context_length_exceeded.
func ContextLengthExceeded() Answer {
	return Answer{Status: http.StatusBadRequest, Body: openAIErrorJSON(
		"This model's maximum context length is 128000 tokens. However, your messages resulted in "+
			"131072 tokens. Please reduce the length of the messages.",
		"invalid_request_error", "messages", "context_length_exceeded")}
}

// InvalidAPIKey is OpenAI's 401 invalid_api_key. Its message echoes the API
// key the request presented (Authorization: Bearer, or x-api-key) in full,
// as some OpenAI-compatible providers do, so tests can check that a client
// never lets the key reach an error, a log line or a hook.
func InvalidAPIKey() Answer {
	return Answer{Status: http.StatusUnauthorized, prepare: func(a *Answer, r *Request, _ time.Time) {
		a.Body = openAIErrorJSON("Incorrect API key provided: "+presentedKey(r.Header)+
			". You can find your API key at https://platform.openai.com/account/api-keys.",
			"invalid_request_error", "", "invalid_api_key")
	}}
}

// DeepSeekInsufficientBalance is DeepSeek's 402 "Insufficient Balance".
func DeepSeekInsufficientBalance() Answer {
	return Answer{Status: http.StatusPaymentRequired,
		Body: openAIErrorJSON("Insufficient Balance", "unknown_error", "", "invalid_request_error")}
}

// AnthropicOverloaded is Anthropic's 529 overloaded_error.
func AnthropicOverloaded() Answer {
	h := http.Header{}
	h.Set("x-should-retry", "true")
	return Answer{Status: StatusOverloaded, Header: h,
		Body: anthropicErrorJSON("overloaded_error", "Overloaded")}
}

// StatusOverloaded is Anthropic's non-standard HTTP status for
// overloaded_error.
const StatusOverloaded = 529

// AnthropicRateLimited is Anthropic's 429 rate_limit_error with retry-after
// (whole seconds, rounded up) and anthropic-ratelimit-requests-{limit,
// remaining,reset} headers (reset is an RFC 3339 time, now + retryAfter,
// computed when the answer is sent). retryAfter <= 0 omits retry-after and
// the reset header.
func AnthropicRateLimited(retryAfter time.Duration) Answer {
	h := http.Header{}
	h.Set("anthropic-ratelimit-requests-limit", "50")
	h.Set("anthropic-ratelimit-requests-remaining", "0")
	h.Set("x-should-retry", "true")
	if retryAfter > 0 {
		setRetryAfter(h, retryAfter, false)
	}
	a := Answer{Status: http.StatusTooManyRequests, Header: h, Body: anthropicErrorJSON("rate_limit_error",
		"This request would exceed the rate limit for your organization of 50 requests per minute. "+
			"For details, refer to: https://docs.anthropic.com/en/api/rate-limits. "+
			"You can see the response headers for current usage. Please reduce the prompt length or the "+
			"maximum tokens requested, or try again later.")}
	if retryAfter > 0 {
		a.prepare = func(a *Answer, _ *Request, now time.Time) {
			a.Header.Set("anthropic-ratelimit-requests-reset", formatRFC3339Ceil(now.Add(retryAfter)))
		}
	}
	return a
}

// ServerError is a format-neutral 500: OpenAI's server_error or Anthropic's
// api_error, depending on the route.
func ServerError() Answer { return Answer{Status: http.StatusInternalServerError} }

// Unavailable is a format-neutral 503 in the route's error shape.
func Unavailable() Answer { return Answer{Status: http.StatusServiceUnavailable} }

// HTML502 is a 502 from a CDN in front of the provider: a Cloudflare-like
// HTML page with Content-Type text/html, not JSON.
func HTML502() Answer {
	h := http.Header{}
	h.Set("Content-Type", "text/html")
	h.Set("Server", "cloudflare")
	h.Set("Cf-Ray", "8f2c1a7b5e3d4c21-FRA")
	return Answer{Status: http.StatusBadGateway, Header: h, Body: "<html>\r\n" +
		"<head><title>502 Bad Gateway</title></head>\r\n" +
		"<body>\r\n" +
		"<center><h1>502 Bad Gateway</h1></center>\r\n" +
		"<hr><center>cloudflare</center>\r\n" +
		"</body>\r\n" +
		"</html>\r\n"}
}

// GeminiResourceExhausted is Google's 429 RESOURCE_EXHAUSTED error object for
// a per-minute request limit, with QuotaFailure and RetryInfo details
// (retryDelay in Google's duration format, e.g. "37s"). As on the real API,
// the message speaks of "quota" although retrying after retryDelay
// succeeds; the RetryInfo and the per-minute quotaId tell the two apart.
// retryDelay <= 0 omits the RetryInfo detail.
func GeminiResourceExhausted(retryDelay time.Duration) Answer {
	return Answer{Status: http.StatusTooManyRequests, Body: geminiErrorJSON(retryDelay)}
}

// GeminiCompatResourceExhausted is the same error as returned by Gemini's
// OpenAI-compatible endpoint (/v1beta/openai/chat/completions), which wraps
// the error object in a JSON array: [{"error":{…}}].
func GeminiCompatResourceExhausted(retryDelay time.Duration) Answer {
	return Answer{Status: http.StatusTooManyRequests, Body: "[" + geminiErrorJSON(retryDelay) + "]"}
}

func geminiErrorJSON(retryDelay time.Duration) string {
	details := `{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{` +
		`"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests",` +
		`"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier",` +
		`"quotaDimensions":{"location":"global","model":"gemini-2.0-flash"},"quotaValue":"15"}]},` +
		`{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas",` +
		`"url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]}`
	if retryDelay > 0 {
		details += `,{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"` +
			strconv.FormatFloat(retryDelay.Seconds(), 'f', -1, 64) + `s"}`
	}
	return `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing ` +
		`details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",` +
		`"status":"RESOURCE_EXHAUSTED","details":[` + details + `]}}`
}

// setRetryAfter sets Retry-After in whole seconds (rounded up) and, for
// OpenAI, retry-after-ms.
func setRetryAfter(h http.Header, d time.Duration, withMS bool) {
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
	if withMS {
		h.Set("retry-after-ms", strconv.FormatInt(int64(math.Ceil(float64(d)/float64(time.Millisecond))), 10))
	}
}

// formatResetDuration formats d as OpenAI's x-ratelimit-reset-* values do
// ("1s", "6m0s", "120ms"): Go duration syntax rounded to the millisecond.
func formatResetDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if r := d.Round(time.Millisecond); r > 0 || d == 0 {
		return r.String()
	}
	return "1ms"
}

// formatRFC3339Ceil formats t in RFC 3339 with second precision, rounded up,
// as Anthropic's reset headers are.
func formatRFC3339Ceil(t time.Time) string {
	if tt := t.Truncate(time.Second); tt.Before(t) {
		t = tt.Add(time.Second)
	}
	return t.UTC().Format(time.RFC3339)
}

// presentedKey returns the API key of an OpenAI- or Anthropic-style request.
func presentedKey(h http.Header) string {
	if k := h.Get("x-api-key"); k != "" {
		return k
	}
	auth := h.Get("Authorization")
	if len(auth) > 7 && (auth[:7] == "Bearer " || auth[:7] == "bearer ") {
		return auth[7:]
	}
	return auth
}

func (a *Answer) status() int {
	if a.Status == 0 {
		return http.StatusOK
	}
	return a.Status
}
