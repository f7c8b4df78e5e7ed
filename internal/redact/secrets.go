package redact

import (
	"cmp"
	"slices"
	"strings"
)

// MinPartialLen is the shortest start of a secret that [Secrets] masks
// when a text is cut in the middle of the secret: a message clipped to a
// length, or a body read up to a limit, keeps only the first part of a key
// echoed at the cut.
const MinPartialLen = 6

// Secrets masks a fixed set of secrets, such as the API keys a client
// holds, in any text, by value: it does not depend on what the secrets
// look like, so a key holding '%', '"', '\', '|' or '[' is masked whole.
//
// A secret is found in every encoding it takes in the texts a client
// produces or receives, and in any mix of them, character by character:
//
//   - raw;
//   - URL-escaped: %XX with upper- or lower-case hex, '+' for a space
//     (url.QueryEscape and url.PathEscape);
//   - backslash-escaped: \" and \\ (JSON, strconv.Quote and net/http's %q
//     URL in a *url.Error), \/ (JSON), a backslash before any other
//     punctuation, \uXXXX and \xXX;
//   - HTML character references: &quot; &amp; &lt; &gt; &apos; &#NN; &#xHH;,
//     also with the '&' JSON-escaped (\u0026#34;: HTML in JSON, as Go's
//     encoding/json writes it).
//
// A text that ends in the middle of a secret (at least [MinPartialLen]
// of its characters, then the end of the text, an ellipsis "…" or "...",
// or an escape cut short) has that start masked too.
//
// The zero Secrets and a nil *Secrets hold no secret. A Secrets is
// immutable once made and safe for concurrent use.
type Secrets struct {
	values []string  // longest first, so that a secret containing another is masked whole
	lead   [256]bool // bytes that can start an encoded secret: a skip table for the scan
}

// NewSecrets returns the set of the given secrets. Empty values, values
// shorter than [MinSecretLen] and duplicates are dropped: masking "ab"
// everywhere would destroy the text and protect nothing.
func NewSecrets(values ...string) *Secrets {
	s := &Secrets{}
	for _, v := range values {
		if len(v) >= MinSecretLen && !slices.Contains(s.values, v) {
			s.values = append(s.values, v)
		}
	}
	slices.SortStableFunc(s.values, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, v := range s.values {
		s.lead[v[0]] = true
		if v[0] == ' ' {
			s.lead['+'] = true
		}
	}
	if len(s.values) > 0 {
		for _, c := range []byte{'%', '\\', '&'} {
			s.lead[c] = true
		}
	}
	return s
}

// Len returns the number of secrets in the set.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.values)
}

// String returns text with every secret of s masked (see [Secrets]), and
// then everything that looks like a key masked as [String] does. It is the
// one function the client passes every text it produces through.
func (s *Secrets) String(text string) string {
	return String(s.Mask(text))
}

