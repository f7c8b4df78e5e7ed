package errors

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ailib-go/ailib/internal/ratelimitheader"
	"github.com/ailib-go/ailib/internal/redact"
)

// ClassifyResponse turns an HTTP error answer into an *Error, reading the
// body of every provider shape it knows and the headers. It never panics,
// whatever the bytes, and reads at most [MaxBodyBytes] of body.
//
// The result is never nil. For a status of 400 or more the code starts
// from what the status says and is refined by the body; a status below
// 400 (an error event in a 200 stream, or a misuse) still gives a
// non-nil *Error whose code comes from the body alone: provider codes, an
// HTTP status written in the body (Gemini's "code": 429), or message
// patterns, and [Unknown] when the body says nothing. HTTPStatus is
// always the status passed in.
//
// # How the code is chosen
//
//  1. The status gives a first answer: [FromHTTPStatus], except that 402
//     is [QuotaExhausted]; 498 (Groq capacity), 521 and 523 (Cloudflare:
//     origin down or unreachable) are [Overloaded]; 522, 524 (Cloudflare
//     timeouts), 598 and 599 are [Timeout].
//  2. A provider code that names a specific condition replaces it, whatever
//     the status: insufficient_quota, billing_error, context_length_exceeded,
//     overloaded_error (even on a 200 or a 429), rate_limit_exceeded,
//     invalid_api_key, model_not_found, ThrottlingException (Bedrock's
//     x-amzn-ErrorType header), UNAUTHENTICATED, and so on. Generic codes
//     (invalid_request_error, api_error, server_error, INVALID_ARGUMENT,
//     RESOURCE_EXHAUSTED, ValidationException) do not; they are recorded
//     and leave the decision to the status and message.
//  3. When no specific code was found, the message refines the answer:
//     "credit balance is too low", "insufficient balance", "exceeded your
//     current quota", "spending limit" give [QuotaExhausted]; "prompt is too
//     long", "maximum context length" give [RequestTooLarge]; "overloaded"
//     gives [Overloaded], and so do Vertex AI's pay-as-you-go 429
//     "Resource exhausted, please try again later" (a shared pool out of
//     capacity) and OpenRouter's "rate-limited upstream" (the limit of a
//     key it shares between its users): not the caller's rate, no limit
//     to learn from them; and so on. Messages never turn an answer into
//     something unrelated to its status (a 401 stays [Authentication]).
//  4. Two refinements of [RateLimited], whatever decided it: a limit over a
//     daily window (Gemini QuotaFailure quotaId "...PerDay...", a quota
//     value or "limit: 0", "requests per day (RPD)", OpenRouter
//     "free-models-per-day") is [QuotaExhausted], because waiting seconds
//     will not help but another target may; and "Limit N, Requested M"
//     with M > N (a single request larger than the per-minute token
//     budget, OpenAI 429 / Groq 413) is [RequestTooLarge], because no wait
//     makes it fit. Gemini RESOURCE_EXHAUSTED with quota violations is
//     decided by the violations, not by its message.
//
// # What else is filled in
//
// ProviderCode is the provider code that decided, else the first one the
// body carried. Message is the provider's message scrubbed of credentials
// (see [Error]) and cut to [MaxMessageLen]; an HTML page is reduced to its
// title; a body it cannot read at all is kept as text (scrubbed, cut).
// RequestID comes from x-request-id, request-id, x-amzn-requestid,
// x-amz-request-id, apim-request-id, x-ms-request-id, x-goog-request-id,
// the body's request_id, and cf-ray as a last resort. ShouldRetry is set
// from x-should-retry: true or false; a 501 without it is false.
//
// RetryAfter is, in order: retry-after-ms or Retry-After (seconds,
// fractional seconds or an HTTP-date); an upstream's Retry-After quoted in
// OpenRouter's metadata.headers, or its metadata.retry_after_seconds, when
// a minute or less (a longer wait of one upstream is not the router's:
// it routes the next request elsewhere); a Gemini RetryInfo retryDelay; a
// wait written in the message ("Please retry after 7 seconds", "try again
// in 1.5s", "retry in 20.04s"); and for [RateLimited] only, the reset time
// of the rate-limit dimension the provider reports as exhausted
// (x-ratelimit-reset-requests/-tokens, anthropic-ratelimit-*-reset, the
// IETF RateLimit-Reset, OpenRouter's X-RateLimit-Reset). Negative,
// malformed and absurd values (more than [MaxRetryAfter]) are ignored.
func ClassifyResponse(status int, header http.Header, body []byte) *Error {
	return classifyResponseAt(time.Now(), status, header, body)
}

// MaxRetryAfter is the longest wait [ClassifyResponse] accepts from a
// provider. A longer value is treated as garbage and ignored: nothing that
// far away is a retry hint.
const MaxRetryAfter = 24 * time.Hour

