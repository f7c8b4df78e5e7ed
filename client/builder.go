package client

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ailib-go/ailib/internal/envconfig"
	"github.com/ailib-go/ailib/internal/redact"
	"github.com/ailib-go/ailib/resilience"
)

// Defaults of the builder's settings.
const (
	// DefaultAttemptTimeout bounds one provider request of a Chat call,
	// and one Stream attempt until the answer begins (its first content,
	// or reasoning before it).
	DefaultAttemptTimeout = 10 * time.Minute
	// DefaultStreamIdleTimeout bounds the silence between two reads of a
	// stream once its answer has begun (any bytes count, keep-alive
	// comments and pings included).
	DefaultStreamIdleTimeout = 60 * time.Second
	// DefaultMaxResponseBytes bounds the body of a successful (non-stream)
	// answer, and the text of a streamed one: 16 MiB.
	DefaultMaxResponseBytes = 16 << 20
	// MaxErrorBodyBytes bounds how much of an error answer's body is read
	// for classification: 1 MiB. The rest is discarded.
	MaxErrorBodyBytes = 1 << 20
	// MaxStreamLineBytes is the least bound on one line, and one event's
	// data, of a stream: 1 MiB. The bound is [Builder.MaxResponseBytes]
	// when that is larger (a server may send a whole tool call or image in
	// one event); a longer line ends the stream with an error.
	MaxStreamLineBytes = 1 << 20
	// DefaultResponseHeaderTimeout is the response-header timeout of the
	// transport Build makes when no [Builder.HTTPClient] is given and the
	// attempt timeout is off.
	DefaultResponseHeaderTimeout = 10 * time.Minute
)

// ProviderConfig overrides a provider's settings. Zero fields keep the
// built-in value (or the environment's key).
type ProviderConfig struct {
	// BaseURL replaces the provider's base URL, e.g.
	// "http://127.0.0.1:8080/v1". It must be an absolute http or https URL
	// without credentials, query or fragment. The provider's wire format is
	// kept, so "openai" with another base URL talks to any
	// OpenAI-compatible server.
	BaseURL string
	// APIKey is the provider's key; it wins over the environment.
	APIKey string
	// Header holds extra headers sent to this provider, on top of those
	// set with [Builder.Header]. It is copied by Provider.
	Header http.Header
}

// Builder configures and builds an [AiClient]:
//
//	c, err := client.NewBuilder().
//		Model("openai/gpt-4o").
//		Fallback("anthropic/claude-sonnet-4-5").
//		Build()
//
// Setters store their argument and return the builder; they never fail,
// panic or do I/O. [Builder.Build] reads the environment, checks
// everything and reports every problem at once. The settings of a built
// client are copies: changing the builder afterwards (or the maps, slices
// and http.Client given to it) does not affect clients already built, so a
// builder may serve as a template for several clients.
//
// Precedence, for each setting: an explicit setter, then the environment
// (API keys from *_API_KEY, resilience tuning from AI_LIB_*, field by
// field even with [Builder.Resilience]; see [Builder.IgnoreEnvironment]),
// then the defaults. Build logs one warning naming any AI_LIB_* variable
// it does not know (a misspelling such as AI_LIB_RPSS). No environment
// variable ever changes where requests are sent.
//
// A Builder is not safe for concurrent use.
type Builder struct {
	model     string
	modelSet  bool
	fallbacks []string
	pools     []poolDecl

	resilience *resilience.ResilientConfig

	apiKey, baseURL       string
	apiKeySet, baseURLSet bool
	providers             map[string]ProviderConfig

	httpClient *http.Client
	header     http.Header

	attemptTimeout    time.Duration
	attemptTimeoutSet bool
	idleTimeout       time.Duration
	idleTimeoutSet    bool
	maxResponseBytes  int64
	maxResponseSet    bool

	logger    *slog.Logger
	hooks     resilience.Hooks
	execOpts  []resilience.Option
	ignoreEnv bool
}

// NewBuilder returns an empty builder. [Builder.Model] is the only
// required setting.
func NewBuilder() *Builder { return &Builder{} }

// Model sets the primary target, "provider/model" such as
// "openai/gpt-4o" or "openrouter/meta-llama/llama-3-70b-instruct": the
// provider is the part before the first "/" and must be one of
// [Providers].
func (b *Builder) Model(id string) *Builder {
	b.model, b.modelSet = id, true
	return b
}

