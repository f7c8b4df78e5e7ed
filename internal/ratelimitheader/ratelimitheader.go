package ratelimitheader

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxWait bounds any duration this package returns. A longer value is
// treated as garbage and ignored: no provider asks a client to wait more
// than a week, and a bound keeps arithmetic far from overflow.
const maxWait = 7 * 24 * time.Hour

// Limits is what a provider said about its limits in one answer. A count
// of -1 means not said; a zero duration means not said.
type Limits struct {
	RequestsLimit, RequestsRemaining int
	RequestsReset                    time.Duration // time until the request window resets, relative to now
	TokensLimit, TokensRemaining     int
	TokensReset                      time.Duration // time until the token window resets, relative to now
}

// unknown is a Limits with nothing said.
func unknown() Limits {
	return Limits{RequestsLimit: -1, RequestsRemaining: -1, TokensLimit: -1, TokensRemaining: -1}
}

// RequestsExhausted reports whether the provider said no request is left
// in the current window.
func (l Limits) RequestsExhausted() bool { return l.RequestsRemaining == 0 }

// TokensExhausted reports whether the provider said no token is left in
// the current window.
func (l Limits) TokensExhausted() bool { return l.TokensRemaining == 0 }

// dimension is one (limit, remaining, reset) triple while parsing.
type dimension struct {
	limit, remaining int
	reset            time.Duration
	seen             bool
}

func newDim() dimension { return dimension{limit: -1, remaining: -1} }

// Parse reads the rate-limit headers in h. ok is false when no header was
// recognised (a recognised header with an invalid value still sets ok but
// leaves its field unset).
//
// Precedence when several families are present: OpenAI-style
// x-ratelimit-*-{requests,tokens} first, then Anthropic, then the IETF
// draft, then the un-prefixed x-ratelimit-*; a field set by an earlier
// family is not overwritten. Anthropic's tokens-* headers win over its
// input-tokens-*/output-tokens-* ones; when only the latter are sent, the
// dimension with the fewest remaining tokens (relative to its limit) is
// reported, as it is the one that will throttle first. The IETF and
// un-prefixed headers do not say what they count; they fill the Requests
// fields.
func Parse(h http.Header, now time.Time) (l Limits, ok bool) {
	l = unknown()
	var f found
	if !f.collect(h, &limitFields) {
		return l, false
	}
	req, tok := newDim(), newDim()

	// OpenAI and OpenAI-compatible.
	f.dim(&req, oaiRequests, parseGoDuration, now)
	f.dim(&tok, oaiTokens, parseGoDuration, now)

	// Anthropic.
	areq, atok := newDim(), newDim()
	f.dim(&areq, antRequests, parseRFC3339, now)
	f.dim(&atok, antTokens, parseRFC3339, now)
	if !atok.seen {
		in, out := newDim(), newDim()
		f.dim(&in, antInputTokens, parseRFC3339, now)
		f.dim(&out, antOutputTokens, parseRFC3339, now)
		atok = tighter(in, out)
	}
	merge(&req, areq)
	merge(&tok, atok)

	// IETF draft, separate headers then the combined one.
	ietf := newDim()
	f.dim(&ietf, ietfSeparate, parseDeltaSeconds, now)
	if v := f.v[ietfCombined]; v != "" {
		parseCombined(&ietf, v)
	}
	merge(&req, ietf)

	// Un-prefixed x-ratelimit-*.
	plain := newDim()
	f.dim(&plain, plainPrefix, parseResetNumber, now)
	merge(&req, plain)

	l.RequestsLimit, l.RequestsRemaining, l.RequestsReset = req.limit, req.remaining, req.reset
	l.TokensLimit, l.TokensRemaining, l.TokensReset = tok.limit, tok.remaining, tok.reset
	return l, req.seen || tok.seen
}

