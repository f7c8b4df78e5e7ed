// Package providertest is a fault-injection AI provider server for tests,
// the way [net/http/httptest] is a test HTTP server.
//
// A [Server] speaks the providers' real wire formats: OpenAI Chat
// Completions on POST …/chat/completions (JSON, or SSE chunks ending in
// "data: [DONE]") and Anthropic Messages on POST …/messages (JSON, or the
// message_start … message_stop event stream). Requests are routed by the
// "model" field of their body, and each model can be told how to misbehave:
//
//   - [Server.Script] queues answers consumed in order: a success, a 503, a
//     429 with Retry-After, a reset connection, a stream cut after three
//     events, an "event: error" mid-stream, a slow answer.
//   - Presets give the real error shapes of each provider: [RateLimited],
//     [InsufficientQuota], [ContextLengthExceeded], [InvalidAPIKey],
//     [AnthropicOverloaded], [AnthropicRateLimited],
//     [GeminiResourceExhausted], [DeepSeekInsufficientBalance], [HTML502],
//     and the format-neutral [ServerError] and [Unavailable].
//   - [Server.SetFaults] draws random failures from a seed: the same seed
//     and the same order of requests give the same outcomes ([Faults.CallKey]:
//     the same calls give the same outcomes, call by call, in any order).
//   - [Server.SetRateLimit] enforces a provider-side rate limit and reports
//     it in rate-limit headers, so a client's limiter can learn it;
//     [Server.SetRateLimitStyle] reports it as a provider documents it
//     (OpenAI's or Anthropic's per-minute headers over a per-second
//     bucket), with Retry-After alone, or not at all.
//   - [Server.SetDefault] answers once the script is used up.
//   - Tools: [CallTools] (or [Answer.ToolCalls]) scripts a model that calls
//     tools, rendered as OpenAI tool_calls or Anthropic tool_use blocks, and
//     streamed as each format's fragments (delta.tool_calls by index;
//     content_block_start and input_json_delta). A JSON-object [OK] text
//     answers an Anthropic request that forces a tool as that tool's call,
//     which is how JSON output through a forced tool works. Requests whose
//     tool calls and results do not pair up get the provider's 400.
//   - Reasoning: [Answer.Reasoning] sends the model's reasoning before its
//     text, as reasoning models do: DeepSeek's reasoning_content on OpenAI
//     routes (delta.reasoning_content chunks in a stream), an Anthropic
//     thinking block with a fake signature (thinking_delta events, then a
//     signature_delta). [Answer.CutAfter] can cut a stream in the middle of
//     it.
//
// So a tool loop can be tested offline: script the call, then the answer,
// and read what the loop sent back with [Request.ToolResults].
//
// [Server.Requests], [Server.Stats] and [Server.Received] tell what the
// server saw and sent; a [Request] also says which tools, tool choice,
// response format, tool calls, tool results and images its body carried,
// read from either format.
//
// # Listening or in-process
//
// [NewServer] listens on a loopback port: point any HTTP client at
// [Server.URL]. [New] does not listen: use [Server.Handler], or
// [Server.Transport], an http.RoundTripper that runs the server in-process
// with no socket, so it works inside [testing/synctest] bubbles where
// delays, Retry-After waits and rate limits run on the bubble's fake clock.
// Both report aborts as a network would: a reset connection, a body that
// ends with io.ErrUnexpectedEOF.
//
//	srv := providertest.NewServer()
//	defer srv.Close()
//	srv.Script("gpt-4o", providertest.Unavailable(), providertest.OK("hi"))
//	// POST srv.URL()+"/v1/chat/completions" {"model":"gpt-4o",...}: a 503, then "hi".
//
// # Concurrency
//
// A Server is safe for concurrent use; scripts, faults and limits may
// change while requests are served. Each model's answers are handed out in
// arrival order.
package providertest