// Fallback sets the targets tried, in order, when the primary fails with a
// fallbackable error (see [aierrors.IsFallbackable]) or its circuit is
// open. Each id has the form of [Builder.Model] (or names a pool, see
// [Builder.Pool]). With the default retries, each target but the last
// gets [DefaultFallbackRetries] retry before the call moves on. Each call
// replaces the list of earlier calls; Fallback() clears it.
func (b *Builder) Fallback(ids ...string) *Builder {
	b.fallbacks = slices.Clone(ids)
	return b
}

// Resilience sets the retry, rate-limit, circuit-breaker, in-flight and
// cooldown configuration used for each target (each target gets its own
// executor with this configuration). Build still reads the AI_LIB_*
// variables (unless [Builder.IgnoreEnvironment]): they fill, field by
// field, what cfg leaves unset (a nil member, or a zero field), and what
// cfg sets wins (see [resilience.ResilientConfig.WithEnv]). A malformed
// variable is a Build error either way. A nil member of cfg means its
// defaults, never "off"; turn a part off with its Disabled field. cfg is
// copied.
func (b *Builder) Resilience(cfg resilience.ResilientConfig) *Builder {
	c := cloneConfig(cfg)
	b.resilience = &c
	return b
}

// cloneConfig returns a copy of cfg that shares no member with it.
func cloneConfig(cfg resilience.ResilientConfig) resilience.ResilientConfig {
	cfg.Retry = clonePtr(cfg.Retry)
	cfg.RateLimiter = clonePtr(cfg.RateLimiter)
	cfg.CircuitBreaker = clonePtr(cfg.CircuitBreaker)
	cfg.Backpressure = clonePtr(cfg.Backpressure)
	cfg.Cooldown = clonePtr(cfg.Cooldown)
	return cfg
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// APIKey sets the key of the primary model's provider. It wins over the
// environment and over [ProviderConfig.APIKey] for that provider.
// Surrounding white space is removed; an empty key means "not set".
func (b *Builder) APIKey(key string) *Builder {
	b.apiKey, b.apiKeySet = key, key != ""
	return b
}

// BaseURL sets the base URL of the primary model's provider (see
// [ProviderConfig.BaseURL]). It wins over [ProviderConfig.BaseURL] for
// that provider. An empty URL means "not set".
func (b *Builder) BaseURL(u string) *Builder {
	b.baseURL, b.baseURLSet = u, u != ""
	return b
}

// Provider overrides the settings of the named built-in provider for every
// target that uses it. A later call for the same name replaces the earlier
// one.
func (b *Builder) Provider(name string, p ProviderConfig) *Builder {
	if b.providers == nil {
		b.providers = make(map[string]ProviderConfig)
	}
	p.Header = p.Header.Clone()
	b.providers[name] = p
	return b
}

// HTTPClient sets the HTTP client used to reach providers. Build copies
// *c (the caller's client is never modified) and wraps its CheckRedirect so
// that credentials are not sent to another host on a redirect. c.Timeout,
// when set, bounds Chat requests only: streams are sent with a copy whose
// Timeout is 0, since a client timeout would cut a long answer off; they
// are bounded by [Builder.AttemptTimeout] and [Builder.StreamIdleTimeout].
//
// Without HTTPClient, Build makes a client on a clone of
// [http.DefaultTransport] whose ResponseHeaderTimeout is the attempt
// timeout (or [DefaultResponseHeaderTimeout] when that is off). Each built
// client then has its own connection pool.
func (b *Builder) HTTPClient(c *http.Client) *Builder {
	b.httpClient = c
	return b
}

// Header sets a header sent to every provider, replacing an earlier value
// for the same key. Headers the client sets itself (Authorization,
// x-api-key, Content-Type, Accept) cannot be replaced; anthropic-version
// and User-Agent can. Values of headers whose name suggests a credential
// (containing "auth", "key", "token", "secret" or "cookie") are treated as
// secrets: masked in errors, and dropped on a redirect to another host.
func (b *Builder) Header(key, value string) *Builder {
	if b.header == nil {
		b.header = make(http.Header)
	}
	b.header.Set(key, value)
	return b
}

// AttemptTimeout bounds each provider request: a whole Chat attempt, or a
// Stream attempt until the answer begins: its first content event, or
// the reasoning or thinking a model streams before it (after that,
// [Builder.StreamIdleTimeout] applies, so a model may think for longer
// than d as long as it keeps sending). An attempt that runs out fails with
// a retryable Timeout error wrapping [ErrAttemptTimeout], and the executor
// may retry it; the caller's ctx deadline, by contrast, bounds the whole
// call, retries included, and is never retried. The attempt timeout is
// applied only when it ends before the ctx deadline. 0 turns it off;
// default [DefaultAttemptTimeout].
func (b *Builder) AttemptTimeout(d time.Duration) *Builder {
	b.attemptTimeout, b.attemptTimeoutSet = d, true
	return b
}

// StreamIdleTimeout bounds the wait for more data once a stream's answer
// has begun (it has been handed to the caller, or the model is streaming
// reasoning before its first content): a read that sees nothing for d
// fails the stream with a Timeout error wrapping [ErrStreamIdle], retried
// like any failure when no content had reached the caller. Time the caller spends
// between calls to [ChatStream.Next] does not count. 0 turns it off;
// default [DefaultStreamIdleTimeout].
func (b *Builder) StreamIdleTimeout(d time.Duration) *Builder {
	b.idleTimeout, b.idleTimeoutSet = d, true
	return b
}

// MaxResponseBytes bounds the body of a successful Chat answer, and the
// text a stream accumulates ([ChatStream.Text]); a longer body fails the
// call, and a longer stream ends, with an error wrapping
// [ErrResponseTooLarge]. A stream's line may be as long (see
// [MaxStreamLineBytes]). Default [DefaultMaxResponseBytes].
func (b *Builder) MaxResponseBytes(n int64) *Builder {
	b.maxResponseBytes, b.maxResponseSet = n, true
	return b
}

// Logger sets the logger of the client and its executors: attempts at
// Debug, retries and rejections at Info, circuit changes at Warn. Log
// records never contain API keys or prompt text. nil (the default) logs
// nothing.
func (b *Builder) Logger(l *slog.Logger) *Builder {
	b.logger = l
	return b
}

// Hooks sets the functions called on each resilience decision of every
// target (attempts, retries, circuit changes, limiter waits, rejections)
// and on each fallback hop. Hook payloads never contain API keys.
func (b *Builder) Hooks(h resilience.Hooks) *Builder {
	b.hooks = h
	return b
}

// ExecutorOptions adds options to the executor of every target (primary
// and fallbacks), such as [resilience.WithSharedLimiter] and
// [resilience.WithSharedState] to share each target's rate limit and
// circuit with the other replicas of a service (through Redis with
// github.com/ailib-go/ailib/resilience/redisstore). Give those a key of ""
// so that each target is shared under its own name. The builder's own
// name, [Builder.Hooks] and [Builder.Logger] are applied after these, so
// [resilience.WithName], [resilience.WithHooks] and [resilience.WithLogger]
// given here have no effect. Each call replaces the options of earlier
// calls; ExecutorOptions() clears them.
func (b *Builder) ExecutorOptions(opts ...resilience.Option) *Builder {
	b.execOpts = slices.Clone(opts)
	return b
}

// IgnoreEnvironment makes Build read no environment variable: no API key
// from *_API_KEY and no AI_LIB_* tuning (nor a warning about unknown
// AI_LIB_* names). Keys must then be given in code.
func (b *Builder) IgnoreEnvironment() *Builder {
	b.ignoreEnv = true
	return b
}

// parsedTarget is a target id split into provider and model.
type parsedTarget struct {
	id, provider, model string
	spec                *providerSpec
}

// Build checks every setting, reads the environment and returns a client.
// On failure it returns every problem joined with [errors.Join], each
// naming the setting or the environment variable, for example:
//
//	client: Model("gpt-4o"): want "provider/model", e.g. "openai/gpt-4o"
//	client: provider "openai" needs an API key: set OPENAI_API_KEY or call APIKey/Provider
//	resilience: AI_LIB_RPS="abc": not a number
func (b *Builder) Build() (*AiClient, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf("client: "+format, args...)) }
	getenv := os.Getenv
	if b.ignoreEnv {
		getenv = func(string) string { return "" }
	}

	// Targets and pools.
	var (
		targets []parsedTarget
		chain   []chainEntry
		used    = map[string]bool{} // pools used by Model or Fallback
	)
	seen := map[string]bool{}
	addTarget := func(setting, id string) {
		if slices.ContainsFunc(b.pools, func(d poolDecl) bool { return d.name == id }) {
			if seen[id] {
				fail("%s(%q): pool listed twice", setting, id)
				return
			}
			seen[id], used[id] = true, true
			chain = append(chain, chainEntry{pool: id})
			return
		}
		p, err := parseTarget(id)
		if err != nil {
			fail("%s(%q): %v", setting, id, err)
			return
		}
		if seen[id] {
			fail("%s(%q): target listed twice", setting, id)
			return
		}
		seen[id] = true
		targets = append(targets, p)
		chain = append(chain, chainEntry{target: p})
	}
	switch {
	case !b.modelSet:
		fail(`Model not set: call Model("provider/model"), e.g. Model("openai/gpt-4o")`)
	default:
		addTarget("Model", b.model)
	}
	for _, id := range b.fallbacks {
		addTarget("Fallback", id)
	}

	// Provider overrides.
	for _, name := range slices.Sorted(maps.Keys(b.providers)) {
		pc := b.providers[name]
		if _, ok := lookupProvider(name); !ok {
			fail("Provider(%q): unknown provider (known: %s)", name, strings.Join(Providers(), ", "))
			continue
		}
		if pc.BaseURL != "" {
			if err := checkBaseURL(pc.BaseURL); err != nil {
				fail("Provider(%q).BaseURL %s", name, err)
			}
		}
		if err := checkKey(pc.APIKey); err != nil {
			fail("Provider(%q).APIKey %v", name, err)
		}
		if err := checkHeader(pc.Header); err != nil {
			fail("Provider(%q).Header: %v", name, err)
		}
	}
	if b.baseURLSet {
		if err := checkBaseURL(b.baseURL); err != nil {
			fail("BaseURL %s", err)
		}
	}
	if b.apiKeySet {
		if err := checkKey(b.apiKey); err != nil {
			fail("APIKey %v", err)
		}
	}
	if err := checkHeader(b.header); err != nil {
		fail("Header: %v", err)
	}

	// Per-provider settings of the providers in use.
	primary := ""
	if len(chain) > 0 && chain[0].pool == "" && chain[0].target.id == b.model {
		primary = chain[0].target.provider
	}
	if len(chain) > 0 && chain[0].pool != "" && (b.apiKeySet || b.baseURLSet) {
		fail("APIKey and BaseURL apply to the primary model's provider, but the primary is pool %q: set them in its deployments", chain[0].pool)
	}
	settings := map[string]*providerSettings{}
	resolve := func(t parsedTarget) *providerSettings {
		if s := settings[t.provider]; s != nil {
			return s
		}
		s := &providerSettings{spec: t.spec, baseURL: t.spec.baseURL}
		pc := b.providers[t.provider]
		if pc.BaseURL != "" {
			s.baseURL = pc.BaseURL
		}
		s.key = strings.TrimSpace(pc.APIKey)
		if t.provider == primary {
			if b.baseURLSet {
				s.baseURL = b.baseURL
			}
			if b.apiKeySet {
				s.key = strings.TrimSpace(b.apiKey)
			}
		}
		if s.key == "" {
			for _, v := range t.spec.keyEnv {
				if k := strings.TrimSpace(getenv(v)); k != "" {
					if err := checkKey(k); err != nil {
						fail("environment variable %s %v", v, err)
					}
					s.key = k
					break
				}
			}
		}
		s.header = mergeHeaders(b.header, pc.Header)
		settings[t.provider] = s
		return s
	}
	keyless := map[string]bool{} // providers whose missing key was reported
	for _, t := range targets {
		if s := resolve(t); s.key == "" && t.spec.needsKey() && !keyless[t.provider] {
			keyless[t.provider] = true
			fail("%s", missingKey(t.provider, t.spec, t.provider == primary, b.ignoreEnv))
		}
	}
	var members []memberConfig // every deployment, for secrets
	for i := range chain {
		e := &chain[i]
		if e.pool == "" {
			continue
		}
		d := b.pools[slices.IndexFunc(b.pools, func(d poolDecl) bool { return d.name == e.pool })]
		e.members = b.resolvePool(d, func(t parsedTarget, needKey bool) *providerSettings {
			s := resolve(t)
			if needKey && s.key == "" && t.spec.needsKey() {
				fail("Pool(%q) model %q: no API key: give the deployment an APIKey or APIKeyEnv, or the provider a key (%s)", d.name, t.id, strings.Join(t.spec.keyEnv, " or "))
				return nil
			}
			return s
		}, getenv, fail)
		members = append(members, e.members...)
	}
	for _, d := range b.pools {
		if !used[d.name] {
			fail("Pool(%q) is declared but used neither by Model nor by Fallback", d.name)
		}
	}

	// Resilience: code, then the environment, then the defaults, field by
	// field. The zero config is the defaults; WithEnv starts from it (not
	// from DefaultConfig, whose filled-in fields would hide the variables).
	var cfg resilience.ResilientConfig
	if b.resilience != nil {
		cfg = cloneConfig(*b.resilience)
	}
	if !b.ignoreEnv {
		var err error
		cfg, err = cfg.WithEnv()
		if err != nil {
			errs = append(errs, err)
		}
		b.warnUnknownEnv()
	}
	// NewResilientExecutor is where a config is validated; check it once
	// here so that a bad config is reported once, not once per target.
	if _, err := resilience.NewResilientExecutor(cfg); err != nil {
		if b.resilience != nil {
			err = fmt.Errorf("client: Resilience: %w", err)
		}
		errs = append(errs, err)
	}

	// Timeouts and bounds.
	attemptTimeout := DefaultAttemptTimeout
	if b.attemptTimeoutSet {
		attemptTimeout = b.attemptTimeout
		if attemptTimeout < 0 {
			fail("AttemptTimeout(%v): negative (0 turns it off)", attemptTimeout)
		}
	}
	idleTimeout := DefaultStreamIdleTimeout
	if b.idleTimeoutSet {
		idleTimeout = b.idleTimeout
		if idleTimeout < 0 {
			fail("StreamIdleTimeout(%v): negative (0 turns it off)", idleTimeout)
		}
	}
	maxResponse := int64(DefaultMaxResponseBytes)
	if b.maxResponseSet {
		maxResponse = b.maxResponseBytes
		if maxResponse <= 0 {
			fail("MaxResponseBytes(%d): must be positive", maxResponse)
		}
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// A target a fallback follows gets DefaultFallbackRetries unless the
	// retries were set, in code or AI_LIB_MAX_RETRIES, to a count other
	// than the default: resilience.DefaultConfig() passed as it is, the
	// usual start of a config, keeps the defaults' behaviour.
	capRetries := cfg.Retry == nil || cfg.Retry.MaxRetries == resilience.DefaultConfig().Retry.MaxRetries
	return newClient(clientConfig{
		capRetries:       capRetries,
		secrets:          b.secrets(settings, members),
		chain:            chain,
		providers:        settings,
		resilience:       cfg,
		httpClient:       b.httpClient,
		attemptTimeout:   attemptTimeout,
		idleTimeout:      idleTimeout,
		maxResponseBytes: maxResponse,
		logger:           b.logger,
		hooks:            b.hooks,
		execOpts:         slices.Clone(b.execOpts),
	})
}

