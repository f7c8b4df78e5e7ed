package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/redact"
	"github.com/ailib-go/ailib/internal/wire"
	"github.com/ailib-go/ailib/resilience"
)

// AiClient sends chat requests to a primary target and its fallbacks,
// each behind its own [resilience.ResilientExecutor] (retries, rate limit,
// circuit breaker, in-flight cap), through a [resilience.FallbackChain].
// Make one with [NewBuilder].
//
// An AiClient is immutable and safe for concurrent use; reuse one for the
// life of the program: its executors' state (circuit, limiter, permits) and
// its connection pool live in it.
type AiClient struct {
	targets []*target          // every target and deployment, in chain order
	chainOf []string           // the chain's entries: target ids and pool names
	byName  map[string]*target // targets and deployments by name
	pools   map[string]*pool
	// capRetries: a target a fallback follows gets DefaultFallbackRetries
	// (the retry count is the default).
	capRetries bool
	chain      *resilience.FallbackChain
	chainOpt   resilience.Option // WithHooks of the masked hooks, for the fallback hops; made once, not per call

	chatHTTP, streamHTTP *http.Client
	chatRT               http.RoundTripper // directTransport(chatHTTP): Chat's requests skip http.Client

	attemptTimeout   time.Duration
	idleTimeout      time.Duration
	maxResponseBytes int64
	logger           *slog.Logger    // the builder's, behind a handler that masks secrets
	secrets          *redact.Secrets // API keys and credential header values: masked in all the client outputs
}

// target is one provider+model with its own executor.
type target struct {
	name            string // "provider/model"
	provider, model string
	spec            *providerSpec
	format          wire.Format
	request         *http.Request // POST to the endpoint: newRequest copies it
	header          http.Header   // complete request headers, credentials included
	exec            *resilience.ResilientExecutor
	// completionTokens: send the token cap as max_completion_tokens
	// (completionTokensField).
	completionTokens bool
	// refused holds what the model said it does not take (the refused*
	// bits): requests to it leave out a refused sampling parameter, send
	// max_completion_tokens for a refused max_tokens, and JSON mode with
	// the schema in a system message for a refused json_schema.
	refused atomic.Uint32
}

// clientConfig is what Build checked, handed to newClient.
type clientConfig struct {
	secrets          *redact.Secrets
	capRetries       bool
	chain            []chainEntry
	providers        map[string]*providerSettings
	resilience       resilience.ResilientConfig
	httpClient       *http.Client
	attemptTimeout   time.Duration
	idleTimeout      time.Duration
	maxResponseBytes int64
	logger           *slog.Logger
	hooks            resilience.Hooks
	execOpts         []resilience.Option // Builder.ExecutorOptions, applied before the builder's own
}