func classifyResponseAt(now time.Time, status int, header http.Header, body []byte) *Error {
	info := parseBody(body)
	e := &Error{HTTPStatus: status}

	codes := info.codes
	if t := amznErrorType(header); t != "" {
		codes = append([]string{t}, codes...)
	}

	effective := status
	if effective < 400 && info.statusHint >= 400 {
		effective = info.statusHint
	}
	code := statusCode(effective)

	var decidedBy string
	var strong bool
	for _, c := range codes {
		if m, ok := lookupCode(c); ok {
			if m.strong {
				code, decidedBy, strong = m.code, c, true
				break
			}
			if decidedBy == "" {
				decidedBy = c
				if code == Unknown {
					code = m.code
				}
			}
		}
	}

	msg := info.message
	lower := strings.ToLower(cutBytes(msg, maxPatternText))
	// Gemini quota violations say exactly which limit was hit; its message
	// ("You exceeded your current quota") says the same for per-minute and
	// per-day limits, so the violations decide (step 4), not the message.
	if !strong && !(code == RateLimited && len(info.violations) > 0) {
		code = refineByMessage(code, lower)
	}
	if code == RateLimited {
		code = refineRateLimited(code, info, lower)
	}
	e.Code = code

	e.ProviderCode = cleanField(pickProviderCode(codes, decidedBy), maxCodeLen)
	if effective >= 400 || info.structured || info.html {
		// A body with no error structure under a success status is most
		// likely a success body passed in by mistake; its text (possibly
		// generated content) does not belong in an error.
		e.Message = cleanMessage(msg)
	}
	e.RequestID = cleanField(requestID(header, info.requestID), maxRequestIDLen)
	e.ShouldRetry = shouldRetry(header)
	if e.ShouldRetry == nil && effective == http.StatusNotImplemented {
		// 501: the server cannot do this at all (llama.cpp started for
		// embeddings only; an endpoint a compatible server lacks). Asking
		// again is pointless; another target may well do it.
		e.ShouldRetry = new(false)
	}
	e.RetryAfter = retryAfter(now, code, header, info, msg)
	return e
}

// maxPatternText bounds the message text that message patterns are
// matched against; the patterns sit at the start of any real message.
const maxPatternText = 8 << 10

// Lengths kept of the short fields.
const (
	maxCodeLen      = 64
	maxRequestIDLen = 128
)

// statusCode is step 1 of the decision: the status alone.
func statusCode(status int) StandardErrorCode {
	switch status {
	case 402:
		return QuotaExhausted
	case 498, 521, 523:
		return Overloaded
	case 522, 524, 598, 599:
		return Timeout
	}
	if status < 400 {
		return Unknown
	}
	return FromHTTPStatus(status)
}

// amznErrorType returns the error type of an AWS answer from its
// x-amzn-ErrorType header ("ThrottlingException:http://internal.amazon.com/...").
func amznErrorType(h http.Header) string {
	v := ratelimitheader.Get(h, "X-Amzn-Errortype")
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// pickProviderCode returns the code that decided, else the first
// non-numeric one, else the first one.
func pickProviderCode(codes []string, decidedBy string) string {
	if decidedBy != "" {
		return decidedBy
	}
	for _, c := range codes {
		if _, err := strconv.Atoi(c); err != nil {
			return c
		}
	}
	if len(codes) > 0 {
		return codes[0]
	}
	return ""
}

// requestIDHeaders are read in order; cf-ray (Cloudflare's trace id, not
// the provider's) only when nothing else was sent.
var requestIDHeaders = []string{
	"X-Request-Id", "Request-Id", "X-Amzn-Requestid", "X-Amz-Request-Id", "Apim-Request-Id",
	"X-Ms-Request-Id", "X-Goog-Request-Id", "X-Requestid", "X-Correlation-Id",
}

func requestID(h http.Header, fromBody string) string {
	for _, k := range requestIDHeaders {
		if v := strings.TrimSpace(ratelimitheader.Get(h, k)); v != "" {
			return v
		}
	}
	if fromBody != "" {
		return fromBody
	}
	return strings.TrimSpace(ratelimitheader.Get(h, "Cf-Ray"))
}

// shouldRetry reads x-should-retry: true|false; anything else is no verdict.
func shouldRetry(h http.Header) *bool {
	switch strings.ToLower(strings.TrimSpace(ratelimitheader.Get(h, "X-Should-Retry"))) {
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	return nil
}

// cleanMessage scrubs credentials from s and bounds it to one line of at
// most MaxMessageLen bytes (plus an ellipsis). It redacts before cutting,
// so no part of a key survives at the cut.
func cleanMessage(s string) string {
	if s == "" {
		return ""
	}
	s = cutBytes(s, 4*MaxMessageLen)
	return oneLine(redact.String(s), MaxMessageLen)
}

// cleanField is cleanMessage for short fields.
func cleanField(s string, max int) string {
	if s == "" {
		return ""
	}
	s = cutBytes(s, 4*max)
	return oneLine(redact.String(s), max)
}
