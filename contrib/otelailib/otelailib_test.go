package otelailib_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/contrib/otelailib"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness is an Instrumentation over in-memory OpenTelemetry SDK providers.
type harness struct {
	in     *otelailib.Instrumentation
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	in, err := otelailib.New(otelailib.WithMeterProvider(mp), otelailib.WithTracerProvider(tp))
	if err != nil {
		t.Fatalf("New() = %v; want nil error", err)
	}
	return &harness{in: in, reader: reader, spans: spans}
}

// points collects every metric as name → attribute set → value: the sum or
// gauge value, or "count=N sum=S" for a histogram.
func (h *harness) points(t *testing.T) map[string]map[string]string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect() = %v", err)
	}
	out := map[string]map[string]string{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelailib.ScopeName {
			t.Errorf("scope = %q; want %q", sm.Scope.Name, otelailib.ScopeName)
		}
		for _, m := range sm.Metrics {
			pts := map[string]string{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					pts[attrKey(p.Attributes)] = fmt.Sprint(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					pts[attrKey(p.Attributes)] = fmt.Sprint(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					pts[attrKey(p.Attributes)] = fmt.Sprintf("count=%d sum=%g", p.Count, p.Sum)
				}
			default:
				t.Errorf("metric %s has data %T", m.Name, m.Data)
			}
			if len(pts) > 0 {
				out[m.Name] = pts
			}
		}
	}
	return out
}

func attrKey(s attribute.Set) string {
	return s.Encoded(attribute.DefaultEncoder())
}

// attrs builds the attribute-set key the points helper uses.
func attrs(kv ...string) string {
	var a []attribute.KeyValue
	for i := 0; i < len(kv); i += 2 {
		a = append(a, attribute.String(kv[i], kv[i+1]))
	}
	return attrKey(attribute.NewSet(a...))
}

// target lists a target's attributes, then extra key/value pairs.
func target(name string, extra ...string) string {
	provider, model, _ := strings.Cut(name, "/")
	return attrs(append([]string{"ailib.target", name, "gen_ai.system", provider, "gen_ai.request.model", model}, extra...)...)
}

const (
	openaiTarget    = "openai/gpt-4o"
	anthropicTarget = "anthropic/claude-sonnet-4-5"
)

// The scripted run through the Transport: Unavailable, Unavailable,
// OK, with a limiter that makes each retry wait. Exact metric names,
// attributes and (fake-clock) values; one span with three attempt events.
func TestTransportRunMetricsAndSpan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.Unavailable(), providertest.Unavailable(), providertest.OK("Hello"))
		exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
			Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: 100 * time.Millisecond, BackoffMultiplier: 2},
			CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 5},
			RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: 2, Burst: 1},
		}, resilience.WithName(openaiTarget), resilience.WithHooks(h.in.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: h.in.Transport(exec, srv.Transport())}

		start := time.Now()
		resp, err := hc.Post("https://api.openai.test/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
		if err != nil {
			t.Fatalf("Post() error = %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || srv.Requests("gpt-4o") != 3 {
			t.Fatalf("Post() = %d after %d provider requests; want 200 after 3", resp.StatusCode, srv.Requests("gpt-4o"))
		}

		// Attempt 1 at 0s takes the only token. Retry after 100ms; the next
		// token comes at 500ms (wait 400ms). Retry after 200ms (700ms); the
		// next token at 1s (wait 300ms). The in-process provider takes no time.
		want := map[string]map[string]string{
			otelailib.MetricAttempts: {
				target(openaiTarget, "error.type", "overloaded"): "2",
				target(openaiTarget):                             "1",
			},
			otelailib.MetricAttemptDuration: {
				target(openaiTarget, "error.type", "overloaded"): "count=2 sum=0",
				target(openaiTarget):                             "count=1 sum=0",
			},
			otelailib.MetricActiveAttempts: {target(openaiTarget): "0"},
			otelailib.MetricRetries:        {target(openaiTarget, "error.type", "overloaded"): "2"},
			otelailib.MetricLimiterWait:    {target(openaiTarget): "count=2 sum=0.7"},
			otelailib.MetricCallDuration:   {target(openaiTarget): "count=1 sum=1"},
		}
		if diff := cmp.Diff(want, h.points(t)); diff != "" {
			t.Errorf("metrics mismatch (-want +got):\n%s", diff)
		}

		spans := h.spans.Ended()
		if len(spans) != 1 {
			t.Fatalf("ended spans = %d; want 1", len(spans))
		}
		s := spans[0]
		if s.Name() != otelailib.SpanName || s.SpanKind() != trace.SpanKindInternal || s.Status().Code != codes.Unset {
			t.Errorf("span = %q kind %v status %v; want %q internal unset", s.Name(), s.SpanKind(), s.Status(), otelailib.SpanName)
		}
		wantAttrs := []attribute.KeyValue{
			attribute.String("ailib.target", openaiTarget), attribute.String("gen_ai.system", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o"), attribute.Int64("ailib.attempt.count", 3),
			attribute.Int("http.response.status_code", 200),
		}
		if got, want := attrKey(attribute.NewSet(s.Attributes()...)), attrKey(attribute.NewSet(wantAttrs...)); got != want {
			t.Errorf("span attributes = %s; want %s", got, want)
		}
		var events []string
		for _, ev := range s.Events() {
			events = append(events, fmt.Sprintf("%s +%v %s", ev.Name, ev.Time.Sub(start), attrKey(attribute.NewSet(ev.Attributes...))))
		}
		wantEvents := []string{
			"ailib.attempt +0s ailib.attempt=1,ailib.attempt.duration=0,http.response.status_code=503",
			"ailib.attempt +500ms ailib.attempt=2,ailib.attempt.duration=0,http.response.status_code=503",
			"ailib.attempt +1s ailib.attempt=3,ailib.attempt.duration=0,http.response.status_code=200",
		}
		if diff := cmp.Diff(wantEvents, events); diff != "" {
			t.Errorf("span events (-want +got):\n%s", diff)
		}
	})
}

