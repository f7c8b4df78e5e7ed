package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/envconfig"
	"github.com/ailib-go/ailib/resilience"
)

// clearEnv unsets every variable Build may read, for the test's duration.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{
		"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY",
		"OPENROUTER_API_KEY", "XAI_API_KEY", "TOGETHER_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
	} {
		t.Setenv(v, "")
	}
	for _, v := range envconfig.Names { // every AI_LIB_* variable
		t.Setenv(v, "")
	}
	// Unknown AI_LIB_* names set outside the test would add warnings.
	for _, v := range envconfig.Unknown(os.Environ()) {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestBuildErrors(t *testing.T) {
	badCfg := fastConfig()
	badCfg.Retry.MaxRetries = -1
	tests := []struct {
		name string
		env  map[string]string
		b    func() *client.Builder
		want []string // each must appear in the error
		not  []string // none may appear
	}{
		{"no model", nil, func() *client.Builder { return client.NewBuilder() },
			[]string{`client: Model not set`}, nil},
		{"model without provider", nil, func() *client.Builder { return client.NewBuilder().Model("gpt-4o") },
			[]string{`client: Model("gpt-4o"): want "provider/model"`}, nil},
		{"empty model", nil, func() *client.Builder { return client.NewBuilder().Model("") },
			[]string{`Model(""): empty model id`}, nil},
		{"unknown provider", nil, func() *client.Builder { return client.NewBuilder().Model("acme/x") },
			[]string{`Model("acme/x"): unknown provider "acme"`, "openai"}, nil},
		{"model missing", nil, func() *client.Builder { return client.NewBuilder().Model("openai/") },
			[]string{`Model("openai/"): model missing`}, nil},
		{"bad fallback", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/x").Fallback("ollama/y", "claude") },
			[]string{`Fallback("claude")`}, nil},
		{"duplicate target", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/x").Fallback("ollama/x") },
			[]string{`Fallback("ollama/x"): target listed twice`}, nil},
		{"base URL scheme", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/x").BaseURL("ftp://host/v1") },
			[]string{`BaseURL "ftp://host/v1": scheme must be http or https`}, nil},
		{"base URL relative", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/x").BaseURL("/v1") },
			[]string{`BaseURL "/v1"`}, nil},
		{"base URL credentials", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").BaseURL("https://user:hunter2secret@host/v1")
		}, []string{"must not contain credentials"}, []string{"hunter2secret"}},
		{"base URL query", nil, func() *client.Builder { return client.NewBuilder().Model("ollama/x").BaseURL("https://host/v1?x=1") },
			[]string{"query"}, nil},
		// A key may be anywhere in a URL pasted from a provider's docs: none
		// is shown.
		{"base URL key in the query", nil, func() *client.Builder {
			return client.NewBuilder().Model("gemini/x").APIKey("k").BaseURL("https://generativelanguage.googleapis.com/v1beta/openai?key=AIzaSyD-SECRET-KEY#tok=frag-SECRET")
		}, []string{`BaseURL "https://generativelanguage.googleapis.com/v1beta/openai?key=xxxxx#xxxxx": must not have a query or fragment`}, []string{"SECRET"}},
		{"base URL key as the user", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").BaseURL("https://sk-user-SECRET@host/v1")
		}, []string{`BaseURL "https://xxxxx@host/v1": must not contain credentials`}, []string{"SECRET"}},
		{"unknown provider config", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Provider("acme", client.ProviderConfig{})
		}, []string{`Provider("acme"): unknown provider`}, nil},
		{"provider config base URL", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Provider("openai", client.ProviderConfig{BaseURL: "localhost:8080"})
		}, []string{`Provider("openai").BaseURL`}, nil},
		{"missing key", nil, func() *client.Builder { return client.NewBuilder().Model("openai/gpt-4o") },
			[]string{`client: provider "openai" needs an API key: set OPENAI_API_KEY or call APIKey/Provider`}, nil},
		{"missing fallback key", nil, func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o").APIKey(openAIKey).Fallback("anthropic/claude")
		}, []string{`provider "anthropic" needs an API key: set ANTHROPIC_API_KEY or call Provider("anthropic"`}, []string{"OPENAI_API_KEY"}},
		{"gemini key variables", nil, func() *client.Builder { return client.NewBuilder().Model("gemini/gemini-2.0-flash") },
			[]string{"GEMINI_API_KEY or GOOGLE_API_KEY"}, nil},
		{"missing key, environment ignored", map[string]string{"OPENAI_API_KEY": openAIKey}, func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o").IgnoreEnvironment()
		}, []string{`provider "openai" needs an API key`, "IgnoreEnvironment"}, nil},
		{"key with space", nil, func() *client.Builder { return client.NewBuilder().Model("openai/gpt-4o").APIKey("sk-abc def") },
			[]string{"APIKey contains white space"}, []string{"sk-abc"}},
		{"env key with control character", map[string]string{"OPENAI_API_KEY": "sk-abc\x01def"}, func() *client.Builder {
			return client.NewBuilder().Model("openai/gpt-4o")
		}, []string{"environment variable OPENAI_API_KEY contains"}, []string{"sk-abc"}},
		{"invalid resilience", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Resilience(badCfg)
		}, []string{"client: Resilience: resilience: Retry.MaxRetries = -1"}, nil},
		{"bad env tuning", map[string]string{"AI_LIB_RPS": "abc"}, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x")
		}, []string{"AI_LIB_RPS", "abc"}, nil},
		{"timeouts and bounds", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").AttemptTimeout(-time.Second).StreamIdleTimeout(-time.Second).MaxResponseBytes(0)
		}, []string{"AttemptTimeout(-1s): negative", "StreamIdleTimeout(-1s): negative", "MaxResponseBytes(0)"}, nil},
		{"headers", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Header("Bad Name", "v").Header("X-Ok", "a\nb").Header("authorization", "Bearer x")
		}, []string{`invalid header name "Bad Name"`, `header "X-Ok": value contains CR, LF, NUL or another control character`, `header "Authorization" is set by the client`}, nil},
		{"provider header", nil, func() *client.Builder {
			return client.NewBuilder().Model("ollama/x").Provider("ollama", client.ProviderConfig{Header: http.Header{"X-Api-Key": {"k"}}})
		}, []string{`Provider("ollama").Header: header "X-Api-Key" is set by the client`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := tt.b().Build()
			if err == nil {
				t.Fatalf("Build() = %v, nil; want an error", c)
			}
			if c != nil {
				t.Errorf("Build() client = %v; want nil with an error", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Build() error = %q; want it to contain %q", err, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("Build() error = %q; must not contain %q", err, n)
				}
			}
		})
	}
}

