package client_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/ailib-go/ailib/client"
)

// gatewayThenBackup answers requests to primary.test with one status and
// body, and to backup.test with a chat completion.
type gatewayThenBackup struct {
	status          int
	body            string
	primary, backup atomic.Int32
}

func (r *gatewayThenBackup) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	status, body := r.status, r.body
	if req.URL.Host == "backup.test" {
		r.backup.Add(1)
		status, body = 200, `{"id":"c1","object":"chat.completion","model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`
	} else {
		r.primary.Add(1)
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// TestGatewayRefusalsFallBackAtOnce: a gateway's spent budget (LiteLLM as
// 400, 422 or 429; Portkey's 412) is spent until it resets, and a server
// that cannot do a thing at all (llama.cpp's 501) will not on a retry: one
// request, then the fallback. Before, the budgets ended the call as an
// invalid request (no fallback) or were retried as rate limits, and the
// 501 was retried.
func TestGatewayRefusalsFallBackAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"litellm budget_exceeded 400", 400, `{"error":{"message":"ExceededBudget: User=u1 over budget. Spend=3.7e-05, Budget=0.0","type":"budget_exceeded","param":null,"code":"400"}}`},
		{"litellm budget_exceeded 422", 422, `{"error":{"message":"Budget has been exceeded! Current cost: 0.0001, Max budget: 0.0","type":"budget_exceeded","param":null,"code":"422"}}`},
		{"litellm budget_exceeded 429", 429, `{"error":{"message":"ExceededBudget: User=u1 over budget. Spend=3.05, Budget=3.0","type":"budget_exceeded","param":null,"code":"429"}}`},
		{"litellm provider budget 429", 429, `{"error":{"message":"No deployments available - crossed budget for provider: Exceeded budget for provider openai: 0.0007350000000000001 >= 1e-12","type":"None","param":"None","code":"429"}}`},
		{"portkey 412 usage limit", 412, `{"error":{"message":"Portkey Virtual Key vk********abc Usage Limit Exceeded","type":"virtual_key_exhaust_error","param":null,"code":"04"}}`},
		{"llama.cpp 501", 501, `{"error":{"code":501,"message":"This server does not support completions. Start it without ` + "`--embeddings`" + `","type":"not_supported_error"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &gatewayThenBackup{status: tc.status, body: tc.body}
				c := build(t, client.NewBuilder().IgnoreEnvironment().
					Model("openai/gpt-4o").Fallback("ollama/llama3").
					Provider("openai", client.ProviderConfig{BaseURL: "http://primary.test/v1", APIKey: "sk-test-0000000000"}).
					Provider("ollama", client.ProviderConfig{BaseURL: "http://backup.test/v1"}).
					HTTPClient(&http.Client{Transport: rt}))
				_, err := c.Chat(t.Context(), hi())
				if err != nil || rt.primary.Load() != 1 || rt.backup.Load() != 1 {
					t.Errorf("err = %v, requests to the primary %d, to the fallback %d; want nil, 1, 1", err, rt.primary.Load(), rt.backup.Load())
				}
			})
		})
	}
}
