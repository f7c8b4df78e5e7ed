package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// Keys of the pool tests' deployments.
const (
	eastKey = "sk-test-east-0123456789abcdef"
	westKey = "sk-test-west-0123456789abcdef"
	euKey   = "sk-test-eu-0123456789abcdef"
)

// poolOf returns three in-process servers, one per region, and a builder
// whose pool "gpt" holds a deployment on each (east, west, eu: openai
// wire format, each with its own key, which its server requires).
func poolOf(t *testing.T) (map[string]*providertest.Server, *client.Builder) {
	t.Helper()
	srvs := map[string]*providertest.Server{
		"east.invalid": providertest.New(providertest.WithAPIKey(eastKey)),
		"west.invalid": providertest.New(providertest.WithAPIKey(westKey)),
		"eu.invalid":   providertest.New(providertest.WithAPIKey(euKey)),
	}
	t.Cleanup(func() {
		for _, s := range srvs {
			s.Close()
		}
	})
	b := client.NewBuilder().IgnoreEnvironment().
		HTTPClient(&http.Client{Transport: providertest.HostTransport(srvs)}).
		Pool("gpt",
			client.Deployment{Name: "east", Model: "openai/gpt-4o", BaseURL: "http://east.invalid/v1", APIKey: eastKey},
			client.Deployment{Name: "west", Model: "openai/gpt-4o", BaseURL: "http://west.invalid/v1", APIKey: westKey},
			client.Deployment{Name: "eu", Model: "openai/gpt-4o", BaseURL: "http://eu.invalid/v1", APIKey: euKey},
		).
		Model("gpt")
	return srvs, b
}

func TestPoolSpreadsCallsOverDeployments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		c := build(t, b)
		if got := c.Targets(); len(got) != 1 || got[0] != "gpt" {
			t.Fatalf("Targets() = %q; want [gpt]", got)
		}
		want := []string{"openai/gpt-4o#east", "openai/gpt-4o#west", "openai/gpt-4o#eu"}
		if got := c.Deployments("gpt"); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("Deployments(gpt) = %q; want %q", got, want)
		}
		for i := range 30 {
			resp, err := c.Chat(t.Context(), hi())
			if err != nil || resp.Provider != "openai" || resp.Model != "gpt-4o" || resp.Attempts != 1 {
				t.Fatalf("Chat #%d = %+v, %v", i, resp, err)
			}
		}
		for host, s := range srvs {
			if n := s.Requests("gpt-4o"); n != 10 {
				t.Errorf("%s served %d of 30 calls; want 10 (equal weights, every deployment ready)", host, n)
			}
		}
		for _, name := range want {
			if _, ok := c.Signals(name); !ok {
				t.Errorf("Signals(%q) not found", name)
			}
		}
		ps, ok := c.PoolSignals("gpt")
		if !ok || ps.Ready != 3 || ps.Available != 3 || len(ps.Members) != 3 || ps.Members[1].Target != want[1] {
			t.Errorf("PoolSignals(gpt) = %+v, %v", ps, ok)
		}
	})
}

func TestPoolWeightsSplitCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs := map[string]*providertest.Server{"a.invalid": providertest.New(), "b.invalid": providertest.New(), "c.invalid": providertest.New()}
		defer func() {
			for _, s := range srvs {
				s.Close()
			}
		}()
		c := build(t, client.NewBuilder().IgnoreEnvironment().
			HTTPClient(&http.Client{Transport: providertest.HostTransport(srvs)}).
			Pool("gpt",
				client.Deployment{Name: "a", Model: "openai/gpt-4o", BaseURL: "http://a.invalid/v1", APIKey: eastKey, Weight: 3},
				client.Deployment{Name: "b", Model: "openai/gpt-4o", BaseURL: "http://b.invalid/v1", APIKey: westKey},
				client.Deployment{Name: "c", Model: "openai/gpt-4o", BaseURL: "http://c.invalid/v1", APIKey: euKey, Weight: 1},
			).Model("gpt"))
		for range 100 {
			if _, err := c.Chat(t.Context(), hi()); err != nil {
				t.Fatal(err)
			}
		}
		for host, want := range map[string]int{"a.invalid": 60, "b.invalid": 20, "c.invalid": 20} {
			if n := srvs[host].Requests("gpt-4o"); n != want {
				t.Errorf("%s served %d of 100 calls; want %d (weights 3:1:1)", host, n, want)
			}
		}
	})
}

