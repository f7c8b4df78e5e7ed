// Package redact removes credentials from text before it is stored in an
// error, logged or printed.
//
// [String] masks substrings that look like API keys or tokens whatever
// their origin: provider key formats (OpenAI sk-/sk-proj-, Anthropic
// sk-ant-, OpenRouter sk-or-, Google AIza, Groq gsk_, xAI xai-, Hugging Face
// hf_, Replicate r8_, Perplexity pplx-, AWS AKIA/ASIA), JSON Web Tokens,
// Google OAuth ya29. tokens, "Bearer <token>", and long values that follow
// a word such as key, token, secret or password ("api_key=...",
// `"token": "..."`, "?key=..."). [Secrets] masks the secrets the caller
// knows, such as the API keys it configured, by value: in any encoding
// (raw, JSON- and Go-escaped, URL-escaped, HTML references) and whatever
// characters they hold, including a start of one cut off at the end of a
// text.
//
// Masking keeps a known provider prefix ("sk-proj-***") so that a reader
// can still tell which kind of credential was involved, and drops every
// character of the secret itself. Detection is heuristic: it errs towards
// masking long random-looking values, and the client masks its own keys
// with [Secrets], which does not depend on any pattern.
//
// Both are safe for concurrent use, run in time linear in the
// input, and never panic.
package redact
