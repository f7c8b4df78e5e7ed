// Package client is ailib's AI client: one API for OpenAI, Anthropic and
// the OpenAI-compatible providers, with retries, rate limiting, circuit
// breaking, in-flight limits and fallback across providers built in.
//
// # Building a client
//
// A [Builder] collects settings; [Builder.Build] checks them all, reads the
// environment once and returns an immutable [AiClient], safe for
// concurrent use:
//
//	c, err := client.NewBuilder().
//		Model("openai/gpt-4o").                  // primary target, "provider/model"
//		Fallback("anthropic/claude-sonnet-4-5"). // tried when the primary cannot answer
//		AttemptTimeout(60 * time.Second).        // per provider request
//		Build()
//	if err != nil {
//		log.Fatal(err) // every problem at once, each naming the setting or variable
//	}
//	resp, err := c.Chat(ctx, client.ChatRequest{
//		Messages: []client.Message{client.System("Be brief."), client.User("Hello")},
//	})
//
// Model ids are "provider/model", split at the first "/", so OpenRouter's
// "openrouter/meta-llama/llama-3-70b-instruct" works. [Providers] lists the
// built-in providers with their base URLs and key variables. A base URL
// override keeps the provider's wire format: "openai" with
// BaseURL("http://localhost:8000/v1") talks to any OpenAI-compatible
// server (vLLM, LiteLLM, a test server).
//
// # Resilience and fallback
//
// Each target (provider + model) has its own
// [resilience.ResilientExecutor]: an attempt first checks the target's
// circuit, waits for a rate token, takes an in-flight permit, then sends
// the request; a retryable failure (server error, overload, rate limit,
// timeout, dropped connection) is retried with exponential backoff,
// honouring the provider's Retry-After (with the default retries, a target
// a fallback follows gets [DefaultFallbackRetries] retry, then the call
// moves on). When a target fails with a
// fallbackable error (those, plus authentication and exhausted quota) or
// its circuit is open, the call moves to the next target. A request
// rejected as invalid is returned at once: it would be just as invalid
// elsewhere. [ChatResponse.Attempts] (or [AttemptsOf] for a failed call)
// tells how many provider requests the call made.
//
// Beyond that (see the resilience package doc): a retry budget stops
// retries while a target's failures outnumber its successes, so a
// struggling provider is not hit by a retry storm; an attempt that runs
// past [Builder.AttemptTimeout] is retried at once, without backoff, while
// the caller's own deadline or cancellation is never retried; and a target
// that answered quota_exhausted, refused the key, or asked for a
// Retry-After too long to wait is skipped (cooled down) until it is
// expected to work again, with no request sent to it.
//
// Every call also reserves its token estimate from the target's token
// limit (resilience.RateLimiterConfig.TokensPerMinute, AI_LIB_TPM, and the
// limit learned from the provider's x-ratelimit-*-tokens or
// anthropic-ratelimit-tokens-* headers): the message bytes divided by
// [BytesPerToken] plus [MessageOverheadTokens] per message, plus MaxTokens
// (or [DefaultOutputTokenEstimate], or [DefaultAnthropicMaxTokens] for
// Anthropic). The answer's usage then replaces the estimate (a stream's
// when it ends; a stream closed early keeps its estimate).
//
// A pool ([Builder.Pool]) serves one model from several deployments
// (keys, accounts, regions): each attempt goes to a deployment with
// capacity, by what each has shown (learned limits, 429s, cooldowns) and
// by weight; a 429, a 5xx or a revoked key moves the attempt to another
// deployment at once, and the call moves to the next fallback only when
// every deployment failed. A pool stands in the fallback chain like a
// target, under its name.
//
// [AiClient.SignalsSnapshot] shows how the primary target is doing now
// (circuit state, permits in flight, rate tokens, provider-reported limits),
// and [Builder.Hooks] and [Builder.Logger] report every decision.
//
// # Streaming
//
// [AiClient.Stream] returns a [ChatStream] once the first piece of text
// has arrived. Until then a failure is retried or falls back like a Chat
// call; after that, a failure ends the stream with an error from
// [ChatStream.Err], and [ChatStream.Text] keeps what arrived. A stream that
// ends without the provider's terminal event is an error
// ([ErrStreamTruncated]), never a silently short answer; an Anthropic
// "event: error" mid-stream becomes an error with its code (overloaded,
// rate limited, ...). Streams are bounded by the attempt timeout until the
// first event and by [Builder.StreamIdleTimeout] between reads after it;
// no client-wide timeout cuts a long answer off. Always Close a stream.
//
//	s, err := c.Stream(ctx, req)
//	if err != nil { ... }
//	defer s.Close()
//	for s.Next() {
//		fmt.Print(s.Delta())
//	}
//	if err := s.Err(); err != nil { ... }
//
// # Tools, JSON output, images and per-request options
//
// A [ChatRequest] may offer [Tool]s (with [ChatRequest.ToolChoice]); the
// model's calls come back in [ChatResponse.ToolCalls] with FinishReason
// "tool_calls". Append [ChatResponse.Message] and one [ToolResult] per
// call, and send the conversation again. [ChatRequest.ResponseFormat]
// ([JSONObject], [JSONSchema]) asks for JSON in Content. [UserParts] with
// [TextPart], [ImageURL] and [ImageData] sends images. [ChatRequest.Header]
// and [ChatRequest.Extra] add headers and provider-specific body fields to
// one call.
//
// Each target gets the request in its own wire format, so all of it
// survives a fallback from an OpenAI-format provider to Anthropic or back,
// in the middle of a tool loop included: OpenAI tools, tool_choice,
// tool_calls (arguments as a JSON string), role "tool" messages,
// response_format and image_url parts; Anthropic tools with input_schema,
// tool_choice {auto, any, tool, none}, tool_use blocks, consecutive tool
// results as one user message of tool_result blocks, and image blocks.
// Anthropic has no response_format: JSON output goes through a forced tool
// whose input is returned as Content (see [ResponseFormat]).
//
// [ChatStream.ToolCalls] assembles the calls of a stream (OpenAI
// delta.tool_calls fragments, by index or, from servers that omit it, call
// by call; Anthropic tool_use blocks and input_json_delta events). A piece
// of a tool call is a content event like a piece of text: Stream returns
// at the first one, and retry and fallback stop there.
//
// A reasoning model's thinking comes apart from the answer, in
// [ChatResponse.Reasoning] and [ChatStream.Reasoning]. [ChatResponse.Message]
// keeps it in [Message.Reasoning], and the calls' [ToolCall.Signature]s, so
// that a tool loop sends back what its provider requires with a tool turn:
// DeepSeek's reasoning_content, Anthropic's signed thinking blocks
// ([Message.ThinkingBlocks]), Gemini's thought signatures, OpenRouter's
// reasoning_details ([Message.ReasoningDetails]). No other provider is
// sent them. [ChatRequest.StreamReasoning] hands a stream's reasoning to
// the caller as it arrives ([ChatStream.ReasoningDelta]).
//
// # Errors
//
// Every error of Chat and Stream is, or wraps, an [*aierrors.Error] with a
// standard code. Branch with errors.Is(err, aierrors.RateLimited) or
// [aierrors.CodeOf]; read the details (provider, model, HTTP status, the
// provider's own code, Retry-After, request ID) with errors.As. A cancelled
// ctx gives code Cancelled and errors.Is(err, context.Canceled); the
// caller's deadline gives Timeout and errors.Is(err,
// context.DeadlineExceeded); a per-attempt timeout gives a retryable Timeout
// wrapping [ErrAttemptTimeout]. An error object inside a 200 answer or a
// stream is classified like an HTTP error and keeps HTTPStatus 200.
// API keys never appear in errors, hook payloads or log records: the
// client masks its own keys in every message a provider sends back.
//
// # Limits
//
// Every input from the network is bounded: a successful body and a
// stream's text by [Builder.MaxResponseBytes] ([ErrResponseTooLarge]), an
// error body by [MaxErrorBodyBytes] (the rest is discarded), a stream line
// or event by the larger of MaxResponseBytes and [MaxStreamLineBytes]
// ([ErrInvalidResponse]). An answer that
// is not in the provider's wire format (an HTML page from a proxy, a
// truncated body) is a classified error, never a panic. Retries may send a
// request that the provider already processed: SECURITY.md in the
// repository lists when, and how to turn them off.
//
// # Environment
//
// Build reads the environment, and only Build (never at import):
//
//	OPENAI_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, GROQ_API_KEY,
//	MISTRAL_API_KEY, OPENROUTER_API_KEY, XAI_API_KEY, TOGETHER_API_KEY,
//	GEMINI_API_KEY (or GOOGLE_API_KEY)       the key of each provider in use
//	AI_LIB_RPS, AI_LIB_BURST, AI_LIB_TPM, AI_LIB_MAX_RETRIES,
//	AI_LIB_RETRY_BUDGET, AI_LIB_BREAKER_FAILURE_THRESHOLD,
//	AI_LIB_BREAKER_COOLDOWN_SECS, AI_LIB_BREAKER_MAX_COOLDOWN_SECS,
//	AI_LIB_BREAKER_FAILURE_RATE, AI_LIB_BREAKER_MIN_REQUESTS,
//	AI_LIB_BREAKER_WINDOW_SECS, AI_LIB_MAX_INFLIGHT,
//	AI_LIB_QUEUE_TIMEOUT_MS                   resilience tuning, see [resilience.ResilientConfig.WithEnv]
//
// Code wins over the environment, which wins over the defaults, field by
// field: a key given with [Builder.APIKey] or [ProviderConfig] is used even
// when the variable is set, and a field set in [Builder.Resilience] wins
// over its variable, while the variables still fill the fields it leaves
// unset. A malformed value is a Build error naming the variable, with or
// without Resilience. Build logs one warning naming every AI_LIB_*
// variable it does not know (a misspelling such as AI_LIB_RPSS).
// [Builder.IgnoreEnvironment] turns all of it off. No variable can change
// where requests go: base URLs are set in code only. No variable declares
// a pool; a deployment's key is read from the variable it names
// ([Deployment.APIKeyEnv]) or else the provider's, and from no other.
//
// # Testing
//
// Package [github.com/ailib-go/ailib/client/providertest] is a
// fault-injection provider server speaking the OpenAI and Anthropic
// formats; point a client at it with BaseURL, or at its in-process
// Transport with [Builder.HTTPClient] inside a testing/synctest bubble.
package client
