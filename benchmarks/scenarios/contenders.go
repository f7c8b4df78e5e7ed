package scenarios

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/resilience"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/failsafe-go/failsafe-go/fallback"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/failsafe-go/failsafe-go/timeout"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// apiKey is the key every contender sends; the provider server accepts any.
const apiKey = "sk-bench-not-a-real-key"

// Caller makes one chat call the way a contender does, and reports which
// model answered it.
type Caller interface {
	Call(ctx context.Context) (servedBy string, err error)
}

// Contender is a way of calling a provider: ailib or an alternative.
type Contender struct {
	// Name is the row label, e.g. "ailib" or "openai-go v3.98.0".
	Name string
	// Config says how the scenario's knobs were applied.
	Config string
	// New builds a caller for one run, reaching the provider at baseURL
	// (no path) through hc.
	New func(k Knobs, baseURL string, hc *http.Client) (Caller, error)
	// Only limits the contender to these scenario IDs; empty = all.
	Only []string
}

func (c Contender) runs(id string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, o := range c.Only {
		if strings.EqualFold(o, id) {
			return true
		}
	}
	return false
}

// OpenAIGoVersion is the openai-go release the benchmarks module requires.
const OpenAIGoVersion = "v3.98.0"

// Contenders returns ailib and the alternatives, in table order.
func Contenders() []Contender {
	return []Contender{
		{
			Name: "ailib",
			Config: "client.AiClient, resilience.DefaultConfig() with the knobs (retries, backoff from InitialDelay ×2 with 20% jitter, " +
				"breaker, learning limiter with no preset rate), Backpressure MaxInflight, AttemptTimeout where set, Fallback target where on",
			New: newAilib,
		},
		{
			Name:   "ailib, breaker off",
			Config: "as ailib with the circuit breaker turned off (CircuitBreakerConfig.Disabled): what its retries alone achieve",
			New: func(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
				k.BreakerThreshold = 0
				return newAilib(k, baseURL, hc)
			},
			Only: []string{"S1", "S6"},
		},
		{
			Name:   "ailib, budget off, breaker off",
			Config: "as ailib with neither the retry budget (RetryConfig.Budget -1) nor the circuit breaker: retries alone, as before issue 9",
			New: func(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
				k.BreakerThreshold = 0
				k.noBudget = true
				return newAilib(k, baseURL, hc)
			},
			Only: []string{"S6"},
		},
		{
			Name:   "ailib, limiter off",
			Config: "as ailib with RateLimiterConfig.Disabled: no request or token limit, nothing learned from the headers",
			New: func(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
				k.noLimiter = true
				return newAilib(k, baseURL, hc)
			},
			Only: []string{"S7"},
		},
		{
			Name:   "ailib, TPM set",
			Config: "as ailib with RateLimiterConfig.TokensPerMinute (AI_LIB_TPM) set to the provider's cap",
			New: func(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
				k.TokensPerMinute = s7TPM
				return newAilib(k, baseURL, hc)
			},
			Only: []string{"S7"},
		},
		{
			Name: "openai-go " + OpenAIGoVersion,
			Config: "official SDK with its defaults: 2 retries, backoff 0.5s×2ⁿ (−25% jitter, 8s cap, not configurable), " +
				"Retry-After(-Ms) honoured up to 60s, every 429/5xx retried; option.WithRequestTimeout where an attempt timeout is set; " +
				"no breaker or limiter; fallback written by hand: on any error, the same call to the fallback model",
			New: newOpenAI,
		},
		{
			Name: "failsafe-go",
			Config: "plain net/http call in failsafe.With(fallback, retry, breaker, rate limiter, bulkhead[, timeout]): " +
				"failsafehttp.NewRetryPolicyBuilder (retries every 429/5xx and transport error, Retry-After in whole seconds) with the " +
				"retries and backoff ×2 jitter 0.2, aborting on circuitbreaker.ErrOpen; breaker on 5xx/transport errors with the " +
				"threshold and cooldown, 1 success closes it; bursty rate limiter 1000/s (not told the cap); bulkhead MaxInflight; " +
				"fallback policy on any failure",
			New: func(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
				k.Hedge = 0
				return newFailsafe(k, baseURL, hc)
			},
		},
		{
			Name: "failsafe-go + hedge",
			Config: "as failsafe-go, plus hedgepolicy inside the retry: 1 hedge after the scenario's hedge delay, the other " +
				"attempt cancelled on the first success",
			New:  newFailsafe,
			Only: []string{"S5"},
		},
		{
			Name: "naive loop",
			Config: "for up to 4 attempts: POST, stop on 200, else sleep 1s (fixed) and try again; then the same on the fallback " +
				"where on; http.Client.Timeout = the attempt timeout where set",
			New: newNaive,
		},
	}
}