func newClient(cfg clientConfig) (*AiClient, error) {
	c := &AiClient{
		byName:           make(map[string]*target),
		pools:            make(map[string]*pool),
		capRetries:       cfg.capRetries,
		attemptTimeout:   cfg.attemptTimeout,
		idleTimeout:      cfg.idleTimeout,
		maxResponseBytes: cfg.maxResponseBytes,
		secrets:          cfg.secrets,
	}
	// Every output goes through c.secrets: errors in tag, log records
	// through this handler, hook payloads through redactHooks.
	if cfg.logger != nil {
		c.logger = slog.New(redact.NewHandler(cfg.logger.Handler(), c.secrets))
	}
	hooks := redactHooks(cfg.hooks, c.secrets)
	c.chainOpt = resilience.WithHooks(hooks) // the chain's hops go through the same masking
	sensitive := []string{"Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key", "Cookie"}
	addSensitive := func(h http.Header) {
		for k := range h {
			if sensitiveHeader(k) {
				sensitive = append(sensitive, k)
			}
		}
	}
	for _, s := range cfg.providers {
		addSensitive(s.header)
	}
	for _, e := range cfg.chain {
		for _, m := range e.members {
			addSensitive(m.settings.header)
		}
	}

	// HTTP clients: copies, never the caller's value.
	var base http.Client
	if cfg.httpClient != nil {
		base = *cfg.httpClient
	} else {
		ht := cfg.attemptTimeout
		if ht <= 0 {
			ht = DefaultResponseHeaderTimeout
		}
		base = *defaultHTTPClient(ht)
	}
	base.CheckRedirect = redirectPolicy(base.CheckRedirect, sensitive)
	chat, stream := base, base
	stream.Timeout = 0
	c.chatHTTP, c.streamHTTP = &chat, &stream
	c.chatRT = directTransport(c.chatHTTP)

	var errs []error
	newTarget := func(pt parsedTarget, ps *providerSettings) *target {
		endpoint, err := url.JoinPath(ps.baseURL, pt.spec.format.Path())
		if err != nil {
			errs = append(errs, fmt.Errorf("client: base URL of %q: %v", pt.id, err))
			return nil
		}
		request, err := http.NewRequest(http.MethodPost, endpoint, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("client: base URL of %q: %v", pt.id, err))
			return nil
		}
		opts := []resilience.Option{resilience.WithName(pt.id), resilience.WithHooks(hooks)}
		if c.logger != nil {
			opts = append(opts, resilience.WithLogger(c.logger))
		}
		opts = append(append([]resilience.Option(nil), cfg.execOpts...), opts...)
		exec, err := resilience.NewResilientExecutor(cfg.resilience, opts...) // copies cfg
		if err != nil {
			errs = append(errs, fmt.Errorf("client: target %q: %w", pt.id, err))
			return nil
		}
		t := &target{
			name:     pt.id,
			provider: pt.provider,
			model:    pt.model,
			spec:     pt.spec,
			format:   pt.spec.format,
			request:  request,
			header:   requestHeader(pt.spec, ps),
			exec:     exec,

			completionTokens: completionTokensField(pt.spec, ps.baseURL, pt.model),
		}
		c.targets = append(c.targets, t)
		c.byName[t.name] = t
		return t
	}
	for _, e := range cfg.chain {
		c.chainOf = append(c.chainOf, e.name())
		if e.pool == "" {
			newTarget(e.target, cfg.providers[e.target.provider])
			continue
		}
		p := &pool{name: e.pool}
		members := make([]resilience.PoolMember, 0, len(e.members))
		for _, m := range e.members {
			if t := newTarget(m.target, m.settings); t != nil {
				p.members = append(p.members, t)
				members = append(members, resilience.PoolMember{Name: t.name, Executor: t.exec, Weight: m.weight})
			}
		}
		rp, err := resilience.NewPool(e.pool, members, resilience.WithHooks(hooks))
		if err != nil {
			errs = append(errs, fmt.Errorf("client: %w", err))
			continue
		}
		p.rp = rp
		c.pools[p.name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.chain = resilience.NewFallbackChain(c.chainOf...)
	return c, nil
}

// execute runs attempt on the chain entry name (a target or a pool)
// through its executors, with opts: the step of Chat and Stream that the
// fallback chain repeats for each entry. attempt gets the target (or the
// pool's deployment) the executor admitted it for.
func (c *AiClient) execute(ctx context.Context, name string, attempt func(ctx context.Context, t *target) error, opts ...resilience.CallOption) error {
	if t, ok := c.byName[name]; ok {
		return t.exec.Execute(ctx, func(ctx context.Context) error { return attempt(ctx, t) }, opts...)
	}
	p, ok := c.pools[name]
	if !ok {
		return &aierrors.Error{Code: aierrors.Unknown, Message: "client: unknown target " + name}
	}
	return p.rp.Execute(ctx, func(ctx context.Context, member string) error { return attempt(ctx, c.byName[member]) }, opts...)
}

// DefaultFallbackRetries is how many retries a target gets when a
// fallback follows it and the retry count is the default (no Retry member
// in [Builder.Resilience], or one from [resilience.DefaultConfig] whose
// MaxRetries was left at 3, and no other AI_LIB_MAX_RETRIES): one
// retry is worth its backoff (a blip), more are not, since the fallback
// answers sooner than the later backoffs end. With three retries on a dead
// primary, the calls made while its circuit had not yet opened waited
// 0.1+0.2+0.4s before the fallback: p99 300-350ms in issue 20's outages
// with a fallback, 100ms with one. The last target keeps the config's.
const DefaultFallbackRetries = 1

// retryCap is the call option that caps the retries on chain entry name
// (see [DefaultFallbackRetries]); nil when none applies.
func (c *AiClient) retryCap(name string) resilience.CallOption {
	if !c.capRetries || c.isLast(name) {
		return nil
	}
	return resilience.WithMaxRetries(DefaultFallbackRetries)
}

// isLast reports whether nothing follows chain entry name.
func (c *AiClient) isLast(name string) bool { return name == c.chainOf[len(c.chainOf)-1] }

// lastResort is the call option for chain entry name when nothing follows
// it and it is a target, not a pool: an open circuit is then waited out
// when its next probe fits the call's deadline (resilience.WithNoFallback),
// since failing at once leaves the caller nothing to do but retry it. Nil
// otherwise.
func (c *AiClient) lastResort(name string) resilience.CallOption {
	if _, pool := c.pools[name]; pool || !c.isLast(name) {
		return nil
	}
	return resilience.WithNoFallback()
}

// first returns the first target of the chain entry name: the target
// itself, or the pool's first deployment (whose format stands for the
// pool's in a token estimate).
func (c *AiClient) first(name string) *target {
	if t, ok := c.byName[name]; ok {
		return t
	}
	return c.pools[name].members[0]
}

// requestHeader returns the complete headers for a provider: the user's,
// then the wire format's own, credentials last.
func requestHeader(spec *providerSpec, ps *providerSettings) http.Header {
	h := ps.header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	h.Set("Content-Type", "application/json")
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "ailib-go")
	}
	switch spec.format {
	case wire.Anthropic:
		if h.Get("Anthropic-Version") == "" {
			h.Set("Anthropic-Version", AnthropicVersion)
		}
		if ps.key != "" {
			h.Set("X-Api-Key", ps.key)
		}
	default:
		if ps.key != "" {
			h.Set("Authorization", "Bearer "+ps.key)
		}
	}
	return h
}

