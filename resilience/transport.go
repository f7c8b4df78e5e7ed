package resilience

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	aierrors "github.com/ailib-go/ailib/errors"
)

// maxErrorBodyBytes bounds how much of an error answer's body a [Transport]
// buffers (and hands back to the caller). The classifier reads only the
// first [aierrors.MaxBodyBytes] of it.
const maxErrorBodyBytes = 1 << 20

// drainBytes is how much of a failed answer's remaining body is read before
// closing it, so that the connection can be reused.
const drainBytes = 64 << 10

// Transport is an [http.RoundTripper] that sends each request through a
// [ResilientExecutor], so that an HTTP client built for a provider (such
// as an official SDK's) gets the executor's retries, rate limiting,
// circuit breaking, in-flight cap and Retry-After handling. Give the SDK
// an *http.Client with this transport and turn the SDK's own retries off,
// so that there is one retry layer:
//
//	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("openai/gpt-4o"))
//	hc := &http.Client{Transport: resilience.NewTransport(exec, nil)}
//	// openai.NewClient(option.WithHTTPClient(hc), option.WithMaxRetries(0))
//
// One Transport serves one target: its executor's breaker and limiter
// describe one provider and model. Use one Transport (and one executor) per
// target.
//
// # Each attempt
//
// Every attempt, retries included, is admitted by the executor (circuit,
// rate token, in-flight permit) and sends a clone of the request, made
// with [http.Request.Clone] on the call's context, through the base
// transport. The caller's request is never modified. The rate-limit
// headers of every answer go to [ResilientExecutor.ObserveHeader]. An
// answer with a status of 400 or more is classified with
// [aierrors.ClassifyResponse] from its headers and the first 1 MiB of its
// body, which is buffered; up to 64 KiB more is drained, so that the
// connection can be reused, and the body is closed. The
// classification decides whether to retry (the code's flag, the provider's
// x-should-retry) and how long to wait (Retry-After). A base transport
// error is classified with [aierrors.ClassifyTransport].
//
// # Request bodies
//
// A request body is replayed on retry through [http.Request.GetBody]
// (set by [http.NewRequest] for *bytes.Buffer, *bytes.Reader and
// *strings.Reader bodies). A request with a body and no GetBody is sent at
// most once: its failure is returned without a retry. A body that was never
// sent (the call was rejected first) is closed, as the RoundTripper
// contract requires.
//
// # What RoundTrip returns
//
//   - Success (a status below 400): the base transport's response. Its
//     body is not buffered, so streams (text/event-stream) pass through as
//     they arrive. The attempt stays open until the body reaches EOF, fails
//     or is closed: it holds its in-flight permit until then, and a read
//     error other than EOF is recorded by the breaker as the attempt's
//     outcome (it is not retried: the caller already has the response). A
//     half_open circuit's single probe is answered by the response itself
//     (the provider answered), so other calls do not wait for its body. Close
//     the body, as with any [http.Response].
//   - Failure with an HTTP answer (the last attempt got a status of 400 or
//     more, and it was not retried): that response and a nil error, as a
//     plain transport would return it, so the SDK reads and reports the
//     provider's error in its usual way. Its body is the buffered copy (the
//     first 1 MiB), and ContentLength its length.
//   - Failure without an HTTP answer: a nil response and the executor's
//     error, an *aierrors.Error (or one wrapped with [ErrRetriesExhausted]):
//     a transport failure, a cancelled or expired context, or a local
//     rejection ([ErrCircuitOpen], [ErrRateLimitWait], [ErrQueueFull]).
//     [http.Client] wraps it in a *url.Error; [errors.Is] and
//     [aierrors.CodeOf] see through that.
//
// A Transport is safe for concurrent use. Build it with [NewTransport]; the
// zero Transport sends each request once, without an executor, through
// [http.DefaultTransport].
type Transport struct {
	exec *ResilientExecutor
	base http.RoundTripper
}

// NewTransport returns a Transport that sends requests through exec and
// then base. A nil base means a clone of [http.DefaultTransport] (a
// separate connection pool; the shared default is never modified). A nil
// exec sends each request once and only classifies it.
func NewTransport(exec *ResilientExecutor, base http.RoundTripper) *Transport {
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone()
		} else {
			base = http.DefaultTransport
		}
	}
	return &Transport{exec: exec, base: base}
}