// A 429 moves the attempt to another deployment at once: no backoff, no
// Retry-After sleep.
func TestPoolRateLimitMovesToAnotherDeploymentAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		srvs["east.invalid"].Script("gpt-4o", providertest.RateLimited(time.Second))
		srvs["west.invalid"].Script("gpt-4o", providertest.Unavailable())
		var switches []string
		c := build(t, b.Hooks(resilience.Hooks{OnPoolSwitch: func(s resilience.PoolSwitch) {
			why := ""
			if s.Err != nil {
				why = aierrors.CodeOf(s.Err).Name()
			}
			switches = append(switches, s.From+">"+s.To+":"+why)
		}}))
		start := time.Now()
		resp, err := c.Chat(t.Context(), hi())
		if err != nil || resp.Attempts != 3 {
			t.Fatalf("Chat = %+v, %v; want the third deployment's answer", resp, err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("the call took %v; want 0 (no sleep between deployments)", d)
		}
		want := ">openai/gpt-4o#east:, openai/gpt-4o#east>openai/gpt-4o#west:rate_limited, openai/gpt-4o#west>openai/gpt-4o#eu:overloaded"
		if got := strings.Join(switches, ", "); got != want {
			t.Errorf("pool switches = %s\nwant %s", got, want)
		}
	})
}

// A revoked key cools its deployment only: the other calls never meet it
// again, and no call fails.
func TestPoolRevokedKeyCoolsOneDeployment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		var logs bytes.Buffer
		c := build(t, b.Logger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		for range 6 {
			if _, err := c.Chat(t.Context(), hi()); err != nil {
				t.Fatal(err)
			}
		}
		srvs["west.invalid"].SetDefault("gpt-4o", providertest.InvalidAPIKey())
		for i := range 60 {
			if _, err := c.Chat(t.Context(), hi()); err != nil {
				t.Fatalf("Chat #%d after the key was revoked: %v", i, err)
			}
		}
		if st := srvs["west.invalid"].Stats("gpt-4o"); st.ByStatus[http.StatusUnauthorized] != 1 {
			t.Errorf("west answered 401 %d times; want 1 (the pool remembers)", st.ByStatus[http.StatusUnauthorized])
		}
		s, _ := c.Signals("openai/gpt-4o#west")
		if s.Circuit.CooldownReason != aierrors.Authentication || s.Circuit.CooldownFor <= 0 {
			t.Errorf("west's cooldown = %v (%v); want an authentication cooldown", s.Circuit.CooldownFor, s.Circuit.CooldownReason)
		}
		if ps, _ := c.PoolSignals("gpt"); ps.Available != 2 {
			t.Errorf("PoolSignals.Available = %d; want 2", ps.Available)
		}
		text := logs.String()
		if !strings.Contains(text, "openai/gpt-4o#west") {
			t.Errorf("the log does not name the deployment:\n%s", text)
		}
		for _, k := range []string{eastKey, westKey, euKey} {
			if strings.Contains(text, k) {
				t.Errorf("the log holds a deployment's key")
			}
		}
	})
}

// Only when every deployment fails does the call move to the fallback;
// the error then names each deployment.
func TestPoolFallsBackWhenEveryDeploymentFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		for _, s := range srvs {
			s.SetDefault("gpt-4o", providertest.InsufficientQuota())
		}
		anth := providertest.New()
		defer anth.Close()
		srvs["anthropic.invalid"] = anth
		c := build(t, b.HTTPClient(&http.Client{Transport: providertest.HostTransport(srvs)}).
			Fallback("anthropic/claude-x").
			Provider("anthropic", client.ProviderConfig{BaseURL: "http://anthropic.invalid/v1", APIKey: anthropicKey}))
		resp, err := c.Chat(t.Context(), hi())
		if err != nil || resp.Provider != "anthropic" || resp.Attempts != 4 {
			t.Fatalf("Chat = %+v, %v; want the fallback's answer after 3 deployments", resp, err)
		}
		// Every deployment now cools down: the next call goes straight to
		// the fallback.
		resp, err = c.Chat(t.Context(), hi())
		if err != nil || resp.Attempts != 1 {
			t.Fatalf("second Chat = %+v, %v; want 1 attempt", resp, err)
		}

		c2 := build(t, b.HTTPClient(&http.Client{Transport: providertest.HostTransport(srvs)}).Fallback())
		_, err = c2.Chat(t.Context(), hi())
		if !errors.Is(err, aierrors.QuotaExhausted) {
			t.Fatalf("Chat with no fallback = %v; want quota_exhausted", err)
		}
		for _, name := range []string{"#east", "#west", "#eu", "3 deployments of gpt failed"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name %q", err, name)
			}
		}
	})
}