// Targets returns the client's targets in fallback order, primary first:
// "openai/gpt-4o", "anthropic/claude-sonnet-4-5", ...; a pool
// appears under its name (see [AiClient.Deployments]).
func (c *AiClient) Targets() []string {
	return slices.Clone(c.chainOf)
}

// SignalsSnapshot returns the live state of the primary target's executor:
// circuit state, permits in flight, rate tokens (when the primary is a
// pool: its first deployment's; see [AiClient.PoolSignals]). Reading it
// has no side effects.
func (c *AiClient) SignalsSnapshot() resilience.SignalsSnapshot {
	return c.targets[0].exec.Signals()
}

// Signals returns the live state of the named target's executor, or of
// a pool's deployment ("openai/gpt-4o#org-2"), and false when the client
// has no such target.
func (c *AiClient) Signals(target string) (resilience.SignalsSnapshot, bool) {
	t, ok := c.byName[target]
	if !ok {
		return resilience.SignalsSnapshot{}, false
	}
	return t.exec.Signals(), true
}

// CloseIdleConnections closes the idle connections of the client's
// transport (see [http.Client.CloseIdleConnections]). The client remains
// usable.
func (c *AiClient) CloseIdleConnections() { c.chatHTTP.CloseIdleConnections() }

// Chat sends req to the primary target, retrying and falling back as
// configured, and returns the first successful answer.
//
// ctx bounds the whole call, retries and fallbacks included; each attempt
// is also bounded by [Builder.AttemptTimeout]. A request that fails
// validation returns an InvalidRequest error before anything is sent.
//
// Every error is, or wraps, an *aierrors.Error: use [errors.Is] with a
// code (aierrors.RateLimited, ...), [aierrors.CodeOf], or [errors.As] to read
// its fields (Provider and Model say which target failed last). A cancelled
// ctx gives code Cancelled and errors.Is(err, context.Canceled).
// [AttemptsOf] tells how many provider requests a failed call made.
func (c *AiClient) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	// The chain and each target's executor are driven from here, not
	// through callbacks: while a request waits for its answer, the
	// goroutine's stack holds Chat, chatEntry and chatAttempt over
	// net/http's frames, and nothing of the resilience layer. A call in
	// flight then needs the stack a hand-written request does (see the
	// README's Performance section).
	k := chatCall{req: &req}
	w := c.chain.Begin(ctx, c.chainOpt)
	for w.Next() {
		name := w.Target()
		// The request is encoded here, before the target's attempts begin:
		// encoding/json's reflection is the deepest the stack goes before
		// the request is sent, and here little is under it. A pool's
		// deployments encode at their first attempt.
		if t, ok := c.byName[name]; ok {
			if _, err := k.outgoing(c, t); err != nil {
				w.Done(err)
				continue
			}
		}
		w.Done(c.chatEntry(ctx, name, &k))
	}
	if err := w.Err(); err != nil {
		return nil, &callError{err: err, attempts: k.attempts, secrets: c.secrets}
	}
	k.out.Attempts = k.attempts
	return k.out, nil
}