// RoundTrip sends req through the executor. See [Transport] for what it
// returns.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	body := requestBody{req: req}
	var (
		lastResp *http.Response  // the last attempt's error answer, buffered
		lastErr  *aierrors.Error // its classification
	)
	var done func(error)
	resp, err := Do(req.Context(), t.exec, func(ctx context.Context) (*http.Response, error) {
		lastResp, lastErr = nil, nil
		rb, err := body.next()
		if err != nil {
			return nil, err
		}
		r := req.Clone(ctx)
		r.Body = rb
		resp, err := base.RoundTrip(r)
		if err != nil {
			if !body.replayable() {
				return nil, t.once(err)
			}
			return nil, err
		}
		t.exec.ObserveHeader(resp.Header)
		if resp.StatusCode < http.StatusBadRequest {
			return resp, nil
		}
		buf, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
		_ = resp.Body.Close()
		ae := aierrors.ClassifyResponse(resp.StatusCode, resp.Header, buf)
		if ae.Provider == "" && ae.Model == "" {
			ae.Provider, ae.Model = splitTarget(t.target())
		}
		if !body.replayable() {
			ae.ShouldRetry = new(false)
		}
		resp.Body = io.NopCloser(bytes.NewReader(buf))
		resp.ContentLength = int64(len(buf))
		lastResp, lastErr = resp, ae
		return nil, ae
	}, WithStream(&done))
	if !body.sent && req.Body != nil {
		_ = req.Body.Close() // never handed to the base transport, which would have closed it
	}
	if err == nil {
		resp.Request = req
		return trackBody(resp, done), nil
	}
	if ae, ok := errors.AsType[*aierrors.Error](err); ok && lastErr != nil && ae == lastErr {
		lastResp.Request = req
		return lastResp, nil
	}
	return nil, err
}

// target is the executor's target name; "" without an executor (a
// Transport that only classifies).
func (t *Transport) target() string {
	if t.exec == nil {
		return ""
	}
	return t.exec.name
}

// once classifies a transport error of a request that cannot be sent
// again, marked so that the executor does not retry it.
func (t *Transport) once(err error) error {
	ae, _ := classify(err, t.target())
	out := *ae
	out.ShouldRetry = new(false)
	return &out
}

// requestBody hands out the body of each attempt: the caller's own body
// first, then fresh copies from GetBody.
type requestBody struct {
	req  *http.Request
	sent bool // the caller's body went to the base transport
}

// errNotReplayable is the cause when a request body would be needed twice
// and has no GetBody. Transport marks such failures as not retryable, so
// it is not expected in practice.
var errNotReplayable = errors.New("resilience: request body cannot be replayed (no GetBody)")

func (b *requestBody) replayable() bool {
	r := b.req
	return r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
}

func (b *requestBody) next() (io.ReadCloser, error) {
	r := b.req
	if r.Body == nil || r.Body == http.NoBody {
		return r.Body, nil
	}
	if !b.sent {
		b.sent = true
		return r.Body, nil
	}
	if r.GetBody == nil {
		return nil, &aierrors.Error{Code: aierrors.Unknown, Message: errNotReplayable.Error(), Err: errNotReplayable}
	}
	rb, err := r.GetBody()
	if err != nil {
		return nil, &aierrors.Error{Code: aierrors.Unknown, Message: "resilience: request body cannot be replayed (GetBody failed)", Err: err}
	}
	return rb, nil
}

// trackBody ends the attempt (done) when resp's body reaches EOF, fails or
// is closed.
func trackBody(resp *http.Response, done func(error)) *http.Response {
	if done == nil {
		return resp
	}
	switch resp.Body.(type) {
	case nil:
		done(nil)
		return resp
	case io.Writer: // 101 Switching Protocols: the connection is the caller's now
		done(nil)
		return resp
	}
	if resp.Body == http.NoBody {
		done(nil)
		return resp
	}
	resp.Body = &attemptBody{rc: resp.Body, done: done}
	return resp
}

// attemptBody is a success body whose attempt is still open.
type attemptBody struct {
	rc   io.ReadCloser
	done func(error) // idempotent
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.done(nil)
	case err != nil:
		b.done(err)
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.rc.Close()
	b.done(nil)
	return err
}
