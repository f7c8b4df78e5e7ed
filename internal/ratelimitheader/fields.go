package ratelimitheader

import (
	"net/http"
	"strings"
)

// The headers this package reads, by field index. Each dimension's limit,
// remaining and reset headers are consecutive, in that order, so that
// [found.dim] reads them from the index of the first. The retry headers
// come last, so that [Parse] and [RetryAfter] each collect only their own.
const (
	oaiRequests     = 0  // x-ratelimit-{limit,remaining,reset}-requests
	oaiTokens       = 3  // x-ratelimit-{limit,remaining,reset}-tokens
	antRequests     = 6  // anthropic-ratelimit-requests-{limit,remaining,reset}
	antTokens       = 9  // anthropic-ratelimit-tokens-*
	antInputTokens  = 12 // anthropic-ratelimit-input-tokens-*
	antOutputTokens = 15 // anthropic-ratelimit-output-tokens-*
	ietfSeparate    = 18 // ratelimit-{limit,remaining,reset}
	ietfCombined    = 21 // ratelimit
	plainPrefix     = 22 // x-ratelimit-{limit,remaining,reset}

	firstRetryField = 25
	retryAfterMs    = 25
	retryAfter      = 26
	numFields       = 27
)

// names holds each field's header name in canonical form, as net/http
// stores received headers.
var names = [numFields]string{
	"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
	"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens",
	"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset",
	"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset",
	"Anthropic-Ratelimit-Input-Tokens-Limit", "Anthropic-Ratelimit-Input-Tokens-Remaining", "Anthropic-Ratelimit-Input-Tokens-Reset",
	"Anthropic-Ratelimit-Output-Tokens-Limit", "Anthropic-Ratelimit-Output-Tokens-Remaining", "Anthropic-Ratelimit-Output-Tokens-Reset",
	"Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset",
	"Ratelimit",
	"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset",
	"Retry-After-Ms", "Retry-After",
}

// byLower maps each name, in lower case, to its field.
var byLower = make(map[string]int, numFields)

// exactField returns the field whose name is k, or -1. A switch, not a
// map: it compares lengths and bytes and hashes nothing, and most keys of
// an answer are tried (TestExactFieldMatchesNames keeps it in step with
// names).
func exactField(k string) int {
	switch k {
	case "X-Ratelimit-Limit-Requests":
		return oaiRequests
	case "X-Ratelimit-Remaining-Requests":
		return oaiRequests + 1
	case "X-Ratelimit-Reset-Requests":
		return oaiRequests + 2
	case "X-Ratelimit-Limit-Tokens":
		return oaiTokens
	case "X-Ratelimit-Remaining-Tokens":
		return oaiTokens + 1
	case "X-Ratelimit-Reset-Tokens":
		return oaiTokens + 2
	case "Anthropic-Ratelimit-Requests-Limit":
		return antRequests
	case "Anthropic-Ratelimit-Requests-Remaining":
		return antRequests + 1
	case "Anthropic-Ratelimit-Requests-Reset":
		return antRequests + 2
	case "Anthropic-Ratelimit-Tokens-Limit":
		return antTokens
	case "Anthropic-Ratelimit-Tokens-Remaining":
		return antTokens + 1
	case "Anthropic-Ratelimit-Tokens-Reset":
		return antTokens + 2
	case "Anthropic-Ratelimit-Input-Tokens-Limit":
		return antInputTokens
	case "Anthropic-Ratelimit-Input-Tokens-Remaining":
		return antInputTokens + 1
	case "Anthropic-Ratelimit-Input-Tokens-Reset":
		return antInputTokens + 2
	case "Anthropic-Ratelimit-Output-Tokens-Limit":
		return antOutputTokens
	case "Anthropic-Ratelimit-Output-Tokens-Remaining":
		return antOutputTokens + 1
	case "Anthropic-Ratelimit-Output-Tokens-Reset":
		return antOutputTokens + 2
	case "Ratelimit-Limit":
		return ietfSeparate
	case "Ratelimit-Remaining":
		return ietfSeparate + 1
	case "Ratelimit-Reset":
		return ietfSeparate + 2
	case "Ratelimit":
		return ietfCombined
	case "X-Ratelimit-Limit":
		return plainPrefix
	case "X-Ratelimit-Remaining":
		return plainPrefix + 1
	case "X-Ratelimit-Reset":
		return plainPrefix + 2
	case "Retry-After-Ms":
		return retryAfterMs
	case "Retry-After":
		return retryAfter
	}
	return -1
}

