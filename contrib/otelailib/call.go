package otelailib

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Execute runs op through exec, as [resilience.ResilientExecutor.Execute]
// does, inside a span named [SpanName] with an event per attempt, and
// records ailib.call.duration. It returns exec's error unchanged. The span
// is in the ctx that op receives, so spans op starts are its children.
func (in *Instrumentation) Execute(ctx context.Context, exec *resilience.ResilientExecutor, op func(ctx context.Context) error) error {
	if in == nil {
		return exec.Execute(ctx, op)
	}
	target := targetOf(exec)
	ctx, st := in.startCall(ctx, target)
	err := exec.Execute(ctx, func(ctx context.Context) error {
		t0 := time.Now()
		err := op(ctx)
		in.attemptEvent(st, t0, err, 0)
		return err
	})
	in.endCall(ctx, st, target, err, errorType(err), 0)
	return err
}

// Do is [Instrumentation.Execute] for an op that returns a value, as
// [resilience.Do] is for Execute. On error it returns the zero T.
func Do[T any](ctx context.Context, in *Instrumentation, exec *resilience.ResilientExecutor, op func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := in.Execute(ctx, exec, func(ctx context.Context) error {
		r, err := op(ctx)
		if err == nil {
			v = r
		}
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// Transport returns [resilience.NewTransport](exec, base) with a span per
// round trip and an event per attempt: the HTTP transport for an SDK's
// client (its metrics come from the hooks given to exec). A nil base means
// a clone of [http.DefaultTransport]. The span and ailib.call.duration end
// when the response headers arrive; a final error answer (status 400 or
// more) gets the error.type its body classifies as. The returned
// RoundTripper is safe for concurrent use.
func (in *Instrumentation) Transport(exec *resilience.ResilientExecutor, base http.RoundTripper) http.RoundTripper {
	if in == nil {
		return resilience.NewTransport(exec, base)
	}
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone()
		} else {
			base = http.DefaultTransport
		}
	}
	at := &attemptTransport{in: in, next: base}
	return &transport{
		in:     in,
		target: targetOf(exec),
		next:   resilience.NewTransport(exec, at),
		base:   at,
	}
}

// targetOf is exec's name ("" for a nil exec).
func targetOf(exec *resilience.ResilientExecutor) string {
	if exec == nil {
		return ""
	}
	return exec.Signals().Target
}

// callState is one instrumented call.
type callState struct {
	span     trace.Span
	start    time.Time
	attempts atomic.Int64
}

// callKey finds a call's state in an attempt's request context.
type callKey struct{}

func (in *Instrumentation) startCall(ctx context.Context, target string) (context.Context, *callState) {
	ctx, span := in.tracer.Start(ctx, SpanName,
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(in.targetAttrs(target)...))
	st := &callState{span: span, start: time.Now()}
	return context.WithValue(ctx, callKey{}, st), st
}

// attemptEvent adds the event of an attempt that started at t0 and ended
// now with err (and, through the Transport, an answer's status).
func (in *Instrumentation) attemptEvent(st *callState, t0 time.Time, err error, status int) {
	n := st.attempts.Add(1)
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, AttrAttempt.Int64(n), AttrAttemptDuration.Float64(time.Since(t0).Seconds()))
	if status > 0 {
		attrs = append(attrs, AttrHTTPResponseCode.Int(status))
	}
	if err != nil {
		attrs = append(attrs, AttrErrorType.String(errorType(err)))
	}
	st.span.AddEvent(EventAttempt, trace.WithTimestamp(t0), trace.WithAttributes(attrs...))
}

// endCall ends the call's span and records its duration. errType is ""
// on success.
func (in *Instrumentation) endCall(ctx context.Context, st *callState, target string, err error, errType string, status int) {
	span := st.span
	span.SetAttributes(AttrAttemptCount.Int64(st.attempts.Load()))
	if status > 0 {
		span.SetAttributes(AttrHTTPResponseCode.Int(status))
	}
	opt := metric.WithAttributes(in.targetAttrs(target)...)
	if errType != "" {
		span.SetAttributes(AttrErrorType.String(errType))
		if reason := rejectionReason(err); reason != "" && reason != ReasonOther {
			span.SetAttributes(AttrRejectionReason.String(reason))
		}
		span.SetStatus(codes.Error, errType)
		opt = in.withAttrs(target, AttrErrorType.String(errType))
	}
	in.callDur.Record(ctx, time.Since(st.start).Seconds(), opt)
	span.End()
}

// transport is the call level of Instrumentation.Transport.
type transport struct {
	in     *Instrumentation
	target string
	next   *resilience.Transport
	base   *attemptTransport // next's base, for CloseIdleConnections
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, st := t.in.startCall(req.Context(), t.target)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	errType, status := "", 0
	switch {
	case err != nil:
		errType = errorType(err)
	case resp.StatusCode >= http.StatusBadRequest:
		status = resp.StatusCode
		errType = classifyAnswer(resp)
	default:
		status = resp.StatusCode
	}
	if resp != nil {
		resp.Request = req
	}
	t.in.endCall(ctx, st, t.target, err, errType, status)
	return resp, err
}

// CloseIdleConnections closes the base transport's idle connections
// (resilience.Transport does not pass the call on, so it goes to the base
// directly).
func (t *transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// classifyAnswer returns the code name of an error answer, reading the
// start of its body and putting it back.
func classifyAnswer(resp *http.Response) string {
	peek, _ := io.ReadAll(io.LimitReader(resp.Body, aierrors.MaxBodyBytes))
	resp.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(peek), resp.Body), Closer: resp.Body}
	return aierrors.ClassifyResponse(resp.StatusCode, resp.Header, peek).Code.Name()
}

type peekedBody struct {
	io.Reader
	io.Closer
}

// attemptTransport adds an attempt event to the call found in each
// request's context.
type attemptTransport struct {
	in   *Instrumentation
	next http.RoundTripper
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(callKey{}).(*callState)
	if st == nil {
		return t.next.RoundTrip(req)
	}
	t0 := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.in.attemptEvent(st, t0, err, status)
	return resp, err
}

func (t *attemptTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
