package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hostileKeys hold the characters that a pattern-based masking stops at.
var hostileKeys = []string{
	"sk-[br]|p^c~t`;,:Jd84Hf73Gs62Ka51!*$",
	`sk-"quoted"\back\slash%41%zz[x]|y`,
	"key with spaces|and`ticks`[0]%20\\\"",
	`<tag>&amp;'apos'"dq"&#34;\u0041/slash/`,
	"+plus+%2B%25~tilde^caret;semi!bang*star$dollar",
}

// encodings are the forms a secret takes in the texts a client sees,
// written independently of the masking code: each returns s encoded.
var encodings = map[string]func(string) string{
	"raw":          func(s string) string { return s },
	"json":         jsonEscape(true),
	"json no html": jsonEscape(false),
	"go quoted":    func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] },
	"query":        url.QueryEscape,
	"query lower":  func(s string) string { return lowerHex(url.QueryEscape(s)) },
	"path":         url.PathEscape,
	"path lower":   func(s string) string { return lowerHex(url.PathEscape(s)) },
	"html":         html.EscapeString,
	"url error": func(s string) string { // net/http's *url.Error quotes the URL with %q
		return fmt.Sprintf("%q", "http://127.0.0.1/v1?echo="+url.QueryEscape(s))
	},
	"quoted url error raw": func(s string) string { return fmt.Sprintf("%q", "http://h/"+s) },
	"json of html":         func(s string) string { return jsonEscape(true)(html.EscapeString(s)) },
	"json of go quoted": func(s string) string {
		q := strconv.Quote(s)
		return jsonEscape(false)(q[1 : len(q)-1])
	},
}

func jsonEscape(escapeHTML bool) func(string) string {
	return func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if err := enc.Encode(s); err != nil {
			panic(err)
		}
		out := strings.TrimSpace(b.String())
		return out[1 : len(out)-1]
	}
}

var pctEscape = regexp.MustCompile(`%[0-9A-F]{2}`)

func lowerHex(s string) string { return pctEscape.ReplaceAllStringFunc(s, strings.ToLower) }

// leaked returns the first part of key, of 6 characters or more, that text
// holds in one of the encodings more often than want does; "" when none.
// want is the text as it should be after masking (the key replaced by
// Mask), so that a part of the key that the surrounding text holds anyway
// does not count.
func leaked(text, want, key string) string {
	const n = MinPartialLen
	for i := 0; i+n <= len(key); i++ {
		w := key[i : i+n]
		if strings.Count(w, "*") > n/2 {
			// Mostly the mask's own character: the masks themselves, next
			// to a character of the text around them, spell it (a key
			// holding `"*****`, masked next to a quote of the text).
			continue
		}
		got, exp := text, want
		if strings.Contains(w, "*") {
			// A '*' of the window may be the edge of a mask, which spells
			// the window with the text next to it (a key "PPPPPPPP*": the
			// text "…PPPPP" followed by a masked cut key reads "PPPPP***").
			// Only the text's own characters can leak.
			got, exp = strings.ReplaceAll(text, Mask, "\x00"), strings.ReplaceAll(want, Mask, "\x00")
		}
		for name, enc := range encodings {
			if name == "url error" || name == "quoted url error raw" || name == "json of go quoted" {
				continue // a window's form inside these is covered by the plain ones
			}
			e := enc(w)
			if strings.Count(got, e) > strings.Count(exp, e) {
				return fmt.Sprintf("%q (%s form %q)", w, name, e)
			}
		}
	}
	return ""
}

func TestSecretsMaskEveryEncoding(t *testing.T) {
	for _, key := range hostileKeys {
		s := NewSecrets(key)
		for name, enc := range encodings {
			t.Run(name+"/"+key, func(t *testing.T) {
				e := enc(key)
				for _, tmpl := range []string{"%s", "message: %s.", `{"error":{"message":"Incorrect API key %s"}}`, "a%sb%sc"} {
					n := strings.Count(tmpl, "%s")
					args := make([]any, n)
					masked := make([]any, n)
					for i := range args {
						args[i], masked[i] = e, Mask
					}
					text := fmt.Sprintf(tmpl, args...)
					want := fmt.Sprintf(tmpl, masked...)
					got := s.Mask(text)
					if l := leaked(got, want, key); l != "" {
						t.Errorf("Mask(%q) = %q: key part %s survives", text, got, l)
					}
				}
			})
		}
	}
}

