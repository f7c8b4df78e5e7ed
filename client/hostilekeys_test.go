package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// Credentials made of the characters a key pattern stops at: the keys are
// printable ASCII without spaces (what Build accepts), the header value
// has spaces too.
const (
	hostileOpenAIKey    = "sk-[br]|p^c~t`;,:Jd84Hf73Gs62Ka51!*$"
	hostileAnthropicKey = `sk-ant-"q"\b%41%zz[x]|y{}<>&'Zq19`
	hostileHeader       = `Tk3 n|w1th "sp4c3s" \4nd %20 [br4ck3ts]`
)

var hostileSecrets = []string{hostileOpenAIKey, hostileAnthropicKey, hostileHeader}

// echoForms are the encodings in which a hostile provider echoes a key,
// and in which a part of it is looked for in every output.
var echoForms = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"json", func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }},
	{"json no html", func(s string) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(s)
		out := strings.TrimSpace(b.String())
		return out[1 : len(out)-1]
	}},
	{"go quoted", func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] }},
	{"query", url.QueryEscape},
	{"query lower", func(s string) string { return lowerPct(url.QueryEscape(s)) }},
	{"path", url.PathEscape},
	{"path lower", func(s string) string { return lowerPct(url.PathEscape(s)) }},
	{"html", html.EscapeString},
}

var pctRE = regexp.MustCompile(`%[0-9A-F]{2}`)

func lowerPct(s string) string { return pctRE.ReplaceAllStringFunc(s, strings.ToLower) }

// keyPart returns a part of a secret, of 6 characters or more, that text
// holds in one of echoForms, "" when none.
func keyPart(text string) string {
	for _, n := range keyNeedles() {
		if strings.Contains(text, n.form) {
			return n.desc
		}
	}
	return ""
}

// keyNeedles returns every 6-character part of the hostile secrets in
// every echo form, computed once.
var keyNeedles = sync.OnceValue(func() []needle {
	var out []needle
	for _, sec := range hostileSecrets {
		for i := 0; i+6 <= len(sec); i++ {
			w := sec[i : i+6]
			for _, f := range echoForms {
				e := f.enc(w)
				out = append(out, needle{e, fmt.Sprintf("%q (%s form %q)", w, f.name, e)})
			}
		}
	}
	return out
})

type needle struct{ form, desc string }

// checkHostile fails the test for every text the scanner collected that
// holds part of a hostile secret.
func (s *leakScanner) checkHostile(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	texts := append(s.texts, s.logs.String())
	for _, text := range texts {
		if strings.HasPrefix(text, "PANICKED") {
			t.Errorf("a call panicked")
		}
		if part := keyPart(text); part != "" {
			t.Errorf("key part %s leaked into %q", part, text)
		}
	}
	if len(texts) < 3 {
		t.Errorf("only %d texts scanned; the scenario produced nothing to scan", len(texts))
	}
}

// hostileBuilder returns a builder of openai/gpt-4o falling back to
// anthropic/claude, both with hostile keys, plus a hostile credential
// header, with s's hooks and logger.
func hostileBuilder(s *leakScanner, baseURL string) *client.Builder {
	cfg := fastConfig()
	cfg.Retry.MaxRetries = 1
	cfg.CircuitBreaker.FailureThreshold = 2
	return client.NewBuilder().IgnoreEnvironment().
		Model("openai/gpt-4o").APIKey(hostileOpenAIKey).BaseURL(baseURL).
		Fallback("anthropic/claude").
		Provider("anthropic", client.ProviderConfig{BaseURL: baseURL, APIKey: hostileAnthropicKey}).
		Header("X-Custom-Token", hostileHeader).
		Resilience(cfg).Hooks(s.hooks()).Logger(s.logger())
}

