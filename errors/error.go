package errors

import (
	stderrors "errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ailib-go/ailib/internal/redact"
)

// MaxMessageLen bounds the provider message kept in an [Error], in bytes.
// Provider bodies can be large (an HTML error page, a stack trace); an error
// value is logged and printed, so it keeps only the start.
const MaxMessageLen = 512

// Error is every failure the library returns about a provider call, whether
// the provider answered with an error, the transport failed, or the library
// itself refused the attempt (open circuit, no rate token in time).
//
// Branch on it with [errors.Is] against a code (errors.Is(err,
// aierrors.RateLimited)), with [CodeOf], or with [errors.As] to read the
// fields. The cause stays reachable through Unwrap, so errors.Is(err,
// context.Canceled) holds for a cancelled call.
//
// Error never contains credentials: messages taken from provider bodies are
// scrubbed of key-like strings and cut to [MaxMessageLen].
type Error struct {
	Code         StandardErrorCode
	Provider     string        // "openai", "anthropic", ... ("" when not known)
	Model        string        // the model the request was for ("" when not known)
	HTTPStatus   int           // 0 when the failure was not an HTTP answer
	ProviderCode string        // the provider's own type/code, e.g. "insufficient_quota"
	Message      string        // the provider's message; never contains credentials
	RetryAfter   time.Duration // from Retry-After / retry-after-ms / reset headers; 0 when none
	RequestID    string        // x-request-id / request-id when sent

	// ShouldRetry is the provider's own verdict from the x-should-retry
	// header, nil when it sent none; false for a 501 Not Implemented
	// without one (the server cannot do it at all). When set it overrides
	// the code's retryable flag for this error: see [Error.Retryable].
	ShouldRetry *bool

	Err error // cause, if any
}

// Error returns a one-line description: code, where it came from, and the
// provider's message. For example:
//
//	ailib: openai/gpt-4o: E2001 rate_limited (HTTP 429, rate_limit_exceeded, request req_123, retry after 2s): Rate limit reached
func (e *Error) Error() string {
	if e == nil {
		return "ailib: <nil>"
	}
	var b strings.Builder
	b.WriteString("ailib: ")
	if e.Provider != "" || e.Model != "" {
		b.WriteString(oneLine(e.Provider, maxNameLen))
		if e.Model != "" {
			if e.Provider != "" {
				b.WriteByte('/')
			}
			b.WriteString(oneLine(e.Model, maxNameLen))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Code.String())
	var details []string
	if e.HTTPStatus != 0 {
		details = append(details, "HTTP "+strconv.Itoa(e.HTTPStatus))
	}
	if e.ProviderCode != "" {
		details = append(details, oneLine(e.ProviderCode, maxCodeLen))
	}
	if e.RequestID != "" {
		details = append(details, "request "+oneLine(e.RequestID, maxRequestIDLen))
	}
	if e.RetryAfter > 0 {
		details = append(details, "retry after "+roundDuration(e.RetryAfter).String())
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteByte(')')
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(cleanMessage(msg))
	}
	// Every field is scrubbed again here: a caller may have built the
	// Error by hand, and a cause's text (a URL with ?key=...) is not
	// under our control.
	return redact.String(b.String())
}

// roundDuration rounds d for a reader: to the second from a minute up
// (4m59.9995s reads 5m0s), to 10ms from a second up, to the millisecond
// from a millisecond up. A wait computed from the clock is never exact,
// and its last digits are noise.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// maxNameLen bounds the provider and model names in Error.
const maxNameLen = 128

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's code, so that errors.Is(err,
// aierrors.QuotaExhausted) works through any wrapping.
func (e *Error) Is(target error) bool {
	c, ok := target.(StandardErrorCode)
	return ok && e != nil && c == e.Code
}

// Retryable reports whether sending the same request again may succeed.
// The provider's x-should-retry header ([Error.ShouldRetry]) wins when
// present; otherwise the code's flag decides.
func (e *Error) Retryable() bool {
	if e == nil {
		return false
	}
	if e.ShouldRetry != nil {
		return *e.ShouldRetry
	}
	return e.Code.Retryable()
}

// Fallbackable reports whether another target may succeed where this one
// failed. It is the code's flag.
func (e *Error) Fallbackable() bool { return e != nil && e.Code.Fallbackable() }

// CodeOf returns the code of the first [*Error] in err's chain, [Unknown]
// for any other non-nil error, and 0 for nil.
func CodeOf(err error) StandardErrorCode {
	if err == nil {
		return 0
	}
	var e *Error
	if stderrors.As(err, &e) && e != nil {
		return e.Code
	}
	return Unknown
}

// IsRetryable reports whether err is an [*Error] whose
// [Error.Retryable] is true. Errors of other types are not retryable: the
// library retries only what it has classified.
func IsRetryable(err error) bool {
	var e *Error
	return stderrors.As(err, &e) && e.Retryable()
}

// IsFallbackable reports whether err is an [*Error] whose code is
// fallbackable.
func IsFallbackable(err error) bool {
	var e *Error
	return stderrors.As(err, &e) && e.Fallbackable()
}

// oneLine folds s onto one line (control characters, including line and
// paragraph separators, become spaces; invalid UTF-8 becomes U+FFFD) and
// cuts it to at most max bytes, plus an ellipsis, without splitting a UTF-8
// sequence.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	return cutBytes(s, max) + "…"
}

// cutBytes returns the longest prefix of s of at most max bytes that does
// not split a UTF-8 sequence.
func cutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