// chatCall is what a Chat call keeps across its attempts.
type chatCall struct {
	req      *ChatRequest
	attempts int // provider requests sent
	out      *ChatResponse
	// The request encoded for the target of the attempt before; every
	// other target's in encoded, made when a second target is tried.
	last    *target
	lastOut *outgoing
	encoded map[*target]*outgoing
}

// outgoing returns req encoded for t, encoding it at t's first attempt,
// and again after the model refused a parameter (target.refused).
func (k *chatCall) outgoing(c *AiClient, t *target) (*outgoing, error) {
	if t == k.last && k.lastOut.current(t) {
		return k.lastOut, nil
	}
	if k.last != nil && k.last != t {
		if k.encoded == nil {
			k.encoded = make(map[*target]*outgoing)
		}
		k.encoded[k.last] = k.lastOut
	}
	o, ok := k.encoded[t]
	if !ok || !o.current(t) {
		var err error
		if o, err = c.encode(k.req, t, false); err != nil {
			return nil, err
		}
	}
	k.last, k.lastOut = t, o
	return o, nil
}

// chatEntry runs the Chat call on chain entry name: a target's attempts,
// driven from this frame, or a pool's.
func (c *AiClient) chatEntry(ctx context.Context, name string, k *chatCall) error {
	used := -1 // the tokens the answer used; -1: not reported, keep the estimate
	opts := [...]resilience.CallOption{resilience.WithTokens(estimateTokens(k.req, c.first(name)), &used), c.retryCap(name), c.lastResort(name)}
	t, ok := c.byName[name]
	if !ok {
		return c.execute(ctx, name, func(ctx context.Context, t *target) error {
			return c.chatAttempt(ctx, t, k, &used)
		}, opts[:]...)
	}
	call := t.exec.Begin(ctx, opts[:]...)
	defer call.Close()
	for call.Next() {
		call.Done(c.chatAttempt(ctx, t, k, &used))
	}
	return call.Err()
}

// outgoing is a request encoded for one target.
type outgoing struct {
	body []byte
	// getBody is the requests' GetBody: net/http calls it to send body
	// again (a redirect, a retry on a closed idle connection).
	getBody func() (io.ReadCloser, error)
	// answerTool is the tool that carries JSON output in the target's
	// format (wire.AnswerTool), "" when none.
	answerTool string
	// header is the request's own headers (ChatRequest.Header), nil when
	// none.
	header http.Header
	// refused is the target's refused parameters it was encoded without.
	refused uint32
	// sent holds the refusable parameters the request carries (the
	// refused* bits): a refusal counts only for one of them, so that an
	// answer naming a parameter the request did not send cannot resend
	// the same request.
	sent uint32
}

// current reports whether o, encoded for t, still suits it: t has refused
// no parameter since.
func (o *outgoing) current(t *target) bool { return o.refused == t.refused.Load() }

// encode encodes req for t.
func (c *AiClient) encode(req *ChatRequest, t *target, stream bool) (*outgoing, error) {
	refused := t.refused.Load()
	wr := req.wireRequest(t, stream)
	wr.Temperature, wr.TopP, wr.Stop = withoutRefused(refused, wr.Temperature, wr.TopP, wr.Stop)
	if refused&refusedJSONSchema != 0 {
		wr.SchemaInPrompt = true
	}
	if refused&refusedMaxTokens != 0 {
		wr.MaxCompletionTokens = true
	}
	body, err := wire.Encode(t.format, wr)
	if err != nil {
		return nil, c.encodeError(t, err)
	}
	o := &outgoing{body: body, answerTool: wire.AnswerTool(t.format, wr), header: req.Header, refused: refused, sent: refusable(t.format, wr)}
	o.getBody = func() (io.ReadCloser, error) { return o.newBody(), nil }
	return o, nil
}