// TestHostileKeysNeverLeak: a provider echoes keys holding '%', '[', '"',
// '\', '`', '|' and spaces in every place a provider's text reaches an
// output (error message, error type and code, request-ID header, a plain
// 500, an HTML 502, a message cut at MaxMessageLen, a mid-stream error
// event, an error object or garbage in a 200, an unknown answer type), in
// every encoding; no part of a key, of 6 characters, in any encoding, may
// reach an error of Chat or Stream (any field, any format), a log record
// or a hook payload.
func TestHostileKeysNeverLeak(t *testing.T) {
	type place struct {
		name   string
		answer func(echo string) providertest.Answer
	}
	jsonStr := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	openAIErr := func(msg, typ string) string {
		return `{"error":{"message":` + jsonStr(msg) + `,"type":` + jsonStr(typ) + `,"code":` + jsonStr(typ) + `}}`
	}
	places := []place{
		{"error message", func(e string) providertest.Answer {
			return providertest.Answer{Status: 401, Body: openAIErr("Incorrect API key provided: "+e+". Check it.", "invalid_api_key")}
		}},
		{"error type and code", func(e string) providertest.Answer {
			return providertest.Answer{Status: 400, Body: openAIErr("bad request", e)}
		}},
		{"request id header", func(e string) providertest.Answer {
			return providertest.Answer{Status: 503, Header: http.Header{"X-Request-Id": {"req_" + e}, "Request-Id": {e}}, Text: "overloaded"}
		}},
		{"plain 500", func(e string) providertest.Answer {
			return providertest.Answer{Status: 500, Header: http.Header{"Content-Type": {"text/plain"}}, Body: "internal error for key " + e}
		}},
		{"html 502", func(e string) providertest.Answer {
			return providertest.Answer{Status: 502, Header: http.Header{"Content-Type": {"text/html"}},
				Body: "<html><head><title>502 Bad Gateway " + e + "</title></head><body><h1>" + e + "</h1></body></html>"}
		}},
		{"message cut at its limit", func(e string) providertest.Answer {
			return providertest.Answer{Status: 429, Body: openAIErr(strings.Repeat("x", 500)+" "+e, "rate_limit_exceeded")}
		}},
		{"mid-stream error event", func(e string) providertest.Answer {
			return providertest.Answer{Status: 200, Text: "a b c", ErrorAfter: 1,
				ErrorBody: openAIErr("stream failed for "+e, e)}
		}},
		{"error object in a 200", func(e string) providertest.Answer {
			return providertest.Answer{Status: 200, Body: openAIErr("failed for "+e, e)}
		}},
		{"garbage in a 200", func(e string) providertest.Answer {
			return providertest.Answer{Status: 200, Body: "<html>" + e + "</html>"}
		}},
		{"answer of an unknown type", func(e string) providertest.Answer {
			return providertest.Answer{Status: 200, Body: `{"type":` + jsonStr(e) + `}`}
		}},
		{"go-quoted in a message", func(e string) providertest.Answer {
			return providertest.Answer{Status: 403, Body: openAIErr(fmt.Sprintf("key %q is not allowed", e), "permission_denied")}
		}},
	}
	for _, p := range places {
		for _, f := range echoForms {
			t.Run(p.name+"/"+f.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					parts := make([]string, len(hostileSecrets))
					for i, sec := range hostileSecrets {
						parts[i] = f.enc(sec)
					}
					a := p.answer(strings.Join(parts, " / "))
					srv := providertest.New()
					srv.SetDefault("gpt-4o", a)
					srv.SetDefault("claude", a)
					var s leakScanner
					c := build(t, hostileBuilder(&s, srv.URL()+"/v1").HTTPClient(&http.Client{Transport: srv.Transport()}))
					s.run(c)
					s.checkHostile(t)
				})
			})
		}
	}
}

