package client

import (
	"net/http"
	"testing"
	"time"
)

// TestDefaultTransport pins the security properties of the transport Build
// makes when the caller gives no http.Client (see SECURITY.md): a clone of
// http.DefaultTransport, so TLS verification on and the standard proxy
// variables honoured; a response-header timeout; no client timeout that
// would cut streams off; and a pool of its own.
func TestDefaultTransport(t *testing.T) {
	c := defaultHTTPClient(time.Minute)
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport is %T; want *http.Transport", c.Transport)
	}
	if tr == http.DefaultTransport {
		t.Error("default transport is http.DefaultTransport itself; want a clone")
	}
	if tls := tr.TLSClientConfig; tls != nil && tls.InsecureSkipVerify {
		t.Error("default transport skips TLS verification")
	}
	if tr.Proxy == nil {
		t.Error("default transport ignores HTTPS_PROXY/HTTP_PROXY; want http.ProxyFromEnvironment as documented")
	}
	if tr.ResponseHeaderTimeout != time.Minute || c.Timeout != 0 {
		t.Errorf("ResponseHeaderTimeout = %v, Client.Timeout = %v; want 1m, 0", tr.ResponseHeaderTimeout, c.Timeout)
	}
}
