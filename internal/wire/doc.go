// Package wire encodes chat requests and decodes chat answers in the two
// wire formats the client speaks: OpenAI Chat Completions (used by OpenAI
// and every OpenAI-compatible provider) and the Anthropic Messages API.
//
// Requests carry text, images, tools, tool calls and results, a tool
// choice and a JSON response format, each translated to the format's own
// shapes; answers give text (a string, or the "text" chunks of the chunk
// lists Mistral's reasoning models send in its place) and tool calls (streams assemble them from
// OpenAI delta.tool_calls fragments or Anthropic tool_use blocks and
// input_json_delta events) with usage details. The Anthropic format asks
// for JSON output through a forced tool ([AnswerTool]) whose input the
// decoders return as text.
//
// It knows JSON shapes only; HTTP, headers, retries and error
// classification live in the client. An error object found where an answer
// was expected (a 200 body holding {"error": ...}, an OpenAI error chunk, an
// Anthropic "event: error") is returned as an [*APIError] carrying the raw
// JSON and the HTTP status its type stands for, so that the client can
// classify it like any HTTP error answer.
package wire