// clientEnvNames are the AI_LIB_* variables the client reads itself,
// besides the resilience ones envconfig knows: none today.
var clientEnvNames []string

// warnUnknownEnv logs one warning naming every AI_LIB_* variable in the
// environment that nothing reads: most likely a misspelling (AI_LIB_RPSS)
// that would otherwise pass silently.
func (b *Builder) warnUnknownEnv() {
	unknown := envconfig.Unknown(os.Environ(), clientEnvNames...)
	if len(unknown) == 0 {
		return
	}
	l := b.logger
	if l == nil {
		l = slog.Default()
	}
	l.Warn("ailib: unknown AI_LIB_* environment variables are ignored (misspelled?)",
		slog.String("variables", strings.Join(unknown, ", ")))
}

// secrets returns every credential the client was given, masked by value
// in all it outputs: the key of each provider in use (set in code or read
// from the environment), the keys of the other configured providers, and
// the values of credential headers (see [sensitiveHeader]), whole and
// without their scheme ("Bearer", "Basic").
func (b *Builder) secrets(settings map[string]*providerSettings, members []memberConfig) *redact.Secrets {
	var values []string
	addHeader := func(h http.Header) {
		for k, vs := range h {
			if !sensitiveHeader(k) {
				continue
			}
			for _, v := range vs {
				values = append(values, v, strings.TrimSpace(v))
				if _, tok, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
					values = append(values, strings.TrimSpace(tok))
				}
			}
		}
	}
	for _, s := range settings {
		values = append(values, s.key)
		addHeader(s.header)
	}
	for _, m := range members {
		values = append(values, m.settings.key)
		addHeader(m.settings.header)
	}
	keys, headers := b.poolSecrets()
	values = append(values, keys...)
	for _, h := range headers {
		addHeader(h)
	}
	for _, pc := range b.providers {
		values = append(values, strings.TrimSpace(pc.APIKey))
		addHeader(pc.Header)
	}
	values = append(values, strings.TrimSpace(b.apiKey))
	addHeader(b.header)
	return redact.NewSecrets(values...)
}

