package errors

import (
	"strings"
)

// mapping is what one provider code means. A strong code names a
// specific condition and decides; a weak one is generic and only fills in
// when the status says nothing.
type mapping struct {
	code   StandardErrorCode
	strong bool
}

// normalizeCode folds case and drops separators so that
// "insufficient_quota", "InsufficientQuota" and "insufficient-quota" meet.
func normalizeCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s) && b.Len() < 96; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}

// providerCodes maps normalized provider codes and types to standard
// codes. Sources: the OpenAI, Anthropic, Google (google.rpc.Code and
// ErrorInfo reasons), Mistral, Groq, xAI, Azure OpenAI, AWS Bedrock, and
// LiteLLM error references.
var providerCodes = map[string]mapping{
	// Quota, credit, billing: not retryable, another target may work.
	"insufficientquota":             {QuotaExhausted, true}, // OpenAI
	"billingerror":                  {QuotaExhausted, true}, // Anthropic 402
	"billinghardlimitreached":       {QuotaExhausted, true}, // OpenAI
	"billingnotactive":              {QuotaExhausted, true}, // OpenAI
	"billingdisabled":               {QuotaExhausted, true}, // Google ErrorInfo
	"enforcedspendlimitreached":     {QuotaExhausted, true}, // Anthropic details.error_code
	"insufficientbalance":           {QuotaExhausted, true},
	"insufficientcredits":           {QuotaExhausted, true},
	"insufficientfunds":             {QuotaExhausted, true},
	"insufficientg1creditsbalance":  {QuotaExhausted, true}, // Google ErrorInfo
	"paymentrequired":               {QuotaExhausted, true},
	"servicequotaexceededexception": {QuotaExhausted, true}, // Bedrock
	"quotaexceeded":                 {QuotaExhausted, false},
	"budgetexceeded":                {QuotaExhausted, true}, // LiteLLM proxy (400, 422 or 429)
	// Portkey's gateway, 412 "... Usage Limit Exceeded" of a virtual key,
	// a workspace, an integration or a usage-limits policy.
	"virtualkeyexhausterror":        {QuotaExhausted, true},
	"workspaceexhausterror":         {QuotaExhausted, true},
	"integrationexhausterror":       {QuotaExhausted, true},
	"usagelimitspolicyexhausterror": {QuotaExhausted, true},

	// Slow down: retryable.
	"ratelimitexceeded":            {RateLimited, true}, // OpenAI, Groq, Google ErrorInfo
	"ratelimiterror":               {RateLimited, true}, // Anthropic
	"ratelimited":                  {RateLimited, true}, // Mistral
	"ratelimit":                    {RateLimited, true},
	"ratelimitreached":             {RateLimited, true},
	"toomanyrequests":              {RateLimited, true},
	"toomanyrequestsexception":     {RateLimited, true},
	"throttlingexception":          {RateLimited, true}, // Bedrock
	"throttlingerror":              {RateLimited, true},
	"throttled":                    {RateLimited, true},
	"requestlimitexceeded":         {RateLimited, true},
	"slowdown":                     {RateLimited, true},  // OpenAI 503 slow_down
	"resourceexhausted":            {RateLimited, false}, // Google: rate or quota, see violations
	"someresourcehasbeenexhausted": {RateLimited, false}, // xAI (gRPC text)
	"requests":                     {RateLimited, false}, // OpenAI rate-limit type
	"tokens":                       {RateLimited, false}, // OpenAI rate-limit type

	// Too large.
	"contextlengthexceeded":      {RequestTooLarge, true}, // OpenAI, Groq, Azure
	"contextwindowexceeded":      {RequestTooLarge, true},
	"contextwindowexceedederror": {RequestTooLarge, true}, // LiteLLM
	"requesttoolarge":            {RequestTooLarge, true}, // Anthropic 413
	"stringabovemaxlength":       {RequestTooLarge, true}, // OpenAI
	"payloadtoolarge":            {RequestTooLarge, true},
	"requestentitytoolarge":      {RequestTooLarge, true},
	"tokenslimitreached":         {RequestTooLarge, true},
	"exceedcontextsizeerror":     {RequestTooLarge, true}, // llama.cpp

	// Overloaded or unavailable: retryable.
	"overloadederror":             {Overloaded, true}, // Anthropic, any status
	"overloaded":                  {Overloaded, true},
	"engineoverloaded":            {Overloaded, true},
	"unavailable":                 {Overloaded, true}, // Google
	"serviceunavailable":          {Overloaded, true},
	"serviceunavailableexception": {Overloaded, true}, // Bedrock
	"modelnotreadyexception":      {Overloaded, true}, // Bedrock
	"servicetiercapacityexceeded": {Overloaded, true}, // Mistral 3505
	"overcapacity":                {Overloaded, true},
	"capacityexceeded":            {Overloaded, true},

	// Credentials.
	"invalidapikey":               {Authentication, true}, // OpenAI, Groq
	"authenticationerror":         {Authentication, true}, // Anthropic
	"unauthenticated":             {Authentication, true}, // Google
	"apikeyinvalid":               {Authentication, true}, // Google ErrorInfo
	"apikeyexpired":               {Authentication, true},
	"invalidauthentication":       {Authentication, true},
	"unauthorized":                {Authentication, true},
	"unrecognizedclientexception": {Authentication, true}, // AWS
	"invalidsignatureexception":   {Authentication, true}, // AWS
	"expiredtokenexception":       {Authentication, true}, // AWS
	"incompletesignature":         {Authentication, true}, // AWS
	"missingauthenticationtoken":  {Authentication, true}, // AWS
	"accountdeactivated":          {Authentication, true}, // OpenAI
	"therequestdoesnothavevalidauthenticationcredentialsfortheoperation": {Authentication, false}, // xAI

	// Permission.
	"permissionerror":                   {PermissionDenied, true}, // Anthropic
	"permissiondenied":                  {PermissionDenied, true}, // Google
	"accessdeniedexception":             {PermissionDenied, true}, // Bedrock
	"accessdenied":                      {PermissionDenied, true},
	"forbidden":                         {PermissionDenied, true},
	"unsupportedcountryregionterritory": {PermissionDenied, true}, // OpenAI
	"servicedisabled":                   {PermissionDenied, true}, // Google ErrorInfo
	"insufficientpermissions":           {PermissionDenied, true},
	"thecallerdoesnothavepermissiontoexecutethespecifiedoperation": {PermissionDenied, false}, // xAI

	// Not found.
	"notfounderror":                  {NotFound, true}, // Anthropic
	"notfound":                       {NotFound, true}, // Google
	"modelnotfound":                  {NotFound, true}, // OpenAI
	"deploymentnotfound":             {NotFound, true}, // Azure
	"resourcenotfoundexception":      {NotFound, true}, // Bedrock
	"modeldecommissioned":            {NotFound, true}, // Groq
	"unknownmodel":                   {NotFound, true},
	"somerequestedentitywasnotfound": {NotFound, false}, // xAI

	// Timeout.
	"timeouterror":          {Timeout, true}, // Anthropic 504
	"timeout":               {Timeout, true},
	"deadlineexceeded":      {Timeout, true}, // Google
	"modeltimeoutexception": {Timeout, true}, // Bedrock
	"requesttimeout":        {Timeout, true},
	"gatewaytimeout":        {Timeout, true},

	// Conflict.
	"conflicterror":     {Conflict, true},
	"conflict":          {Conflict, true},
	"conflictexception": {Conflict, true}, // Bedrock
	"aborted":           {Conflict, true}, // Google
	"alreadyexists":     {Conflict, true}, // Google

	// Cancelled.
	"cancelled":        {Cancelled, true}, // Google
	"canceled":         {Cancelled, true},
	"requestcancelled": {Cancelled, true},

	// Invalid requests that must not be refined by their text.
	"contentfilter":                {InvalidRequest, true}, // Azure
	"contentpolicyviolation":       {InvalidRequest, true},
	"responsibleaipolicyviolation": {InvalidRequest, true}, // Azure innererror
	"invalidprompt":                {InvalidRequest, true}, // OpenAI
	"jsonvalidatefailed":           {InvalidRequest, true}, // Groq

	// The model itself failed.
	"modelerrorexception": {ServerError, true}, // Bedrock 424
	// text-generation-inference's error_type: a failed generation (a
	// shard's error, out of memory) comes as 424, one cut short as 500.
	"generation":           {ServerError, true},
	"incompletegeneration": {ServerError, true},

	// Generic: recorded, decided by status and message.
	"invalidrequesterror":              {InvalidRequest, false},
	"invalidrequest":                   {InvalidRequest, false},
	"badrequest":                       {InvalidRequest, false},
	"validationexception":              {InvalidRequest, false}, // Bedrock
	"validationerror":                  {InvalidRequest, false},
	"validation":                       {InvalidRequest, false}, // text-generation-inference 422
	"invalidargument":                  {InvalidRequest, false}, // Google
	"failedprecondition":               {InvalidRequest, false}, // Google
	"outofrange":                       {InvalidRequest, false}, // Google
	"unimplemented":                    {InvalidRequest, false}, // Google
	"clientspecifiedaninvalidargument": {InvalidRequest, false}, // xAI
	"apierror":                         {ServerError, false},    // Anthropic 500
	"servererror":                      {ServerError, false},    // OpenAI
	"internalservererror":              {ServerError, false},
	"internalserverexception":          {ServerError, false}, // Bedrock
	"internalfailure":                  {ServerError, false}, // AWS
	"internal":                         {ServerError, false}, // Google
	"internalerror":                    {ServerError, false},
	"dataloss":                         {ServerError, false}, // Google
	"modelstreamerrorexception":        {ServerError, false}, // Bedrock
}

// lookupCode finds what a provider code means: first by exact
// (normalized) match, then by the words it contains.
func lookupCode(c string) (mapping, bool) {
	n := normalizeCode(c)
	if n == "" {
		return mapping{}, false
	}
	if m, ok := providerCodes[n]; ok {
		return m, true
	}
	switch {
	case strings.Contains(n, "insufficient") && containsAny(n, "quota", "balance", "credit", "fund"),
		strings.Contains(n, "billing"), strings.Contains(n, "spendlimit"), strings.Contains(n, "spendinglimit"):
		return mapping{QuotaExhausted, true}, true
	case strings.Contains(n, "contextlength"), strings.Contains(n, "contextwindow"):
		return mapping{RequestTooLarge, true}, true
	case strings.Contains(n, "ratelimit"), strings.Contains(n, "throttl"), strings.Contains(n, "toomanyrequests"):
		return mapping{RateLimited, true}, true
	case strings.Contains(n, "overload"):
		return mapping{Overloaded, true}, true
	case strings.Contains(n, "quota"):
		return mapping{QuotaExhausted, false}, true
	}
	return mapping{}, false
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
