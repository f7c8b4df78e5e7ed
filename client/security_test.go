package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// Secrets planted by the security tests, besides openAIKey and
// anthropicKey. plainKey has no recognisable key format, so only the
// client's exact masking can hide it; headerSecret is the value of a
// custom credential header.
const (
	plainKey     = "plainsecretvalue0123"
	headerSecret = "hdrsecret-a1b2c3d4e5f6"
)

// secretMarks are the substrings whose presence means a secret leaked
// (a whole key, or its distinctive part).
var secretMarks = []string{openAIKey, anthropicKey, "0123456789abcdef", plainKey, "plainsecretvalue", headerSecret, "a1b2c3d4e5f6"}

// leakScanner collects every text the library produced for the caller:
// errors (formatted every way), log records (JSON at Debug), hook payloads
// (%+v) and panics.
type leakScanner struct {
	mu    sync.Mutex // guards texts
	texts []string
	logs  bytes.Buffer // written under mu through lockedWriter
}

func (s *leakScanner) add(format string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.texts = append(s.texts, fmt.Sprintf(format, v))
}

type lockedWriter struct{ s *leakScanner }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.logs.Write(p)
}

func (s *leakScanner) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(lockedWriter{s}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (s *leakScanner) hooks() resilience.Hooks {
	return resilience.Hooks{
		OnAttemptStart: func(e resilience.AttemptStart) { s.add("%+v", e) },
		OnAttemptEnd:   func(e resilience.AttemptEnd) { s.add("%+v", e) },
		OnRetry:        func(e resilience.RetryScheduled) { s.add("%+v", e) },
		OnStateChange:  func(e resilience.StateChange) { s.add("%+v", e) },
		OnLimiterWait:  func(e resilience.LimiterWait) { s.add("%+v", e) },
		OnRejection:    func(e resilience.Rejection) { s.add("%+v", e); s.addErr(e.Err) },
		OnFallback:     func(e resilience.FallbackHop) { s.add("%+v", e); s.addErr(e.Err) },
	}
}

// addErr records err formatted with %v, %+v and %#v, and the text fields
// and Error of every *aierrors.Error in its chain. (A raw cause that the
// client wraps, such as a *url.Error reached with errors.As, is the
// caller's to print: its own text is not the library's.)
func (s *leakScanner) addErr(err error) {
	if err == nil {
		return
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		s.add(f, err)
	}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if ae, ok := e.(*aierrors.Error); ok {
			s.add("%s", ae.Error())
			s.add("%+v", *ae)
			s.add("%s", ae.Message+" "+ae.ProviderCode+" "+ae.RequestID)
			return // its cause was scrubbed into its text
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
}

// run makes one Chat and one Stream call (read to its end), recording every
// error and any panic.
func (s *leakScanner) run(c *client.AiClient) {
	call := func(f func()) {
		defer func() {
			if r := recover(); r != nil {
				s.add("panic: %v", r)
				s.add("PANICKED %v", "")
			}
		}()
		f()
	}
	call(func() {
		_, err := c.Chat(context.Background(), hi())
		s.addErr(err)
	})
	call(func() {
		st, err := c.Stream(context.Background(), hi())
		s.addErr(err)
		if err == nil {
			for st.Next() {
			}
			s.addErr(st.Err())
			st.Close()
		}
	})
}

// check fails the test for every text holding a secret, and for panics.
func (s *leakScanner) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	texts := append(s.texts, s.logs.String())
	for _, text := range texts {
		if strings.HasPrefix(text, "PANICKED") {
			t.Errorf("a call panicked")
		}
		for _, mark := range secretMarks {
			if strings.Contains(text, mark) {
				t.Errorf("secret %q leaked into %q", mark, text)
			}
		}
	}
	if len(texts) < 3 {
		t.Errorf("only %d texts scanned; the scenario produced nothing to scan", len(texts))
	}
}

// plant returns a copy of a whose error message, request ID and other
// headers carry the keys, as a provider echoing them would.
func plant(a providertest.Answer) providertest.Answer {
	echo := "key " + openAIKey + " / " + anthropicKey + " / " + headerSecret
	h := http.Header{}
	for k, v := range a.Header {
		h[k] = append([]string(nil), v...)
	}
	h.Set("X-Request-Id", "req_"+openAIKey)
	h.Set("Request-Id", anthropicKey)
	h.Set("X-Should-Retry", headerSecret)
	a.Header = h
	switch {
	case strings.Contains(a.Body, `"message":"`):
		a.Body = strings.Replace(a.Body, `"message":"`, `"message":"`+echo+` `, 1)
	case strings.Contains(a.Body, "<title>"):
		a.Body = strings.Replace(a.Body, "<title>", "<title>"+echo+" ", 1)
	case a.Body == "":
		a.Text = echo
	}
	return a
}

// TestSecretsNeverLeak plants the keys in every kind of failure the
// providers produce (each preset, with the keys echoed in messages and
// headers), in resets, cuts and mid-stream errors, in a base URL path that
// ends up in transport errors, and in redirects, and scans every error
// text, log record, hook payload and panic of Chat and Stream for them.
func TestSecretsNeverLeak(t *testing.T) {
	anthropicErr := `{"type":"error","error":{"type":"` + anthropicKey + `","message":"` + openAIKey + ` ` + headerSecret + `"}}`
	openAIErr := `{"error":{"message":"` + openAIKey + `","type":"` + headerSecret + `","code":"` + anthropicKey + `"}}`
	answers := map[string]providertest.Answer{
		"RateLimited":                   providertest.RateLimited(time.Millisecond),
		"InsufficientQuota":             providertest.InsufficientQuota(),
		"ContextLengthExceeded":         providertest.ContextLengthExceeded(),
		"InvalidAPIKey":                 providertest.InvalidAPIKey(),
		"DeepSeekInsufficientBalance":   providertest.DeepSeekInsufficientBalance(),
		"AnthropicOverloaded":           providertest.AnthropicOverloaded(),
		"AnthropicRateLimited":          providertest.AnthropicRateLimited(time.Millisecond),
		"ServerError":                   providertest.ServerError(),
		"Unavailable":                   providertest.Unavailable(),
		"HTML502":                       providertest.HTML502(),
		"GeminiResourceExhausted":       providertest.GeminiResourceExhausted(time.Millisecond),
		"GeminiCompatResourceExhausted": providertest.GeminiCompatResourceExhausted(time.Millisecond),
		"Status418":                     providertest.Status(418, ""),
		"Reset":                         providertest.Reset(),
		"CutAtStart":                    {Status: 200, Text: "a b c", CutAfter: providertest.CutAtStart},
		"CutAfter2":                     {Status: 200, Text: "a b c", CutAfter: 2},
		"ErrorEventAnthropicShape":      {Status: 200, Text: "a b c", ErrorAfter: 1, ErrorBody: anthropicErr},
		"ErrorEventOpenAIShape":         {Status: 200, Text: "a b c", ErrorAfter: 1, ErrorBody: openAIErr},
		"ErrorObjectIn200":              {Status: 200, Body: openAIErr},
		"GarbageIn200":                  {Status: 200, Body: "<html>" + openAIKey + " " + anthropicKey + "</html>"},
	}
	for name, a := range answers {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { scanAnswer(t, a) })
		})
	}
}