// providerSettings is what Build resolved for one provider.
type providerSettings struct {
	spec    *providerSpec
	baseURL string
	key     string
	header  http.Header // user headers: global, then provider's
}

// parseTarget splits "provider/model" at the first "/".
func parseTarget(id string) (parsedTarget, error) {
	provider, model, ok := strings.Cut(id, "/")
	switch {
	case id == "":
		return parsedTarget{}, errors.New(`empty model id: want "provider/model", e.g. "openai/gpt-4o"`)
	case !ok:
		return parsedTarget{}, errors.New(`want "provider/model", e.g. "openai/gpt-4o"`)
	case provider == "":
		return parsedTarget{}, errors.New(`provider missing before "/"`)
	case model == "":
		return parsedTarget{}, errors.New(`model missing after "/"`)
	case !utf8.ValidString(id):
		return parsedTarget{}, errors.New("is not valid UTF-8")
	case strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }):
		return parsedTarget{}, errors.New("contains white space or control characters")
	}
	spec, known := lookupProvider(provider)
	if !known {
		return parsedTarget{}, fmt.Errorf("unknown provider %q (known: %s)", provider, strings.Join(Providers(), ", "))
	}
	return parsedTarget{id: id, provider: provider, model: model, spec: spec}, nil
}

// checkBaseURL returns an error that completes "BaseURL ..." (without
// showing credentials the URL may hold).
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a valid URL")
	}
	shown := shownURL(u)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: scheme must be http or https", shown)
	case u.Host == "":
		return fmt.Errorf("%q: host missing", shown)
	case u.User != nil:
		return fmt.Errorf("%q: must not contain credentials; use APIKey or Header", shown)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("%q: must not have a query or fragment", shown)
	}
	return nil
}