// TestHostileKeysNeverLeakFromRedirects: a server writes the keys it
// received, URL-escaped, into a redirect's Location, so that net/http
// quotes them in its *url.Error: after a connection closed without an
// answer ("Post \"…?echo=…\": EOF") and after too many redirects.
func TestHostileKeysNeverLeakFromRedirects(t *testing.T) {
	received := func(r *http.Request) []string {
		return []string{strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.Header.Get("X-Api-Key"), r.Header.Get("X-Custom-Token")}
	}
	echoQuery := func(r *http.Request, esc func(string) string) string {
		q := ""
		for i, k := range received(r) {
			if k != "" {
				q += fmt.Sprintf("&e%d=%s", i, esc(k))
			}
		}
		return q
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			// Same host: the credentials stay, and are echoed again.
			http.Redirect(w, r, "/loop/"+url.PathEscape(received(r)[0]+received(r)[1])+"/x?n=1"+echoQuery(r, url.QueryEscape), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/lower/"):
			http.Redirect(w, r, "/eof/"+lowerPct(url.PathEscape(received(r)[2]))+"?x=1"+echoQuery(r, func(s string) string { return lowerPct(url.QueryEscape(s)) }), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/eof/"):
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			http.Redirect(w, r, "/eof/x?y=1"+echoQuery(r, url.QueryEscape), http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	for _, base := range []string{"/v1", "/loop/v1", "/lower/v1"} {
		t.Run(base, func(t *testing.T) {
			var s leakScanner
			c := build(t, hostileBuilder(&s, srv.URL+base))
			s.run(c)
			s.checkHostile(t)
		})
	}
}

// TestHostileKeysCheckFindsLeaks: the scan of the tests above finds a key
// part in each form, so that a leak cannot pass unseen.
func TestHostileKeysCheckFindsLeaks(t *testing.T) {
	for _, sec := range hostileSecrets {
		for _, f := range echoForms {
			text := "ailib: openai/gpt-4o: E1001 (" + f.enc(sec[3:12]) + ")"
			if keyPart(text) == "" {
				t.Errorf("keyPart(%q) found nothing", text)
			}
		}
	}
	if part := keyPart("ailib: openai/gpt-4o: E1001 authentication (HTTP 401, invalid_api_key, request req_***): Incorrect API key provided: *** / *** / ***"); part != "" {
		t.Errorf("keyPart found %s in a masked text", part)
	}
}

// FuzzHostileKeyEcho builds a client with a random printable-ASCII key and
// a provider that echoes it at a random place of its answer (error
// message, error type, request-ID header, plain text, HTML page, stream
// error event), after random text, in a random encoding. No 6-character
// part of the key, in any echo form, may appear in the error of Chat or
// Stream (its text, %+v, and its fields) more often than in the same call
// answered with the echo replaced by three characters the key does not
// hold (neutralEcho); for a part holding '*', the mask's own character,
// counting the text's characters only, as redact's FuzzSecretsMask does.
func FuzzHostileKeyEcho(f *testing.F) {
	f.Add([]byte(hostileOpenAIKey), uint8(0), uint8(0), "Incorrect API key provided: ")
	f.Add([]byte(hostileAnthropicKey), uint8(2), uint8(1), "")
	f.Add([]byte(hostileOpenAIKey), uint8(4), uint8(4), strings.Repeat("x", 505))
	f.Add([]byte(hostileAnthropicKey), uint8(5), uint8(3), "stream ")
	f.Add([]byte("sk-abc%5B%5Ddef"), uint8(1), uint8(7), "key=")
	f.Fuzz(func(t *testing.T, rawKey []byte, place, form uint8, before string) {
		key := make([]byte, len(rawKey))
		for i, c := range rawKey {
			key[i] = '!' + c%94 // printable ASCII without space, as Build accepts
		}
		if len(key) < 8 || len(key) > 96 || len(before) > 1024 {
			return
		}
		beforeBytes := []byte(before)
		for i, c := range beforeBytes {
			beforeBytes[i] = ' ' + c%95
		}
		before = string(beforeBytes)
		ef := echoForms[int(form)%len(echoForms)]
		out := func(echo string) string { return hostileEchoOutput(t, string(key), int(place), before+echo) }
		got, want := out(ef.enc(string(key))), out(neutralEcho(key))
		for i := 0; i+6 <= len(key); i++ {
			w := string(key[i : i+6])
			if strings.Count(w, "*") > 3 {
				continue // mostly the mask's own character: masks spell it
			}
			got, want := got, want
			if strings.Contains(w, "*") {
				// A '*' of the window may be the edge of a mask, which
				// spells the window with the text beside it (key
				// "QQQQ***Q", request id "QQQQ" + a mask): only the text's
				// own characters can leak.
				got, want = strings.ReplaceAll(got, "***", "\x00"), strings.ReplaceAll(want, "***", "\x00")
			}
			for _, g := range echoForms {
				if e := g.enc(w); strings.Count(got, e) > strings.Count(want, e) {
					t.Fatalf("key %q echoed %s after %q: part %q (%s form %q) survives in\n%s", key, ef.name, before, w, g.name, e, got)
				}
			}
		}
	})
}

// neutralEcho is what stands for the echo in the call FuzzHostileKeyEcho
// compares with: three of a character the key does not hold, so that it
// cannot spell key material with the text before it (key "QQQQQQQ*" after
// "QQQQQQQQQQQQQQ": "***" made the key itself, whose masking took the
// text's own Qs with it, and the compared call then lacked parts the text
// holds). "***" if the key holds every candidate.
func neutralEcho(key []byte) string {
	for _, c := range []byte("~#@^|_-=+.,;:") {
		if !bytes.Contains(key, []byte{c}) {
			return strings.Repeat(string(c), 3)
		}
	}
	return "***"
}

// hostileEchoOutput returns the error texts of one Chat and one Stream
// call of a client with key, whose provider answers with echo at place.
func hostileEchoOutput(t *testing.T, key string, place int, echo string) string {
	jsonStr := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	errBody := `{"error":{"message":` + jsonStr("failed: "+echo) + `,"type":` + jsonStr(echo) + `,"code":"x"}}`
	var rt canned
	var header http.Header
	switch place % 6 {
	case 0:
		rt = canned{status: 401, contentType: "application/json", body: []byte(errBody)}
	case 1:
		rt = canned{status: 400, contentType: "application/json", body: []byte(`{"error":{"message":"bad","type":` + jsonStr(echo) + `}}`)}
	case 2:
		rt = canned{status: 503, contentType: "application/json", body: []byte(`{"error":{"message":"overloaded"}}`)}
		header = http.Header{"X-Request-Id": {echo}}
	case 3:
		rt = canned{status: 500, contentType: "text/plain", body: []byte(echo)}
	case 4:
		rt = canned{status: 502, contentType: "text/html", body: []byte("<html><title>" + echo + "</title><body>" + echo + "</body></html>")}
	case 5:
		rt = canned{status: 200, contentType: "text/event-stream", body: []byte(
			"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: " + errBody + "\n\n")}
	}
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(r)
		for k, v := range header {
			resp.Header[k] = v
		}
		return resp, err
	})
	c, err := client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").APIKey(key).
		// The default retries, with a millisecond's backoff: the same paths,
		// without the 0.7s a 5xx input otherwise sleeps per call (the
		// fuzzer's baseline of ~100 inputs outlasted its -fuzztime).
		Resilience(resilience.ResilientConfig{Retry: &resilience.RetryConfig{InitialDelay: time.Millisecond, MaxDelay: time.Millisecond}}).
		HTTPClient(&http.Client{Transport: transport}).Build()
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	defer c.CloseIdleConnections()
	var out strings.Builder
	record := func(err error) {
		if err == nil {
			return
		}
		fmt.Fprintf(&out, "%v\n%+v\n", err, err)
		var ae *aierrors.Error
		if errors.As(err, &ae) {
			fmt.Fprintf(&out, "%s\n%s\n%s\n", ae.Message, ae.ProviderCode, ae.RequestID)
		}
	}
	_, err = c.Chat(context.Background(), hi())
	record(err)
	s, err := c.Stream(context.Background(), hi())
	record(err)
	if err == nil {
		for s.Next() {
		}
		record(s.Err())
		s.Close()
	}
	return out.String()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
