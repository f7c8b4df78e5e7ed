package errors_test

import (
	"context"
	"fmt"
	"net/http"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Codes lists the standard codes in code order, each with its flags.
func ExampleCodes() {
	for _, c := range aierrors.Codes()[:3] {
		fmt.Println(c.Code(), c.Name(), c.Category(), c.HTTPStatus(), c.Retryable(), c.Fallbackable())
	}
	// Output:
	// E1001 invalid_request client 400 false false
	// E1002 authentication client 401 false true
	// E1003 permission_denied client 403 false false
}

// FromHTTPStatus maps a bare status; ClassifyResponse refines it with the
// body and headers.
func ExampleFromHTTPStatus() {
	for _, status := range []int{408, 422, 429, 502, 529} {
		fmt.Println(status, aierrors.FromHTTPStatus(status))
	}
	// Output:
	// 408 E3003 timeout
	// 422 E1001 invalid_request
	// 429 E2001 rate_limited
	// 502 E3001 server_error
	// 529 E3002 overloaded
}

// IsRetryable and IsFallbackable give the library's verdict for any error:
// the code's flags, with the provider's x-should-retry header winning.
func ExampleIsRetryable() {
	overloaded := aierrors.ClassifyResponse(http.StatusServiceUnavailable, nil, nil)
	fmt.Println(aierrors.IsRetryable(overloaded), aierrors.IsFallbackable(overloaded))

	h := http.Header{}
	h.Set("X-Should-Retry", "false")
	told := aierrors.ClassifyResponse(http.StatusServiceUnavailable, h, nil)
	fmt.Println(aierrors.IsRetryable(told), told.Code.Retryable())

	cancelled := aierrors.ClassifyTransport(context.Canceled)
	fmt.Println(aierrors.IsRetryable(cancelled), aierrors.IsFallbackable(cancelled))
	// Output:
	// true true
	// false true
	// false false
}

// Fallbackable separates "try another provider" from "give up": a bad
// key on one provider says nothing about the next one, a malformed
// request does.
func ExampleError_Fallbackable() {
	auth := aierrors.ClassifyResponse(http.StatusUnauthorized, nil,
		[]byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`))
	bad := aierrors.ClassifyResponse(http.StatusBadRequest, nil,
		[]byte(`{"error":{"message":"'messages' must not be empty","type":"invalid_request_error","param":"messages","code":null}}`))
	fmt.Println(auth.Code, auth.Fallbackable())
	fmt.Println(bad.Code, bad.Fallbackable())
	// Output:
	// E1002 authentication true
	// E1001 invalid_request false
}

// IsFallbackable says whether another provider may do better: an
// exhausted quota is the provider's own (not worth a retry there, worth a
// fallback); a request over the model's limit is the caller's to shorten.
func ExampleIsFallbackable() {
	quota := aierrors.ClassifyResponse(http.StatusTooManyRequests, nil,
		[]byte(`{"error":{"message":"You exceeded your current quota.","type":"insufficient_quota","code":"insufficient_quota"}}`))
	fmt.Println(quota.Code, aierrors.IsRetryable(quota), aierrors.IsFallbackable(quota))

	tooLong := aierrors.ClassifyResponse(http.StatusBadRequest, nil,
		[]byte(`{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}`))
	fmt.Println(tooLong.Code, aierrors.IsRetryable(tooLong), aierrors.IsFallbackable(tooLong))
	// Output:
	// E2002 quota_exhausted false true
	// E1005 request_too_large false false
}

// Each code carries its identity and the two flags that drive retries
// and fallback.
func ExampleStandardErrorCode() {
	c := aierrors.Overloaded
	fmt.Println(c.Code(), c.Name(), c.Category(), c.HTTPStatus(), c.Retryable(), c.Fallbackable())
	fmt.Println(c.Description())
	// Output:
	// E3002 overloaded server 503 true true
	// the provider is temporarily overloaded or unavailable
}