// canonicalASCII reports whether k is in net/http's canonical form
// (CanonicalMIMEHeaderKey) and ASCII only. Such a key equals a name under
// case folding only if it equals it byte for byte, as the names are
// canonical too.
func canonicalASCII(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 0x80:
			return false
		case upper && 'a' <= c && c <= 'z', !upper && 'A' <= c && c <= 'Z':
			return false
		}
		upper = c == '-'
	}
	return true
}

// fieldSet is the fields in [lo, hi), with what tells their names apart
// cheaply: the letters they start with (a bit per letter) and their
// shortest and longest length.
type fieldSet struct {
	lo, hi           int
	first            uint32
	minName, maxName int
}

// limitFields are the fields [Parse] reads, retryFields those
// [RetryAfter] reads.
var limitFields, retryFields = newFieldSet(0, firstRetryField), newFieldSet(firstRetryField, numFields)

func init() {
	for i, n := range names {
		byLower[strings.ToLower(n)] = i
	}
}

func newFieldSet(lo, hi int) fieldSet {
	s := fieldSet{lo: lo, hi: hi, minName: len(names[lo]), maxName: len(names[lo])}
	for _, n := range names[lo:hi] {
		s.first |= 1 << (n[0] | 0x20 - 'a')
		s.minName, s.maxName = min(s.minName, len(n)), max(s.maxName, len(n))
	}
	return s
}

// Where a field's value came from.
const (
	fromNone   = iota
	fromFolded // a key that differs from the canonical name only in case
	fromExact  // the canonical key
)

// found holds the first value of each header a pass over a header map
// found.
type found struct {
	v    [numFields]string
	from [numFields]uint8
}

// collect reads in one pass over h the values of the fields in set.
// It finds what [Get] finds: a canonical key with a value wins over other
// spellings of the same name. It reports whether any field was found.
func (f *found) collect(h http.Header, set *fieldSet) bool {
	hit := false
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		i, exact := set.fieldOf(k)
		if i < 0 {
			continue
		}
		switch {
		case exact:
			f.v[i], f.from[i] = vs[0], fromExact
		case f.from[i] == fromNone:
			f.v[i], f.from[i] = vs[0], fromFolded
		default:
			continue
		}
		hit = true
	}
	return hit
}

// fieldOf returns the field of s whose name equals k under Unicode case
// folding (as [strings.EqualFold] matches), or -1, and whether k is that
// name's canonical spelling. Most keys of an answer are told apart by
// their first byte: every name starts with a, r or x, letters that no
// other rune folds to.
func (s *fieldSet) fieldOf(k string) (int, bool) {
	if len(k) < s.minName {
		return -1, false
	}
	if c := k[0] | 0x20; c < 'a' || c > 'z' || s.first&(1<<(c-'a')) == 0 {
		return -1, false
	}
	// net/http hands over received keys in canonical form: they are
	// found, or ruled out, without folding.
	if i := exactField(k); i >= 0 {
		if i < s.lo || i >= s.hi {
			return -1, false
		}
		return i, true
	}
	if canonicalASCII(k) {
		return -1, false
	}
	// A name folds from at most 2 more bytes per letter than it has (the
	// Kelvin sign is 3 bytes), far below 64.
	var buf [64]byte
	if len(k) > len(buf) {
		return -1, false
	}
	for j := 0; j < len(k); j++ {
		c := k[j]
		switch {
		case c >= 0x80:
			// A rune such as the Kelvin sign folds to an ASCII letter.
			return s.folded(k)
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[j] = c
	}
	if len(k) > s.maxName {
		return -1, false
	}
	i, ok := byLower[string(buf[:len(k)])]
	if !ok || i < s.lo || i >= s.hi {
		return -1, false
	}
	return i, k == names[i]
}

// folded is fieldOf for keys holding non-ASCII bytes.
func (s *fieldSet) folded(k string) (int, bool) {
	for i := s.lo; i < s.hi; i++ {
		if strings.EqualFold(k, names[i]) {
			return i, false
		}
	}
	return -1, false
}
