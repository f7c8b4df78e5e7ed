package errors_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	aierrors "github.com/ailib-go/ailib/errors"
)

func ExampleClassifyResponse() {
	// An OpenAI answer: HTTP 429, but the account is out of credit, not
	// sending too fast. Retrying will not help; another provider may.
	header := http.Header{}
	header.Set("X-Request-Id", "req_7f3a1c")
	body := []byte(`{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`)

	e := aierrors.ClassifyResponse(http.StatusTooManyRequests, header, body)
	fmt.Println(e.Code.String())
	fmt.Println("retryable:", e.Retryable(), "fallbackable:", e.Fallbackable())
	fmt.Println(e)

	// An Anthropic answer: overloaded, with the wait it asks for.
	header = http.Header{}
	header.Set("Retry-After", "15")
	e = aierrors.ClassifyResponse(529, header, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	fmt.Println(e.Code.String(), e.RetryAfter)
	// Output:
	// E2002 quota_exhausted
	// retryable: false fallbackable: true
	// ailib: E2002 quota_exhausted (HTTP 429, insufficient_quota, request req_7f3a1c): You exceeded your current quota, please check your plan and billing details.
	// E3002 overloaded 15s
}

// Branch on an error with errors.Is against a code; it works through any
// wrapping. Read the details with errors.As.
func Example_branching() {
	header := http.Header{}
	header.Set("Retry-After", "2")
	var err error = aierrors.ClassifyResponse(429, header,
		[]byte(`{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}`))
	err = fmt.Errorf("summarise: %w", err)

	switch {
	case errors.Is(err, aierrors.RateLimited):
		var e *aierrors.Error
		if errors.As(err, &e) {
			fmt.Println("slow down; retry after", e.RetryAfter)
		}
	case errors.Is(err, aierrors.QuotaExhausted):
		fmt.Println("out of credit: switch provider")
	case aierrors.IsRetryable(err):
		fmt.Println("transient: retry")
	default:
		fmt.Println("give up:", err)
	}
	// Output:
	// slow down; retry after 2s
}

func ExampleCodeOf() {
	quota := fmt.Errorf("chat: %w", &aierrors.Error{Code: aierrors.QuotaExhausted})
	fmt.Println(aierrors.CodeOf(quota).String())
	fmt.Println(aierrors.CodeOf(errors.New("not ours")).String())
	fmt.Println(aierrors.CodeOf(nil) == 0)
	// Output:
	// E2002 quota_exhausted
	// E9999 unknown
	// true
}

func ExampleParseCode() {
	for _, s := range []string{"E2001", "quota_exhausted", "nope"} {
		c, ok := aierrors.ParseCode(s)
		fmt.Println(s, "->", c.Name(), ok)
	}
	// Output:
	// E2001 -> rate_limited true
	// quota_exhausted -> quota_exhausted true
	// nope -> invalid false
}

func ExampleClassifyTransport() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// What an http.Client returns when the caller's context was cancelled.
	err := &url.Error{Op: "Post", URL: "https://api.openai.com/v1/chat/completions", Err: ctx.Err()}

	e := aierrors.ClassifyTransport(err)
	fmt.Println(e.Code.String(), e.Retryable())
	fmt.Println(errors.Is(e, context.Canceled))
	// Output:
	// E4002 cancelled false
	// true
}