func TestBuildReportsEveryProblem(t *testing.T) {
	clearEnv(t)
	t.Setenv("AI_LIB_MAX_INFLIGHT", "-3")
	_, err := client.NewBuilder().
		Model("openai/gpt-4o").
		Fallback("nope/x", "anthropic/claude").
		BaseURL("gopher://x").
		AttemptTimeout(-1).
		Build()
	if err == nil {
		t.Fatal("Build() error = nil; want several")
	}
	var n int
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n = len(j.Unwrap())
	}
	for _, w := range []string{"nope", "gopher", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AttemptTimeout", "AI_LIB_MAX_INFLIGHT"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Build() error does not mention %s:\n%v", w, err)
		}
	}
	if n < 6 {
		t.Errorf("Build() joined %d errors; want at least 6:\n%v", n, err)
	}
}

func TestBuildSetterNeverPanics(t *testing.T) {
	b := client.NewBuilder()
	b.Model("").Fallback().Fallback("x").APIKey("").BaseURL("").Provider("", client.ProviderConfig{}).
		HTTPClient(nil).Header("", "").Logger(nil).Hooks(resilience.Hooks{}).
		AttemptTimeout(-1).StreamIdleTimeout(-1).MaxResponseBytes(-1).Resilience(resilience.ResilientConfig{})
	if _, err := b.Build(); err == nil {
		t.Error("Build() error = nil; want errors")
	}
}

func TestBuildOllamaNeedsNoKey(t *testing.T) {
	clearEnv(t)
	c, err := client.NewBuilder().Model("ollama/llama3").Build()
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if got := c.Targets(); !slices.Equal(got, []string{"ollama/llama3"}) {
		t.Errorf("Targets() = %v; want [ollama/llama3]", got)
	}
}

