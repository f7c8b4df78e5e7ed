package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// Transport returns an http.RoundTripper that serves requests in-process,
// without sockets, so it works inside testing/synctest bubbles, where a
// loopback connection would stop the fake clock.
//
// RoundTrip runs the server's handler in a goroutine and returns as soon as
// the handler has written its headers; the body then streams through a
// pipe, event by event. The request's host is ignored. Cancelling the
// request's context while waiting for headers makes RoundTrip return the
// context's error; cancelling it later, or closing the response body, ends
// the handler (body reads then fail with the context's error). Close waits
// for the handler goroutine, so nothing outlives a closed body.
//
// Aborts look like their network counterparts: [Answer.Reset] makes
// RoundTrip return a *net.OpError wrapping syscall.ECONNRESET,
// [Answer.CutAfter] makes a body Read return [io.ErrUnexpectedEOF], and after
// [Server.Close] RoundTrip returns a *net.OpError wrapping
// syscall.ECONNREFUSED.
func (s *Server) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Server }

var fakeAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443} // TEST-NET-1

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("providertest: reading request body: %w", err)
		}
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.s.closed.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: fakeAddr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}

	hctx, cancel := context.WithCancel(ctx)
	sreq := req.Clone(hctx)
	sreq.Body = io.NopCloser(bytes.NewReader(body))
	sreq.ContentLength = int64(len(body))
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "192.0.2.2:50000"
	sreq.Host = req.URL.Host
	if sreq.Host == "" {
		sreq.Host = req.Host
	}

	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	done := make(chan struct{})
	// Cancelling the context fails pending and later body writes and reads.
	stopAfter := context.AfterFunc(hctx, func() { pw.CloseWithError(context.Cause(hctx)) })
	go func() {
		defer close(done)
		defer cancel()
		defer stopAfter()
		defer func() {
			p := recover()
			switch {
			case (p == nil || p == http.ErrAbortHandler) && !w.wroteHeader && hctx.Err() != nil:
				// Gave up (Delay) because the request was cancelled.
				w.gaveUp = true
				close(w.ready)
			case p == nil:
				w.WriteHeader(http.StatusOK) // no-op if written
				if err := hctx.Err(); err != nil {
					pw.CloseWithError(err)
				} else {
					pw.Close()
				}
			case p == http.ErrAbortHandler && !w.wroteHeader:
				w.reset = true
				close(w.ready)
			case p == http.ErrAbortHandler && hctx.Err() != nil:
				pw.CloseWithError(context.Cause(hctx)) // the request was cancelled
			case p == http.ErrAbortHandler:
				pw.CloseWithError(io.ErrUnexpectedEOF)
			default:
				// A bug in the server: crash as a server without recovery would.
				panic(p)
			}
		}()
		t.s.serveHTTP(w, sreq)
	}()

	select {
	case <-w.ready:
	case <-ctx.Done():
		// Give up waiting for headers; the handler ends with its context.
		cancel()
		pr.CloseWithError(ctx.Err())
		<-done
		return nil, ctx.Err()
	}
	if w.gaveUp {
		<-done
		return nil, ctx.Err()
	}
	if w.reset {
		cancel()
		<-done
		return nil, &net.OpError{Op: "read", Net: "tcp", Addr: fakeAddr, Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	resp := &http.Response{
		Status:        strconv.Itoa(w.status) + " " + statusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		ContentLength: -1,
		Body:          &pipeBody{pr: pr, cancel: cancel, done: done},
		Request:       req,
	}
	if cl, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = cl
	}
	return resp, nil
}

// statusText is the reason phrase net/http would write.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "status code " + strconv.Itoa(code)
}

// pipeWriter is the handler's http.ResponseWriter: headers are handed over
// through ready, the body through the pipe. Only the handler goroutine
// calls it; the fields are read by RoundTrip after ready is closed.
type pipeWriter struct {
	header      http.Header
	sent        http.Header // snapshot at WriteHeader
	pw          *io.PipeWriter
	ready       chan struct{}
	wroteHeader bool
	status      int
	reset       bool // aborted before the headers
	gaveUp      bool // returned without headers because the context ended
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if w.wroteHeader || (code >= 100 && code < 200) {
		return
	}
	w.wroteHeader = true
	w.status = code
	w.sent = w.header.Clone()
	close(w.ready)
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if len(b) == 0 {
		return 0, nil
	}
	return w.pw.Write(b)
}

// Flush implements http.Flusher; the pipe is unbuffered, so it only sends
// the headers.
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }

// pipeBody is the response body: reads come straight from the handler.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

// Close ends the handler and waits for it.
func (b *pipeBody) Close() error {
	b.once.Do(func() {
		b.pr.CloseWithError(errBodyClosed)
		b.cancel()
		<-b.done
	})
	return nil
}

var errBodyClosed = errors.New("http: read on closed response body")

// HostTransport returns an http.RoundTripper that serves each request with
// the [Server.Transport] of the server its URL's host names (such as
// "east.invalid" in "http://east.invalid/v1"), for a client that talks to
// several fake providers in-process: the deployments of a pool, say. A
// request for another host fails as a refused connection would. The map
// is copied.
func HostTransport(servers map[string]*Server) http.RoundTripper {
	m := make(map[string]http.RoundTripper, len(servers))
	for host, s := range servers {
		m[host] = s.Transport()
	}
	return hostTransport(m)
}

type hostTransport map[string]http.RoundTripper

func (h hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t, ok := h[req.URL.Host]; ok {
		return t.RoundTrip(req)
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: fakeAddr, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}
