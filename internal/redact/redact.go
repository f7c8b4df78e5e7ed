package redact

import (
	"regexp"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "***"

// MinSecretLen is the shortest secret [Secrets] masks. Shorter strings are
// skipped: masking "ab" everywhere would destroy the text and protect
// nothing, since no real credential is that short.
const MinSecretLen = 8

// prefixed are key formats recognisable by their prefix. The first group is
// the prefix kept in the output. The character class after it includes '*'
// so that a key the provider already masked in part
// ("sk-proj-****abcd") is masked entirely.
var prefixed = regexp.MustCompile(
	`\b(sk-(?:ant-(?:api\d\d-|admin\d\d-)?|proj-|or-v\d-|svcacct-|None-)?)[A-Za-z0-9_*\-]{12,}` +
		`|\b(AIza)[0-9A-Za-z_\-]{20,}` +
		`|\b(gsk_)[A-Za-z0-9]{16,}` +
		`|\b(xai-)[A-Za-z0-9]{16,}` +
		`|\b(hf_)[A-Za-z0-9]{16,}` +
		`|\b(r8_)[A-Za-z0-9]{16,}` +
		`|\b(pplx-)[A-Za-z0-9]{16,}` +
		`|\b(A(?:KIA|SIA))[0-9A-Z]{16}\b` +
		`|\b(ya29\.)[0-9A-Za-z_\-.]{16,}` +
		`|\b(eyJ)[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*`)

// bearer is an Authorization value: "Bearer <token>" or "Basic <token>".
var bearer = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{8,}`)

// assigned is a value that follows a credential-like word:
// api_key=..., "token": "...", x-api-key: ..., secret ...
var assigned = regexp.MustCompile(
	`(?i)\b((?:x-)?(?:api[_-]?|access[_-]?|secret[_-]?|auth[_-]?|session[_-]?|private[_-]?|client[_-]?)?` +
		`(?:key|token|secret|password|passwd|pwd|signature|sig))\b` +
		`("?\s*[:=]\s*"?|\s+)` +
		`([A-Za-z0-9._~+/=\-]{8,})`)

// String returns s with every key-like substring masked. See the package
// doc for what is recognised.
func String(s string) string {
	if s == "" {
		return s
	}
	s = prefixed.ReplaceAllStringFunc(s, maskPrefixed)
	s = bearer.ReplaceAllString(s, "${1}${2}"+Mask)
	s = assigned.ReplaceAllStringFunc(s, maskAssigned)
	return s
}

func maskPrefixed(m string) string {
	sub := prefixed.FindStringSubmatch(m)
	for _, p := range sub[1:] {
		if p != "" {
			return p + Mask
		}
	}
	return Mask
}

// maskAssigned masks the value after a credential word. With an explicit
// separator (":" or "=") any value of MinSecretLen or more is masked; after
// plain whitespace ("token abc...") only a value that looks random (16+
// characters with a digit) is, so that prose such as "the key provided is
// invalid" stays readable.
func maskAssigned(m string) string {
	sub := assigned.FindStringSubmatch(m)
	word, sep, val := sub[1], sub[2], sub[3]
	if val == Mask || strings.HasSuffix(val, Mask) {
		return m
	}
	if !strings.ContainsAny(sep, ":=") {
		if len(val) < 16 || !strings.ContainsAny(val, "0123456789") {
			return m
		}
	}
	return word + sep + Mask
}
