package providertest

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Format is the wire format of a route.
type Format string

// The formats the server speaks. A request to any other path has format "".
const (
	FormatOpenAI    Format = "openai"    // OpenAI Chat Completions: …/chat/completions
	FormatAnthropic Format = "anthropic" // Anthropic Messages: …/messages
)

// Request is a copy of one request the server received.
type Request struct {
	Model  string      // the "model" field of the body; "" if absent or unreadable
	Path   string      // URL path, e.g. "/v1/chat/completions"
	Format Format      // the route's format
	Stream bool        // the body asked for a stream
	Header http.Header // request headers, credentials included
	Body   []byte      // raw request body
	Time   time.Time   // arrival time (time.Now, so fake inside a synctest bubble)

	// What the body asked for and carried, read from either format:
	Tools          []string     // names of the tools offered
	ToolChoice     string       // "auto", "none", "required" (Anthropic "any") or a tool's name; "" when absent
	ResponseFormat string       // response_format.type ("json_object", "json_schema"); "" when absent
	ToolCalls      []ToolCall   // tool calls of the assistant turns sent back, in order
	ToolResults    []ToolResult // tool results (role "tool" messages, tool_result blocks), in order
	Images         int          // image parts or blocks in the messages
}

// Stats counts what the server did for one model.
type Stats struct {
	// Requests is the number of requests that named the model, the ones the
	// server rejected (bad request, missing key) included.
	Requests int
	// ByStatus counts the answers whose status line was sent, by status. A
	// stream counts once, as 200, even when it was later cut.
	ByStatus map[int]int
	// Streams is the number of SSE streams started.
	Streams int
	// Resets is the number of connections aborted without an answer.
	Resets int
	// Cuts is the number of answers aborted part-way through the body.
	Cuts int
	// StreamErrors is the number of error events sent mid-stream.
	StreamErrors int
	// Limited is the number of 429s sent by the rate cap of
	// [Server.SetRateLimit] (they are also in ByStatus).
	Limited int
	// Abandoned is the number of requests whose context ended (client gone,
	// or server closed) during Delay, before any answer.
	Abandoned int
}

// Option configures a [Server] at construction.
type Option interface{ apply(*options) }