// recorder is a function-backed transport that records requests and
// answers every chat request with a canned OpenAI or Anthropic answer.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	body := `{"choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`
	if strings.HasSuffix(req.URL.Path, "/messages") {
		body = `{"type":"message","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn"}`
	}
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    req,
	}, nil
}

func (r *recorder) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

func TestEnvironmentPrecedence(t *testing.T) {
	const envKey = "sk-from-environment-0123456789"
	tests := []struct {
		name    string
		env     map[string]string
		b       func(*client.Builder) *client.Builder
		target  string
		wantKey string
		header  string
		wantURL string
	}{
		{"env key", map[string]string{"OPENAI_API_KEY": envKey}, func(b *client.Builder) *client.Builder { return b },
			"openai/gpt-4o", envKey, "Authorization", "https://api.openai.com/v1/chat/completions"},
		{"setter beats env", map[string]string{"OPENAI_API_KEY": envKey}, func(b *client.Builder) *client.Builder { return b.APIKey(openAIKey) },
			"openai/gpt-4o", openAIKey, "Authorization", "https://api.openai.com/v1/chat/completions"},
		{"provider config beats env", map[string]string{"ANTHROPIC_API_KEY": envKey}, func(b *client.Builder) *client.Builder {
			return b.Provider("anthropic", client.ProviderConfig{APIKey: anthropicKey})
		}, "anthropic/claude", anthropicKey, "X-Api-Key", "https://api.anthropic.com/v1/messages"},
		{"APIKey beats provider config", nil, func(b *client.Builder) *client.Builder {
			return b.APIKey(openAIKey).Provider("openai", client.ProviderConfig{APIKey: "sk-other-0123456789"})
		}, "openai/gpt-4o", openAIKey, "Authorization", "https://api.openai.com/v1/chat/completions"},
		{"google key for gemini", map[string]string{"GOOGLE_API_KEY": envKey}, func(b *client.Builder) *client.Builder { return b },
			"gemini/gemini-2.0-flash", envKey, "Authorization", "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"},
		{"gemini key first", map[string]string{"GOOGLE_API_KEY": "sk-google-0123456789", "GEMINI_API_KEY": envKey}, func(b *client.Builder) *client.Builder { return b },
			"gemini/gemini-2.0-flash", envKey, "Authorization", "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"},
		{"env cannot redirect", map[string]string{"OPENAI_API_KEY": envKey, "OPENAI_BASE_URL": "http://evil.example", "AI_LIB_BASE_URL": "http://evil.example"},
			func(b *client.Builder) *client.Builder { return b }, "openai/gpt-4o", envKey, "Authorization", "https://api.openai.com/v1/chat/completions"},
		{"base URL override keeps format", map[string]string{"OPENAI_API_KEY": envKey}, func(b *client.Builder) *client.Builder {
			return b.BaseURL("http://127.0.0.1:9/custom/")
		}, "openai/gpt-4o", envKey, "Authorization", "http://127.0.0.1:9/custom/chat/completions"},
		{"openrouter model with slashes", map[string]string{"OPENROUTER_API_KEY": envKey}, func(b *client.Builder) *client.Builder { return b },
			"openrouter/meta-llama/llama-3-70b", envKey, "Authorization", "https://openrouter.ai/api/v1/chat/completions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			rec := &recorder{}
			b := client.NewBuilder().Model(tt.target).HTTPClient(&http.Client{Transport: rec}).
				Logger(slog.New(slog.DiscardHandler)) // AI_LIB_BASE_URL: one warning, not checked here
			c := build(t, tt.b(b))
			resp, err := c.Chat(context.Background(), hi())
			if err != nil || resp.Content != "ok" {
				t.Fatalf("Chat() = %v, %v; want ok", resp, err)
			}
			req := rec.last()
			if got := req.URL.String(); got != tt.wantURL {
				t.Errorf("request URL = %q; want %q", got, tt.wantURL)
			}
			want := tt.wantKey
			if tt.header == "Authorization" {
				want = "Bearer " + want
			}
			if got := req.Header.Get(tt.header); got != want {
				t.Errorf("%s = %q; want %q", tt.header, got, want)
			}
			if tt.name == "openrouter model with slashes" && resp.Model != "meta-llama/llama-3-70b" {
				t.Errorf("Chat().Model = %q; want meta-llama/llama-3-70b", resp.Model)
			}
		})
	}
}

