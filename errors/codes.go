package errors

import "strings"

// Category groups codes by who has to act: the caller ("client"), the
// caller's budget ("rate"), the provider ("server"), the interplay of the
// two ("operational"), or nobody knows ("unknown").
type Category string

// The categories of the AI-Protocol V2 standard error codes.
const (
	CategoryClient      Category = "client"
	CategoryRate        Category = "rate"
	CategoryServer      Category = "server"
	CategoryOperational Category = "operational"
	CategoryUnknown     Category = "unknown"
)

// StandardErrorCode is the AI-Protocol V2 standard error code: a small
// immutable value. The zero value is not a code; [CodeOf] returns it for a
// nil error only.
//
// A StandardErrorCode is itself an error, so that
//
//	errors.Is(err, aierrors.RateLimited)
//
// holds for any err whose chain contains an [*Error] with that code.
type StandardErrorCode uint8

// The 13 standard codes, in code order. The comment gives the wire code, the
// name, the HTTP status the code stands for, and the retryable and
// fallbackable flags.
const (
	InvalidRequest   StandardErrorCode = iota + 1 // E1001 invalid_request    400  retry:no  fallback:no
	Authentication                                // E1002 authentication     401  no   yes
	PermissionDenied                              // E1003 permission_denied  403  no   no
	NotFound                                      // E1004 not_found          404  no   no
	RequestTooLarge                               // E1005 request_too_large  413  no   no
	RateLimited                                   // E2001 rate_limited       429  yes  yes
	QuotaExhausted                                // E2002 quota_exhausted    429  no   yes
	ServerError                                   // E3001 server_error       500  yes  yes
	Overloaded                                    // E3002 overloaded         503  yes  yes
	Timeout                                       // E3003 timeout            504  yes  yes
	Conflict                                      // E4001 conflict           409  yes  no
	Cancelled                                     // E4002 cancelled          —    no   no
	Unknown                                       // E9999 unknown            —    no   no
)

// codeInfo is one row of the standard table.
type codeInfo struct {
	code         string
	name         string
	category     Category
	httpStatus   int
	retryable    bool
	fallbackable bool
	description  string
}

// table holds every fact about every code, indexed by StandardErrorCode.
// It is the only place those facts are written down: every method and
// every decision in the library (retry, fallback, breaker counting) reads it.
var table = [...]codeInfo{
	InvalidRequest:   {"E1001", "invalid_request", CategoryClient, 400, false, false, "the request is malformed or has invalid parameters"},
	Authentication:   {"E1002", "authentication", CategoryClient, 401, false, true, "the credentials are missing, invalid or expired"},
	PermissionDenied: {"E1003", "permission_denied", CategoryClient, 403, false, false, "the credentials lack permission for this resource"},
	NotFound:         {"E1004", "not_found", CategoryClient, 404, false, false, "the model or endpoint does not exist"},
	RequestTooLarge:  {"E1005", "request_too_large", CategoryClient, 413, false, false, "the request or its context exceeds the model's limit"},
	RateLimited:      {"E2001", "rate_limited", CategoryRate, 429, true, true, "too many requests; slow down and retry after the indicated delay"},
	QuotaExhausted:   {"E2002", "quota_exhausted", CategoryRate, 429, false, true, "the quota, credit or billing limit is exhausted"},
	ServerError:      {"E3001", "server_error", CategoryServer, 500, true, true, "the provider failed internally"},
	Overloaded:       {"E3002", "overloaded", CategoryServer, 503, true, true, "the provider is temporarily overloaded or unavailable"},
	Timeout:          {"E3003", "timeout", CategoryServer, 504, true, true, "the request timed out"},
	Conflict:         {"E4001", "conflict", CategoryOperational, 409, true, false, "the request conflicts with the current state of a resource"},
	Cancelled:        {"E4002", "cancelled", CategoryOperational, 0, false, false, "the caller cancelled the request"},
	Unknown:          {"E9999", "unknown", CategoryUnknown, 0, false, false, "an error that could not be classified"},
}