// postFor sends one chat request for model over srv's in-process transport
// and turns an error answer into its *aierrors.Error, as a provider adapter
// would.
func postFor(ctx context.Context, srv *providertest.Server, model string) error {
	url, body := "https://api.openai.test/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"Hi"}]}`
	if strings.HasPrefix(model, "claude") {
		url, body = "https://api.anthropic.test/v1/messages", `{"model":"`+model+`","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := srv.Transport().RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return aierrors.ClassifyResponse(resp.StatusCode, resp.Header, data)
	}
	return nil
}

// A fallback chain whose primary fails once and opens its circuit: the
// circuit state, the transition, the rejection and the fallback hops, and a
// span per target call.
func TestFallbackRunMetricsAndSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.Unavailable())
		primary, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
			Retry:          &resilience.RetryConfig{Disabled: true}, // nil would mean the default 3 retries
			CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 1, Cooldown: time.Minute},
		}, resilience.WithName(openaiTarget), resilience.WithHooks(h.in.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		fallback, err := resilience.NewResilientExecutor(resilience.DefaultConfig(),
			resilience.WithName(anthropicTarget), resilience.WithHooks(h.in.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		execs := map[string]*resilience.ResilientExecutor{openaiTarget: primary, anthropicTarget: fallback}
		chain := resilience.NewFallbackChain(openaiTarget, anthropicTarget)

		for i := range 2 {
			err := chain.Execute(context.Background(), func(ctx context.Context, name string) error {
				_, model, _ := strings.Cut(name, "/")
				return h.in.Execute(ctx, execs[name], func(ctx context.Context) error { return postFor(ctx, srv, model) })
			}, resilience.WithHooks(h.in.Hooks()))
			if err != nil {
				t.Fatalf("call %d: chain.Execute() = %v; want nil (the fallback answers)", i+1, err)
			}
		}

		want := map[string]map[string]string{
			otelailib.MetricAttempts: {
				target(openaiTarget, "error.type", "overloaded"): "1",
				target(anthropicTarget):                          "2",
			},
			otelailib.MetricAttemptDuration: {
				target(openaiTarget, "error.type", "overloaded"): "count=1 sum=0",
				target(anthropicTarget):                          "count=2 sum=0",
			},
			otelailib.MetricActiveAttempts: {target(openaiTarget): "0", target(anthropicTarget): "0"},
			otelailib.MetricCircuitState:   {target(openaiTarget): "2"},
			otelailib.MetricCircuitTransitions: {
				target(openaiTarget, "ailib.circuit.state", "open"): "1",
			},
			otelailib.MetricRejections: {
				target(openaiTarget, "ailib.rejection.reason", "circuit_open", "error.type", "overloaded"): "1",
			},
			otelailib.MetricFallbacks: {
				target(openaiTarget, "error.type", "overloaded", "ailib.fallback.to", anthropicTarget): "2",
			},
			otelailib.MetricCallDuration: {
				target(openaiTarget, "error.type", "overloaded"): "count=2 sum=0",
				target(anthropicTarget):                          "count=2 sum=0",
			},
		}
		if diff := cmp.Diff(want, h.points(t)); diff != "" {
			t.Errorf("metrics mismatch (-want +got):\n%s", diff)
		}

		var got []string
		for _, s := range h.spans.Ended() {
			got = append(got, spanSummary(s))
		}
		wantSpans := []string{
			"ailib.call error(overloaded) " + target(openaiTarget, "ailib.attempt.count", "1", "error.type", "overloaded") +
				" events[ailib.attempt=1,ailib.attempt.duration=0,error.type=overloaded]",
			"ailib.call ok " + target(anthropicTarget, "ailib.attempt.count", "1") + " events[ailib.attempt=1,ailib.attempt.duration=0]",
			"ailib.call error(overloaded) " + target(openaiTarget, "ailib.attempt.count", "0", "ailib.rejection.reason", "circuit_open", "error.type", "overloaded") +
				" events[]",
			"ailib.call ok " + target(anthropicTarget, "ailib.attempt.count", "1") + " events[ailib.attempt=1,ailib.attempt.duration=0]",
		}
		if diff := cmp.Diff(wantSpans, got); diff != "" {
			t.Errorf("spans (-want +got):\n%s", diff)
		}
	})
}

// spanSummary is "name status attributes events[...]" with every attribute
// value printed as a string.
func spanSummary(s sdktrace.ReadOnlySpan) string {
	status := "ok"
	if s.Status().Code == codes.Error {
		status = "error(" + s.Status().Description + ")"
	}
	var evs []string
	for _, ev := range s.Events() {
		evs = append(evs, stringAttrs(ev.Attributes))
	}
	return fmt.Sprintf("%s %s %s events[%s]", s.Name(), status, stringAttrs(s.Attributes()), strings.Join(evs, " "))
}

func stringAttrs(kvs []attribute.KeyValue) string {
	var s []string
	for _, kv := range kvs {
		s = append(s, string(kv.Key), kv.Value.String())
	}
	// Re-encode as strings so the key matches attrs(...).
	pairs := make([]attribute.KeyValue, 0, len(s)/2)
	for i := 0; i < len(s); i += 2 {
		pairs = append(pairs, attribute.String(s[i], s[i+1]))
	}
	return attrKey(attribute.NewSet(pairs...))
}

// Do returns op's value and instruments like Execute; a cancelled call is
// recorded with error.type cancelled.
func TestDoAndCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(),
			resilience.WithName("mistral"), resilience.WithHooks(h.in.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		v, err := otelailib.Do(context.Background(), h.in, exec, func(context.Context) (string, error) { return "answer", nil })
		if v != "answer" || err != nil {
			t.Errorf("Do() = %q, %v; want answer, nil", v, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = otelailib.Do(ctx, h.in, exec, func(context.Context) (int, error) { return 1, nil })
		if !aierrorsIsCancelled(err) {
			t.Errorf("Do(cancelled ctx) = %v; want a cancelled error", err)
		}
		pts := h.points(t)
		want := map[string]string{
			attrs("ailib.target", "mistral", "gen_ai.system", "mistral"):                            "count=1 sum=0",
			attrs("ailib.target", "mistral", "gen_ai.system", "mistral", "error.type", "cancelled"): "count=1 sum=0",
		}
		if diff := cmp.Diff(want, pts[otelailib.MetricCallDuration]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", otelailib.MetricCallDuration, diff)
		}
	})
}

func aierrorsIsCancelled(err error) bool { return aierrors.CodeOf(err) == aierrors.Cancelled }

// newExecutor is an executor with the defaults, for tests that only call
// through it.
func newExecutor(t *testing.T) *resilience.ResilientExecutor {
	t.Helper()
	exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName(openaiTarget))
	if err != nil {
		t.Fatal(err)
	}
	return exec
}

// A nil Instrumentation records nothing and only calls through.
func TestNilInstrumentation(t *testing.T) {
	var in *otelailib.Instrumentation
	if hk := in.Hooks(); hk.OnAttemptStart != nil || hk.OnFallback != nil {
		t.Error("nil Instrumentation returned non-empty hooks")
	}
	calls := 0
	err := in.Execute(context.Background(), newExecutor(t), func(context.Context) error { calls++; return nil })
	if err != nil || calls != 1 {
		t.Errorf("nil Execute() = %v after %d calls; want nil after 1", err, calls)
	}
	if _, ok := in.Transport(nil, http.DefaultTransport).(*resilience.Transport); !ok {
		t.Error("nil Transport() is not a plain *resilience.Transport")
	}
}

// New without options uses the global providers (no-op by default).
func TestNewWithGlobalProviders(t *testing.T) {
	in, err := otelailib.New()
	if err != nil || in == nil {
		t.Fatalf("New() = %v, %v; want an Instrumentation", in, err)
	}
	if err := in.Execute(context.Background(), newExecutor(t), func(context.Context) error { return nil }); err != nil {
		t.Errorf("Execute() = %v", err)
	}
}

// The final error answer through the instrumented Transport is still the
// caller's to read, and its code is the span's error.type.
func TestTransportErrorAnswerBodyIntact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		srv := providertest.New()
		srv.Script("gpt-4o", providertest.InsufficientQuota())
		exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(),
			resilience.WithName(openaiTarget), resilience.WithHooks(h.in.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		rt := h.in.Transport(exec, srv.Transport())
		req, _ := http.NewRequest(http.MethodPost, "https://api.openai.test/v1/chat/completions",
			bytes.NewReader([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("RoundTrip() error = %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 429 || !strings.Contains(string(body), "insufficient_quota") || resp.Request != req {
			t.Errorf("RoundTrip() = %d %q; want 429 with the provider's body and the caller's request", resp.StatusCode, body)
		}
		spans := h.spans.Ended()
		if len(spans) != 1 {
			t.Fatalf("spans = %d; want 1", len(spans))
		}
		if got := spanSummary(spans[0]); !strings.Contains(got, "error(quota_exhausted)") || !strings.Contains(got, "error.type=quota_exhausted") {
			t.Errorf("span = %s; want error.type quota_exhausted", got)
		}
	})
}

// Metric names are distinct and in the ailib namespace.
func TestMetricNamesUnique(t *testing.T) {
	names := []string{
		otelailib.MetricAttempts, otelailib.MetricAttemptDuration, otelailib.MetricActiveAttempts,
		otelailib.MetricRetries, otelailib.MetricRejections, otelailib.MetricFallbacks, otelailib.MetricPoolSwitches,
		otelailib.MetricCircuitState, otelailib.MetricCircuitTransitions, otelailib.MetricLimiterWait,
		otelailib.MetricCallDuration,
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || !strings.HasPrefix(n, "ailib.") {
			t.Errorf("metric name %q duplicated or outside the ailib namespace", n)
		}
		seen[n] = true
	}
}

// A retry the retry budget refuses is counted in ailib.rejections with the
// reason retry_budget, and the call's span says so.
func TestRetryBudgetRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
			Retry:          &resilience.RetryConfig{MaxRetries: 3, Budget: 1}, // one failed attempt spends half of it
			CircuitBreaker: &resilience.CircuitBreakerConfig{Disabled: true},
		}, resilience.WithName(openaiTarget), resilience.WithHooks(h.in.Hooks()))
		if err != nil {
			t.Fatal(err)
		}
		serverError := &aierrors.Error{Code: aierrors.ServerError, Message: "boom"}
		err = h.in.Execute(context.Background(), exec, func(context.Context) error { return serverError })
		if !errors.Is(err, resilience.ErrRetryBudgetExhausted) {
			t.Fatalf("Execute() = %v; want ErrRetryBudgetExhausted", err)
		}
		want := map[string]string{
			target(openaiTarget, "ailib.rejection.reason", "retry_budget", "error.type", "server_error"): "1",
		}
		if diff := cmp.Diff(want, h.points(t)[otelailib.MetricRejections]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", otelailib.MetricRejections, diff)
		}
		spans := h.spans.Ended()
		if len(spans) != 1 {
			t.Fatalf("%d spans; want 1", len(spans))
		}
		var reason string
		for _, kv := range spans[0].Attributes() {
			if kv.Key == otelailib.AttrRejectionReason {
				reason = kv.Value.AsString()
			}
		}
		if reason != otelailib.ReasonRetryBudget {
			t.Errorf("span %s = %q; want %q", otelailib.AttrRejectionReason, reason, otelailib.ReasonRetryBudget)
		}
	})
}

// A pool's deployments are measured with their model and deployment apart,
// and the pool's moves are counted.
func TestPoolDeployments(t *testing.T) {
	h := newHarness(t)
	in := h.in
	hooks := in.Hooks()
	var members []resilience.PoolMember
	for _, name := range []string{"openai/gpt-4o#east", "openai/gpt-4o#west"} {
		e, err := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName(name), resilience.WithHooks(hooks))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, resilience.PoolMember{Name: name, Executor: e})
	}
	pool, err := resilience.NewPool("gpt", members, resilience.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	err = pool.Execute(context.Background(), func(_ context.Context, m string) error {
		if strings.HasSuffix(m, "#east") {
			return &aierrors.Error{Code: aierrors.RateLimited, HTTPStatus: 429}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	points := h.points(t)
	want := attrs("ailib.target", "openai/gpt-4o#east", "gen_ai.system", "openai", "gen_ai.request.model", "gpt-4o",
		"ailib.deployment", "east", "ailib.pool", "gpt", "ailib.pool.to", "openai/gpt-4o#west", "error.type", "rate_limited")
	if got := points[otelailib.MetricPoolSwitches]; len(got) != 1 || got[want] != "1" {
		t.Errorf("%s = %v; want {%s: 1}", otelailib.MetricPoolSwitches, got, want)
	}
	if got := points[otelailib.MetricAttempts]; len(got) != 2 {
		t.Errorf("%s = %v; want one point per deployment", otelailib.MetricAttempts, got)
	}
}
