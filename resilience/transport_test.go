package resilience_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// TestTransportWithoutExecutor: NewTransport(nil, base) and the zero
// Transport send each request once and only classify its failure, as
// documented. They dereferenced the nil executor for the target's name
// when an error answer named no provider, or when a body that cannot be
// replayed met a transport error.
func TestTransportWithoutExecutor(t *testing.T) {
	srv := providertest.NewServer() // loopback: the zero Transport's base is http.DefaultTransport
	defer srv.Close()
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name   string
		rt     *resilience.Transport
		answer providertest.Answer
		body   io.Reader
		status int // 0: a transport error
	}{
		{"NewTransport(nil), 503", resilience.NewTransport(nil, srv.Client().Transport), providertest.Unavailable(), strings.NewReader(body), 503},
		{"zero Transport, 429", &resilience.Transport{}, providertest.RateLimited(0), strings.NewReader(body), 429},
		{"NewTransport(nil), reset, a body without GetBody", resilience.NewTransport(nil, srv.Client().Transport), providertest.Reset(), io.MultiReader(strings.NewReader(body)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Script("gpt-4o", tc.answer)
			req, err := http.NewRequest("POST", srv.URL()+"/v1/chat/completions", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: tc.rt}).Do(req)
			if tc.status == 0 {
				if aierrors.CodeOf(err) == 0 || aierrors.IsRetryable(err) {
					t.Errorf("Do = %v; want a classified transport error, not retried (its body cannot be sent again)", err)
				}
				return
			}
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("Do = %v, %v; want the %d answer", resp, err, tc.status)
			}
			resp.Body.Close()
		})
	}
}
