package errors

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is the clock of the table tests; header dates below are relative
// to it.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("reading testdata: %v", err)
	}
	return b
}

// responseCase is one real provider answer and what it must classify as.
type responseCase struct {
	name   string
	status int
	header http.Header
	body   string // inline body, or
	file   string // a file under testdata/

	code         StandardErrorCode
	providerCode string        // "" = not checked
	retryAfter   time.Duration // checked always
	requestID    string        // "" = not checked
	msgContains  string        // "" = not checked
	msgAbsent    string        // must not be in Error()
}

func (c responseCase) bodyBytes(tb testing.TB) []byte {
	if c.file != "" {
		return readTestdata(tb, c.file)
	}
	return []byte(c.body)
}

var responseCases = []responseCase{
	// ---- OpenAI ----
	{
		name: "openai/429 insufficient_quota", status: 429,
		header: hdr("x-request-id", "req_7f3a1c", "content-type", "application/json"),
		body:   `{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
		code:   QuotaExhausted, providerCode: "insufficient_quota", requestID: "req_7f3a1c", msgContains: "exceeded your current quota",
	},
	{
		name: "openai/429 rate_limit_exceeded tokens with Retry-After", status: 429,
		header: hdr("retry-after", "2", "x-ratelimit-remaining-tokens", "0", "x-ratelimit-reset-tokens", "1.4s", "x-request-id", "req_1"),
		body:   `{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc123 on tokens per min (TPM): Limit 30000, Used 29500, Requested 1200. Please try again in 1.4s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
		code:   RateLimited, providerCode: "rate_limit_exceeded", retryAfter: 2 * time.Second,
	},
	{
		name: "openai/429 rate_limit_exceeded wait from message", status: 429,
		body: `{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-abc123 on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		code: RateLimited, retryAfter: 120 * time.Millisecond,
	},
	{
		name: "openai/429 rate_limit_exceeded wait from x-ratelimit-reset-requests", status: 429,
		header: hdr("x-ratelimit-limit-requests", "500", "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "6m0s",
			"x-ratelimit-remaining-tokens", "150000", "x-ratelimit-reset-tokens", "0s"),
		body: `{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		code: RateLimited, retryAfter: 6 * time.Minute,
	},
	{
		name: "openai/429 requests per day (RPD) is quota", status: 429,
		body: `{"error":{"message":"Rate limit reached for gpt-4o in organization org-abc123 on requests per day (RPD): Limit 200, Used 200, Requested 1. Please try again in 7m12s. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
		code: QuotaExhausted, providerCode: "rate_limit_exceeded", retryAfter: 7*time.Minute + 12*time.Second,
	},
	{
		name: "openai/429 request larger than the TPM limit", status: 429,
		body: `{"error":{"message":"Request too large for gpt-4 in organization org-abc123 on tokens per min (TPM): Limit 10000, Requested 15817. The input or output tokens must be reduced in order to run successfully. Visit https://platform.openai.com/account/rate-limits to learn more.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
		code: RequestTooLarge, providerCode: "rate_limit_exceeded",
	},
	{
		name: "openai/400 context_length_exceeded", status: 400,
		body: `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130523 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
		code: RequestTooLarge, providerCode: "context_length_exceeded",
	},
	{
		name: "openai/401 invalid_api_key echoes a masked key", status: 401,
		body: `{"error":{"message":"Incorrect API key provided: sk-proj-AbCdEfGh1234********************************************wXyZ. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
		code: Authentication, providerCode: "invalid_api_key", msgContains: "Incorrect API key provided", msgAbsent: "AbCdEfGh1234",
	},
	{
		name: "openai/404 model_not_found", status: 404,
		body: "{\"error\":{\"message\":\"The model `gpt-5-turbo` does not exist or you do not have access to it.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}",
		code: NotFound, providerCode: "model_not_found",
	},
	{
		name: "openai/500 server_error with null code", status: 500,
		body: `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`,
		code: ServerError, providerCode: "server_error",
	},
	{
		name: "openai/503 model overloaded", status: 503,
		body: `{"error":{"message":"That model is currently overloaded with other requests. You can retry your request, or contact us through our help center at help.openai.com if the error persists.","type":"server_error","param":null,"code":null}}`,
		code: Overloaded,
	},
	{
		name: "openai/500 overloaded message refines server_error", status: 500,
		body: `{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","param":null,"code":null}}`,
		code: Overloaded,
	},
	{
		name: "openai/403 unsupported_country_region_territory", status: 403,
		body: `{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}`,
		code: PermissionDenied, providerCode: "unsupported_country_region_territory",
	},
	{
		name: "openai/400 billing_hard_limit_reached", status: 400,
		body: `{"error":{"code":"billing_hard_limit_reached","message":"Billing hard limit has been reached","param":null,"type":"invalid_request_error"}}`,
		code: QuotaExhausted, providerCode: "billing_hard_limit_reached",
	},
	{
		name: "openai/500 x-should-retry false", status: 500,
		header: hdr("x-should-retry", "false"),
		body:   `{"error":{"message":"The server had an error processing your request.","type":"server_error","param":null,"code":null}}`,
		code:   ServerError,
	},

	// ---- Anthropic ----
	{
		name: "anthropic/529 overloaded_error", status: 529,
		header: hdr("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy", "x-should-retry", "true"),
		body:   `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`,
		code:   Overloaded, providerCode: "overloaded_error", requestID: "req_011CSHoEeqs5C35K2UUqR7Fy", msgContains: "Overloaded",
	},
	{
		name: "anthropic/429 overloaded_error keeps Overloaded", status: 429,
		body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		code: Overloaded, providerCode: "overloaded_error",
	},
	{
		name: "anthropic/200 overloaded_error event in a stream", status: 200,
		body: "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
		code: Overloaded, providerCode: "overloaded_error",
	},
	{
		name: "anthropic/429 rate_limit_error with retry-after", status: 429,
		header: hdr("retry-after", "30", "anthropic-ratelimit-requests-limit", "50", "anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", "2025-03-01T12:00:45Z", "request-id", "req_018EeWyXxfu5pfWkrYcMdjWG"),
		body: `{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization (abc) of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."},"request_id":"req_018EeWyXxfu5pfWkrYcMdjWG"}`,
		code: RateLimited, providerCode: "rate_limit_error", retryAfter: 30 * time.Second, requestID: "req_018EeWyXxfu5pfWkrYcMdjWG",
	},
	{
		name: "anthropic/429 rate_limit_error wait from exhausted output tokens reset", status: 429,
		header: hdr("anthropic-ratelimit-requests-remaining", "12", "anthropic-ratelimit-requests-reset", "2025-03-01T12:00:05Z",
			"anthropic-ratelimit-output-tokens-limit", "8000", "anthropic-ratelimit-output-tokens-remaining", "0",
			"anthropic-ratelimit-output-tokens-reset", "2025-03-01T12:00:12Z"),
		body: `{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 8,000 output tokens per minute."}}`,
		code: RateLimited, retryAfter: 12 * time.Second,
	},
	{
		name: "anthropic/429 enforced_spend_limit_reached", status: 429,
		body: `{"type":"error","error":{"type":"rate_limit_error","message":"You have reached your monthly spend limit for your usage tier. Access resumes on the 1st.","details":{"error_code":"enforced_spend_limit_reached"}},"request_id":"req_01"}`,
		code: QuotaExhausted, providerCode: "enforced_spend_limit_reached", requestID: "req_01",
	},
	{
		name: "anthropic/400 credit balance too low", status: 400,
		body: `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}`,
		code: QuotaExhausted, providerCode: "invalid_request_error",
	},
	{
		name: "anthropic/400 reached specified API usage limits", status: 400,
		body: `{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified API usage limits. You will regain access on 2025-04-01 at 00:00 UTC."}}`,
		code: QuotaExhausted,
	},
	{
		name: "anthropic/400 prompt is too long", status: 400,
		body: `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}`,
		code: RequestTooLarge, providerCode: "invalid_request_error",
	},
	{
		name: "anthropic/400 invalid_request_error stays invalid", status: 400,
		body: `{"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"user\" roles in a row"}}`,
		code: InvalidRequest, providerCode: "invalid_request_error",
	},
	{
		name: "anthropic/413 request_too_large", status: 413,
		body: `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`,
		code: RequestTooLarge, providerCode: "request_too_large",
	},
	{
		name: "anthropic/402 billing_error", status: 402,
		body: `{"type":"error","error":{"type":"billing_error","message":"There is an issue with your payment method."}}`,
		code: QuotaExhausted, providerCode: "billing_error",
	},
	{
		name: "anthropic/500 api_error", status: 500,
		body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`,
		code: ServerError, providerCode: "api_error",
	},
	{
		name: "anthropic/401 authentication_error", status: 401,
		body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
		code: Authentication, providerCode: "authentication_error",
	},
	{
		name: "anthropic/403 permission_error", status: 403,
		body: `{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`,
		code: PermissionDenied, providerCode: "permission_error",
	},
	{
		name: "anthropic/404 not_found_error", status: 404,
		body: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-9-opus"}}`,
		code: NotFound, providerCode: "not_found_error",
	},
	{
		name: "anthropic/504 timeout_error", status: 504,
		body: `{"type":"error","error":{"type":"timeout_error","message":"Request timed out"}}`,
		code: Timeout, providerCode: "timeout_error",
	},

	// ---- Gemini / Vertex ----
	{
		name: "gemini/429 RESOURCE_EXHAUSTED with RetryInfo 17s", status: 429,
		file: "gemini_429_per_minute_retryinfo.json",
		code: RateLimited, providerCode: "RESOURCE_EXHAUSTED", retryAfter: 17 * time.Second,
	},
	{
		name: "gemini/429 RESOURCE_EXHAUSTED free tier per-day quota", status: 429,
		file: "gemini_429_free_tier_per_day.json",
		code: QuotaExhausted, providerCode: "RESOURCE_EXHAUSTED", retryAfter: 41 * time.Second,
	},
	{
		name: "gemini/429 limit 0 quoted by a gateway", status: 429,
		file: "gemini_via_gateway_limit_zero.json",
		code: QuotaExhausted, retryAfter: 20044661790 * time.Nanosecond, msgContains: "limit: 0",
	},
	{
		name: "gemini/429 RESOURCE_EXHAUSTED without details", status: 429,
		body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
		code: RateLimited, providerCode: "RESOURCE_EXHAUSTED",
	},
	{
		name: "gemini/400 API_KEY_INVALID", status: 400,
		file: "gemini_400_api_key_invalid.json",
		code: Authentication, providerCode: "API_KEY_INVALID",
	},
	{
		name: "gemini/400 input token count exceeds maximum", status: 400,
		body: `{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`,
		code: RequestTooLarge, providerCode: "INVALID_ARGUMENT",
	},
	{
		name: "gemini/400 FAILED_PRECONDITION user location not supported", status: 400,
		body: `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
		code: PermissionDenied, providerCode: "FAILED_PRECONDITION",
	},
	{
		name: "gemini/403 PERMISSION_DENIED SERVICE_DISABLED", status: 403,
		file: "gemini_403_service_disabled.json",
		code: PermissionDenied, providerCode: "SERVICE_DISABLED",
	},
	{
		name: "gemini/503 UNAVAILABLE model overloaded", status: 503,
		body: `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
		code: Overloaded, providerCode: "UNAVAILABLE",
	},
	{
		name: "gemini/500 INTERNAL", status: 500,
		body: `{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}`,
		code: ServerError, providerCode: "INTERNAL",
	},
	{
		name: "gemini/504 DEADLINE_EXCEEDED", status: 504,
		body: `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`,
		code: Timeout, providerCode: "DEADLINE_EXCEEDED",
	},
	{
		name: "gemini/200 error body with code 429", status: 200,
		body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`,
		code: RateLimited,
	},
	{
		name: "gemini/429 ErrorInfo INSUFFICIENT_G1_CREDITS_BALANCE", status: 429,
		body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"INSUFFICIENT_G1_CREDITS_BALANCE","metadata":{"error_number":"2008"}}]}}`,
		code: QuotaExhausted, providerCode: "INSUFFICIENT_G1_CREDITS_BALANCE",
	},
	{
		// Pay-as-you-go: the shared pool is out of capacity (Vertex's
		// "error code 429" page), whatever the caller's rate.
		name: "vertex/429 array-wrapped RESOURCE_EXHAUSTED", status: 429,
		file: "vertex_429_array_wrapped.json",
		code: Overloaded, providerCode: "RESOURCE_EXHAUSTED", msgContains: "Resource exhausted",
	},
	{
		name: "vertex/429 pay-as-you-go, the docs' wording", status: 429,
		body: `{"error":{"code":429,"message":"Resource exhausted, please try again later.","status":"RESOURCE_EXHAUSTED"}}`,
		code: Overloaded, providerCode: "RESOURCE_EXHAUSTED",
	},
	{
		name: "vertex/429 provisioned throughput exceeded", status: 429,
		body: `{"error":{"code":429,"message":"Too many requests. Exceeded the Provisioned Throughput.","status":"RESOURCE_EXHAUSTED"}}`,
		code: RateLimited, providerCode: "RESOURCE_EXHAUSTED",
	},
	{
		name: "vertex/429 quota exceeded per minute per base model", status: 429,
		body: `{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute_per_project_per_base_model with base model: gemini-pro. Please submit a quota increase request. https://cloud.google.com/vertex-ai/docs/generative-ai/quotas-genai.","status":"RESOURCE_EXHAUSTED"}}`,
		code: RateLimited,
	},

	// ---- DeepSeek ----
	{
		name: "deepseek/402 Insufficient Balance", status: 402,
		body: `{"error":{"message":"Insufficient Balance","type":"unknown_error","param":null,"code":"invalid_request_error"}}`,
		code: QuotaExhausted, msgContains: "Insufficient Balance",
	},
	{
		name: "deepseek/503 server overloaded", status: 503,
		body: `{"error":{"message":"Server is busy, please try again later.","type":"server_error","param":null,"code":"server_overloaded"}}`,
		code: Overloaded, providerCode: "server_overloaded",
	},

	// ---- Mistral ----
	{
		name: "mistral/429 rate_limited code 1300", status: 429,
		body: `{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300","raw_status_code":429}`,
		code: RateLimited, providerCode: "rate_limited", msgContains: "Rate limit exceeded",
	},
	{
		name: "mistral/429 bare message", status: 429,
		body: `{"message":"Requests rate limit exceeded"}`,
		code: RateLimited, msgContains: "Requests rate limit exceeded",
	},
	{
		name: "mistral/429 service_tier_capacity_exceeded 3505", status: 429,
		body: `{"object":"error","message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","param":null,"code":"3505"}`,
		code: Overloaded, providerCode: "service_tier_capacity_exceeded",
	},
	{
		name: "mistral/422 validation detail object", status: 422,
		body: `{"object":"error","message":{"detail":[{"type":"missing","loc":["body","messages"],"msg":"Field required","input":{"model":"mistral-small-latest"}}]},"type":"invalid_request_error","param":null,"code":null}`,
		code: InvalidRequest, providerCode: "invalid_request_error", msgContains: "body.messages: Field required",
	},
	{
		name: "mistral/401 detail Unauthorized", status: 401,
		body: `{"detail":"Unauthorized"}`,
		code: Authentication, msgContains: "Unauthorized",
	},

	// ---- Groq ----
	{
		name: "groq/429 rate_limit_exceeded tokens per minute", status: 429,
		header: hdr("retry-after", "5", "x-ratelimit-remaining-tokens", "200", "x-ratelimit-reset-tokens", "7.66s", "x-request-id", "req_01jabc"),
		body:   "{\"error\":{\"message\":\"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01abc` service tier `on_demand` on tokens per minute (TPM): Limit 6000, Used 5800, Requested 700. Please try again in 5s. Need more tokens? Visit https://console.groq.com/settings/billing to upgrade.\",\"type\":\"tokens\",\"code\":\"rate_limit_exceeded\"}}",
		code:   RateLimited, providerCode: "rate_limit_exceeded", retryAfter: 5 * time.Second, requestID: "req_01jabc",
	},
	{
		name: "groq/413 request too large for the TPM limit", status: 413,
		body: "{\"error\":{\"message\":\"Request too large for model `llama3-70b-8192` in organization `org_01abc` service tier `on_demand` on tokens per minute (TPM): Limit 6000, Requested 11000, please reduce your message size and try again.\",\"type\":\"tokens\",\"code\":\"rate_limit_exceeded\"}}",
		code: RequestTooLarge,
	},
	{
		name: "groq/400 model_decommissioned", status: 400,
		body: "{\"error\":{\"message\":\"The model `mixtral-8x7b-32768` has been decommissioned and is no longer supported.\",\"type\":\"invalid_request_error\",\"code\":\"model_decommissioned\"}}",
		code: NotFound, providerCode: "model_decommissioned",
	},
	{
		name: "groq/498 flex tier capacity exceeded", status: 498,
		body: `{"error":{"message":"Flex tier capacity exceeded. Please try again later.","type":"capacity_exceeded"}}`,
		code: Overloaded,
	},

	// ---- OpenRouter ----
	{
		name: "openrouter/402 insufficient credits", status: 402,
		body: `{"error":{"message":"Insufficient credits. Add more using https://openrouter.ai/settings/credits","code":402},"user_id":"user_2abcDEF"}`,
		code: QuotaExhausted,
	},
	{
		name: "openrouter/402 requires more credits or fewer max_tokens", status: 402,
		body: `{"error":{"message":"This request requires more credits, or fewer max_tokens. You requested up to 65536 tokens, but can only afford 1234.","code":402,"metadata":{"provider_name":null}}}`,
		code: QuotaExhausted,
	},
	{
		name: "openrouter/403 key limit exceeded (total limit)", status: 403,
		body: `{"error":{"message":"Key limit exceeded (total limit). Manage it using https://openrouter.ai/settings/keys","code":403}}`,
		code: QuotaExhausted,
	},
	{
		name: "openrouter/403 key limit exceeded, no window", status: 403,
		body: `{"error":{"message":"Key limit exceeded. Manage it using https://openrouter.ai/keys","code":403}}`,
		code: QuotaExhausted,
	},
	{
		name: "openrouter/429 rate-limited upstream, the upstream's wait in metadata", status: 429,
		body: `{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"meta-llama/llama-3.3-70b-instruct:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations","provider_name":"Venice","is_byok":false,"retry_after_seconds":17,"retry_after_seconds_raw":16.007,"headers":{"Retry-After":"17"}}},"user_id":"user_3Bl6"}`,
		code: Overloaded, retryAfter: 17 * time.Second,
	},
	{
		name: "openrouter/429 upstream's wait in metadata without its headers", status: 429,
		body: `{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"temporarily rate-limited upstream","provider_name":"Venice","retry_after_seconds":4.5}}}`,
		code: Overloaded, retryAfter: 4500 * time.Millisecond,
	},
	{
		// One upstream's long wait is not OpenRouter's: taken as the
		// target's, it paused every model routed there.
		name: "openrouter/503 an upstream's hour-long wait", status: 503,
		body: `{"error":{"message":"Provider returned error","code":503,"metadata":{"headers":{"Retry-After":"3600"},"retry_after_seconds":3600,"provider_name":"Fireworks"}}}`,
		code: Overloaded, retryAfter: 0,
	},
	{
		name: "openrouter/429 a caller's 429 naming a key limit is a rate limit", status: 429,
		body: `{"error":{"message":"API key limit exceeded, please retry in 20s","code":429}}`,
		code: RateLimited, retryAfter: 20 * time.Second,
	},
	{
		name: "openrouter/429 raw as an object holding the upstream's body", status: 429,
		body: `{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":{"__kind":"OK","data":"{\"error\":{\"code\":null,\"message\":\"Rate limit exceeded\",\"param\":null,\"type\":\"rate_limit_exceeded\"}}\n"},"provider_name":"SambaNova"}},"code":429}`,
		code: RateLimited, providerCode: "rate_limit_exceeded", msgContains: "Rate limit exceeded",
	},
	{
		name: "openrouter/429 free-models-per-day", status: 429,
		body: `{"error":{"message":"Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day","code":429,"metadata":{"headers":{"X-RateLimit-Limit":"50","X-RateLimit-Remaining":"0","X-RateLimit-Reset":"1740873600000"}}}}`,
		code: QuotaExhausted,
	},
	{
		name: "openrouter/429 free-models-per-min wait from metadata headers", status: 429,
		body: `{"error":{"message":"Rate limit exceeded: free-models-per-min.","code":429,"metadata":{"headers":{"X-RateLimit-Limit":"20","X-RateLimit-Remaining":"0","X-RateLimit-Reset":"1740830460000"}}}}`,
		code: RateLimited, retryAfter: time.Minute,
	},
	{
		// The upstream's limit on a key OpenRouter shares between its
		// users: not the caller's rate to learn.
		name: "openrouter/429 upstream rate-limited raw", status: 429,
		body: `{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"google/gemini-2.0-flash-exp:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations","provider_name":"Google AI Studio"}},"user_id":"user_2abc"}`,
		code: Overloaded, msgContains: "rate-limited upstream",
	},
	{
		name: "openrouter/400 upstream context length in raw JSON", status: 400,
		body: `{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\"error\":{\"message\":\"This endpoint's maximum context length is 163840 tokens. However, you requested about 200000 tokens.\",\"code\":\"context_length_exceeded\"}}","provider_name":"DeepInfra"}}}`,
		code: RequestTooLarge, providerCode: "context_length_exceeded",
	},

	// ---- xAI ----
	{
		name: "xai/429 credits exhausted", status: 429,
		body: `{"code":"Some resource has been exhausted","error":"Your team 16f2151a-40f4-4a80-8ad0-cae00c27e8dd has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit."}`,
		code: QuotaExhausted, providerCode: "Some resource has been exhausted",
	},
	{
		name: "xai/403 credits exhausted", status: 403,
		body: `{"code":"The caller does not have permission to execute the specified operation","error":"Your team 0c8e has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit."}`,
		code: QuotaExhausted,
	},
	{
		name: "xai/429 rate limited", status: 429,
		body: `{"code":"Some resource has been exhausted","error":"Too many requests: you have exceeded the rate limit of 480 requests per minute for model grok-3."}`,
		code: RateLimited,
	},
	{
		name: "xai/400 incorrect api key", status: 400,
		body: `{"code":"Client specified an invalid argument","error":"Incorrect API key provided: xa***Ab. You can obtain an API key from https://console.x.ai."}`,
		code: Authentication,
	},
	{
		name: "xai/404 model does not exist", status: 404,
		body: `{"code":"Some requested entity was not found","error":"The model grok-9 does not exist or your team a1b2 does not have access to it. Please ensure you're using the correct API key."}`,
		code: NotFound,
	},

	// ---- Azure OpenAI ----
	{
		name: "azure/429 retry after 7 seconds in message", status: 429,
		header: hdr("apim-request-id", "3f4e5d6c-1111-2222-3333-444455556666"),
		body:   `{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 7 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}`,
		code:   RateLimited, retryAfter: 7 * time.Second, requestID: "3f4e5d6c-1111-2222-3333-444455556666",
	},
	{
		name: "azure/429 retry-after-ms header", status: 429,
		header: hdr("retry-after-ms", "6500", "retry-after", "7"),
		body:   `{"error":{"code":"RateLimitReached","message":"Your requests to gpt-4o for gpt-4o in East US have exceeded the call rate limit for your current AIServices S0 pricing tier."}}`,
		code:   RateLimited, providerCode: "RateLimitReached", retryAfter: 6500 * time.Millisecond,
	},
	{
		name: "azure/400 content_filter", status: 400,
		body: `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}`,
		code: InvalidRequest, providerCode: "content_filter",
	},
	{
		name: "azure/404 DeploymentNotFound", status: 404,
		body: `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}`,
		code: NotFound, providerCode: "DeploymentNotFound",
	},

	// ---- AWS Bedrock ----
	{
		name: "bedrock/429 ThrottlingException", status: 429,
		header: hdr("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "x-amzn-RequestId", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"),
		body:   `{"message":"Too many requests, please wait before trying again."}`,
		code:   RateLimited, providerCode: "ThrottlingException", requestID: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
	},
	{
		name: "bedrock/400 ServiceQuotaExceededException", status: 400,
		header: hdr("x-amzn-ErrorType", "ServiceQuotaExceededException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
		body:   `{"message":"Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas. You can resubmit your request later."}`,
		code:   QuotaExhausted, providerCode: "ServiceQuotaExceededException",
	},
	{
		name: "bedrock/408 ModelTimeoutException", status: 408,
		header: hdr("x-amzn-ErrorType", "ModelTimeoutException"),
		body:   `{"message":"Model has timed out in processing the request. Try your request again."}`,
		code:   Timeout, providerCode: "ModelTimeoutException",
	},
	{
		name: "bedrock/400 ValidationException input too long", status: 400,
		header: hdr("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
		body:   `{"message":"Input is too long for requested model."}`,
		code:   RequestTooLarge, providerCode: "ValidationException",
	},
	{
		name: "bedrock/400 ValidationException", status: 400,
		header: hdr("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
		body:   `{"message":"Malformed input request: #/messages/0/content: expected type: String, found: Integer, please reformat your input and try again."}`,
		code:   InvalidRequest, providerCode: "ValidationException",
	},
	{
		name: "bedrock/403 AccessDeniedException", status: 403,
		header: hdr("x-amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"),
		body:   `{"Message":"You don't have access to the model with the specified model ID."}`,
		code:   PermissionDenied, providerCode: "AccessDeniedException", msgContains: "specified model ID",
	},
	{
		name: "bedrock/429 ModelNotReadyException", status: 429,
		header: hdr("x-amzn-ErrorType", "ModelNotReadyException"),
		body:   `{"message":"Model is not ready for inference. Wait and try your request again."}`,
		code:   Overloaded, providerCode: "ModelNotReadyException",
	},
	{
		name: "bedrock/503 ServiceUnavailableException", status: 503,
		header: hdr("x-amzn-ErrorType", "ServiceUnavailableException"),
		body:   `{"message":"Bedrock is unable to process your request."}`,
		code:   Overloaded, providerCode: "ServiceUnavailableException",
	},
	{
		name: "bedrock/424 ModelErrorException", status: 424,
		header: hdr("x-amzn-ErrorType", "ModelErrorException"),
		body:   `{"message":"The model returned the following errors: Internal server error","originalStatusCode":500}`,
		code:   ServerError, providerCode: "ModelErrorException",
	},
	{
		name: "bedrock/403 UnrecognizedClientException via __type", status: 403,
		body: `{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}`,
		code: Authentication, providerCode: "UnrecognizedClientException",
	},

	// ---- LLM gateways ----
	{
		name: "litellm/429 RateLimitError code string 429", status: 429,
		body: `{"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for gpt-4o. Received Model Group=gpt-4o\nAvailable Model Group Fallbacks=None","type":"throttling_error","param":null,"code":"429"}}`,
		code: RateLimited, providerCode: "throttling_error",
	},
	{
		name: "litellm/429 wrapping openai insufficient_quota", status: 429,
		body: `{"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Error code: 429 - {'error': {'message': 'You exceeded your current quota, please check your plan and billing details.', 'type': 'insufficient_quota', 'param': None, 'code': 'insufficient_quota'}}","type":"None","param":"None","code":"429"}}`,
		code: QuotaExhausted,
	},
	{
		name: "litellm/400 ContextWindowExceededError", status: 400,
		body: `{"error":{"message":"litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: OpenAIException - This model's maximum context length is 16385 tokens.","type":null,"param":null,"code":"400"}}`,
		code: RequestTooLarge,
	},
	{
		name: "vllm/400 BadRequestError maximum context length", status: 400,
		body: `{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`,
		code: RequestTooLarge, providerCode: "BadRequestError",
	},
	{
		name: "ollama/404 model not found", status: 404,
		body: `{"error":"model \"llama9\" not found, try pulling it first"}`,
		code: NotFound, msgContains: "try pulling it first",
	},
	// text-generation-inference: the error a string, its type beside
	// (router/src/server.rs: validation 422, generation 424, overloaded
	// 429, incomplete_generation 500).
	{
		name: "tgi/424 generation", status: 424,
		body: `{"error":"Request failed during generation: Server error: CUDA out of memory. Tried to allocate 2.00 GiB","error_type":"generation"}`,
		code: ServerError, providerCode: "generation", msgContains: "CUDA out of memory",
	},
	{
		name: "tgi/422 validation", status: 422,
		body: `{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096. Given: 4000 inputs tokens and 500 max_new_tokens","error_type":"validation"}`,
		code: InvalidRequest, providerCode: "validation",
	},
	{
		name: "tgi/429 overloaded", status: 429,
		body: `{"error":"Model is overloaded","error_type":"overloaded"}`,
		code: Overloaded, providerCode: "overloaded",
	},
	// Gateways' budgets: spent until the budget resets, so quota, which
	// falls back at once (was invalid_request, or a retried rate limit).
	// LiteLLM proxy (docs/proxy/users.md; auth_exception_handler.py:
	// budget_exceeded as 400, 422 or 429; hooks/max_budget_limiter.py;
	// router_strategy/budget_limiter.py).
	{
		name: "litellm/400 budget_exceeded", status: 400,
		body: `{"error":{"message":"ExceededBudget: User=u1 over budget. Spend=3.7e-05, Budget=0.0","type":"budget_exceeded","param":null,"code":"400"}}`,
		code: QuotaExhausted, providerCode: "budget_exceeded",
	},
	{
		name: "litellm/422 budget_exceeded", status: 422,
		body: `{"error":{"message":"Budget has been exceeded! Current cost: 0.0001, Max budget: 0.0","type":"budget_exceeded","param":null,"code":"422"}}`,
		code: QuotaExhausted, providerCode: "budget_exceeded",
	},
	{
		name: "litellm/429 budget_exceeded", status: 429,
		body: `{"error":{"message":"ExceededBudget: User=u1 over budget. Spend=3.05, Budget=3.0","type":"budget_exceeded","param":null,"code":"429"}}`,
		code: QuotaExhausted, providerCode: "budget_exceeded",
	},
	{
		name: "litellm/429 max budget limiter", status: 429,
		body: `{"error":{"message":"Max budget limit reached.","type":"None","param":"None","code":"429"}}`,
		code: QuotaExhausted,
	},
	{
		name: "litellm/429 provider budget", status: 429,
		body: `{"error":{"message":"No deployments available - crossed budget for provider: Exceeded budget for provider openai: 0.0007350000000000001 >= 1e-12","type":"None","param":"None","code":"429"}}`,
		code: QuotaExhausted,
	},
	// Portkey's gateway (src/middlewares/portkey/utils.ts): 412.
	{
		name: "portkey/412 virtual key usage limit", status: 412,
		body: `{"error":{"message":"Portkey Virtual Key vk********abc Usage Limit Exceeded","type":"virtual_key_exhaust_error","param":null,"code":"04"}}`,
		code: QuotaExhausted, providerCode: "virtual_key_exhaust_error",
	},
	{
		name: "portkey/412 workspace usage limit", status: 412,
		body: `{"error":{"message":"Portkey Workspace Usage Limit Exceeded","type":"workspace_exhaust_error","param":null,"code":"04"}}`,
		code: QuotaExhausted, providerCode: "workspace_exhaust_error",
	},
	{
		name: "portkey/412 usage limits policy", status: 412,
		body: `{"error":{"message":"Portkey Usage Limits Policy p1 Exceeded for value key k1","type":"usage_limits_policy_exhaust_error","param":null,"code":"06"}}`,
		code: QuotaExhausted, providerCode: "usage_limits_policy_exhaust_error",
	},
	// vLLM (v1/engine/processor.py, _validate_model_input): the prompt
	// does not fit max_model_len.
	{
		name: "vllm/400 decoder prompt longer than the maximum model length", status: 400,
		body: `{"error":{"message":"The decoder prompt (length 8825) is longer than the maximum model length of 8192. Make sure that ` + "`max_model_len`" + ` is no smaller than the number of text tokens plus multimodal tokens.","type":"BadRequestError","param":null,"code":400}}`,
		code: RequestTooLarge,
	},
	// llama.cpp's router mode (server-models.cpp, router_validate_model).
	{
		name: "llama.cpp/400 router: model not found", status: 400,
		body: `{"error":{"code":400,"message":"model 'qwen3-8b' not found","type":"invalid_request_error"}}`,
		code: NotFound,
	},
	// llama.cpp's server: the prompt does not fit the context it was
	// started with (current builds; older ones said it as a 500).
	{
		name: "llama.cpp/400 exceed_context_size_error", status: 400,
		body: `{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}}`,
		code: RequestTooLarge, providerCode: "exceed_context_size_error",
	},
	{
		name: "llama.cpp/500 prompt too big for the KV cache", status: 500,
		body: `{"code":500,"message":"Input prompt is too big compared to KV size. Please try increasing KV size.","type":"server_error"}`,
		code: RequestTooLarge,
	},
	// Anthropic-format endpoints of other providers (Claude Code's
	// settings for them).
	{
		name: "zhipu/429 1113 insufficient balance, in Chinese", status: 429,
		body: `{"type":"error","error":{"type":"1113","message":"余额不足或无可用资源包,请充值。"}}`,
		code: QuotaExhausted,
	},
	{
		name: "zhipu/429 1308 five-hour usage cap", status: 429,
		body: `{"type":"error","error":{"type":"1308","message":"Usage limit reached for 5 hour. Your limit will reset at 2025-10-03 08:23:14"}}`,
		code: QuotaExhausted,
	},
	{
		name: "zhipu/429 1308 five-hour usage cap, in Chinese", status: 429,
		body: `{"type":"error","error":{"type":"1308","message":"已达到 5 小时的使用上限。您的限额将在 2025-12-09 18:08:11 重置。"},"request_id":"20251209155304a15e2cfd9ae44ae8"}`,
		code: QuotaExhausted, requestID: "20251209155304a15e2cfd9ae44ae8",
	},
	{
		name: "zhipu/400 1261 prompt too long", status: 400,
		body: `{"type":"error","error":{"type":"1261","message":"Prompt too long"}}`,
		code: RequestTooLarge,
	},
	{
		name: "moonshot/403 exceeded_current_quota_error", status: 403,
		body: `{"error":{"message":"Your account org-0123 <ak-abcd> is not active, organization org-0123 exceeded current quota, please check your plan and billing details","type":"exceeded_current_quota_error"}}`,
		code: QuotaExhausted,
	},
	{
		name: "moonshot/400 exceeded model token limit", status: 400,
		body: `{"error":{"message":"Invalid request: Your request exceeded model token limit: 262144 (requested: 269030)","type":"invalid_request_error"}}`,
		code: RequestTooLarge,
	},
	{
		name: "fastapi/422 detail list", status: 422,
		body: `{"detail":[{"loc":["body","messages",0,"role"],"msg":"field required","type":"value_error.missing"}]}`,
		code: InvalidRequest, msgContains: "body.messages.0.role: field required",
	},
	{
		name: "fastapi/500 detail string", status: 500,
		body: `{"detail":"Internal Server Error"}`,
		code: ServerError, msgContains: "Internal Server Error",
	},
	{
		name: "rfc9457/429 problem details", status: 429,
		header: hdr("content-type", "application/problem+json"),
		body:   `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Rate limit exceeded, retry after 3 seconds"}`,
		code:   RateLimited, retryAfter: 3 * time.Second, msgContains: "Rate limit exceeded",
	},
	{
		name: "cohere/429 trial key limit", status: 429,
		body: `{"message":"You are using a Trial key, which is limited to 10 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'."}`,
		code: RateLimited,
	},

	// ---- Non-JSON answers ----
	{
		name: "cloudflare/524 timeout HTML page", status: 524,
		header: hdr("cf-ray", "8f1e2d3c4b5a6978-FRA", "content-type", "text/html"),
		file:   "cloudflare_524.html",
		code:   Timeout, requestID: "8f1e2d3c4b5a6978-FRA", msgContains: "524: A timeout occurred",
	},
	{
		name: "cloudflare/502 bad gateway HTML page", status: 502,
		file: "cloudflare_502.html",
		code: ServerError, msgContains: "502 Bad Gateway",
	},
	{
		name: "nginx/504 HTML page without title", status: 504,
		file: "nginx_504_no_title.html",
		code: Timeout, msgContains: "504 Gateway Time-out",
	},
	{
		name: "cloudflare/429 error 1015 HTML page", status: 429,
		file: "cloudflare_1015_rate_limited.html",
		code: RateLimited,
	},
	{
		name: "cloudflare/522 connection timed out", status: 522,
		body: "error code: 522",
		code: Timeout,
	},
	{
		name: "envoy/503 plain text upstream reset", status: 503,
		body: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
		code: Overloaded, msgContains: "upstream connect error",
	},
	{
		name: "plain/500 text", status: 500,
		body: "Internal Server Error\n",
		code: ServerError, msgContains: "Internal Server Error",
	},
	{
		name: "empty/503 with Retry-After seconds", status: 503,
		header: hdr("Retry-After", "120"),
		code:   Overloaded, retryAfter: 2 * time.Minute,
	},
	{
		name: "empty/429 with Retry-After HTTP-date", status: 429,
		header: hdr("Retry-After", "Sat, 01 Mar 2025 12:00:09 GMT"),
		code:   RateLimited, retryAfter: 9 * time.Second,
	},
	{
		name: "empty/429 with fractional Retry-After", status: 429,
		header: hdr("Retry-After", "0.25"),
		code:   RateLimited, retryAfter: 250 * time.Millisecond,
	},
	{
		name: "empty/429 negative Retry-After ignored", status: 429,
		header: hdr("Retry-After", "-3"),
		code:   RateLimited,
	},
	{
		name: "empty/429 garbage Retry-After ignored", status: 429,
		header: hdr("Retry-After", "soon-ish"),
		code:   RateLimited,
	},
	{
		name: "empty/429 absurd Retry-After ignored", status: 429,
		header: hdr("Retry-After", "172800"),
		code:   RateLimited,
	},
	{
		name: "empty/500", status: 500,
		code: ServerError,
	},
	{
		name: "truncated/429 insufficient_quota cut mid-body", status: 429,
		body: `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"co`,
		code: QuotaExhausted, providerCode: "insufficient_quota", msgContains: "exceeded your current quota",
	},
	{
		name: "truncated/429 gemini retryDelay cut mid-body", status: 429,
		body: `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"9s"},{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerMinutePerProjectPerModel"`,
		code: RateLimited, retryAfter: 9 * time.Second,
	},
	{
		name: "unknown JSON shape keeps a bounded body", status: 500,
		body: `{"foo":{"bar":1}}`,
		code: ServerError, msgContains: `{"foo":{"bar":1}}`,
	},
	{
		name: "status 200 empty body", status: 200,
		code: Unknown,
	},
	{
		name: "status 0 with rate limit text", status: 0,
		body: "Too Many Requests",
		code: RateLimited,
	},
	{
		name: "status 418 other 4xx", status: 418,
		body: "I'm a teapot",
		code: InvalidRequest,
	},
	{
		name: "status 499 client closed request", status: 499,
		code: Cancelled,
	},
	{
		name: "status 409 conflict", status: 409,
		body: `{"error":{"message":"Another request with this idempotency key is in progress.","type":"invalid_request_error","code":"conflict"}}`,
		code: Conflict, providerCode: "conflict",
	},
	{
		name: "planted keys are scrubbed", status: 401,
		header: hdr("x-request-id", "req_plain"),
		body:   `{"error":{"message":"Bad key sk-ant-api03-PLANTEDsecretPLANTEDsecret0123456789 and AIzaSyPLANTEDsecretPLANTEDsecret01234 and Bearer PLANTEDtokenPLANTEDtoken01","type":"authentication_error"}}`,
		code:   Authentication, msgContains: "sk-ant-api03-***", msgAbsent: "PLANTED",
	},
}

func TestClassifyResponse(t *testing.T) {
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.bodyBytes(t)
			got := classifyResponseAt(testNow, tc.status, tc.header, body)
			if got == nil {
				t.Fatalf("ClassifyResponse(%d, ...) = nil; want non-nil", tc.status)
			}
			if got.Code != tc.code {
				t.Errorf("ClassifyResponse(%d, ...).Code = %v; want %v (error: %s)", tc.status, got.Code, tc.code, got)
			}
			if got.HTTPStatus != tc.status {
				t.Errorf("HTTPStatus = %d; want %d", got.HTTPStatus, tc.status)
			}
			if tc.providerCode != "" && got.ProviderCode != tc.providerCode {
				t.Errorf("ProviderCode = %q; want %q", got.ProviderCode, tc.providerCode)
			}
			if got.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %v; want %v", got.RetryAfter, tc.retryAfter)
			}
			if tc.requestID != "" && got.RequestID != tc.requestID {
				t.Errorf("RequestID = %q; want %q", got.RequestID, tc.requestID)
			}
			if tc.msgContains != "" && !strings.Contains(got.Message, tc.msgContains) {
				t.Errorf("Message = %q; want it to contain %q", got.Message, tc.msgContains)
			}
			text := got.Error()
			if tc.msgAbsent != "" && strings.Contains(text, tc.msgAbsent) {
				t.Errorf("Error() = %q; want no %q in it", text, tc.msgAbsent)
			}
			checkClassified(t, got)
		})
	}
}

// checkErrorText checks the invariants of every Error text: one line,
// bounded, valid code.
func checkErrorText(tb testing.TB, e *Error) {
	tb.Helper()
	if !e.Code.Valid() {
		tb.Errorf("Code = %d; want a valid code", e.Code)
	}
	text := e.Error()
	if strings.ContainsAny(text, "\n\r") {
		tb.Errorf("Error() = %q; want one line", text)
	}
	if len(text) > maxErrorTextLen {
		tb.Errorf("len(Error()) = %d; want <= %d", len(text), maxErrorTextLen)
	}
}

// checkClassified checks checkErrorText plus the bounds ClassifyResponse
// promises for its fields.
func checkClassified(tb testing.TB, e *Error) {
	tb.Helper()
	checkErrorText(tb, e)
	if len(e.Message) > MaxMessageLen+len("…") {
		tb.Errorf("len(Message) = %d; want <= %d", len(e.Message), MaxMessageLen+len("…"))
	}
	if len(e.ProviderCode) > maxCodeLen+len("…") || len(e.RequestID) > maxRequestIDLen+len("…") {
		tb.Errorf("len(ProviderCode), len(RequestID) = %d, %d; want bounded", len(e.ProviderCode), len(e.RequestID))
	}
	if e.RetryAfter < 0 || e.RetryAfter > MaxRetryAfter {
		tb.Errorf("RetryAfter = %v; want within [0, %v]", e.RetryAfter, MaxRetryAfter)
	}
}

// maxErrorTextLen bounds Error(): prefix, names, code, details, message.
const maxErrorTextLen = 7 + 2*maxNameLen + 4 + 24 + 2 + 10 + maxCodeLen + 3*2 + 8 + maxRequestIDLen + 32 + 2 + MaxMessageLen + 3 + 16

func TestClassifyResponseShouldRetry(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		value         string
		wantRetryable bool
		wantSet       bool
	}{
		{"openai/500 x-should-retry false", 500, "false", false, true},
		{"anthropic/400 x-should-retry true", 400, "true", true, true},
		{"x-should-retry absent", 500, "", true, false},
		{"x-should-retry garbage ignored", 400, "maybe", false, false},
		{"x-should-retry upper case", 429, " TRUE ", true, true},
		// 501: the server cannot do it at all (llama.cpp started for
		// embeddings only answers chat so): not retried, still fallbackable.
		{"501 not implemented", 501, "", false, true},
		{"501 with x-should-retry true", 501, "true", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("X-Should-Retry", tt.value)
			}
			e := ClassifyResponse(tt.status, h, nil)
			if (e.ShouldRetry != nil) != tt.wantSet {
				t.Errorf("ShouldRetry set = %v; want %v", e.ShouldRetry != nil, tt.wantSet)
			}
			if e.Retryable() != tt.wantRetryable || IsRetryable(e) != tt.wantRetryable {
				t.Errorf("Retryable() = %v; want %v", e.Retryable(), tt.wantRetryable)
			}
		})
	}
}

func TestClassifyResponseHugeBody(t *testing.T) {
	huge := `{"error":{"message":"` + strings.Repeat("x ", 2<<20) + `","type":"server_error"}}`
	e := ClassifyResponse(500, nil, []byte(huge))
	if e.Code != ServerError {
		t.Errorf("ClassifyResponse(500, huge).Code = %v; want %v", e.Code, ServerError)
	}
	checkClassified(t, e)

	html := "<html><head><title>" + strings.Repeat("T", 100<<10) + "</title></head></html>"
	e = ClassifyResponse(502, nil, []byte(html))
	checkClassified(t, e)
}

func TestClassifyResponseNoRetryAfterAboveMax(t *testing.T) {
	e := classifyResponseAt(testNow, 429, hdr("x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", "48h"), nil)
	if e.RetryAfter != 0 {
		t.Errorf("RetryAfter = %v; want 0 for a reset beyond MaxRetryAfter", e.RetryAfter)
	}
	e = classifyResponseAt(testNow, 429, nil, []byte(`{"error":{"message":"Please retry after 90000 seconds."}}`))
	if e.RetryAfter != 0 {
		t.Errorf("RetryAfter = %v; want 0 for a message wait beyond MaxRetryAfter", e.RetryAfter)
	}
}

func TestErrorTextScrubsHandBuiltErrors(t *testing.T) {
	e := &Error{
		Code: Authentication, Provider: "openai\nx", Model: "gpt-4o",
		Message: "bad key sk-proj-HANDBUILTsecret0123456789abcdef\nsecond line\x1b[31m",
	}
	text := e.Error()
	if strings.Contains(text, "HANDBUILTsecret") {
		t.Errorf("Error() = %q; want the key masked", text)
	}
	checkErrorText(t, e)
}

func TestClassifyResponseSuccessBodyNotInMessage(t *testing.T) {
	body := `{"id":"chatcmpl-1","object":"chat.completion","choices":[{"message":{"role":"assistant","content":"the generated secret plan"}}]}`
	e := ClassifyResponse(200, nil, []byte(body))
	if e.Code != Unknown || e.Message != "" {
		t.Errorf("ClassifyResponse(200, success body) = %v, Message %q; want Unknown, empty", e.Code, e.Message)
	}
}