// A bad request is not sent to the other deployments.
func TestPoolBadRequestIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		for _, s := range srvs {
			s.SetDefault("gpt-4o", providertest.ContextLengthExceeded())
		}
		c := build(t, b)
		_, err := c.Chat(t.Context(), hi())
		if !errors.Is(err, aierrors.RequestTooLarge) || client.AttemptsOf(err) != 1 {
			t.Fatalf("Chat = %v (%d attempts); want request_too_large after 1", err, client.AttemptsOf(err))
		}
	})
}

// The last deployment left gets its executor's retries: noise on one
// deployment of one is retried as for a plain target.
func TestPoolLastDeploymentRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		srvs["east.invalid"].Script("gpt-4o", providertest.Unavailable())
		srvs["west.invalid"].Script("gpt-4o", providertest.Unavailable())
		srvs["eu.invalid"].Script("gpt-4o", providertest.Unavailable(), providertest.Unavailable())
		c := build(t, b)
		resp, err := c.Chat(t.Context(), hi())
		if err != nil || resp.Attempts != 5 {
			t.Fatalf("Chat = %+v, %v; want success on the 5th attempt", resp, err)
		}
	})
}

// Streams move between deployments only before their first event.
func TestPoolStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		srvs["east.invalid"].Script("gpt-4o", providertest.RateLimited(time.Second))
		c := build(t, b)
		s, err := c.Stream(t.Context(), hi())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for s.Next() {
		}
		if s.Err() != nil || s.Text() != providertest.DefaultText || s.Attempts() != 2 {
			t.Fatalf("stream: %q, %v, %d attempts", s.Text(), s.Err(), s.Attempts())
		}
		if st := srvs["west.invalid"].Stats("gpt-4o"); st.Requests != 1 {
			t.Errorf("west served %d requests; want 1", st.Requests)
		}
		s.Close()
		sig, _ := c.Signals("openai/gpt-4o#west")
		if sig.CurrentInflight != 0 {
			t.Errorf("west in flight after Close = %d", sig.CurrentInflight)
		}
	})
}

// Calls in flight when a deployment's key is revoked meet it at most once
// each; the calls after never do.
func TestPoolConcurrentCallsMeetRevokedKeyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srvs, b := poolOf(t)
		for _, s := range srvs {
			s.SetDefault("gpt-4o", providertest.Slow(100*time.Millisecond, "ok"))
		}
		srvs["east.invalid"].SetDefault("gpt-4o", providertest.InvalidAPIKey())
		c := build(t, b)
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for range 30 {
			wg.Go(func() {
				_, err := c.Chat(context.Background(), hi())
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := srvs["east.invalid"].Requests("gpt-4o"); n > 10 {
			t.Errorf("east got %d requests; want at most the calls that picked it at once (10)", n)
		}
		before := srvs["east.invalid"].Requests("gpt-4o")
		for range 30 {
			if _, err := c.Chat(t.Context(), hi()); err != nil {
				t.Fatal(err)
			}
		}
		if n := srvs["east.invalid"].Requests("gpt-4o"); n != before {
			t.Errorf("east got %d requests after its 401; want 0", n-before)
		}
	})
}

