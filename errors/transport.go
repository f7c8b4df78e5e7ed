package errors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	stderrors "errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// ClassifyTransport turns a transport-level error (no HTTP answer was
// read) into an *Error. nil in, nil out. An *Error already in err's chain
// is returned as is. Otherwise the result keeps err as its cause (Err), so
// errors.Is(result, context.Canceled), errors.As(result, &netErr) and the
// like still hold, and has no Message: its Error text is err's text,
// scrubbed of credentials. A connection refused and an unknown host are
// said first, in words, before err's text ("connection refused by
// 127.0.0.1:1 (nothing listens there: check the base URL or start the
// server)"): their code, Overloaded, is about what a retry can do, not
// about what went wrong.
//
// # Codes, and which are safe to retry
//
// Whether a retry is safe depends on whether the provider may already have
// processed the request. A chat completion is not idempotent: a second
// attempt after a processed one is billed twice (harmless for the caller's
// result, but not free).
//
//   - [Cancelled], not retryable: context.Canceled. The caller gave up;
//     retrying would ignore its decision.
//   - [Timeout], retryable: context.DeadlineExceeded, os.ErrDeadlineExceeded,
//     any net.Error whose Timeout() is true (dial, TLS handshake, response
//     header or body timeouts), ETIMEDOUT, and a DNS lookup that timed out.
//     The request may have been processed. Note that when the caller's own
//     context deadline expired, the resilience layer does not retry: there
//     is no time left.
//   - [Overloaded], retryable, fallbackable: the connection was never made,
//     so nothing was sent and a retry is always safe. Connection refused
//     (ECONNREFUSED: nothing listens, typically a restarting server or a
//     local model not started yet), host or network unreachable, and DNS
//     failures, including "no such host": a typo in a base URL keeps
//     failing, but an outage of the resolver or of the provider's DNS looks
//     the same and is transient, and neither can have charged anything.
//     Any other error of a dial (net.OpError with Op "dial") belongs here.
//   - [ServerError], retryable, fallbackable: the connection broke after
//     the request may have been sent: connection reset (ECONNRESET), broken
//     pipe (EPIPE), ECONNABORTED, io.ErrUnexpectedEOF and io.EOF (the
//     server closed before a complete answer), HTTP/2 GOAWAY and stream
//     resets, net.ErrClosed. Safe for the caller's outcome, but the provider
//     may have processed (and billed) the request. TLS handshake failures
//     other than certificate problems (a remote alert, a reset during the
//     handshake) also land here: they are usually transient on the
//     provider's edge.
//   - [Unknown], not retryable, not fallbackable: certificate verification
//     failures (x509.UnknownAuthorityError, x509.HostnameError,
//     x509.CertificateInvalidError, tls.CertificateVerificationError) and
//     tls.RecordHeaderError (TLS spoken to a plain-HTTP port). These are
//     configuration or interception problems: the same request fails the
//     same way every time, and silently falling back to another provider
//     would hide a possible man-in-the-middle from the operator. They must
//     be seen and fixed, not retried.
//   - [Unknown] for anything else. The library retries only what it has
//     classified.
func ClassifyTransport(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if stderrors.As(err, &e) && e != nil {
		return e
	}
	code := transportCode(err)
	if code == Overloaded {
		if what := dialProblem(err); what != "" {
			return &Error{Code: code, Err: &saidError{text: what, err: err}}
		}
	}
	return &Error{Code: code, Err: err}
}

// dialProblem says in words what stopped a connection from being made, ""
// when it is not one it knows.
func dialProblem(err error) string {
	var dnsErr *net.DNSError
	if stderrors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return "no such host " + oneLine(dnsErr.Name, maxNameLen) + " (check the base URL)"
	}
	addr := ""
	var opErr *net.OpError
	if stderrors.As(err, &opErr) && opErr.Addr != nil {
		addr = " " + oneLine(opErr.Addr.String(), maxNameLen)
	}
	switch {
	case stderrors.Is(err, syscall.ECONNREFUSED):
		if addr == "" {
			return "connection refused (nothing listens there: check the base URL or start the server)"
		}
		return "connection refused by" + addr + " (nothing listens there: check the base URL or start the server)"
	case stderrors.Is(err, syscall.EHOSTUNREACH), stderrors.Is(err, syscall.EHOSTDOWN):
		return "host unreachable" + addr
	case stderrors.Is(err, syscall.ENETUNREACH), stderrors.Is(err, syscall.ENETDOWN):
		return "network unreachable" + addr
	}
	return ""
}

// saidError puts a plain statement of a transport failure before its
// cause's text; errors.Is and errors.As see the cause.
type saidError struct {
	text string
	err  error
}

func (e *saidError) Error() string { return e.text + ": " + e.err.Error() }
func (e *saidError) Unwrap() error { return e.err }

func transportCode(err error) StandardErrorCode {
	// Cancellation first: a cancelled dial also reports a net.OpError.
	if stderrors.Is(err, context.Canceled) {
		return Cancelled
	}
	if stderrors.Is(err, context.DeadlineExceeded) || stderrors.Is(err, os.ErrDeadlineExceeded) ||
		stderrors.Is(err, syscall.ETIMEDOUT) {
		return Timeout
	}

	// Certificate and protocol-mismatch problems before the generic
	// net.Error checks: they are wrapped in net.OpError / url.Error too.
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var recordHeader tls.RecordHeaderError
	if stderrors.As(err, &unknownAuthority) || stderrors.As(err, &hostname) || stderrors.As(err, &invalid) ||
		stderrors.As(err, &verify) || stderrors.As(err, &recordHeader) {
		return Unknown
	}

	var dnsErr *net.DNSError
	if stderrors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return Timeout
		}
		return Overloaded
	}

	var netErr net.Error
	if stderrors.As(err, &netErr) && netErr.Timeout() {
		return Timeout
	}

	switch {
	case stderrors.Is(err, syscall.ECONNREFUSED), stderrors.Is(err, syscall.EHOSTUNREACH),
		stderrors.Is(err, syscall.ENETUNREACH), stderrors.Is(err, syscall.EHOSTDOWN),
		stderrors.Is(err, syscall.ENETDOWN), stderrors.Is(err, syscall.EADDRNOTAVAIL):
		return Overloaded
	case stderrors.Is(err, syscall.ECONNRESET), stderrors.Is(err, syscall.EPIPE),
		stderrors.Is(err, syscall.ECONNABORTED), stderrors.Is(err, io.ErrUnexpectedEOF),
		stderrors.Is(err, io.EOF), stderrors.Is(err, net.ErrClosed):
		return ServerError
	}

	var opErr *net.OpError
	if stderrors.As(err, &opErr) && opErr.Op == "dial" {
		return Overloaded
	}

	var alert tls.AlertError
	if stderrors.As(err, &alert) {
		return ServerError
	}

	// net/http does not export the types of these errors; their texts are
	// stable and documented in its source.
	msg := err.Error()
	for _, s := range []string{
		"http2: server sent GOAWAY", "http2: stream closed", "stream error:", "INTERNAL_ERROR",
		"server closed idle connection", "transport connection broken", "connection reset by peer",
		"broken pipe", "unexpected EOF", "tls: handshake failure",
	} {
		if strings.Contains(msg, s) {
			return ServerError
		}
	}
	return Unknown
}