func TestEnvironmentTuning(t *testing.T) {
	srvCfg := func(t *testing.T) *providertest.Server {
		srv := newServer(t)
		srv.SetDefault("gpt-4o", providertest.ServerError())
		return srv
	}
	tests := []struct {
		name string
		b    func(*client.Builder) *client.Builder
		want int // requests of the first call (retries + 1)
	}{
		{"env applies without Resilience", func(b *client.Builder) *client.Builder { return b }, 2},
		{"explicit Resilience wins", func(b *client.Builder) *client.Builder { return b.Resilience(fastConfig()) }, 4},
		{"env fills what Resilience leaves unset", func(b *client.Builder) *client.Builder {
			return b.Resilience(resilience.ResilientConfig{CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 50}})
		}, 2},
		{"IgnoreEnvironment with an explicit config", func(b *client.Builder) *client.Builder {
			cfg := resilience.DefaultConfig()
			cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = time.Millisecond, time.Millisecond
			return b.IgnoreEnvironment().Resilience(cfg)
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OPENAI_API_KEY", openAIKey)
			t.Setenv("AI_LIB_MAX_RETRIES", "1")
			srv := srvCfg(t)
			b := client.NewBuilder().Model("openai/gpt-4o").APIKey(openAIKey).BaseURL(srv.URL() + "/v1")
			c := build(t, tt.b(b))
			_, err := c.Chat(context.Background(), hi())
			if !errors.Is(err, aierrors.ServerError) {
				t.Fatalf("Chat() error = %v; want ServerError", err)
			}
			if n := srv.Requests("gpt-4o"); n != tt.want {
				t.Errorf("requests = %d; want %d", n, tt.want)
			}
		})
	}
}

func TestBuildCopies(t *testing.T) {
	clearEnv(t)
	srv := newServer(t)
	hdr := http.Header{"X-Team": {"a"}}
	userClient := &http.Client{Timeout: 5 * time.Second}
	b := client.NewBuilder().IgnoreEnvironment().Model("openai/gpt-4o").Fallback("anthropic/claude").
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: openAIKey, Header: hdr}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: anthropicKey}).
		HTTPClient(userClient)
	c1 := build(t, b)

	// Changing what was given, or the builder, does not reach c1.
	hdr.Set("X-Team", "changed")
	b.Model("anthropic/claude").Fallback()
	c2 := build(t, b)
	if got := c1.Targets(); !slices.Equal(got, []string{"openai/gpt-4o", "anthropic/claude"}) {
		t.Errorf("c1.Targets() = %v; want the targets at its Build", got)
	}
	if got := c2.Targets(); !slices.Equal(got, []string{"anthropic/claude"}) {
		t.Errorf("c2.Targets() = %v; want [anthropic/claude]", got)
	}
	if _, err := c1.Chat(context.Background(), hi()); err != nil {
		t.Fatalf("c1.Chat() error = %v", err)
	}
	if got := srv.Received()[0].Header.Get("X-Team"); got != "a" {
		t.Errorf("X-Team = %q; want the value at Provider time", got)
	}
	if userClient.CheckRedirect != nil || userClient.Timeout != 5*time.Second || userClient.Transport != nil {
		t.Errorf("the caller's http.Client was modified: %+v", userClient)
	}
	// Executors are per client and per target.
	if s, _ := c2.Signals("anthropic/claude"); s.Target != "anthropic/claude" {
		t.Errorf("c2.Signals target = %q", s.Target)
	}
}

func TestProviders(t *testing.T) {
	want := []string{"anthropic", "deepseek", "gemini", "groq", "mistral", "ollama", "openai", "openrouter", "together", "xai"}
	if got := client.Providers(); !slices.Equal(got, want) {
		t.Errorf("Providers() = %v; want %v", got, want)
	}
}

// P3: Builder.Resilience does not switch the environment off. A malformed
// AI_LIB_* value is a Build error even with an explicit config.
func TestP3ResilienceConfigStillReadsEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("AI_LIB_RPS", "abc")
	_, err := client.NewBuilder().Model("ollama/x").Resilience(fastConfig()).Build()
	if err == nil || !strings.Contains(err.Error(), `AI_LIB_RPS="abc"`) {
		t.Errorf("Build() with Resilience(cfg) and AI_LIB_RPS=abc = %v; want an error naming AI_LIB_RPS", err)
	}
	// IgnoreEnvironment is the switch that turns it off.
	if _, err := client.NewBuilder().Model("ollama/x").Resilience(fastConfig()).IgnoreEnvironment().Build(); err != nil {
		t.Errorf("Build() with IgnoreEnvironment and AI_LIB_RPS=abc = %v; want nil (the environment is not read)", err)
	}
}