// --- ailib ---

type ailibCaller struct {
	c         *client.AiClient
	maxTokens int
}

func newAilib(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
	cfg := resilience.DefaultConfig()
	// Every duration of the defaults follows the timescale, including any
	// the knobs do not name (the limiter's MaxPause, a breaker window).
	scaleDurations(cfg.Retry, k.scale)
	scaleDurations(cfg.RateLimiter, k.scale)
	scaleDurations(cfg.CircuitBreaker, k.scale)
	cfg.Retry.MaxRetries = k.MaxRetries
	cfg.Retry.InitialDelay = k.InitialDelay
	cfg.Retry.MaxDelay = k.MaxDelay
	cfg.Retry.MaxRetryAfter = k.MaxRetryAfter
	cfg.CircuitBreaker.FailureThreshold = k.BreakerThreshold
	cfg.CircuitBreaker.Cooldown = k.BreakerCooldown
	cfg.Backpressure = &resilience.BackpressureConfig{MaxInflight: k.MaxInflight}
	// A nil member would mean its defaults: parts are turned off with
	// Disabled.
	if k.BreakerThreshold <= 0 {
		cfg.CircuitBreaker.Disabled = true
	}
	if k.noBudget {
		cfg.Retry.Budget = -1
	}
	if k.TokensPerMinute > 0 {
		// At a timescale s < 1 a minute lasts s minutes: the bucket
		// refills 1/s times as fast. (Its size, a minute's worth, grows
		// with it: RateLimiterConfig has no separate token burst.)
		cfg.RateLimiter.TokensPerMinute = k.TokensPerMinute
		if k.scale > 0 {
			cfg.RateLimiter.TokensPerMinute /= k.scale
		}
	}
	if k.noLimiter {
		cfg.RateLimiter.Disabled = true
	}
	b := client.NewBuilder().
		Model("openai/"+Primary).
		Provider("openai", client.ProviderConfig{BaseURL: baseURL + "/v1", APIKey: apiKey}).
		Resilience(cfg).
		HTTPClient(hc).
		IgnoreEnvironment()
	if k.Fallback {
		b.Fallback("openai/" + Fallback)
	}
	if k.AttemptTimeout > 0 {
		b.AttemptTimeout(k.AttemptTimeout)
	}
	c, err := b.Build()
	if err != nil {
		return nil, err
	}
	time.Sleep(k.age) // a client built a while before its calls (Knobs.age)
	return ailibCaller{c, k.MaxTokens}, nil
}

func (a ailibCaller) Call(ctx context.Context) (string, error) {
	req := client.ChatRequest{Messages: []client.Message{client.User("hi")}, MaxTokens: a.maxTokens}
	if id := callID(ctx); id != "" {
		req.Header = http.Header{CallHeader: {id}}
	}
	resp, err := a.c.Chat(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.Model, nil
}

// scaleDurations multiplies every time.Duration field of the struct p
// points to by s.
func scaleDurations(p any, s float64) {
	if s == 1 || s == 0 {
		return
	}
	v := reflect.ValueOf(p).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.CanSet() && f.Type() == reflect.TypeFor[time.Duration]() {
			f.SetInt(int64(scale(time.Duration(f.Int()), s)))
		}
	}
}

