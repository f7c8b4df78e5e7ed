package otelailib_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/contrib/otelailib"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// An Instrumentation's hooks give an executor's metrics; its Execute adds
// a span per call with an event per attempt. Here the provider is
// overloaded once, then answers.
func ExampleNew() {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader() // in production: a periodic reader and an exporter
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)

	in, err := otelailib.New(otelailib.WithMeterProvider(mp), otelailib.WithTracerProvider(tp))
	if err != nil {
		fmt.Println(err)
		return
	}
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 2, InitialDelay: time.Millisecond},
	}, resilience.WithName("openai/gpt-4o"), resilience.WithHooks(in.Hooks()))
	if err != nil {
		fmt.Println(err)
		return
	}

	attempt := 0
	err = in.Execute(ctx, exec, func(ctx context.Context) error {
		attempt++
		if attempt == 1 {
			return &aierrors.Error{Code: aierrors.Overloaded, HTTPStatus: 503}
		}
		return nil // a real op would call the provider with ctx
	})
	fmt.Println("err:", err)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		fmt.Println(err)
		return
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, p := range sum.DataPoints {
				lines = append(lines, fmt.Sprintf("%s %d {%s}", m.Name, p.Value, p.Attributes.Encoded(attribute.DefaultEncoder())))
			}
		} else {
			lines = append(lines, m.Name)
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	s := spans.Ended()[0]
	fmt.Println("span:", s.Name(), "events:", len(s.Events()))
	// Output:
	// err: <nil>
	// ailib.active_attempts 0 {ailib.target=openai/gpt-4o,gen_ai.request.model=gpt-4o,gen_ai.system=openai}
	// ailib.attempt.duration
	// ailib.attempts 1 {ailib.target=openai/gpt-4o,error.type=overloaded,gen_ai.request.model=gpt-4o,gen_ai.system=openai}
	// ailib.attempts 1 {ailib.target=openai/gpt-4o,gen_ai.request.model=gpt-4o,gen_ai.system=openai}
	// ailib.call.duration
	// ailib.retries 1 {ailib.target=openai/gpt-4o,error.type=overloaded,gen_ai.request.model=gpt-4o,gen_ai.system=openai}
	// span: ailib.call events: 2
}

// Instrumentation.Transport is the HTTP transport for an SDK's client: a
// span per round trip, an event per attempt, and the executor's metrics
// from its hooks.
func ExampleInstrumentation_Transport() {
	srv := providertest.NewServer() // a fault-injection provider on loopback
	defer srv.Close()
	srv.Script("gpt-4o", providertest.Unavailable(), providertest.OK("Hello!"))

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	in, err := otelailib.New(otelailib.WithTracerProvider(tp)) // metrics: the global provider
	if err != nil {
		fmt.Println(err)
		return
	}
	exec, err := resilience.NewResilientExecutor(resilience.ResilientConfig{
		Retry: &resilience.RetryConfig{MaxRetries: 2, InitialDelay: time.Millisecond},
	}, resilience.WithName("openai/gpt-4o"), resilience.WithHooks(in.Hooks()))
	if err != nil {
		fmt.Println(err)
		return
	}
	hc := &http.Client{Transport: in.Transport(exec, nil)} // e.g. option.WithHTTPClient(hc)
	defer hc.CloseIdleConnections()

	resp, err := hc.Post(srv.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println("status:", resp.StatusCode)

	s := spans.Ended()[0]
	fmt.Println("span:", s.Name())
	for _, ev := range s.Events() {
		for _, kv := range ev.Attributes {
			if kv.Key == otelailib.AttrHTTPResponseCode {
				fmt.Println(" ", ev.Name, kv.Value.AsInt64())
			}
		}
	}
	// Output:
	// status: 200
	// span: ailib.call
	//   ailib.attempt 503
	//   ailib.attempt 200
}
