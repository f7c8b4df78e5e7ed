package errors

import (
	"regexp"
	"strconv"
	"strings"
)

// Message patterns, used only when no specific provider code decided.
// Each list is matched against the lower-cased message.
var (
	// quotaPhrases mean the account is out of quota, credit or budget.
	quotaPhrases = []string{
		"insufficient_quota", "insufficient quota", "credit balance is too low", "insufficient balance",
		"insufficient credits", "insufficient funds", "out of credits", "run out of credits",
		"used all available credits", "requires more credits", "spending limit", "spend limit",
		"billing hard limit", "billing_hard_limit", "payment required", "api usage limits",
		"reached your usage limit", "monthly limit", "exceeded your monthly", "quota will reset",
		"billing to be enabled", "enable billing", "billing is not enabled", "billing account",
		"limit: 0",
		// Zhipu (GLM): a usage cap over hours ("Usage limit reached for 5
		// hour. Your limit will reset at ..."), and its Chinese messages:
		// 余额不足 "insufficient balance", 使用上限 "usage cap".
		"usage limit reached", "余额不足", "使用上限",
		// OpenRouter's per-key spending cap (403 "Key limit exceeded
		// (total limit)", daily, weekly, monthly; "Key limit exceeded.
		// Manage it using ...").
		"key limit exceeded (", "key limit exceeded. manage",
		// Gateways' budgets (LiteLLM: "ExceededBudget: User=... over
		// budget", "Budget has been exceeded!", "Max budget limit
		// reached.", "crossed budget for provider"; Portkey: "... Usage
		// Limit Exceeded"): spent until the budget resets.
		"exceededbudget", "budget has been exceeded", "max budget limit reached", "crossed budget",
		"exceeded budget", "usage limit exceeded",
	}
	// dailyPhrases mean a limit over a daily window.
	dailyPhrases = []string{
		"per day", "per-day", "perday", "per_day", "(rpd)", "(tpd)", "daily limit", "daily quota",
		"requests per day", "tokens per day",
	}
	// contextPhrases mean the prompt does not fit the model.
	contextPhrases = []string{
		"context_length_exceeded", "context length", "context window", "maximum context",
		"prompt is too long", "input is too long", "too many input tokens", "too many tokens in",
		"exceeds the maximum number of tokens", "maximum number of tokens", "reduce the length of the messages",
		"request too large", "request entity too large", "payload too large", "contextwindowexceeded",
		"exceeds the context", "input token count", "prompt too long", "exceeded model token limit",
		// llama.cpp: "the request exceeds the available context size",
		// "Input prompt is too big compared to KV size".
		"context size", "prompt is too big",
		// vLLM: "The decoder prompt (length 8825) is longer than the
		// maximum model length of 8192."
		"maximum model length",
	}
	authPhrases = []string{
		"invalid api key", "incorrect api key", "api key not valid", "invalid_api_key", "invalid x-api-key",
		"api key expired", "invalid authentication", "no auth credentials", "missing api key",
		"invalid token", "authentication failed", "unauthenticated",
	}
	overloadPhrases = []string{
		"overloaded", "over capacity", "capacity exceeded", "temporarily unavailable", "service unavailable",
		"currently unavailable", "no healthy upstream", "upstream connect error",
		// Vertex AI's pay-as-you-go 429: its shared pool is out of
		// capacity, whatever the caller's rate (its docs, "error code
		// 429"); not a limit of the caller's to learn.
		"resource exhausted, please try again later", "resource exhausted. please try again later",
		// OpenRouter: the upstream's limit on the key it shares between
		// its users, not one of the caller's rate.
		"rate-limited upstream",
	}
	// windowRatePhrases name a short (per-minute) window: waiting helps.
	windowRatePhrases = []string{
		"per minute", "per_minute", "perminute", "per min ", "/ minute", "(rpm)", "(tpm)", "per second",
	}
	ratePhrases = []string{
		"rate limit", "rate_limit", "ratelimit", "rate-limited", "too many requests", "slow down", "throttl",
	}
	// softQuotaPhrases mean quota, unless a rate phrase said it is per minute.
	softQuotaPhrases = []string{
		"exceeded your current quota", "quota exceeded", "exceeded quota", "out of quota", "quota has been exhausted",
		"exceeded your quota", "exceeded current quota",
	}
	timeoutPhrases  = []string{"timed out", "timeout", "deadline exceeded", "took too long"}
	notFoundPhrases = []string{"model not found", "does not exist", "no such model", "unknown model", "not_found"}
	permPhrases     = []string{
		"not available in your country", "location is not supported", "unsupported_country",
		"country, region, or territory not supported", "permission denied", "access denied",
	}
)