// --- openai-go ---

type openaiCaller struct {
	c         openai.Client
	fallback  bool
	maxTokens int
}

func newOpenAI(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
	opts := []option.RequestOption{
		option.WithBaseURL(baseURL + "/v1/"),
		option.WithAPIKey(apiKey),
		option.WithHTTPClient(hc),
	}
	if k.AttemptTimeout > 0 {
		opts = append(opts, option.WithRequestTimeout(k.AttemptTimeout))
	}
	return openaiCaller{c: openai.NewClient(opts...), fallback: k.Fallback, maxTokens: k.MaxTokens}, nil
}

func (o openaiCaller) Call(ctx context.Context) (string, error) {
	err := o.chat(ctx, Primary)
	if err == nil {
		return Primary, nil
	}
	if !o.fallback || ctx.Err() != nil {
		return "", err
	}
	if err := o.chat(ctx, Fallback); err != nil {
		return "", err
	}
	return Fallback, nil
}

func (o openaiCaller) chat(ctx context.Context, model string) error {
	p := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	if o.maxTokens > 0 {
		p.MaxTokens = openai.Int(int64(o.maxTokens))
	}
	_, err := o.c.Chat.Completions.New(ctx, p)
	return err
}

// --- a plain net/http call, shared by failsafe-go and the naive loop ---

// modelHeader names the model that answered, set on the responses that
// post returns.
const modelHeader = "X-Bench-Model"

// post sends one chat request for model and reads the whole answer. The
// returned response's body is already read and closed; a fresh reader over
// its bytes replaces it.
func post(ctx context.Context, hc *http.Client, baseURL, model string, maxTokens int) (*http.Response, error) {
	return postFormat(ctx, hc, baseURL, model, maxTokens, false)
}