// refusable returns the refused* bits of the parameters wr sends: the
// sampling parameters it sets, and a json_schema response_format the
// OpenAI format sends as it is (the Anthropic format sends a tool instead).
func refusable(format wire.Format, wr *wire.Request) uint32 {
	var sent uint32
	if wr.Temperature != nil {
		sent |= refusedTemperature
	}
	if wr.TopP != nil {
		sent |= refusedTopP
	}
	if len(wr.Stop) > 0 {
		sent |= refusedStop
	}
	if format == wire.OpenAI && wr.MaxTokens > 0 && !wr.MaxCompletionTokens {
		sent |= refusedMaxTokens
	}
	if f := wr.ResponseFormat; format == wire.OpenAI && f != nil && f.Type == "json_schema" && !wr.SchemaInPrompt {
		sent |= refusedJSONSchema
	}
	return sent
}

// encodeError is the error of a request that could not be encoded. It is
// not inlined into encode, whose frame is under encoding/json's.
//
//go:noinline
func (c *AiClient) encodeError(t *target, err error) error {
	return c.tag(&aierrors.Error{Code: aierrors.InvalidRequest, Message: "client: cannot encode request", Err: err}, t)
}

// attemptContext applies the attempt timeout when it ends before ctx's
// deadline. Otherwise the attempt runs on ctx itself: no context, timer or
// Done channel is made, and net/http registers no cancel for a ctx that
// cannot be cancelled.
func (c *AiClient) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := c.attemptTimeout
	if d <= 0 {
		return ctx, noCancel
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, noCancel
	}
	return context.WithTimeoutCause(ctx, d, ErrAttemptTimeout)
}

func noCancel() {}

// chatAttempt is one provider request of a Chat call. Its frame is on the
// stack while the request waits for the answer, so what follows the answer
// is in chatAnswer and errors are made in helpers.
func (c *AiClient) chatAttempt(ctx context.Context, t *target, k *chatCall, used *int) error {
	o, err := k.outgoing(c, t)
	if err != nil {
		return err
	}
	k.attempts++
	actx, cancel := c.attemptContext(ctx)
	defer cancel()
	req, err := c.newRequest(actx, t, o, false)
	if err != nil {
		return c.buildError(t, err)
	}
	start := time.Now()
	resp, err := c.send(req)
	if err != nil {
		return c.sendError(ctx, actx, t, start, err)
	}
	defer closeBody(resp.Body)
	r, err := c.chatAnswer(ctx, actx, t, o, resp, start)
	if err != nil {
		return err
	}
	*used = usedTokens(r.Usage, t.format)
	k.out = r
	return nil
}

// buildError is the error of a request that could not be built.
func (c *AiClient) buildError(t *target, err error) *aierrors.Error {
	return c.tag(&aierrors.Error{Code: aierrors.InvalidRequest, Message: "client: cannot build request", Err: err}, t)
}

// sendError is the error of a request that got no answer, logged.
func (c *AiClient) sendError(callerCtx, reqCtx context.Context, t *target, start time.Time, err error) *aierrors.Error {
	e := c.requestError(callerCtx, reqCtx, t, err)
	c.logRequest(callerCtx, t, 0, start, nil, e)
	return e
}