// RetryAfter reads retry-after-ms (milliseconds, fractional allowed), then
// Retry-After (seconds, fractional allowed, or an HTTP-date taken relative
// to now). ok is false when neither header holds a usable value: missing,
// negative, not a number, a date in the past, or more than a week.
// "Retry-After: 0" gives (0, true): retry now.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	var f found
	if !f.collect(h, &retryFields) {
		return 0, false
	}
	if v := f.v[retryAfterMs]; v != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			if d, ok := fromFloat(f, float64(time.Millisecond)); ok {
				return d, true
			}
		}
	}
	v := strings.TrimSpace(f.v[retryAfter])
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return fromFloat(f, float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 || d > maxWait {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

// ParseDuration reads one reset value in the OpenAI style ("1s", "6m0s",
// "120ms", "2m59.56s", or a bare number of seconds). It is exported for
// callers that read a single header; ok is false for anything invalid,
// negative or more than a week.
func ParseDuration(s string) (time.Duration, bool) {
	return parseGoDuration(s, time.Time{})
}

// fromFloat converts f units to a Duration, rejecting NaN, infinities,
// negatives and values above maxWait.
func fromFloat(f, unit float64) (time.Duration, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, false
	}
	ns := f * unit
	if ns > float64(maxWait) {
		return 0, false
	}
	return time.Duration(ns), true
}

type resetParser func(s string, now time.Time) (time.Duration, bool)

// dim reads the limit, remaining and reset headers at fields first,
// first+1 and first+2 into d.
func (f *found) dim(d *dimension, first int, reset resetParser, now time.Time) {
	if v := f.v[first]; v != "" {
		d.seen = true
		if n, ok := parseCount(v); ok {
			d.limit = n
		}
	}
	if v := f.v[first+1]; v != "" {
		d.seen = true
		if n, ok := parseCount(v); ok {
			d.remaining = n
		}
	}
	if v := f.v[first+2]; v != "" {
		d.seen = true
		if r, ok := reset(strings.TrimSpace(v), now); ok {
			d.reset = r
		}
	}
}

// merge fills the unset fields of dst from src.
func merge(dst *dimension, src dimension) {
	if !src.seen {
		return
	}
	dst.seen = true
	if dst.limit < 0 {
		dst.limit = src.limit
	}
	if dst.remaining < 0 {
		dst.remaining = src.remaining
	}
	if dst.reset == 0 {
		dst.reset = src.reset
	}
}

// tighter returns the dimension that will throttle first: the one with the
// smaller remaining share of its limit (or smaller remaining count when a
// limit is unknown).
func tighter(a, b dimension) dimension {
	switch {
	case !a.seen:
		return b
	case !b.seen:
		return a
	case a.remaining < 0:
		return b
	case b.remaining < 0:
		return a
	}
	if a.limit > 0 && b.limit > 0 {
		// Compare a.remaining/a.limit with b.remaining/b.limit without division.
		if int64(a.remaining)*int64(b.limit) <= int64(b.remaining)*int64(a.limit) {
			return a
		}
		return b
	}
	if a.remaining <= b.remaining {
		return a
	}
	return b
}

// parseCount reads a non-negative integer at the start of v, allowing the
// draft's "100, 100;w=60" list form (the first item is used).
func parseCount(v string) (int, bool) {
	// Nearly every value is a plain count: read it without the scans
	// below.
	if n, ok := digits(v); ok {
		return n, true
	}
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, ",;"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		// Some gateways send "100.0".
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(f) || f < 0 || f > math.MaxInt32 || f != math.Trunc(f) {
			return 0, false
		}
		return int(f), true
	}
	if n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// digits reads v when it is 1 to 9 decimal digits and nothing else.
func digits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseGoDuration reads "1s", "6m0s", "120ms", "1h2m3.5s" or a bare
// number of seconds.
func parseGoDuration(s string, _ time.Time) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	// A duration with a unit ("6m0s") is no number: skip ParseFloat and
	// the error it would allocate. Every number ParseFloat takes that ends
	// in a letter (Inf, NaN) is refused by fromFloat and ParseDuration alike.
	if c := s[len(s)-1]; c == '.' || '0' <= c && c <= '9' {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return fromFloat(f, float64(time.Second))
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxWait {
		return 0, false
	}
	return d, true
}

// parseRFC3339 reads an absolute time and returns the time left until it.
func parseRFC3339(s string, now time.Time) (time.Duration, bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d <= 0 || d > maxWait {
		return 0, false
	}
	return d, true
}

// parseDeltaSeconds reads a number of seconds (fractional allowed).
func parseDeltaSeconds(s string, _ time.Time) (time.Duration, bool) {
	if i := strings.IndexAny(s, ",;"); i >= 0 {
		s = s[:i]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, false
	}
	return fromFloat(f, float64(time.Second))
}

// Thresholds that tell a Unix timestamp from a delta in x-ratelimit-reset:
// no window lasts 30 years, and Unix time passed 1e9 s in 2001 and 1e12 ms
// in 2001 too.
const (
	unixSecondsFloor = 1e9
	unixMillisFloor  = 1e12
)

// parseResetNumber reads the un-prefixed x-ratelimit-reset: Unix
// milliseconds (OpenRouter), Unix seconds (GitHub style) or delta seconds,
// told apart by size.
func parseResetNumber(s string, now time.Time) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		// Some gateways send a Go duration here as well.
		return parseGoDuration(s, now)
	}
	var at time.Time
	switch {
	case f >= unixMillisFloor:
		if f > 1e15 {
			return 0, false
		}
		at = time.UnixMilli(int64(f))
	case f >= unixSecondsFloor:
		if f > 1e12 {
			return 0, false
		}
		at = time.Unix(int64(f), 0)
	default:
		return fromFloat(f, float64(time.Second))
	}
	d := at.Sub(now)
	if d <= 0 || d > maxWait {
		return 0, false
	}
	return d, true
}

// parseCombined reads the draft's combined RateLimit header in either of
// its published forms: "limit=100, remaining=50, reset=5" (draft-03..06)
// or `"default";r=50;t=30` (draft-07 and later, r = remaining, t = reset).
func parseCombined(d *dimension, v string) {
	d.seen = true
	for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
		k, val, found := strings.Cut(strings.TrimSpace(item), "=")
		if !found {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch k {
		case "limit", "q":
			if n, ok := parseCount(val); ok && d.limit < 0 {
				d.limit = n
			}
		case "remaining", "r":
			if n, ok := parseCount(val); ok && d.remaining < 0 {
				d.remaining = n
			}
		case "reset", "t":
			if r, ok := parseDeltaSeconds(val, time.Time{}); ok && d.reset == 0 {
				d.reset = r
			}
		}
	}
}

// Get returns the first value of key in h, matching the name
// case-insensitively: header maps built by hand (in tests, by proxies,
// by SDKs) do not always use canonical keys, which http.Header.Get assumes.
func Get(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, key) {
			return vs[0]
		}
	}
	return ""
}