// Mask returns text with every secret of s masked, in any encoding; it
// does not mask by pattern. Text without a secret is returned as is,
// without allocating.
func (s *Secrets) Mask(text string) string {
	if s.Len() == 0 || text == "" {
		return text
	}
	// Every place where a secret starts is tried, inside an earlier match
	// too: a text holding two overlapping echoes (a key whose end repeats
	// its start) is masked over the union of both.
	var b strings.Builder
	last, from, to := 0, 0, 0 // text[:last] is in b; text[from:to] is the masked run being grown
	for i := 0; i < len(text); i++ {
		if !s.lead[text[i]] {
			continue
		}
		end := s.matchAt(text, i)
		switch {
		case end <= i:
			continue
		case i < to:
			to = max(to, end)
			continue
		}
		if to > from {
			b.WriteString(text[last:from])
			b.WriteString(Mask)
			last = to
		}
		from, to = i, end
	}
	if to > from {
		b.WriteString(text[last:from])
		b.WriteString(Mask)
		last = to
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// MaskBytes is [Secrets.Mask] for a body: it returns p itself when p holds
// no secret.
func (s *Secrets) MaskBytes(p []byte) []byte {
	if s.Len() == 0 || len(p) == 0 {
		return p
	}
	text := string(p)
	out := s.Mask(text)
	if len(out) == len(text) && out == text {
		return p
	}
	return []byte(out)
}

// matchAt returns the end of the longest secret encoded at text[i:], or
// of the start of one cut off by the end of the text; i when there is
// none.
func (s *Secrets) matchAt(text string, i int) int {
	best, partial := i, i
	for _, v := range s.values {
		end, full := match(text, i, v)
		switch {
		case full && end > best:
			best = end
		case !full && end > partial:
			partial = end
		}
	}
	if best > i {
		return best
	}
	return partial
}

// match reports whether text[i:] starts with secret encoded (see
// [Secrets]), and where the encoded secret ends. When it does not, but
// the text is cut after at least MinPartialLen characters of the secret,
// match returns the end of the cut start with full false. Otherwise it
// returns i, false.
//
// Several encodings may match at one place ("%41" is '%' followed by "41",
// or 'A'), so match follows every reading at once: it keeps the set of
// text positions reachable after each character of the secret, which
// bounds its work by len(secret) times a handful of positions, with no
// backtracking.
func match(text string, i int, secret string) (int, bool) {
	var bufA, bufB [8]int
	cur, next := append(bufA[:0], i), bufB[:0]
	cut := i // the end of the longest cut start seen
	for k := 0; k < len(secret); k++ {
		if k >= MinPartialLen-1 {
			// A reading may end in a cut here even when another goes on:
			// "&amp" at the end is a cut "&amp;", and also '&' then "amp".
			// An escape cut short shows a character more than the k
			// before it ("QQQQQ&amp…" shows "QQQQQ&" raw), so it counts
			// from one character earlier.
			for _, p := range cur {
				if e, ok := cutAt(text, p); ok && (k >= MinPartialLen || e > p) {
					cut = max(cut, e)
				}
			}
		}
		next = next[:0]
		for _, p := range cur {
			next = appendEnds(next, text, p, secret[k])
		}
		if len(next) == 0 {
			return cut, false
		}
		cur, next = next, cur
	}
	return slices.Max(cur), true
}

// appendEnds appends to dst the end of every encoding of c that starts
// text[p:], without duplicates.
func appendEnds(dst []int, text string, p int, c byte) []int {
	add := func(n int) {
		if !slices.Contains(dst, p+n) {
			dst = append(dst, p+n)
		}
	}
	t := text[p:]
	if t == "" {
		return dst
	}
	if t[0] == c {
		add(1)
	}
	switch t[0] {
	case '%':
		if len(t) >= 3 && hexByte(t[1], t[2]) == int(c) {
			add(3)
		}
	case '+':
		if c == ' ' {
			add(1)
		}
	case '\\':
		if len(t) < 2 {
			break
		}
		if n := escaped(t, c); n > 0 {
			add(n)
		}
		if n := escaped(t, '&'); n > 0 {
			// An HTML character reference whose '&' is escaped, as JSON
			// with HTML escaping (Go's default) writes one: \u0026#34;
			// for ".
			if m := entityRest(t[n:], c); m > 0 {
				add(n + m)
			}
		}
		if t[1] == '\\' {
			// Escaped twice, as JSON holding a Go-quoted string: \\\"
			// for ", \\\\ for \, \\| for |, \\u0041 for A.
			switch n := escaped(t[1:], c); {
			case c == '"' || c == '\\':
				if len(t) >= 4 && t[2] == '\\' && t[3] == c {
					add(4)
				}
				if n > 2 {
					add(1 + n)
				}
			case n > 0:
				add(1 + n)
			}
		}
	case '&':
		if n := entityRest(t[1:], c); n > 0 {
			add(1 + n)
		}
	}
	return dst
}

// escaped returns the length of the backslash escape of c that starts t
// (\" \\ \/ or any escaped punctuation, \uXXXX, \xXX), 0 if there is
// none.
func escaped(t string, c byte) int {
	if len(t) < 2 || t[0] != '\\' {
		return 0
	}
	switch e := t[1]; {
	case e == c && !isAlnum(c):
		return 2
	case e == 'u' && len(t) >= 6 && hexByte(t[2], t[3]) == 0 && hexByte(t[4], t[5]) == int(c):
		return 6
	case e == 'x' && len(t) >= 4 && hexByte(t[2], t[3]) == int(c):
		return 4
	}
	return 0
}

// entityRest returns the length of what follows the '&' of the HTML
// character reference for c that t continues ("quot;" or "#34;" for "),
// 0 if there is none.
func entityRest(t string, c byte) int {
	var names []string
	switch c {
	case '"':
		names = []string{"quot;", "QUOT;"}
	case '&':
		names = []string{"amp;", "AMP;"}
	case '<':
		names = []string{"lt;", "LT;"}
	case '>':
		names = []string{"gt;", "GT;"}
	case '\'':
		names = []string{"apos;"}
	}
	for _, name := range names {
		if strings.HasPrefix(t, name) {
			return len(name)
		}
	}
	if len(t) < 3 || t[0] != '#' {
		return 0
	}
	end := strings.IndexByte(t[:min(len(t), 11)], ';')
	if end < 2 {
		return 0
	}
	digits, base := t[1:end], 10
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		d := hexDigit(digits[i])
		if d < 0 || d >= base {
			return 0
		}
		n = n*base + d
	}
	if n != int(c) {
		return 0
	}
	return end + 1
}

// cutAt reports whether the text is cut at p: p is the end of the text,
// or is followed by an ellipsis ("…" or "..."), possibly after the start
// of an escape that the cut left incomplete ("%5", "\u00", "&qu"). It
// returns the end of that incomplete escape.
func cutAt(text string, p int) (int, bool) {
	// 12 bytes hold the longest escape cut short: "\u0026#x22" (10), and
	// escapes in escapes ("\\u0026quot", 11).
	for e := p; e <= len(text) && e-p <= 12; e++ {
		if e > p && !strings.ContainsRune(`%\&`, rune(text[p])) {
			break
		}
		rest := text[e:]
		if rest == "" || strings.HasPrefix(rest, "…") || strings.HasPrefix(rest, "...") {
			return e, true
		}
		if !inEscape(text, p, e) {
			break
		}
	}
	return p, false
}

// inEscape reports whether text[e] can go on an escape begun at p and cut
// short, one escape in another too ("\\" of "\\\"", "%25" of "%2522",
// "&amp;q" of "&amp;quot;"): a letter or digit, one of \ % & # ;, or a
// quote a backslash escapes. Anything else ends it: a text that goes on
// with `\"***"}` after a secret's start is not cut there (read as a cut,
// the rest of a JSON body was masked with it).
func inEscape(text string, p, e int) bool {
	c := text[e]
	return isAlnum(c) || strings.IndexByte(`\%&#;`, c) >= 0 || c == '"' && e > p && text[e-1] == '\\'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// hexByte returns the byte that two hex digits stand for, -1 if they are
// not hex digits.
func hexByte(a, b byte) int {
	x, y := hexDigit(a), hexDigit(b)
	if x < 0 || y < 0 {
		return -1
	}
	return x<<4 | y
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