func TestPoolBuildErrors(t *testing.T) {
	t.Setenv("POOLTEST_EMPTY", "")
	dep := client.Deployment{Name: "a", Model: "openai/gpt-4o", APIKey: eastKey}
	cases := []struct {
		name string
		b    *client.Builder
		want []string
	}{
		{"slash in name", client.NewBuilder().Pool("a/b", dep).Model("a/b"), []string{`Pool("a/b"): name must not contain "/"`}},
		{"no deployments", client.NewBuilder().Pool("p").Model("p"), []string{`Pool("p"): no deployments`}},
		{"unused", client.NewBuilder().Pool("p", dep).Model("openai/gpt-4o").APIKey(eastKey), []string{`Pool("p") is declared but used neither`}},
		{"twice", client.NewBuilder().Pool("p", dep, dep).Model("p"), []string{`deployment "a": listed twice`}},
		{"bad name", client.NewBuilder().Pool("p", client.Deployment{Name: "a b", Model: "openai/x", APIKey: eastKey}).Model("p"), []string{`Name "a b": letters, digits`}},
		{"no name", client.NewBuilder().Pool("p", client.Deployment{Model: "openai/x", APIKey: eastKey}).Model("p"), []string{`deployment 1: Name is empty`}},
		{"bad model", client.NewBuilder().Pool("p", client.Deployment{Name: "a", Model: "gpt-4o", APIKey: eastKey}).Model("p"), []string{`Model("gpt-4o"): want "provider/model"`}},
		{"bad weight", client.NewBuilder().Pool("p", client.Deployment{Name: "a", Model: "openai/x", APIKey: eastKey, Weight: -1}).Model("p"), []string{`Weight -1: must be a finite number >= 0`}},
		{"env unset", client.NewBuilder().Pool("p", client.Deployment{Name: "a", Model: "openai/x", APIKeyEnv: "POOLTEST_EMPTY"}).Model("p"), []string{`environment variable POOLTEST_EMPTY (APIKeyEnv) is not set`}},
		{"env ignored", client.NewBuilder().IgnoreEnvironment().Pool("p", client.Deployment{Name: "a", Model: "openai/x", APIKeyEnv: "X"}).Model("p"), []string{`APIKeyEnv "X": IgnoreEnvironment is set`}},
		{"no key", client.NewBuilder().IgnoreEnvironment().Pool("p", client.Deployment{Name: "a", Model: "openai/x"}).Model("p"), []string{`Pool("p") model "openai/x": no API key`}},
		{"APIKey with pool primary", client.NewBuilder().Pool("p", dep).Model("p").APIKey(eastKey), []string{`the primary is pool "p"`}},
		{"bad base URL", client.NewBuilder().Pool("p", client.Deployment{Name: "a", Model: "openai/x", APIKey: eastKey, BaseURL: "ftp://x"}).Model("p"), []string{`BaseURL "ftp://x": scheme must be http or https`}},
		{"pool twice in chain", client.NewBuilder().Pool("p", dep).Model("p").Fallback("p"), []string{`Fallback("p"): pool listed twice`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.b.Build()
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Build error:\n%v\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), eastKey) {
				t.Errorf("Build error shows a key: %v", err)
			}
		})
	}
}

// A deployment's key read from the variable it names is sent to it, and
// masked in errors.
func TestPoolKeyFromNamedVariable(t *testing.T) {
	t.Setenv("POOLTEST_KEY", westKey)
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New(providertest.WithAPIKey(westKey))
		defer srv.Close()
		srv.Script("gpt-4o", providertest.InvalidAPIKey())
		c := build(t, client.NewBuilder().
			HTTPClient(&http.Client{Transport: srv.Transport()}).
			Resilience(offConfig()).
			Pool("p", client.Deployment{Name: "a", Model: "openai/gpt-4o", BaseURL: "http://x.invalid/v1", APIKeyEnv: "POOLTEST_KEY"}).
			Model("p"))
		_, err := c.Chat(t.Context(), hi())
		if !errors.Is(err, aierrors.Authentication) || strings.Contains(err.Error(), westKey) {
			t.Fatalf("Chat = %v; want authentication, key masked", err)
		}
		// The server requires the key: an answer means it was sent.
		if _, err := c.Chat(t.Context(), hi()); err != nil {
			t.Fatalf("second Chat = %v; want the answer (cooldown off)", err)
		}
	})
}

// quotaThenHang answers its first request 429 insufficient_quota and
// holds every later one until the request's ctx ends.
type quotaThenHang struct{ n atomic.Int32 }

func (q *quotaThenHang) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if q.n.Add(1) == 1 {
		body := `{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`
		return &http.Response{StatusCode: 429, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	}
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// TestPoolDeadlineKeepsEarlierDeployments: a pool's call that ends at the
// caller's deadline keeps the errors of the deployments tried before, as
// it does when they all failed. Before, the chain the pool runs in
// replaced the pool's error by its deciding timeout, and the first
// deployment's quota_exhausted was lost.
func TestPoolDeadlineKeepsEarlierDeployments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := build(t, client.NewBuilder().IgnoreEnvironment().
			HTTPClient(&http.Client{Transport: &quotaThenHang{}}).
			Pool("gpt",
				client.Deployment{Name: "east", Model: "openai/gpt-4o", BaseURL: "http://east.invalid/v1", APIKey: "sk-test-east-0123456789abcdef"},
				client.Deployment{Name: "west", Model: "openai/gpt-4o", BaseURL: "http://west.invalid/v1", APIKey: "sk-test-west-0123456789abcdef"},
			).
			Model("gpt"))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.Chat(ctx, hi())
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "quota_exhausted") || strings.Count(err.Error(), "E3003") != 1 {
			t.Errorf("Chat() error = %v; want the deadline, once, with the first deployment's quota_exhausted kept", err)
		}
	})
}