// refineByMessage is step 3: the message may refine a generic answer.
// Each refinement is allowed only from answers it can plausibly correct.
func refineByMessage(code StandardErrorCode, msg string) StandardErrorCode {
	if msg == "" {
		return code
	}
	from := func(cs ...StandardErrorCode) bool {
		for _, c := range cs {
			if code == c {
				return true
			}
		}
		return false
	}
	switch {
	case from(InvalidRequest, RateLimited, PermissionDenied, ServerError, Unknown) && containsAny(msg, quotaPhrases...):
		return QuotaExhausted
	case from(InvalidRequest, ServerError, Unknown) && containsAny(msg, contextPhrases...):
		return RequestTooLarge
	case from(InvalidRequest, PermissionDenied, Unknown) && containsAny(msg, authPhrases...):
		return Authentication
	case from(ServerError, RateLimited, Unknown) && containsAny(msg, overloadPhrases...):
		return Overloaded
	case from(RateLimited, PermissionDenied, Unknown) && containsAny(msg, windowRatePhrases...):
		return RateLimited
	case from(RateLimited, PermissionDenied, Unknown) && containsAny(msg, softQuotaPhrases...):
		// "Quota exceeded" with a short wait attached is a rate limit in
		// quota words (Gemini, Vertex): the provider says it comes back.
		if _, ok := messageWait(msg); ok {
			return RateLimited
		}
		return QuotaExhausted
	case from(RateLimited, PermissionDenied, Unknown) && containsAny(msg, ratePhrases...):
		return RateLimited
	case from(ServerError, Unknown) && containsAny(msg, timeoutPhrases...):
		return Timeout
	case from(InvalidRequest, Unknown) && (containsAny(msg, notFoundPhrases...) && strings.Contains(msg, "model") || quotedModelNotFound.MatchString(msg)):
		return NotFound
	case from(InvalidRequest, Unknown) && containsAny(msg, permPhrases...):
		return PermissionDenied
	}
	return code
}

// quotedModelNotFound matches a model named between quotes, then "not
// found" (llama.cpp's router: "model 'qwen3-8b' not found").
var quotedModelNotFound = regexp.MustCompile("\\bmodel\\s+['\"`][^'\"`]{1,256}['\"`]\\s+(?:was\\s+|is\\s+)?not\\s+found")

// limitRequested matches "Limit 6000, Requested 11000" in OpenAI and Groq
// rate-limit messages.
var limitRequested = regexp.MustCompile(`(?i)\blimit:?\s*(\d{1,12})\b[^.;]{0,40}?\brequested:?\s*(\d{1,12})\b`)

// refineRateLimited is step 4.
func refineRateLimited(code StandardErrorCode, info bodyInfo, msg string) StandardErrorCode {
	if m := limitRequested.FindStringSubmatch(msg); m != nil {
		limit, err1 := strconv.ParseInt(m[1], 10, 64)
		requested, err2 := strconv.ParseInt(m[2], 10, 64)
		if err1 == nil && err2 == nil && requested > limit {
			return RequestTooLarge
		}
	}
	if len(info.violations) > 0 {
		for _, v := range info.violations {
			lv := strings.ToLower(v)
			if containsAny(lv, dailyPhrases...) || strings.Contains(lv, "limit: 0") {
				return QuotaExhausted
			}
		}
		return RateLimited
	}
	if containsAny(msg, dailyPhrases...) || strings.Contains(msg, "limit: 0") {
		return QuotaExhausted
	}
	return code
}
