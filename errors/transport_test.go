package errors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	stderrors "errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// timeoutErr is a net.Error that timed out, as net/http's header timeout is.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "net/http: timeout awaiting response headers" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func urlErr(err error) error {
	return &url.Error{Op: "Post", URL: "https://api.openai.com/v1/chat/completions", Err: err}
}

func TestClassifyTransport(t *testing.T) {
	already := &Error{Code: RateLimited, Provider: "openai"}
	tests := []struct {
		name string
		err  error
		want StandardErrorCode
	}{
		{"context canceled", urlErr(context.Canceled), Cancelled},
		{"context deadline exceeded", urlErr(context.DeadlineExceeded), Timeout},
		{"os deadline exceeded", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, Timeout},
		{"response header timeout", urlErr(timeoutErr{}), Timeout},
		{"ETIMEDOUT", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}), Timeout},
		{"connection refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), Overloaded},
		{"host unreachable", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}), Overloaded},
		{"dns no such host", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.opnai.com", IsNotFound: true}}), Overloaded},
		{"dns timeout", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "api.openai.com", IsTimeout: true}}), Timeout},
		{"other dial error", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: stderrors.New("socket: too many open files")}), Overloaded},
		{"connection reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), ServerError},
		{"broken pipe", urlErr(&net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}), ServerError},
		{"unexpected EOF", fmt.Errorf("reading body: %w", io.ErrUnexpectedEOF), ServerError},
		{"EOF before answer", urlErr(io.EOF), ServerError},
		{"use of closed connection", urlErr(net.ErrClosed), ServerError},
		{"http2 GOAWAY", urlErr(stderrors.New("http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR")), ServerError},
		{"http2 stream reset", urlErr(stderrors.New("stream error: stream ID 3; INTERNAL_ERROR; received from peer")), ServerError},
		{"tls alert", urlErr(tls.AlertError(40)), ServerError},
		{"x509 unknown authority", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), Unknown},
		{"x509 hostname mismatch", urlErr(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "api.openai.com"}), Unknown},
		{"x509 expired", urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), Unknown},
		{"tls to a plain http port", urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), Unknown},
		{"anything else", stderrors.New("boom"), Unknown},
		{"error already classified", fmt.Errorf("attempt 2: %w", already), RateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClassifyTransport(tt.err)
			if got == nil {
				t.Fatalf("ClassifyTransport(%v) = nil; want non-nil", tt.err)
			}
			if got.Code != tt.want {
				t.Errorf("ClassifyTransport(%v).Code = %v; want %v", tt.err, got.Code, tt.want)
			}
			if !stderrors.Is(got, tt.err) && got != already {
				t.Errorf("errors.Is(ClassifyTransport(err), err) = false; want true")
			}
			checkErrorText(t, got)
		})
	}
}

func TestClassifyTransportNil(t *testing.T) {
	if got := ClassifyTransport(nil); got != nil {
		t.Errorf("ClassifyTransport(nil) = %v; want nil", got)
	}
}

func TestClassifyTransportReturnsExistingError(t *testing.T) {
	orig := &Error{Code: QuotaExhausted}
	if got := ClassifyTransport(fmt.Errorf("wrapped: %w", orig)); got != orig {
		t.Errorf("ClassifyTransport(wrapped *Error) = %p; want the same %p", got, orig)
	}
}

func TestClassifyTransportKeepsCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := ClassifyTransport(urlErr(ctx.Err()))
	if !stderrors.Is(got, context.Canceled) {
		t.Errorf("errors.Is(ClassifyTransport(canceled), context.Canceled) = false; want true")
	}
	if !stderrors.Is(got, Cancelled) || got.Retryable() || got.Fallbackable() {
		t.Errorf("ClassifyTransport(canceled) = %v retryable=%v fallbackable=%v; want Cancelled, neither", got.Code, got.Retryable(), got.Fallbackable())
	}
}

func TestClassifyTransportScrubsURL(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "https://generativelanguage.googleapis.com/v1beta/models/gemini:generateContent?key=AIzaSyLEAKEDsecretLEAKEDsecret0123456", Err: io.ErrUnexpectedEOF}
	text := ClassifyTransport(err).Error()
	if strings.Contains(text, "LEAKED") {
		t.Errorf("ClassifyTransport(err).Error() = %q; want the key masked", text)
	}
}

// The tests below produce real transport failures on loopback.

func TestClassifyTransportRealRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	_, err = client.Get("http://" + addr + "/v1/models")
	if err == nil {
		t.Fatal("GET to a closed port succeeded")
	}
	if got := ClassifyTransport(err); got.Code != Overloaded {
		t.Errorf("ClassifyTransport(%v).Code = %v; want %v", err, got.Code, Overloaded)
	}
}

func TestClassifyTransportRealConnectionDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
	_, err := client.Do(req)
	if err == nil {
		t.Fatal("request to a server that hangs up succeeded")
	}
	if got := ClassifyTransport(err); got.Code != ServerError {
		t.Errorf("ClassifyTransport(%v).Code = %v; want %v", err, got.Code, ServerError)
	}
}

func TestClassifyTransportRealUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	_, err := client.Get(srv.URL)
	if err == nil {
		t.Fatal("GET to an untrusted certificate succeeded")
	}
	if got := ClassifyTransport(err); got.Code != Unknown {
		t.Errorf("ClassifyTransport(%v).Code = %v; want %v", err, got.Code, Unknown)
	}
}

func TestClassifyTransportRealHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond}}
	defer client.CloseIdleConnections()
	_, err := client.Get(srv.URL)
	if err == nil {
		t.Fatal("GET succeeded despite the header timeout")
	}
	if got := ClassifyTransport(err); got.Code != Timeout {
		t.Errorf("ClassifyTransport(%v).Code = %v; want %v", err, got.Code, Timeout)
	}
}
