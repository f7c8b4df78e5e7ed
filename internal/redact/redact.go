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
	// Each pattern needs a literal of its own; most texts (request ids,
	// ordinary messages) hold none, and three regular expressions over
	// them cost microseconds per answer. One pass over s finds which
	// literals it holds; the checks are necessary conditions only: where
	// one holds, the pattern runs as before
	// (FuzzStringSkipsOnlyWhatCannotMatch).
	need := literalsIn(s)
	if need&needPrefixed != 0 {
		s = replaceSubmatches(prefixed, s, maskPrefixed)
	}
	if need&needBearer != 0 {
		s = bearer.ReplaceAllString(s, "${1}${2}"+Mask)
	}
	if need&needAssigned != 0 {
		s = replaceSubmatches(assigned, s, maskAssigned)
	}
	return s
}

// replaceSubmatches is ReplaceAllStringFunc with the match's groups, as
// found in the text: running the pattern again on the match alone may not
// match it (a \b that held in the text need not hold at the match's edge),
// which made the old replacement functions index an empty result
// (FuzzStringSkipsOnlyWhatCannotMatch found "0KeY 00000000").
func replaceSubmatches(re *regexp.Regexp, s string, repl func(groups []string) string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		groups := make([]string, len(m)/2)
		for g := range groups {
			if m[2*g] >= 0 {
				groups[g] = s[m[2*g]:m[2*g+1]]
			}
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(repl(groups))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// prefixLiterals are the literals one of which every match of prefixed
// contains.
// Which patterns a text may match, by the literals it holds.
const (
	needPrefixed = 1 << iota // a key prefix, case as written
	needBearer               // "bearer" or "basic", any case
	needAssigned             // a credential word, any case
	needAll      = needPrefixed | needBearer | needAssigned
)

// literal is a string one of which every match of a pattern contains.
type literal struct {
	text string // lower case when fold
	fold bool   // matched in any ASCII case
	need uint8
}

// prefixLiterals are the literals one of which every match of prefixed
// contains; foldedWords those of bearer (its alternatives) and assigned
// (the alternatives of its credential word), matched in any case.
var (
	prefixLiterals = []string{"sk-", "AIza", "gsk_", "xai-", "hf_", "r8_", "pplx-", "AKIA", "ASIA", "ya29.", "eyJ"}
	foldedWords    = []literal{
		{"bearer", true, needBearer}, {"basic", true, needBearer},
		{"key", true, needAssigned}, {"token", true, needAssigned}, {"secret", true, needAssigned},
		{"passw", true, needAssigned}, {"pwd", true, needAssigned}, {"sig", true, needAssigned},
	}
)

// literalsAt lists, by a text's byte, the literals that can start there.
var literalsAt [256][]literal

func init() {
	for _, l := range prefixLiterals {
		literalsAt[l[0]] = append(literalsAt[l[0]], literal{l, false, needPrefixed})
	}
	for _, w := range foldedWords {
		literalsAt[w.text[0]] = append(literalsAt[w.text[0]], w)
		upper := w.text[0] - 'a' + 'A'
		literalsAt[upper] = append(literalsAt[upper], w)
	}
}

// literalsIn reports, in one pass and without allocating, which patterns
// s may match. The case-insensitive patterns are (?i) over ASCII letters,
// but (?i) also folds 'k' with the Kelvin sign (U+212A) and 's' with the
// long s (U+017F): a text with any non-ASCII byte may match them, so the
// regular expressions decide.
func literalsIn(s string) uint8 {
	var need uint8
	for i := 0; i < len(s) && need != needAll; i++ {
		c := s[i]
		if c >= 0x80 {
			need |= needBearer | needAssigned
			continue
		}
		for _, l := range literalsAt[c] {
			if need&l.need == 0 && hasLiteral(s[i:], l) {
				need |= l.need
			}
		}
	}
	return need
}

// hasLiteral reports whether s starts with l.
func hasLiteral(s string, l literal) bool {
	if len(s) < len(l.text) {
		return false
	}
	if !l.fold {
		return s[:len(l.text)] == l.text
	}
	for j := 0; j < len(l.text); j++ {
		if s[j]|0x20 != l.text[j] {
			return false
		}
	}
	return true
}

// maskPrefixed keeps a match's prefix (groups[1:], one set) and masks the
// rest; groups[0] is the whole match.
func maskPrefixed(groups []string) string {
	for _, p := range groups[1:] {
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
func maskAssigned(groups []string) string {
	m, word, sep, val := groups[0], groups[1], groups[2], groups[3]
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