// chatAnswer reads the answer to a Chat attempt started at start.
func (c *AiClient) chatAnswer(ctx, actx context.Context, t *target, o *outgoing, resp *http.Response, start time.Time) (*ChatResponse, error) {
	t.exec.ObserveHeader(resp.Header)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := c.statusError(t, o, resp)
		c.logRequest(ctx, t, resp.StatusCode, start, resp.Header, e)
		return nil, e
	}
	data, tooLarge, err := readBounded(resp.Body, c.maxResponseBytes)
	if err != nil {
		e := c.requestError(ctx, actx, t, err)
		c.logRequest(ctx, t, resp.StatusCode, start, resp.Header, e)
		return nil, e
	}
	if tooLarge {
		e := c.tag(&aierrors.Error{
			Code:       aierrors.Unknown,
			HTTPStatus: resp.StatusCode,
			Message:    fmt.Sprintf("answer body exceeds MaxResponseBytes (%d bytes)", c.maxResponseBytes),
			Err:        ErrResponseTooLarge,
		}, t)
		c.logRequest(ctx, t, resp.StatusCode, start, resp.Header, e)
		return nil, e
	}
	wr, err := wire.Decode(t.format, data, o.answerTool)
	if err != nil {
		e := c.decodeError(t, resp.Header, err)
		c.logRequest(ctx, t, resp.StatusCode, start, resp.Header, e)
		return nil, e
	}
	c.logRequest(ctx, t, resp.StatusCode, start, resp.Header, nil)
	return &ChatResponse{
		Content:      wr.Content,
		Reasoning:    wr.Reasoning,
		FinishReason: wr.FinishReason,
		Provider:     t.provider,
		Model:        t.model,
		Usage:        Usage(wr.Usage),
		ID:           wr.ID,
		RequestID:    c.scrub(requestID(resp.Header)),
		ToolCalls:    toolCalls(wr.ToolCalls),

		thinkingBlocks:   wr.ThinkingBlocks,
		reasoningDetails: wr.ReasoningDetails,
	}, nil
}

// toolCalls converts decoded tool calls; nil stays nil.
func toolCalls(cs []wire.ToolCall) []ToolCall {
	if len(cs) == 0 {
		return nil
	}
	out := make([]ToolCall, len(cs))
	for i, c := range cs {
		out[i] = ToolCall(c)
	}
	return out
}

// requestID reads the provider's request ID header.
func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "Request-Id", "Anthropic-Request-Id", "X-Amzn-Requestid"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// logRequest logs one provider request at Debug: target, HTTP status,
// code ("ok" on success), the provider's request ID when known, duration
// and, on failure, the error without the provider's message (logText).
// h is the answer's header, nil when none arrived. Credentials are never
// logged.
func (c *AiClient) logRequest(ctx context.Context, t *target, status int, start time.Time, h http.Header, err error) {
	if c.logger == nil || !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	code, reqID := "ok", ""
	if err != nil {
		code = aierrors.CodeOf(err).Code()
		var ae *aierrors.Error
		if errors.As(err, &ae) {
			reqID = ae.RequestID
		}
	}
	if reqID == "" && h != nil {
		reqID = c.scrub(requestID(h))
	}
	attrs := []slog.Attr{
		slog.String("target", t.name),
		slog.Int("status", status),
		slog.String("code", code),
	}
	if reqID != "" {
		attrs = append(attrs, slog.String("request_id", reqID))
	}
	attrs = append(attrs, slog.Duration("duration", time.Since(start)))
	if err != nil {
		attrs = append(attrs, slog.String("error", c.logText(err)))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "ailib: provider request", attrs...)
}

// logText is err's text for a log record: without the provider's message,
// which may echo the prompt (a 400 quoting the request, a moderation
// refusal) and logs are kept and read more widely than a returned error.
// Code, HTTP status, the provider's own code, request ID, Retry-After and
// a transport failure's cause stay; the message stays in the error the
// call returns.
func (c *AiClient) logText(err error) string {
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Message == "" {
		return c.secrets.String(err.Error())
	}
	quiet := *ae
	quiet.Message, quiet.Err = "", nil
	return c.secrets.String(quiet.Error())
}

// callError carries the number of provider requests of a failed call. It
// unwraps as the error it wraps, and reads as its text with the client's
// secrets masked: the last gate of every error Chat and Stream return,
// whichever layer built it.
type callError struct {
	err      error
	attempts int
	secrets  *redact.Secrets
}

func (e *callError) Error() string { return e.secrets.String(e.err.Error()) }
func (e *callError) Unwrap() error { return e.err }

// AttemptsOf returns the number of provider requests made by the Chat or
// Stream call that returned err, over all targets (0 when err did not come
// from such a call or no request was sent).
func AttemptsOf(err error) int {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.attempts
	}
	return 0
}