// P3: code, then the environment, then the defaults, field by field.
func TestP3CodeWinsOverEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("AI_LIB_RPS", "9")
	t.Setenv("AI_LIB_MAX_INFLIGHT", "7")
	t.Setenv("AI_LIB_TPM", "1200")
	cfg := fastConfig()
	cfg.RateLimiter = &resilience.RateLimiterConfig{RequestsPerSecond: 5} // TokensPerMinute left unset
	c := build(t, client.NewBuilder().Model("ollama/x").Resilience(cfg))
	s := c.SignalsSnapshot()
	if s.Rate.Limit != 5 {
		t.Errorf("Rate.Limit = %v; want 5 (the code's, over AI_LIB_RPS=9)", s.Rate.Limit)
	}
	if s.Rate.TokenLimit != 1200 {
		t.Errorf("Rate.TokenLimit = %v; want 1200 (AI_LIB_TPM fills the field the code left unset)", s.Rate.TokenLimit)
	}
	if s.MaxInflight != 7 {
		t.Errorf("MaxInflight = %d; want 7 (AI_LIB_MAX_INFLIGHT fills the member the code left nil)", s.MaxInflight)
	}
	// The builder keeps the caller's config: the environment filled a copy.
	if cfg.RateLimiter.TokensPerMinute != 0 || cfg.Backpressure != nil {
		t.Errorf("the caller's config was modified: %+v, %+v", *cfg.RateLimiter, cfg.Backpressure)
	}
	// Without Resilience, the environment fills every field.
	c = build(t, client.NewBuilder().Model("ollama/x"))
	if s := c.SignalsSnapshot(); s.Rate.Limit != 9 || s.MaxInflight != 7 {
		t.Errorf("without Resilience: Rate.Limit, MaxInflight = %v, %d; want 9, 7", s.Rate.Limit, s.MaxInflight)
	}
}

// P3: a misspelled AI_LIB_* variable is named in one warning at Build.
func TestP3UnknownVariableWarns(t *testing.T) {
	clearEnv(t)
	t.Setenv("AI_LIB_RPSS", "1")
	var rec recordHandler
	build(t, client.NewBuilder().Model("ollama/x").Logger(slog.New(&rec)))
	warns := rec.at(slog.LevelWarn)
	if len(warns) != 1 || !strings.Contains(warns[0], "AI_LIB_RPSS") {
		t.Errorf("warnings at Build with AI_LIB_RPSS=1 = %q; want one naming AI_LIB_RPSS", warns)
	}
	// Known names, and IgnoreEnvironment, warn about nothing.
	t.Setenv("AI_LIB_RPSS", "")
	os.Unsetenv("AI_LIB_RPSS")
	t.Setenv("AI_LIB_RPS", "1")
	rec = recordHandler{}
	build(t, client.NewBuilder().Model("ollama/x").Logger(slog.New(&rec)))
	t.Setenv("AI_LIB_RPSS", "1")
	build(t, client.NewBuilder().Model("ollama/x").Logger(slog.New(&rec)).IgnoreEnvironment())
	if warns := rec.at(slog.LevelWarn); len(warns) != 0 {
		t.Errorf("warnings with known names only, or IgnoreEnvironment = %q; want none", warns)
	}
	// Without a logger, the warning goes to slog.Default.
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	rec = recordHandler{}
	slog.SetDefault(slog.New(&rec))
	build(t, client.NewBuilder().Model("ollama/x"))
	if warns := rec.at(slog.LevelWarn); len(warns) != 1 || !strings.Contains(warns[0], "AI_LIB_RPSS") {
		t.Errorf("warnings on slog.Default = %q; want one naming AI_LIB_RPSS", warns)
	}
}

// recordHandler keeps every record, as its message and attributes.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// at returns the records of level l, each as "message key=value ...".
func (h *recordHandler) at(l slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level != l {
			continue
		}
		s := r.Message
		r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		out = append(out, s)
	}
	return out
}