// shownURL is u as an error may show it: its user information, query
// values and fragment masked, as a key may be in any of them (a key as the
// user name, Gemini's ?key=).
func shownURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("xxxxx")
	}
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			q[k] = []string{"xxxxx"}
		}
		c.RawQuery = q.Encode()
	}
	if c.Fragment != "" || c.RawFragment != "" {
		c.Fragment, c.RawFragment = "xxxxx", ""
	}
	return c.String()
}

// checkKey returns an error that completes "APIKey ..." without showing
// the key. Keys are printable ASCII: a character pasted along with a key
// (a zero-width space, a typographic quote) would otherwise be sent and
// rejected by the provider with an opaque authentication error.
func checkKey(key string) error {
	key = strings.TrimSpace(key)
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c <= ' ' || c == 0x7f:
			return errors.New("contains white space or control characters")
		case c > 0x7f:
			return fmt.Errorf("contains a character that is not printable ASCII (at byte %d)", i)
		}
	}
	return nil
}

// checkHeader checks names and values of user headers.
func checkHeader(h http.Header) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if !validHeaderName(k) {
			errs = append(errs, fmt.Errorf("invalid header name %q", k))
			continue
		}
		for _, v := range h[k] {
			if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
				errs = append(errs, fmt.Errorf("header %q: value contains CR, LF, NUL or another control character", k))
			}
		}
		if reservedHeader(k) {
			errs = append(errs, fmt.Errorf("header %q is set by the client; use APIKey for credentials", k))
		}
	}
	return errors.Join(errs...)
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// reservedHeader reports headers the client sets itself.
func reservedHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "X-Api-Key", "Content-Type", "Accept", "Content-Length", "Host":
		return true
	}
	return false
}

// missingKey words the error for a provider without a key.
func missingKey(name string, spec *providerSpec, primary, ignoreEnv bool) string {
	call := fmt.Sprintf("Provider(%q, ProviderConfig{APIKey: ...})", name)
	if primary {
		call = "APIKey/Provider"
	}
	if ignoreEnv {
		return fmt.Sprintf("provider %q needs an API key: call %s (IgnoreEnvironment is set, so %s is not read)", name, call, strings.Join(spec.keyEnv, " or "))
	}
	return fmt.Sprintf("provider %q needs an API key: set %s or call %s", name, strings.Join(spec.keyEnv, " or "), call)
}

// mergeHeaders returns a new header holding global, then provider's
// headers on top.
func mergeHeaders(global, provider http.Header) http.Header {
	h := make(http.Header, len(global)+len(provider))
	for k, v := range global {
		h[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	for k, v := range provider {
		h[http.CanonicalHeaderKey(k)] = slices.Clone(v)
	}
	return h
}