type options struct {
	apiKey         string
	keepAliveEvery int
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithAPIKey makes the server require key: OpenAI routes answer 401
// invalid_api_key unless the request has "Authorization: Bearer key";
// Anthropic routes answer 401 authentication_error unless it has
// "x-api-key: key". By default no key is required and any is accepted.
func WithAPIKey(key string) Option {
	return optionFunc(func(o *options) { o.apiKey = key })
}

// WithKeepAlive makes streams carry SSE comment lines (": ping") that
// clients must ignore: one right after the headers, before any event, and
// one after every n-th content event. n <= 0 turns them off (the default).
func WithKeepAlive(n int) Option {
	return optionFunc(func(o *options) { o.keepAliveEvery = n })
}

// Server is a fault-injection AI provider. It routes each request by the
// "model" field of its body to that model's script, faults and default.
//
// For each request, in order: the rate cap of [Server.SetRateLimit] (over
// the cap → 429, no script consumed), then the next scripted answer
// ([Server.Script]), then the random faults of [Server.SetFaults], then the
// default answer ([Server.SetDefault]; initially OK([DefaultText])).
//
// A Server is safe for concurrent use: scripts can change while requests are
// served. Through [Server.Transport] it works inside testing/synctest
// bubbles, and one Server may be created outside and used by several
// bubbles in turn: it keeps no channels or timers of its own, and every wait
// runs on the clock of the goroutine making the request.
type Server struct {
	opts   options
	ts     *httptest.Server   // nil when not listening
	stop   context.CancelFunc // cancels the listening server's request contexts
	closed atomic.Bool

	mu       sync.Mutex // guards the fields below
	seq      int64      // request counter, used in IDs
	models   map[string]*modelState
	defAll   *Answer // SetDefault("")
	faultAll *Faults // SetFaults("")
	received []Request
}

// modelState is the per-model state; guarded by Server.mu.
type modelState struct {
	queue  []Answer
	def    *Answer
	faults *Faults
	rng    *faultRand
	rngFor *Faults        // the Faults rng was seeded for
	calls  map[string]int // Faults.CallKey value → requests seen with it
	limit  *bucket
	tokens *tokenBucket // SetTokenLimit; nil: no token cap
	stats  Stats
}

// New returns a Server that is not listening: use it through
// [Server.Handler] or [Server.Transport]. Its URL is a placeholder,
// "http://providertest.invalid".
func New(opts ...Option) *Server {
	s := &Server{models: map[string]*modelState{}}
	for _, o := range opts {
		o.apply(&s.opts)
	}
	return s
}

// NewServer returns a Server listening on a loopback port (an
// [httptest.Server]). Call Close when done.
func NewServer(opts ...Option) *Server {
	s := New(opts...)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.ts = httptest.NewUnstartedServer(s.Handler())
	s.ts.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	s.ts.Start()
	return s
}

// URL is the base URL: "http://127.0.0.1:PORT" for a listening server,
// "http://providertest.invalid" otherwise (any host works with
// [Server.Transport]). OpenAI routes are at URL+"/v1/chat/completions"
// (or any path ending in "/chat/completions"), Anthropic routes at
// URL+"/v1/messages" (or any path ending in "/messages").
func (s *Server) URL() string {
	if s.ts == nil {
		return "http://providertest.invalid"
	}
	return s.ts.URL
}

// Client returns an *http.Client that reaches the server: the listening
// server's client, or one using [Server.Transport].
func (s *Server) Client() *http.Client {
	if s.ts != nil {
		return s.ts.Client()
	}
	return &http.Client{Transport: s.Transport()}
}

// Handler returns the server's http.Handler, to mount in a server of your
// own.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Close stops a listening server: requests waiting in Delay end without an
// answer, open connections are closed, and Close waits for their handlers.
// After Close, [Server.Transport] refuses connections. Close is idempotent.
func (s *Server) Close() {
	if s.closed.Swap(true) {
		return
	}
	if s.ts != nil {
		s.stop()
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// Script appends answers to model's queue; each request for model takes the
// next one, in order.
func (s *Server) Script(model string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.model(model)
	for _, a := range answers {
		m.queue = append(m.queue, a.clone())
	}
}

// Pending returns how many scripted answers for model are not used yet.
func (s *Server) Pending(model string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.models[model]; m != nil {
		return len(m.queue)
	}
	return 0
}

// SetDefault sets the answer for model once its script is used up. Model ""
// sets the default of every model without its own.
func (s *Server) SetDefault(model string, a Answer) {
	a = a.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	if model == "" {
		s.defAll = &a
		return
	}
	s.model(model).def = &a
}

// SetFaults sets random faults for model's requests that find its script
// empty; the others get the default answer. Model "" sets the faults of
// every model without its own; each model then draws from its own generator
// seeded with f.Seed, so outcomes depend only on the seed and the order of
// that model's requests. Setting faults (again) restarts the sequence. The
// zero Faults turns faults off.
//
// SetFaults panics if a probability is outside [0, 1] or they add up to
// more than 1.
func (s *Server) SetFaults(model string, f Faults) {
	f.validate()
	s.mu.Lock()
	defer s.mu.Unlock()
	if model == "" {
		s.faultAll = &f
		return
	}
	s.model(model).faults = &f
}

// SetRateLimit caps model at rps requests per second with bursts of burst
// requests (a token bucket that starts full, read with time.Now, so it runs
// on fake time inside a synctest bubble). A request over the cap gets a
// 429 in the route's format with Retry-After (and retry-after-ms on OpenAI
// routes), and consumes no scripted answer. Every answer to model then
// carries the bucket's state: x-ratelimit-limit-requests (burst),
// x-ratelimit-remaining-requests and x-ratelimit-reset-requests (time until
// the bucket is full) on OpenAI routes; anthropic-ratelimit-requests-limit,
// -remaining and -reset (RFC 3339) on Anthropic routes. rps <= 0 removes
// the cap; burst < 1 means 1. If the clock goes back (the same Server used
// first on real time, then in a synctest bubble), the bucket keeps its
// tokens and refills from the new time.
func (s *Server) SetRateLimit(model string, rps float64, burst int) {
	s.SetRateLimitStyle(model, rps, burst, RateLimitBucket)
}

// SetRateLimitStyle is [Server.SetRateLimit] with the rate-limit headers
// of style instead of the bucket's own state: the same cap, told to
// clients the way a provider's documentation says (OpenAI's and
// Anthropic's per-minute limits over a per-second bucket), with
// Retry-After alone, or not at all. See [RateLimitStyle].
// SetRateLimitStyle(model, rps, burst, RateLimitBucket) is
// SetRateLimit(model, rps, burst).
func (s *Server) SetRateLimitStyle(model string, rps float64, burst int, style RateLimitStyle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.model(model)
	if rps <= 0 {
		m.limit = nil
		return
	}
	m.limit = &bucket{rps: rps, burst: max(burst, 1), style: style}
}

// Requests returns the number of requests received for model.
func (s *Server) Requests(model string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.models[model]; m != nil {
		return m.stats.Requests
	}
	return 0
}

// Stats returns a copy of model's counters.
func (s *Server) Stats(model string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{}
	if m := s.models[model]; m != nil {
		st = m.stats
	}
	st.ByStatus = maps.Clone(st.ByStatus)
	if st.ByStatus == nil {
		st.ByStatus = map[int]int{}
	}
	return st
}

// Received returns copies of every request received, in arrival order.
func (s *Server) Received() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.received))
	for i, r := range s.received {
		out[i] = r.clone()
	}
	return out
}

