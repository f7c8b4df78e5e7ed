package errors

import (
	"context"
	stderrors "errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCodesTable(t *testing.T) {
	tests := []struct {
		code                    StandardErrorCode
		wire, name              string
		category                Category
		status                  int
		retryable, fallbackable bool
	}{
		{InvalidRequest, "E1001", "invalid_request", CategoryClient, 400, false, false},
		{Authentication, "E1002", "authentication", CategoryClient, 401, false, true},
		{PermissionDenied, "E1003", "permission_denied", CategoryClient, 403, false, false},
		{NotFound, "E1004", "not_found", CategoryClient, 404, false, false},
		{RequestTooLarge, "E1005", "request_too_large", CategoryClient, 413, false, false},
		{RateLimited, "E2001", "rate_limited", CategoryRate, 429, true, true},
		{QuotaExhausted, "E2002", "quota_exhausted", CategoryRate, 429, false, true},
		{ServerError, "E3001", "server_error", CategoryServer, 500, true, true},
		{Overloaded, "E3002", "overloaded", CategoryServer, 503, true, true},
		{Timeout, "E3003", "timeout", CategoryServer, 504, true, true},
		{Conflict, "E4001", "conflict", CategoryOperational, 409, true, false},
		{Cancelled, "E4002", "cancelled", CategoryOperational, 0, false, false},
		{Unknown, "E9999", "unknown", CategoryUnknown, 0, false, false},
	}
	if got := Codes(); len(got) != len(tests) {
		t.Fatalf("len(Codes()) = %d; want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.code
			if Codes()[i] != c {
				t.Errorf("Codes()[%d] = %v; want %v", i, Codes()[i], c)
			}
			if c.Code() != tt.wire || c.Name() != tt.name || c.Category() != tt.category || c.HTTPStatus() != tt.status ||
				c.Retryable() != tt.retryable || c.Fallbackable() != tt.fallbackable {
				t.Errorf("%v = {%s %s %s %d %v %v}; want {%s %s %s %d %v %v}", c,
					c.Code(), c.Name(), c.Category(), c.HTTPStatus(), c.Retryable(), c.Fallbackable(),
					tt.wire, tt.name, tt.category, tt.status, tt.retryable, tt.fallbackable)
			}
			if c.String() != tt.wire+" "+tt.name {
				t.Errorf("String() = %q; want %q", c.String(), tt.wire+" "+tt.name)
			}
			if c.Description() == "" || !c.Valid() {
				t.Errorf("Description() = %q, Valid() = %v; want text, true", c.Description(), c.Valid())
			}
			for _, s := range []string{tt.wire, tt.name, strings.ToUpper(tt.name), " " + strings.ToLower(tt.wire) + " "} {
				if got, ok := ParseCode(s); !ok || got != c {
					t.Errorf("ParseCode(%q) = %v, %v; want %v, true", s, got, ok, c)
				}
			}
		})
	}
	for _, s := range []string{"", "E0000", "rate", "E20011"} {
		if got, ok := ParseCode(s); ok {
			t.Errorf("ParseCode(%q) = %v, true; want false", s, got)
		}
	}
	var zero StandardErrorCode
	if zero.Valid() || StandardErrorCode(200).Valid() {
		t.Errorf("zero or out-of-range code reports Valid")
	}
}

func TestFromHTTPStatus(t *testing.T) {
	tests := []struct {
		status int
		want   StandardErrorCode
	}{
		{400, InvalidRequest}, {401, Authentication}, {403, PermissionDenied}, {404, NotFound},
		{408, Timeout}, {409, Conflict}, {413, RequestTooLarge}, {422, InvalidRequest}, {429, RateLimited},
		{499, Cancelled}, {500, ServerError}, {502, ServerError}, {503, Overloaded}, {504, Timeout},
		{529, Overloaded}, {402, InvalidRequest}, {418, InvalidRequest}, {501, ServerError}, {599, ServerError},
		{200, Unknown}, {0, Unknown}, {-1, Unknown}, {600, Unknown},
	}
	for _, tt := range tests {
		if got := FromHTTPStatus(tt.status); got != tt.want {
			t.Errorf("FromHTTPStatus(%d) = %v; want %v", tt.status, got, tt.want)
		}
	}
}

func TestWrapping(t *testing.T) {
	base := ClassifyResponse(429, nil, []byte(`{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`))
	wrapped := fmt.Errorf("client: chat openai/gpt-4o: %w", fmt.Errorf("attempt 3: %w", base))

	if !stderrors.Is(wrapped, RateLimited) {
		t.Errorf("errors.Is(wrapped, RateLimited) = false; want true")
	}
	if stderrors.Is(wrapped, QuotaExhausted) {
		t.Errorf("errors.Is(wrapped, QuotaExhausted) = true; want false")
	}
	var e *Error
	if !stderrors.As(wrapped, &e) || e != base {
		t.Errorf("errors.As(wrapped, &e) = %v (e=%p); want true, %p", e != nil, e, base)
	}
	if got := CodeOf(wrapped); got != RateLimited {
		t.Errorf("CodeOf(wrapped) = %v; want %v", got, RateLimited)
	}
	if !IsRetryable(wrapped) || !IsFallbackable(wrapped) {
		t.Errorf("IsRetryable, IsFallbackable(wrapped) = %v, %v; want true, true", IsRetryable(wrapped), IsFallbackable(wrapped))
	}
	joined := stderrors.Join(stderrors.New("other"), fmt.Errorf("x: %w", &Error{Code: QuotaExhausted}))
	if !stderrors.Is(joined, QuotaExhausted) || CodeOf(joined) != QuotaExhausted {
		t.Errorf("errors.Is / CodeOf through errors.Join failed: %v", CodeOf(joined))
	}
}

