// Package wire encodes chat requests and decodes chat answers in the two
// wire formats the client speaks: OpenAI Chat Completions (used by OpenAI
// and every OpenAI-compatible provider) and the Anthropic Messages API.
//
// It knows JSON shapes only; HTTP, headers, retries and error
// classification live in the client. An error object found where an answer
// was expected (a 200 body holding {"error": ...}, an OpenAI error chunk, an
// Anthropic "event: error") is returned as an [*APIError] carrying the raw
// JSON and the HTTP status its type stands for, so that the client can
// classify it like any HTTP error answer.
package wire