// Clear forgets all scripts, defaults, faults, rate caps, counters and
// recorded requests, as if the server were new. Options and the listener
// are kept.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models = map[string]*modelState{}
	s.defAll, s.faultAll = nil, nil
	s.received = nil
}

// model returns model's state, creating it. Requires s.mu.
func (s *Server) model(name string) *modelState {
	m := s.models[name]
	if m == nil {
		m = &modelState{stats: Stats{ByStatus: map[int]int{}}}
		s.models[name] = m
	}
	return m
}

// next picks the answer for a valid request and counts it. Requires s.mu.
// extra holds the rate-cap headers to add to the answer.
func (s *Server) next(m *modelState, r *Request, now time.Time) (a Answer, extra http.Header) {
	if m.limit != nil {
		ok, wait, h := m.limit.take(now, r.Format)
		if !ok {
			m.stats.Limited++
			return rateCapAnswer(r.Format, wait), h
		}
		extra = h
	}
	if len(m.queue) > 0 {
		a = m.queue[0]
		m.queue[0] = Answer{}
		m.queue = m.queue[1:]
		return a, extra
	}
	def := OK(DefaultText)
	switch {
	case m.def != nil:
		def = *m.def
	case s.defAll != nil:
		def = *s.defAll
	}
	f := m.faults
	if f == nil {
		f = s.faultAll
	}
	if f == nil || f.zero() {
		return def, extra
	}
	if m.rngFor != f {
		m.rng, m.rngFor, m.calls = newFaultRand(f.Seed), f, nil
	}
	if key := r.Header.Get(f.CallKey); f.CallKey != "" && key != "" {
		if m.calls == nil {
			m.calls = map[string]int{}
		}
		n := m.calls[key]
		m.calls[key] = n + 1
		return f.pick(newCallRand(f.Seed, key, n), def, r), extra
	}
	return f.pick(m.rng, def, r), extra
}

// count updates model's counters under s.mu.
func (s *Server) count(model string, fn func(st *Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.model(model).stats)
}

func (a Answer) clone() Answer {
	a.Header = a.Header.Clone()
	a.Chunks = slices.Clone(a.Chunks)
	a.ToolCalls = slices.Clone(a.ToolCalls)
	return a
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = slices.Clone(r.Body)
	r.Tools = slices.Clone(r.Tools)
	r.ToolCalls = slices.Clone(r.ToolCalls)
	r.ToolResults = slices.Clone(r.ToolResults)
	return r
}
