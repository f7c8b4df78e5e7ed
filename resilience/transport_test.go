package resilience

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
)

const (
	tModel   = "gpt-4o"
	tURL     = "https://api.openai.test/v1/chat/completions"
	tBody    = `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`
	tStream  = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`
	tRetryIn = 10 * time.Millisecond
)

// newChatRequest is a replayable POST (http.NewRequest sets GetBody for a
// *strings.Reader).
func newChatRequest(t *testing.T, ctx context.Context, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tURL, strings.NewReader(body))
	if err != nil {
		t.Fatalf("http.NewRequest = %v", err)
	}
	req.Header.Set("Authorization", "Bearer sk-test-SECRET")
	req.Header.Set("Content-Type", "application/json")
	return req
}

// closeTracker is a non-replayable request body that records Close.
type closeTracker struct {
	io.Reader
	mu     sync.Mutex
	closed bool
}

func (c *closeTracker) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *closeTracker) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// The scenario: 503, 503, 200 through the Transport is one
// successful round trip, three provider requests with the same body, and
// the breaker and the limiter saw each attempt.
func TestTransportRetriesEachAttemptThroughExecutor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		ok := providertest.OK("Hello there")
		ok.Header = http.Header{"X-Ratelimit-Limit-Requests": {"500"}, "X-Ratelimit-Remaining-Requests": {"499"}}
		srv.Script(tModel, providertest.Unavailable(), providertest.Unavailable(), ok)

		var ev events
		var failures []int // breaker's consecutive failures after each attempt
		var e *ResilientExecutor
		h := ev.hooks()
		onEnd := h.OnAttemptEnd
		h.OnAttemptEnd = func(a AttemptEnd) {
			onEnd(a)
			failures = append(failures, e.Signals().ConsecutiveFailures)
		}
		e = mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(3, tRetryIn),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 5},
			// Three tokens and (almost) no refill: each attempt must spend one.
			RateLimiter: &RateLimiterConfig{RequestsPerSecond: 0.001, Burst: 3},
		}, WithName("openai/gpt-4o"), WithHooks(h))
		hc := &http.Client{Transport: NewTransport(e, srv.Transport())}

		resp, err := hc.Do(newChatRequest(t, context.Background(), tBody))
		if err != nil {
			t.Fatalf("Do() error = %v; want nil", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello there") {
			t.Fatalf("Do() = %d %q (read error %v); want 200 with the scripted text", resp.StatusCode, body, err)
		}

		if got := srv.Requests(tModel); got != 3 {
			t.Errorf("provider requests = %d; want 3", got)
		}
		for i, r := range srv.Received() {
			if string(r.Body) != tBody {
				t.Errorf("request %d body = %q; want %q (replayed)", i+1, r.Body, tBody)
			}
		}
		if len(ev.starts) != 3 || len(ev.ends) != 3 || len(ev.retries) != 2 {
			t.Fatalf("hooks: %d starts, %d ends, %d retries; want 3, 3, 2", len(ev.starts), len(ev.ends), len(ev.retries))
		}
		for i, want := range []aierrors.StandardErrorCode{aierrors.Overloaded, aierrors.Overloaded, 0} {
			if got := aierrors.CodeOf(ev.ends[i].Err); got != want {
				t.Errorf("attempt %d code = %v; want %v", i+1, got, want)
			}
		}
		if got, want := failures, []int{1, 2, 0}; !equalInts(got, want) {
			t.Errorf("breaker ConsecutiveFailures after each attempt = %v; want %v", got, want)
		}
		s := e.Signals()
		if math.Floor(s.RateRemaining) != 0 {
			t.Errorf("RateRemaining = %v; want < 1 (three tokens spent by three attempts)", s.RateRemaining)
		}
		if s.CurrentInflight != 0 {
			t.Errorf("CurrentInflight = %d after the body was closed; want 0", s.CurrentInflight)
		}
		if s.Provider.RequestsLimit != 500 || s.Provider.RequestsRemaining != 499 {
			t.Errorf("Signals().Provider = %+v; want the provider's x-ratelimit headers observed", s.Provider)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// When the last attempt is an HTTP error answer, RoundTrip returns that
// answer (re-readable) and no error, as a plain transport would: the SDK
// parses the provider's error itself.
func TestTransportReturnsLastErrorResponse(t *testing.T) {
	tests := []struct {
		name     string
		answers  []providertest.Answer
		requests int
		status   int
		inBody   string
	}{
		{"retries exhausted", []providertest.Answer{providertest.Unavailable(), providertest.Unavailable(), providertest.Unavailable()}, 3, 503, "error"},
		{"not retryable", []providertest.Answer{providertest.InsufficientQuota()}, 1, 429, "insufficient_quota"},
		{"bad request", []providertest.Answer{{Status: 400, Body: `{"error":{"type":"invalid_request_error","message":"messages: required"}}`}}, 1, 400, "messages: required"},
		{"retry-after too long", []providertest.Answer{providertest.RateLimited(time.Hour)}, 1, 429, "rate_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				srv.Script(tModel, tt.answers...)
				e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, tRetryIn), CircuitBreaker: &CircuitBreakerConfig{}}, WithName("openai/gpt-4o"))
				hc := &http.Client{Transport: NewTransport(e, srv.Transport())}

				resp, err := hc.Do(newChatRequest(t, context.Background(), tBody))
				if err != nil {
					t.Fatalf("Do() error = %v; want the error answer and no error", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.inBody) {
					t.Errorf("Do() = %d %q; want %d with %q", resp.StatusCode, body, tt.status, tt.inBody)
				}
				if resp.ContentLength != int64(len(body)) {
					t.Errorf("ContentLength = %d; want %d", resp.ContentLength, len(body))
				}
				if got := srv.Requests(tModel); got != tt.requests {
					t.Errorf("provider requests = %d; want %d", got, tt.requests)
				}
				if got := e.Signals().CurrentInflight; got != 0 {
					t.Errorf("CurrentInflight = %d; want 0", got)
				}
			})
		})
	}
}

// A body without GetBody cannot be sent twice: the request is sent once
// and its failure returned, whether an HTTP answer or a transport error.
func TestTransportNonReplayableBodySentOnce(t *testing.T) {
	tests := []struct {
		name    string
		first   providertest.Answer
		wantErr bool
	}{
		{"503 answer", providertest.Unavailable(), false},
		{"connection reset", providertest.Answer{Reset: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				srv.Script(tModel, tt.first, providertest.OK("second"))
				e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, tRetryIn), CircuitBreaker: &CircuitBreakerConfig{}})
				tr := NewTransport(e, srv.Transport())

				body := &closeTracker{Reader: strings.NewReader(tBody)}
				req, _ := http.NewRequest(http.MethodPost, tURL, body)
				if req.GetBody != nil {
					t.Fatal("test setup: GetBody is set")
				}
				resp, err := tr.RoundTrip(req)
				if tt.wantErr {
					if err == nil || resp != nil {
						t.Fatalf("RoundTrip() = %v, %v; want nil, an error", resp, err)
					}
					if aierrors.CodeOf(err) == aierrors.Unknown || aierrors.CodeOf(err) == 0 {
						t.Errorf("CodeOf(%v) = %v; want a transport code", err, aierrors.CodeOf(err))
					}
				} else {
					if err != nil {
						t.Fatalf("RoundTrip() error = %v; want the 503 answer", err)
					}
					resp.Body.Close()
					if resp.StatusCode != 503 {
						t.Errorf("RoundTrip() status = %d; want 503", resp.StatusCode)
					}
				}
				if got := srv.Requests(tModel); got != 1 {
					t.Errorf("provider requests = %d; want 1 (no replay without GetBody)", got)
				}
				if e.CircuitBreaker().ConsecutiveFailures() != 1 {
					t.Errorf("breaker ConsecutiveFailures = %d; want 1 (the attempt still counts)", e.CircuitBreaker().ConsecutiveFailures())
				}
				if !body.isClosed() {
					t.Error("request body not closed")
				}
			})
		})
	}
}

// An open circuit is a local rejection: an error, no provider request, and
// the unsent request body is closed.
func TestTransportCircuitOpenIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script(tModel, providertest.Unavailable())
		var ev events
		e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Minute}},
			WithName("openai/gpt-4o"), WithHooks(ev.hooks()))
		hc := &http.Client{Transport: NewTransport(e, srv.Transport())}

		resp, err := hc.Do(newChatRequest(t, context.Background(), tBody))
		if err != nil {
			t.Fatalf("first Do() error = %v; want the 503 answer", err)
		}
		resp.Body.Close()
		if s := e.Signals().CircuitState; s != StateOpen {
			t.Fatalf("CircuitState = %v; want open", s)
		}

		body := &closeTracker{Reader: strings.NewReader(tBody)}
		req, _ := http.NewRequest(http.MethodPost, tURL, body)
		resp, err = hc.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, aierrors.Overloaded) {
			t.Fatalf("Do() error = %v; want ErrCircuitOpen and Overloaded", err)
		}
		if ae := asAI(t, err); ae.RetryAfter <= 0 || ae.Provider != "openai" {
			t.Errorf("rejection = %+v; want RetryAfter > 0 and Provider openai", ae)
		}
		if got := srv.Requests(tModel); got != 1 {
			t.Errorf("provider requests = %d; want 1", got)
		}
		if len(ev.rejected) != 1 {
			t.Errorf("OnRejection calls = %d; want 1", len(ev.rejected))
		}
		if !body.isClosed() {
			t.Error("unsent request body not closed")
		}
	})
}

// A provider's Retry-After decides the delay before the next attempt, and a
// 429's wait pauses the limiter.
func TestTransportHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script(tModel, providertest.RateLimited(3*time.Second), providertest.OK("ok"))
		var ev events
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, tRetryIn), RateLimiter: &RateLimiterConfig{}}, WithHooks(ev.hooks()))
		hc := &http.Client{Transport: NewTransport(e, srv.Transport())}

		resp, err := hc.Do(newChatRequest(t, context.Background(), tBody))
		if err != nil {
			t.Fatalf("Do() error = %v", err)
		}
		resp.Body.Close()
		got := srv.Received()
		if len(got) != 2 {
			t.Fatalf("provider requests = %d; want 2", len(got))
		}
		if gap := got[1].Time.Sub(got[0].Time); gap < 3*time.Second {
			t.Errorf("second attempt came %v after the first; want >= 3s (Retry-After)", gap)
		}
		if len(ev.retries) != 1 || ev.retries[0].Delay < 3*time.Second {
			t.Errorf("OnRetry = %+v; want one retry with Delay >= 3s", ev.retries)
		}
	})
}

// A success body is not buffered: RoundTrip returns at the headers, the
// stream arrives event by event, and the attempt (its permit) stays open
// until the body is closed.
func TestTransportStreamsPassThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		ans := providertest.OK("one two three")
		ans.ChunkDelay = time.Second
		srv.Script(tModel, ans)
		var ev events
		e := mustExecutor(t, ResilientConfig{
			Backpressure:   &BackpressureConfig{MaxInflight: 2},
			CircuitBreaker: &CircuitBreakerConfig{},
		}, WithHooks(ev.hooks()))
		hc := &http.Client{Transport: NewTransport(e, srv.Transport())}

		start := time.Now()
		resp, err := hc.Do(newChatRequest(t, context.Background(), tStream))
		if err != nil {
			t.Fatalf("Do() error = %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Do() returned after %v; want 0 (before the first chunk)", d)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("Content-Type = %q; want text/event-stream", ct)
		}
		if got := e.Signals().CurrentInflight; got != 1 {
			t.Errorf("CurrentInflight while streaming = %d; want 1", got)
		}
		sc := bufio.NewScanner(resp.Body)
		var events []string
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				events = append(events, line)
			}
		}
		if sc.Err() != nil || len(events) < 4 || events[len(events)-1] != "data: [DONE]" {
			t.Errorf("stream = %q (err %v); want content chunks and data: [DONE]", events, sc.Err())
		}
		if d := time.Since(start); d < 3*time.Second {
			t.Errorf("stream took %v; want >= 3s (three delayed chunks)", d)
		}
		if len(ev.ends) != 1 || ev.ends[0].Err != nil {
			t.Errorf("OnAttemptEnd = %+v; want one success at EOF", ev.ends)
		}
		resp.Body.Close()
		if got := e.Signals().CurrentInflight; got != 0 {
			t.Errorf("CurrentInflight after Close = %d; want 0", got)
		}
	})
}

// A success whose body breaks is the attempt's outcome: the breaker counts
// it.
func TestTransportBodyErrorIsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		ans := providertest.OK("one two three")
		ans.CutAfter = 1
		srv.Script(tModel, ans)
		var ev events
		e := mustExecutor(t, ResilientConfig{CircuitBreaker: &CircuitBreakerConfig{}}, WithHooks(ev.hooks()))
		hc := &http.Client{Transport: NewTransport(e, srv.Transport())}

		resp, err := hc.Do(newChatRequest(t, context.Background(), tStream))
		if err != nil {
			t.Fatalf("Do() error = %v", err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadAll() error = %v; want io.ErrUnexpectedEOF", err)
		}
		if got := e.CircuitBreaker().ConsecutiveFailures(); got != 1 {
			t.Errorf("ConsecutiveFailures = %d; want 1", got)
		}
		if len(ev.ends) != 1 || ev.ends[0].Err == nil {
			t.Errorf("OnAttemptEnd = %+v; want one failed attempt", ev.ends)
		}
	})
}

// recordingTransport is a function-backed base that records each request.
type recordingTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
	fn   func(*http.Request) (*http.Response, error)
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r)
	rt.mu.Unlock()
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return rt.fn(r)
}

type ctxKey struct{}

// Each attempt sends a clone carrying the caller's context; the caller's
// request is left as it was, and the returned response points to it.
func TestTransportClonesRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		rt := &recordingTransport{fn: func(r *http.Request) (*http.Response, error) {
			n++
			status := http.StatusServiceUnavailable
			if n == 2 {
				status = http.StatusOK
			}
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
		}}
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, tRetryIn)})
		ctx := context.WithValue(context.Background(), ctxKey{}, "caller")
		req := newChatRequest(t, ctx, tBody)
		before := req.Header.Clone()
		resp, err := NewTransport(e, rt).RoundTrip(req)
		if err != nil {
			t.Fatalf("RoundTrip() error = %v", err)
		}
		resp.Body.Close()
		if len(rt.reqs) != 2 {
			t.Fatalf("base requests = %d; want 2", len(rt.reqs))
		}
		for i, r := range rt.reqs {
			if r == req {
				t.Errorf("attempt %d sent the caller's request; want a clone", i+1)
			}
			if r.Context().Value(ctxKey{}) != "caller" {
				t.Errorf("attempt %d context lacks the caller's values", i+1)
			}
		}
		if resp.Request != req {
			t.Error("resp.Request is not the caller's request")
		}
		if req.Header.Get("Authorization") != before.Get("Authorization") || len(req.Header) != len(before) {
			t.Errorf("caller's header = %v; want unchanged %v", req.Header, before)
		}
	})
}

// A nil executor (and the zero Transport) sends once and returns what it
// got.
func TestTransportWithoutExecutor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script(tModel, providertest.Unavailable(), providertest.OK("x"))
		for _, tr := range []*Transport{NewTransport(nil, srv.Transport()), {base: srv.Transport()}} {
			resp, err := tr.RoundTrip(newChatRequest(t, context.Background(), tBody))
			if err != nil {
				t.Fatalf("RoundTrip() error = %v", err)
			}
			resp.Body.Close()
		}
		if got := srv.Requests(tModel); got != 2 {
			t.Errorf("provider requests = %d; want 2 (one per RoundTrip)", got)
		}
	})
}

// A cancelled call is an error, not retried, not counted by the breaker.
func TestTransportCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		ans := providertest.OK("late")
		ans.Delay = time.Minute
		srv.Script(tModel, ans)
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(3, tRetryIn), CircuitBreaker: &CircuitBreakerConfig{}})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := (&http.Client{Transport: NewTransport(e, srv.Transport())}).Do(newChatRequest(t, ctx, tBody))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do() error = %v; want context.DeadlineExceeded", err)
		}
		if got := srv.Requests(tModel); got != 1 {
			t.Errorf("provider requests = %d; want 1", got)
		}
		if got := e.CircuitBreaker().ConsecutiveFailures(); got != 0 {
			t.Errorf("ConsecutiveFailures = %d; want 0", got)
		}
	})
}

// Logs of a Transport run carry the target, code and the provider's
// request id, and never the credentials or the provider's message.
func TestTransportLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.Script(tModel, providertest.Answer{Status: 500, Body: `{"error":{"type":"server_error","message":"boom with key sk-proj-LEAKED"}}`}, providertest.OK("ok"))
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := mustExecutor(t, ResilientConfig{Retry: exactRetry(1, tRetryIn)}, WithName("openai/gpt-4o"), WithLogger(logger))
		resp, err := NewTransport(e, srv.Transport()).RoundTrip(newChatRequest(t, context.Background(), tBody))
		if err != nil {
			t.Fatalf("RoundTrip() error = %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out := buf.String()
		for _, secret := range []string{"sk-test-SECRET", "LEAKED", "Bearer", "boom"} {
			if strings.Contains(out, secret) {
				t.Errorf("log output contains %q:\n%s", secret, out)
			}
		}
		for _, want := range []string{
			`"msg":"resilience: retry scheduled"`, `"code":"E3001"`, `"request_id":"req_providertest`,
			`"target":"openai/gpt-4o"`, `"code":"ok"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log output lacks %s:\n%s", want, out)
			}
		}
	})
}

// Wire level: through a real loopback connection, retries replay the body
// and the connection pool is reused and closed.
func TestTransportLoopback(t *testing.T) {
	srv := providertest.NewServer()
	defer srv.Close()
	srv.Script(tModel, providertest.Unavailable(), providertest.OK("over the wire"))
	e := mustExecutor(t, ResilientConfig{Retry: exactRetry(2, time.Millisecond)})
	tr := NewTransport(e, nil)
	hc := &http.Client{Transport: tr}
	defer hc.CloseIdleConnections()

	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/chat/completions", bytes.NewReader([]byte(tBody)))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("Do() error = %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "over the wire") {
		t.Errorf("Do() = %d %q; want 200 with the text", resp.StatusCode, body)
	}
	got := srv.Received()
	if len(got) != 2 || string(got[1].Body) != tBody {
		t.Errorf("provider received %d requests; want 2 with the body replayed", len(got))
	}
}

// Hammer: concurrent round trips through one Transport with random faults
// and streams. Every call ends with a response or an error, and no permit
// is left behind.
func TestTransportConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetFaults(tModel, providertest.Faults{Seed: 7, RateLimited: 0.1, Unavailable: 0.2, Reset: 0.1, StreamCut: 0.1, RetryAfter: 50 * time.Millisecond})
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(4, tRetryIn),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 50},
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 200, Burst: 10},
			Backpressure:   &BackpressureConfig{MaxInflight: 4},
		})
		hc := &http.Client{Transport: NewTransport(e, srv.Transport())}
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for i := range 40 {
			body := tBody
			if i%2 == 0 {
				body = tStream
			}
			req := newChatRequest(t, context.Background(), body)
			wg.Go(func() {
				outcome := "error"
				resp, err := hc.Do(req)
				if err == nil {
					_, rerr := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					outcome = fmt.Sprint(resp.StatusCode)
					if rerr != nil {
						outcome = "body error"
					}
				}
				mu.Lock()
				outcomes[outcome]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if got := e.Signals().CurrentInflight; got != 0 {
			t.Errorf("CurrentInflight = %d after every body was closed; want 0", got)
		}
		total := 0
		for _, n := range outcomes {
			total += n
		}
		if total != 40 || outcomes["200"] == 0 {
			t.Errorf("outcomes = %v; want 40 calls, most of them 200", outcomes)
		}
	})
}