// scanAnswer runs TestSecretsNeverLeak for one answer, in a bubble (the
// Retry-After waits are virtual).
func scanAnswer(t *testing.T, a providertest.Answer) {
	srv := providertest.New()
	planted := plant(a)
	srv.SetDefault("gpt-4o", planted)
	srv.SetDefault("claude", planted)
	var s leakScanner
	cfg := fastConfig()
	cfg.Retry.MaxRetries = 1
	cfg.CircuitBreaker.FailureThreshold = 2
	cfg.RateLimiter = &resilience.RateLimiterConfig{}
	c := build(t, inProcess(srv).Model("openai/gpt-4o").Fallback("anthropic/claude").
		Header("X-Custom-Token", headerSecret).Resilience(cfg).
		Hooks(s.hooks()).Logger(s.logger()))
	for range 3 { // the third round meets an open circuit
		s.run(c)
	}
	s.check(t)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestSecretsNeverLeakFromTransportErrors: a key in the base URL's path
// (some gateways take one there) is quoted by net/http in every transport
// error; the client masks it. Also a redirect to a URL carrying the key.
func TestSecretsNeverLeakFromTransportErrors(t *testing.T) {
	dead := closedAddr(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+dead+"/v1/chat/completions?key="+url.QueryEscape(r.Header.Get("X-Custom-Token")), http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Another host that echoes whatever credentials reach it.
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"got %s %s %s","type":"invalid_request_error","code":"invalid_api_key"}}`,
			r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("X-Custom-Token"))
	}))
	defer echo.Close()
	bouncer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, echo.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer bouncer.Close()

	tests := []struct {
		name string
		b    func() *client.Builder
	}{
		{"key in base URL path, connection refused", func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o").APIKey(plainKey).BaseURL("http://" + dead + "/" + plainKey + "/v1")
		}},
		{"key in a redirect's query", func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o").APIKey(openAIKey).BaseURL(redirector.URL+"/v1").
				Header("X-Custom-Token", headerSecret)
		}},
		{"redirect to a host that echoes credentials", func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o").APIKey(openAIKey).BaseURL(bouncer.URL+"/v1").
				Fallback("anthropic/claude").Provider("anthropic", client.ProviderConfig{BaseURL: bouncer.URL + "/v1", APIKey: anthropicKey}).
				Header("X-Custom-Token", headerSecret)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s leakScanner
			cfg := fastConfig()
			cfg.Retry.MaxRetries = 1
			c := build(t, tt.b().IgnoreEnvironment().Resilience(cfg).Hooks(s.hooks()).Logger(s.logger()))
			s.run(c)
			s.check(t)
		})
	}
}

// TestRedirectDropsCredentialsEverywhere: a redirect to another host, port
// or scheme drops every credential header of both formats; a redirect on
// the same host keeps them.
func TestRedirectDropsCredentialsEverywhere(t *testing.T) {
	type seen struct{ auth, apiKey, custom string }
	var mu sync.Mutex
	var got []seen
	record := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("X-Custom-Token")})
	}
	answer := func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/messages") {
			io.WriteString(w, `{"type":"message","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn"}`)
			return
		}
		io.WriteString(w, `{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`)
	}
	other := httptest.NewServer(http.HandlerFunc(answer))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/same/"):
			http.Redirect(w, r, "/moved/"+strings.TrimPrefix(r.URL.Path, "/same/"), http.StatusPermanentRedirect)
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			answer(w, r)
		default:
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}
	}))
	defer origin.Close()

	tests := []struct {
		name, target, base string
		keep               bool
	}{
		{"openai to another port", "openai/gpt-4o", origin.URL + "/v1", false},
		{"anthropic to another port", "anthropic/claude", origin.URL + "/v1", false},
		{"openai on the same host", "openai/gpt-4o", origin.URL + "/same/v1", true},
		{"anthropic on the same host", "anthropic/claude", origin.URL + "/same/v1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			c := build(t, client.NewBuilder().IgnoreEnvironment().Model(tt.target).APIKey(openAIKey).BaseURL(tt.base).
				Header("X-Custom-Token", headerSecret))
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					var s *client.ChatStream
					if s, err = c.Stream(context.Background(), hi()); err == nil {
						s.Close()
					}
				} else {
					_, err = c.Chat(context.Background(), hi())
				}
				_ = err // the stream gets a JSON answer: complete, or an error; only the headers matter
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 2 {
				t.Fatalf("the redirect target saw %d requests; want 2", len(got))
			}
			for _, g := range got {
				carried := g.auth != "" || g.apiKey != "" || g.custom != ""
				if carried != tt.keep {
					t.Errorf("redirected request carried Authorization %q, X-Api-Key %q, X-Custom-Token %q; want credentials kept = %v",
						g.auth, g.apiKey, g.custom, tt.keep)
				}
			}
		})
	}
}

// TestTLSVerification: the default client verifies certificates, and a
// failure is a non-retryable, non-fallbackable error (it would hide an
// interception); a caller's own http.Client decides otherwise, and Build
// leaves it untouched.
func TestTLSVerification(t *testing.T) {
	var hits int
	var mu sync.Mutex
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"message":{"content":"over TLS"},"finish_reason":"stop"}]}`)
	}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	fallback := providertest.NewServer()
	defer fallback.Close()

	c := build(t, client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").APIKey(openAIKey).
		BaseURL(tlsSrv.URL+"/v1").Resilience(fastConfig()).
		Fallback("anthropic/claude").Provider("anthropic", client.ProviderConfig{BaseURL: fallback.URL() + "/v1", APIKey: anthropicKey}))
	_, err := c.Chat(context.Background(), hi())
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Code != aierrors.Unknown || aierrors.IsRetryable(err) || aierrors.IsFallbackable(err) {
		t.Fatalf("Chat() over an untrusted certificate: error = %v; want Unknown, not retryable, not fallbackable", err)
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not say it is about the certificate", err)
	}
	if n := client.AttemptsOf(err); n != 1 || fallback.Requests("claude") != 0 || hits != 0 {
		t.Errorf("attempts %d, fallback requests %d, handler hits %d; want 1, 0, 0", n, fallback.Requests("claude"), hits)
	}

	trusting := tlsSrv.Client()
	trustingTLS := trusting.Transport.(*http.Transport).TLSClientConfig.Clone()
	c2 := build(t, client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").APIKey(openAIKey).
		BaseURL(tlsSrv.URL+"/v1").HTTPClient(trusting))
	resp, err := c2.Chat(context.Background(), hi())
	if err != nil || resp.Content != "over TLS" {
		t.Fatalf("Chat() with the caller's trusting client = %v, %v; want the answer", resp, err)
	}
	if got := trusting.Transport.(*http.Transport).TLSClientConfig; got.InsecureSkipVerify != trustingTLS.InsecureSkipVerify || got.RootCAs != trustingTLS.RootCAs {
		t.Error("Build changed the TLS configuration of the caller's client")
	}
}