// postFormat is post in OpenAI's format, or in Anthropic's (Messages API,
// max_tokens 4096 unless set) when anthropic is set. Both carry the call's
// [CallHeader].
func postFormat(ctx context.Context, hc *http.Client, baseURL, model string, maxTokens int, anthropic bool) (*http.Response, error) {
	path := "/v1/chat/completions"
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	if maxTokens > 0 {
		body = `{"model":"` + model + `","max_tokens":` + strconv.Itoa(maxTokens) + `,"messages":[{"role":"user","content":"hi"}]}`
	}
	if anthropic {
		path = "/v1/messages"
		body = `{"model":"` + model + `","max_tokens":` + strconv.Itoa(cmp.Or(maxTokens, client.DefaultAnthropicMaxTokens)) +
			`,"messages":[{"role":"user","content":"hi"}]}`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if anthropic {
		req.Header.Set("x-api-key", apiKey)
		req.Header.Set("anthropic-version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	if id := callID(ctx); id != "" {
		req.Header.Set(CallHeader, id)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.Header.Set(modelHeader, model)
	return resp, nil
}

// --- failsafe-go ---

type failsafeCaller struct {
	exec failsafe.Executor[*http.Response]
	op   func(model string) func(exec failsafe.Execution[*http.Response]) (*http.Response, error)
}

func failed(r *http.Response, err error) bool {
	return err != nil || r == nil || r.StatusCode >= 400
}

// failsafeStack is the per-target policy list: retry, breaker, rate
// limiter, bulkhead, then hedge and timeout where set (outermost first).
func failsafeStack(k Knobs) []failsafe.Policy[*http.Response] {
	retry := failsafehttp.NewRetryPolicyBuilder().
		WithMaxRetries(k.MaxRetries).
		WithBackoffFactor(k.InitialDelay, k.MaxDelay, 2).
		WithJitterFactor(0.2).
		AbortOnErrors(circuitbreaker.ErrOpen).
		Build()
	breaker := circuitbreaker.NewBuilder[*http.Response]().
		HandleIf(func(r *http.Response, err error) bool {
			if err != nil {
				return !errors.Is(err, context.Canceled)
			}
			return r != nil && r.StatusCode >= 500
		}).
		WithFailureThreshold(uint(k.BreakerThreshold)).
		WithSuccessThreshold(1).
		WithDelay(k.BreakerCooldown).
		Build()
	limiter := ratelimiter.NewBurstyBuilder[*http.Response](1000, time.Second).
		WithMaxWaitTime(time.Minute).
		Build()
	bh := bulkhead.NewBuilder[*http.Response](uint(k.MaxInflight)).
		WithMaxWaitTime(time.Minute).
		Build()
	policies := []failsafe.Policy[*http.Response]{retry, breaker, limiter, bh}
	if k.Hedge > 0 {
		// Cancel the other attempt only on a success: by default any
		// outcome, a timeout included, cancels it.
		policies = append(policies, hedgepolicy.NewBuilderWithDelay[*http.Response](k.Hedge).
			WithMaxHedges(1).
			CancelIf(func(r *http.Response, err error) bool { return !failed(r, err) }).
			Build())
	}
	if k.AttemptTimeout > 0 {
		policies = append(policies, timeout.New[*http.Response](k.AttemptTimeout))
	}
	return policies
}

func newFailsafe(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
	op := func(model string) func(exec failsafe.Execution[*http.Response]) (*http.Response, error) {
		return func(exec failsafe.Execution[*http.Response]) (*http.Response, error) {
			return post(exec.Context(), hc, baseURL, model, k.MaxTokens)
		}
	}
	primary := failsafeStack(k)
	if k.Fallback {
		fbExec := failsafe.With(failsafeStack(k)...)
		fb := fallback.NewBuilderWithFunc(func(exec failsafe.Execution[*http.Response]) (*http.Response, error) {
			return fbExec.WithContext(exec.Context()).GetWithExecution(op(Fallback))
		}).HandleIf(failed).Build()
		primary = append([]failsafe.Policy[*http.Response]{fb}, primary...)
	}
	return failsafeCaller{exec: failsafe.With(primary...), op: op}, nil
}

func (f failsafeCaller) Call(ctx context.Context) (string, error) {
	resp, err := f.exec.WithContext(ctx).GetWithExecution(f.op(Primary))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("failsafe-go: HTTP %d", resp.StatusCode)
	}
	return resp.Header.Get(modelHeader), nil
}

// --- naive loop ---

type naiveCaller struct {
	hc        *http.Client
	baseURL   string
	sleep     time.Duration
	attempts  int
	fallback  bool
	maxTokens int
	anthropic bool // Anthropic's Messages API instead of OpenAI's
}

func newNaive(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
	if k.AttemptTimeout > 0 {
		c := *hc
		c.Timeout = k.AttemptTimeout
		hc = &c
	}
	return naiveCaller{hc: hc, baseURL: baseURL, sleep: k.NaiveSleep, attempts: k.MaxRetries + 1, fallback: k.Fallback,
		maxTokens: k.MaxTokens, anthropic: k.anthropic}, nil
}

func (n naiveCaller) Call(ctx context.Context) (string, error) {
	err := n.loop(ctx, Primary)
	if err == nil {
		return Primary, nil
	}
	if !n.fallback || ctx.Err() != nil {
		return "", err
	}
	if err := n.loop(ctx, Fallback); err != nil {
		return "", err
	}
	return Fallback, nil
}

func (n naiveCaller) loop(ctx context.Context, model string) error {
	var last error
	for i := range n.attempts {
		if i > 0 && !sleepCtx(ctx, n.sleep) {
			return ctx.Err()
		}
		resp, err := postFormat(ctx, n.hc, n.baseURL, model, n.maxTokens, n.anthropic)
		switch {
		case err != nil:
			last = err
		case resp.StatusCode == http.StatusOK:
			return nil
		default:
			last = fmt.Errorf("naive: HTTP %d", resp.StatusCode)
		}
	}
	return last
}

// sleepCtx waits d or until ctx is done; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
