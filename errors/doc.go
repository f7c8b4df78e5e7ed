// Package errors defines the AI-Protocol V2 standard error codes and the
// one error type, [*Error], that every ailib call returns about a
// provider, and turns provider answers and transport failures into them.
//
// The package is named errors, like the standard library's. Import it
// under the alias aierrors, everywhere, and keep the standard package
// unaliased:
//
//	import (
//		"errors"
//
//		aierrors "github.com/ailib-go/ailib/errors"
//	)
//
// # Codes
//
// A [StandardErrorCode] is a small immutable value. The 13 codes, with the
// HTTP status each stands for and what the library does with them:
//
//	Code   Name               Category     HTTP  Retry  Fallback  Meaning
//	E1001  invalid_request    client       400   no     no        the request is malformed or has invalid parameters
//	E1002  authentication     client       401   no     yes       the credentials are missing, invalid or expired
//	E1003  permission_denied  client       403   no     no        the credentials lack permission for this resource
//	E1004  not_found          client       404   no     no        the model or endpoint does not exist
//	E1005  request_too_large  client       413   no     no        the request or its context exceeds the model's limit
//	E2001  rate_limited       rate         429   yes    yes       too many requests; slow down and retry after the indicated delay
//	E2002  quota_exhausted    rate         429   no     yes       the quota, credit or billing limit is exhausted
//	E3001  server_error       server       500   yes    yes       the provider failed internally
//	E3002  overloaded         server       503   yes    yes       the provider is temporarily overloaded or unavailable
//	E3003  timeout            server       504   yes    yes       the request timed out
//	E4001  conflict           operational  409   yes    no        the request conflicts with the current state of a resource
//	E4002  cancelled          operational  —     no     no        the caller cancelled the request
//	E9999  unknown            unknown      —     no     no        an error that could not be classified
//
// "Retry" means the same request to the same target may succeed later;
// "Fallback" means another target (model or provider) may succeed where
// this one failed. [Codes] lists them, [ParseCode] reads "E2001" or
// "rate_limited", [FromHTTPStatus] maps a bare status.
//
// # Branching on an error
//
// Never match error strings. Use [errors.Is] with a code, which works
// through any wrapping:
//
//	switch {
//	case errors.Is(err, aierrors.RateLimited):
//		// slow down; the *Error's RetryAfter says how long
//	case errors.Is(err, aierrors.QuotaExhausted):
//		// out of credit or over a daily quota: use another provider, alert a human
//	case errors.Is(err, aierrors.RequestTooLarge):
//		// shorten the prompt
//	case errors.Is(err, context.Canceled):
//		// the caller gave up; still true for errors ailib returns
//	}
//
// Or ask for the code with [CodeOf], or for the library's verdict with
// [IsRetryable] and [IsFallbackable]. Read the details (provider, model,
// HTTP status, the provider's own code, request ID, wait) with
// [errors.As]:
//
//	var e *aierrors.Error
//	if errors.As(err, &e) {
//		log.Printf("request %s failed: %s, retry after %v", e.RequestID, e.Code, e.RetryAfter)
//	}
//
// A provider may say whether to retry in an x-should-retry header; that
// verdict is kept in [Error.ShouldRetry] and wins over the code's flag in
// [Error.Retryable] and [IsRetryable]. A 501 Not Implemented without one is
// a server_error that is not retried (the server cannot do it at all) but
// still falls back.
//
// # Classifying
//
// [ClassifyResponse] reads an HTTP error answer: the status, the
// headers, and the body of every provider shape it knows (OpenAI and the
// OpenAI-compatible APIs, Anthropic, Gemini and Vertex AI, DeepSeek,
// Mistral, Groq, OpenRouter, xAI, Azure OpenAI, AWS Bedrock, LiteLLM and
// other gateways, FastAPI servers, HTML pages from proxies and CDNs, plain
// text, empty and truncated bodies). The provider's own codes decide over
// message text; the split that matters most is a 429 that means "slow
// down" ([RateLimited]) from one that means "out of quota" ([QuotaExhausted]).
// [ClassifyTransport] does the same for errors where no answer arrived
// (cancellation, timeouts, refused and reset connections, TLS), and its doc
// says which of those are safe to retry.
//
// # Credentials
//
// Error text never contains credentials: provider messages are scrubbed of
// key-like strings (sk-..., AIza..., Bearer tokens, key=... values) when
// classified, and [Error.Error] scrubs its whole text again, so a cause
// whose text holds a URL with ?key=... is masked too. Messages are cut to
// [MaxMessageLen] and folded onto one line.
package errors