func (c StandardErrorCode) info() codeInfo {
	if c == 0 || int(c) >= len(table) {
		return codeInfo{code: "E0000", name: "invalid", category: CategoryUnknown}
	}
	return table[c]
}

// Valid reports whether c is one of the 13 standard codes.
func (c StandardErrorCode) Valid() bool { return c != 0 && int(c) < len(table) }

// Code returns the wire code, such as "E2001".
func (c StandardErrorCode) Code() string { return c.info().code }

// Name returns the snake_case name, such as "rate_limited".
func (c StandardErrorCode) Name() string { return c.info().name }

// Category returns the code's category.
func (c StandardErrorCode) Category() Category { return c.info().category }

// HTTPStatus returns the HTTP status the code stands for, or 0 for codes
// that have none (cancelled, unknown).
func (c StandardErrorCode) HTTPStatus() int { return c.info().httpStatus }

// Retryable reports whether the same request to the same target may succeed
// if sent again later. An [*Error] may override this per error when the
// provider said so (see [Error.Retryable]).
func (c StandardErrorCode) Retryable() bool { return c.info().retryable }

// Fallbackable reports whether another target (model or provider) may
// succeed where this one failed.
func (c StandardErrorCode) Fallbackable() bool { return c.info().fallbackable }

// Description returns a one-line English description of the code.
func (c StandardErrorCode) Description() string { return c.info().description }

// String returns the code and name, such as "E2001 rate_limited", and
// "none" for the zero value (no code: a nil error's [CodeOf], a signal with
// nothing to report).
func (c StandardErrorCode) String() string {
	if c == 0 {
		return "none"
	}
	i := c.info()
	return i.code + " " + i.name
}

// Error makes a code usable as an [errors.Is] target. It returns the same
// text as [StandardErrorCode.String] (no package prefix), because fmt and
// log/slog print an error's Error() rather than its String(): a code in a
// log line should read "E2001 rate_limited" however it is printed.
func (c StandardErrorCode) Error() string { return c.String() }

// Codes returns all 13 standard codes in code order. The slice is new on
// every call; the caller may keep or change it.
func Codes() []StandardErrorCode {
	out := make([]StandardErrorCode, 0, len(table)-1)
	for c := InvalidRequest; c <= Unknown; c++ {
		out = append(out, c)
	}
	return out
}

// ParseCode finds a code by its wire code ("E2001") or its name
// ("rate_limited"), ignoring case and surrounding space.
func ParseCode(s string) (StandardErrorCode, bool) {
	s = strings.TrimSpace(s)
	for c := InvalidRequest; c <= Unknown; c++ {
		i := table[c]
		if strings.EqualFold(s, i.code) || strings.EqualFold(s, i.name) {
			return c, true
		}
	}
	return 0, false
}

// FromHTTPStatus maps an HTTP status to a code by the status alone:
// 400→E1001, 401→E1002, 403→E1003, 404→E1004, 408→E3003, 409→E4001,
// 413→E1005, 422→E1001, 429→E2001, 499→E4002, 500→E3001, 502→E3001,
// 503→E3002, 504→E3003, 529→E3002; any other 4xx→E1001, any other
// 5xx→E3001, anything else→E9999.
//
// [ClassifyResponse] starts from this and refines it with the body and
// headers (a 429 can mean quota exhausted; a 400 can mean the context is
// too long).
func FromHTTPStatus(status int) StandardErrorCode {
	switch status {
	case 400, 422:
		return InvalidRequest
	case 401:
		return Authentication
	case 403:
		return PermissionDenied
	case 404:
		return NotFound
	case 408:
		return Timeout
	case 409:
		return Conflict
	case 413:
		return RequestTooLarge
	case 429:
		return RateLimited
	case 499:
		return Cancelled
	case 500, 502:
		return ServerError
	case 503, 529:
		return Overloaded
	case 504:
		return Timeout
	}
	switch {
	case status >= 400 && status < 500:
		return InvalidRequest
	case status >= 500 && status < 600:
		return ServerError
	}
	return Unknown
}