// TestEnvironmentCannotRedirect: no variable, whatever its name, changes
// where a built-in provider's requests go.
func TestEnvironmentCannotRedirect(t *testing.T) {
	evil := "http://evil.example/v1"
	for _, p := range client.Providers() {
		t.Run(p, func(t *testing.T) {
			clearEnv(t)
			up := strings.ToUpper(p)
			for _, v := range []string{"_BASE_URL", "_API_BASE", "_BASE", "_HOST", "_ENDPOINT", "_API_URL", "_URL"} {
				t.Setenv(up+v, evil)
			}
			for _, v := range []string{"AI_LIB_BASE_URL", "AILIB_BASE_URL", "OPENAI_API_BASE", "OLLAMA_HOST", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"} {
				t.Setenv(v, evil)
			}
			rec := &recorder{}
			// AI_LIB_BASE_URL is not a variable of ailib: Build warns about it.
			var logs recordHandler
			c := build(t, client.NewBuilder().Model(p+"/m").APIKey(openAIKey).HTTPClient(&http.Client{Transport: rec}).Logger(slog.New(&logs)))
			if w := logs.at(slog.LevelWarn); len(w) != 1 || !strings.Contains(w[0], "AI_LIB_BASE_URL") {
				t.Errorf("Build warnings = %q; want one naming AI_LIB_BASE_URL", w)
			}
			if _, err := c.Chat(context.Background(), hi()); err != nil {
				t.Fatalf("Chat() error = %v", err)
			}
			if u := rec.last().URL; u.Host == "evil.example" {
				t.Errorf("request went to %v; want the built-in base URL", u)
			}
		})
	}
}
