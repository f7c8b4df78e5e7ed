package errors

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	stderrors "errors"
)

// The text a user reads: waits rounded, not to the nanosecond.
func TestErrorTextRoundsRetryAfter(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{4*time.Minute + 59*time.Second + 999521152*time.Nanosecond, "retry after 5m0s"},
		{59*time.Second + 996938614*time.Nanosecond, "retry after 1m0s"},
		{999958005 * time.Nanosecond, "retry after 1s"},
		{1234567890 * time.Nanosecond, "retry after 1.23s"},
		{2 * time.Second, "retry after 2s"},
		{250*time.Millisecond + 400*time.Microsecond, "retry after 250ms"},
		{1500 * time.Microsecond, "retry after 2ms"},
	}
	for _, tt := range tests {
		e := &Error{Code: QuotaExhausted, Provider: "openai", Model: "gpt-4o", RetryAfter: tt.d}
		if got := e.Error(); !strings.Contains(got, "("+tt.want+")") {
			t.Errorf("Error{RetryAfter: %v}.Error() = %q; want it to say %q", tt.d, got, tt.want)
		}
	}
}

// A refused connection keeps its code (Overloaded: nothing was sent, a
// retry is safe, another target may answer) but says what happened.
func TestErrorTextConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader("{}"))
	if err == nil {
		t.Skipf("something answered on %s", addr)
	}
	e := ClassifyTransport(err)
	if e.Code != Overloaded || !e.Retryable() || !e.Fallbackable() {
		t.Errorf("ClassifyTransport(refused) = %v (retryable %v, fallbackable %v); want Overloaded, retryable, fallbackable",
			e.Code, e.Retryable(), e.Fallbackable())
	}
	e.Provider, e.Model = "openai", "gpt-4o"
	want := "ailib: openai/gpt-4o: E3002 overloaded: connection refused by " + addr + " (nothing listens there: check the base URL or start the server): "
	if got := e.Error(); !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q; want it to start %q", got, want)
	}
	if !stderrors.Is(e, syscall.ECONNREFUSED) || !stderrors.Is(e, err) {
		t.Errorf("errors.Is(ClassifyTransport(refused), ECONNREFUSED / the cause) = false; want true")
	}
}

func TestErrorTextUnknownHost(t *testing.T) {
	err := urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.opnai.com", IsNotFound: true}})
	e := ClassifyTransport(err)
	if got, want := e.Error(), "ailib: E3002 overloaded: no such host api.opnai.com (check the base URL): "; !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q; want it to start %q", got, want)
	}
}

// The zero code is what a signal reports when there is nothing to report.
func TestZeroCodeText(t *testing.T) {
	var c StandardErrorCode
	for _, got := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v", struct{ Reason StandardErrorCode }{})} {
		if !strings.Contains(got, "none") || strings.Contains(got, "invalid") {
			t.Errorf("zero code prints %q; want \"none\"", got)
		}
	}
	if got := StandardErrorCode(200).String(); got != "E0000 invalid" {
		t.Errorf("StandardErrorCode(200).String() = %q; want \"E0000 invalid\"", got)
	}
}
