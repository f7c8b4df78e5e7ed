// Package ratelimitheader parses the rate-limit headers AI providers send
// with their answers, successful or not.
//
// It knows these families:
//
//   - OpenAI and OpenAI-compatible APIs (Groq, DeepSeek, Together, Azure
//     OpenAI, LiteLLM, ...): x-ratelimit-{limit,remaining,reset}-{requests,tokens},
//     where reset is a Go-style duration such as "1s", "6m0s", "120ms" or
//     "2m59.56s" (a bare number is taken as seconds).
//   - Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset},
//     where reset is an RFC 3339 time.
//   - The IETF httpapi draft: RateLimit-Limit, RateLimit-Remaining and
//     RateLimit-Reset (delta seconds), and the combined RateLimit header
//     ("limit=100, remaining=50, reset=5" or the later `"default";r=50;t=30`).
//   - The common un-prefixed x-ratelimit-limit / -remaining / -reset
//     (OpenRouter and many gateways), where reset is delta seconds, Unix
//     seconds or Unix milliseconds, told apart by size.
//
// Nothing here fails: a header that is missing, malformed, negative, out
// of range or in the past is ignored as if it had not been sent. Times are
// computed relative to the now passed in, so callers (and tests) control
// the clock.
//
// Header names are matched case-insensitively, as [strings.EqualFold] does,
// in one pass over the header map: a key is told apart by its first byte
// and length, and only a likely one is looked up, so an answer without
// rate-limit headers costs a glance at each key. A canonical key, as
// net/http stores received headers, wins over other spellings of the same
// name in hand-built maps.
package ratelimitheader