func TestSecretsMask(t *testing.T) {
	key := `sk-"a%b\c|d[e]f g`
	s := NewSecrets(key, "", "short", key, "Bearer "+key)
	tests := []struct{ name, in, want string }{
		{"no secret", "nothing to see here", "nothing to see here"},
		{"raw", "key " + key + " end", "key *** end"},
		{"json", `{"m":"key sk-\"a%b\\c|d[e]f g end"}`, `{"m":"key *** end"}`},
		{"query upper", "?k=sk-%22a%25b%5Cc%7Cd%5Be%5Df+g&x=1", "?k=***&x=1"},
		{"path lower", "/sk-%22a%25b%5cc%7cd%5be%5df%20g/x", "/***/x"},
		{"mixed", `sk-&quot;a%25b\\c\u007cd[e]f%20g`, "***"},
		{"longest first", "Authorization: Bearer " + key, "Authorization: ***"},
		{"twice", key + key, "******"},
		{"cut at the end", "message: sk-\"a%b\\c", "message: ***"},
		{"cut before an ellipsis", "message: sk-\"a%b\\c…", "message: ***…"},
		{"cut before dots", `type "sk-\"a%b\\c..."`, `type "***..."`},
		{"cut inside an escape", "?k=sk-%22a%25b%5", "?k=***"},
		{"too short a cut is kept", "message: sk-\"a", "message: sk-\"a"},
		{"escaped twice", `"m":"key \"sk-\\\"a%b\\\\c|d[e]f g\""`, `"m":"key \"***\""`},
		{"prefix not at a cut is kept", `sk-"a%b\c but not the rest`, `sk-"a%b\c but not the rest`},
		{"cut inside an escape, before a dot", "?k=sk-%22a%25b%5...", "?k=***..."},
		{"a whole escape after a prefix is no cut", `{"t":"sk-\"a%b\\\"x"}`, `{"t":"sk-\"a%b\\\"x"}`},
		{"short secret ignored", "short", "short"},
		{"html in json", `{"t":"sk-\u0026#34;a%b\u005cc|d[e]f g"}`, `{"t":"***"}`},
		{"html in json after a near miss", `sk-"a%b\c|d[e]f sk-\u0026#34;a%b\c|d[e]f g`, `sk-"a%b\c|d[e]f ***`},
		{"an escape cut short after five characters", "type: sk-&quot;a%2…", "type: ***…"},
		{"five characters then another", "type: sk-&quot;ax…", "type: sk-&quot;ax…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := s.Len(); got != 2 {
		t.Errorf("Len() = %d; want 2 (empty, short and duplicate values dropped)", got)
	}
}

// TestSecretsMaskLongEscapesCutShort: an HTML reference in JSON cut at
// its last characters is still a cut escape (read 10 bytes ahead only, it
// was not).
func TestSecretsMaskLongEscapesCutShort(t *testing.T) {
	s := NewSecrets(`QQQQQQ"RRRRRRRR`)
	for _, in := range []string{`a QQQQQQ\u0026quot`, `a QQQQQQ\u0026#x22`, `a QQQQQQ\\u0026quot`} {
		for _, tail := range []string{"", "…", "..."} {
			if got := s.Mask(in + tail); got != "a ***"+tail {
				t.Errorf("Mask(%q) = %q; want %q", in+tail, got, "a ***"+tail)
			}
		}
	}
}

func TestSecretsNilAndEmpty(t *testing.T) {
	var nilSet *Secrets
	in := "sk-proj-abcdefghijklmnop0123456789 and plainvalue0123"
	if got := nilSet.Mask(in); got != in {
		t.Errorf("nil Mask changed the text: %q", got)
	}
	if got, want := nilSet.String(in), String(in); got != want {
		t.Errorf("nil String = %q; want the pattern masking %q", got, want)
	}
	if got := NewSecrets().Mask(in); got != in {
		t.Errorf("empty Mask changed the text: %q", got)
	}
	s := NewSecrets("plainvalue0123")
	if got, want := s.String(in), "sk-proj-*** and ***"; got != want {
		t.Errorf("String = %q; want %q (by value, then by pattern)", got, want)
	}
	body := []byte("clean body")
	if got := s.MaskBytes(body); &got[0] != &body[0] {
		t.Error("MaskBytes copied a body without a secret")
	}
}

func TestSecretsMaskDoesNotAllocateWithoutSecret(t *testing.T) {
	s := NewSecrets(hostileKeys...)
	text := strings.Repeat(`{"error":{"message":"Rate limit reached, retry in 20ms & again %s \\ later"}} `, 8)
	if n := testing.AllocsPerRun(100, func() { _ = s.Mask(text) }); n != 0 {
		t.Errorf("Mask of a text without a secret made %v allocations; want 0", n)
	}
}

// FuzzSecretsMask echoes a random printable-ASCII key in a random text,
// at random places, in random encodings, whole or cut off at the end, and
// checks that no part of the key of MinPartialLen characters or more
// survives.
func FuzzSecretsMask(f *testing.F) {
	f.Add([]byte(hostileKeys[0]), "Incorrect API key provided: ", " at ", ".", uint8(0), uint8(3), uint16(0))
	f.Add([]byte(hostileKeys[1]), `{"error":{"message":"`, "", `"}}`, uint8(1), uint8(8), uint16(20))
	f.Add([]byte(hostileKeys[2]), "Post \"http://x/?echo=", "\\", "\": EOF", uint8(4), uint8(5), uint16(9))
	f.Add([]byte("aaaaaaaaaaaa"), "aaaa", "a%", "&", uint8(2), uint8(6), uint16(7))
	names := make([]string, 0, len(encodings))
	for name := range encodings {
		names = append(names, name)
	}
	// A fixed order, so that a corpus entry means the same encoding on
	// every run.
	slices.Sort(names)
	f.Fuzz(func(t *testing.T, rawKey []byte, before, between, after string, enc1, enc2 uint8, cut uint16) {
		key := printable(rawKey)
		if len(key) < MinSecretLen || len(key) > 256 {
			return
		}
		before, between, after = printable([]byte(before)), printable([]byte(between)), printable([]byte(after))
		name1, name2 := names[int(enc1)%len(names)], names[int(enc2)%len(names)]
		e1, e2 := encodings[name1](key), encodings[name2](key)
		s := NewSecrets(key)

		text := before + e1 + between + e2 + after
		want := before + masked(name1) + between + masked(name2) + after
		if got := s.Mask(text); leaked(got, want, key) != "" {
			t.Fatalf("Mask(%q) with key %q = %q: %s survives", text, key, got, leaked(got, want, key))
		}
		if got := s.String(text); leaked(got, want, key) != "" {
			t.Fatalf("String(%q) with key %q = %q: %s survives", text, key, got, leaked(got, want, key))
		}

		// A text cut in the middle of the echoed key, as a clipped
		// message is.
		// The cut is masked when it keeps MinPartialLen characters of the
		// key or more; a shorter start may stay.
		n := int(cut) % (len(e2) + 1)
		cutMask := strings.TrimSuffix(masked(name2), `"`)
		if keptChars(e2[:n], key, encodings[name2]) < MinPartialLen {
			cutMask = e2[:n]
		}
		for _, tail := range []string{"", "…", "..."} {
			text := before + e1 + between + e2[:n] + tail
			want := before + masked(name1) + between + cutMask + tail
			if got := s.Mask(text); leaked(got, want, key) != "" {
				t.Fatalf("Mask(%q) with key %q = %q: %s survives the cut", text, key, got, leaked(got, want, key))
			}
		}
	})
}

// masked returns what the named encoding of a key becomes once masked:
// Mask, inside the quoted URL for the URL encodings.
func masked(name string) string {
	switch name {
	case "url error":
		return `"http://127.0.0.1/v1?echo=` + Mask + `"`
	case "quoted url error raw":
		return `"http://h/` + Mask + `"`
	}
	return Mask
}

// keptChars returns how many characters of key the start of its encoding
// cut holds, counting a character whose escape the cut ends in: the
// escape's start may be the character itself ("&am" of "&amp;").
func keptChars(cut, key string, enc func(string) string) int {
	m, prev := 0, enc("")
	for i := 1; i <= len(key); i++ {
		e := enc(key[:i])
		if strings.HasSuffix(e, `"`) && !strings.HasSuffix(key[:i], `"`) {
			e = e[:len(e)-1] // the closing quote of a quoted URL
		}
		if strings.HasPrefix(cut, e) || len(cut) > len(prev) && strings.HasPrefix(cut, prev) && strings.HasPrefix(e, cut) {
			m = i
		}
		prev = e
	}
	return m
}

// printable maps p onto printable ASCII, space included.
func printable(p []byte) string {
	b := make([]byte, len(p))
	for i, c := range p {
		b[i] = ' ' + c%95
	}
	return string(b)
}