func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want StandardErrorCode
	}{
		{"nil", nil, 0},
		{"plain error", stderrors.New("x"), Unknown},
		{"context canceled unclassified", context.Canceled, Unknown},
		{"error", &Error{Code: Timeout}, Timeout},
		{"wrapped", fmt.Errorf("a: %w", &Error{Code: NotFound}), NotFound},
		{"typed nil *Error", fmt.Errorf("a: %w", (*Error)(nil)), Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(tt.err); got != tt.want {
				t.Errorf("CodeOf(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRetryableAndFallbackable(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name                    string
		err                     error
		retryable, fallbackable bool
	}{
		{"rate limited", &Error{Code: RateLimited}, true, true},
		{"quota", &Error{Code: QuotaExhausted}, false, true},
		{"server error told not to retry", &Error{Code: ServerError, ShouldRetry: &no}, false, true},
		{"invalid request told to retry", &Error{Code: InvalidRequest, ShouldRetry: &yes}, true, false},
		{"plain error", stderrors.New("x"), false, false},
		{"nil", nil, false, false},
		{"typed nil", (*Error)(nil), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v; want %v", tt.err, got, tt.retryable)
			}
			if got := IsFallbackable(tt.err); got != tt.fallbackable {
				t.Errorf("IsFallbackable(%v) = %v; want %v", tt.err, got, tt.fallbackable)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"nil", nil, "ailib: <nil>"},
		{"code only", &Error{Code: Unknown}, "ailib: E9999 unknown"},
		{
			"full",
			&Error{Code: RateLimited, Provider: "openai", Model: "gpt-4o", HTTPStatus: 429, ProviderCode: "rate_limit_exceeded",
				RequestID: "req_123", RetryAfter: 2 * time.Second, Message: "Rate limit reached"},
			"ailib: openai/gpt-4o: E2001 rate_limited (HTTP 429, rate_limit_exceeded, request req_123, retry after 2s): Rate limit reached",
		},
		{"model only", &Error{Code: Timeout, Model: "m"}, "ailib: m: E3003 timeout"},
		{"cause as message", &Error{Code: ServerError, Err: stderrors.New("read: connection reset by peer")}, "ailib: E3001 server_error: read: connection reset by peer"},
		{"multi-line message folded", &Error{Code: ServerError, Message: "a\nb\r\n\tc"}, "ailib: E3001 server_error: a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestErrorTextBounded(t *testing.T) {
	e := &Error{
		Code: ServerError, Provider: strings.Repeat("p", 1000), Model: strings.Repeat("m", 1000),
		ProviderCode: strings.Repeat("c", 1000), RequestID: strings.Repeat("r", 1000),
		Message: strings.Repeat("é", 10000) + "\n" + strings.Repeat("x", 10000),
	}
	checkErrorText(t, e)
	e = &Error{Code: ServerError, Message: "\xff\xfe bad utf8 \u2028 separator \x00 nul"}
	text := e.Error()
	if strings.ContainsAny(text, "\u2028\x00") || !strings.Contains(text, "bad utf8") {
		t.Errorf("Error() = %q; want separators and controls replaced", text)
	}
}

func TestErrorIsOnlyMatchesCodes(t *testing.T) {
	e := &Error{Code: Overloaded, Err: context.DeadlineExceeded}
	if !stderrors.Is(e, Overloaded) || stderrors.Is(e, ServerError) {
		t.Errorf("errors.Is by code wrong for %v", e)
	}
	if !stderrors.Is(e, context.DeadlineExceeded) {
		t.Errorf("errors.Is(e, context.DeadlineExceeded) = false; want true through Unwrap")
	}
	if got := Overloaded.Error(); got != "E3002 overloaded" {
		t.Errorf("Overloaded.Error() = %q; want %q", got, "E3002 overloaded")
	}
}

// TestDocTableMatchesCodes keeps the codes table in doc.go in step with
// the table in codes.go.
func TestDocTableMatchesCodes(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, c := range Codes() {
		status := "—"
		if c.HTTPStatus() != 0 {
			status = strconv.Itoa(c.HTTPStatus())
		}
		want := []string{c.Code(), c.Name(), string(c.Category()), status, yesNo(c.Retryable()), yesNo(c.Fallbackable())}
		found := false
		for _, line := range strings.Split(string(doc), "\n") {
			f := strings.Fields(strings.TrimPrefix(line, "//"))
			if len(f) >= 6 && f[0] == c.Code() {
				found = true
				if got := f[:6]; strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("doc.go row for %s = %v; want %v", c.Code(), got, want)
				}
				if !strings.Contains(line, c.Description()) {
					t.Errorf("doc.go row for %s lacks the description %q", c.Code(), c.Description())
				}
			}
		}
		if !found {
			t.Errorf("doc.go has no row for %s", c.Code())
		}
	}
}
