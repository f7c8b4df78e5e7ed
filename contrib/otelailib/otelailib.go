package otelailib

import (
	"context"
	"errors"
	"strings"
	"sync"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/ailib-go/ailib/contrib/otelailib"

// Metric names. See the package doc for instruments, units and attributes.
const (
	MetricAttempts           = "ailib.attempts"
	MetricAttemptDuration    = "ailib.attempt.duration"
	MetricActiveAttempts     = "ailib.active_attempts"
	MetricRetries            = "ailib.retries"
	MetricRejections         = "ailib.rejections"
	MetricFallbacks          = "ailib.fallbacks"
	MetricPoolSwitches       = "ailib.pool.switches"
	MetricCircuitState       = "ailib.circuit.state"
	MetricCircuitTransitions = "ailib.circuit.transitions"
	MetricLimiterWait        = "ailib.limiter.wait.duration"
	MetricCallDuration       = "ailib.call.duration"
)

// Span and event names.
const (
	SpanName     = "ailib.call"    // one span per instrumented call
	EventAttempt = "ailib.attempt" // one event per attempt
)

// Attribute keys.
const (
	AttrSystem           = attribute.Key("gen_ai.system")        // provider: the target's part before "/"
	AttrModel            = attribute.Key("gen_ai.request.model") // model: the target's part after "/" (and before "#")
	AttrDeployment       = attribute.Key("ailib.deployment")     // a pool's deployment: the target's part after "#", such as "eastus"
	AttrPool             = attribute.Key("ailib.pool")           // the pool a deployment belongs to (ailib.pool.switches)
	AttrSwitchTo         = attribute.Key("ailib.pool.to")        // the deployment a pool moved an attempt to
	AttrErrorType        = attribute.Key("error.type")           // code name, such as "rate_limited"
	AttrTarget           = attribute.Key("ailib.target")         // executor name, such as "openai/gpt-4o"
	AttrAttempt          = attribute.Key("ailib.attempt")        // 1-based attempt number (span events)
	AttrAttemptDuration  = attribute.Key("ailib.attempt.duration")
	AttrAttemptCount     = attribute.Key("ailib.attempt.count")       // attempts made by a call (span)
	AttrRejectionReason  = attribute.Key("ailib.rejection.reason")    // circuit_open, rate_limit_wait, queue_full, retry_budget, other
	AttrFallbackTo       = attribute.Key("ailib.fallback.to")         // next target of a fallback
	AttrCircuitState     = attribute.Key("ailib.circuit.state")       // closed, half_open, open
	AttrHTTPResponseCode = attribute.Key("http.response.status_code") // span events of the Transport
)

// Rejection reasons, the values of ailib.rejection.reason.
const (
	ReasonCircuitOpen   = "circuit_open"
	ReasonRateLimitWait = "rate_limit_wait"
	ReasonQueueFull     = "queue_full"
	ReasonRetryBudget   = "retry_budget" // a retry the retry budget refused
	ReasonOther         = "other"
)

// bg is the context of measurements made from hooks, which carry none.
var bg = context.Background()

// durationBuckets are the GenAI semantic conventions' boundaries for
// gen_ai.client.operation.duration, in seconds.
var durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}

// Option configures [New].
type Option interface {
	apply(*config)
}

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMeterProvider sets the meter provider. nil or unset: the global one
// (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithTracerProvider sets the tracer provider. nil or unset: the global one
// (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// Instrumentation records the metrics and spans described in the package
// doc. Build it with [New]; it is safe for concurrent use, and one is
// enough for any number of executors. A nil *Instrumentation records
// nothing.
type Instrumentation struct {
	tracer trace.Tracer

	attempts     metric.Int64Counter
	attemptDur   metric.Float64Histogram
	active       metric.Int64UpDownCounter
	retries      metric.Int64Counter
	rejections   metric.Int64Counter
	fallbacks    metric.Int64Counter
	switches     metric.Int64Counter
	circuitState metric.Int64Gauge
	transitions  metric.Int64Counter
	limiterWait  metric.Float64Histogram
	callDur      metric.Float64Histogram

	targets sync.Map // target name → []attribute.KeyValue, the target's attributes
}

// New creates the instruments on the given providers (the global ones by
// default). It fails only when the meter provider refuses an instrument;
// every such problem is reported, joined.
func New(opts ...Option) (*Instrumentation, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	m := c.mp.Meter(ScopeName)
	in := &Instrumentation{tracer: c.tp.Tracer(ScopeName)}
	var errs [11]error
	in.attempts, errs[0] = m.Int64Counter(MetricAttempts, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts made to a target, retries included."))
	in.attemptDur, errs[1] = m.Float64Histogram(MetricAttemptDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of one attempt; for a stream, until it is done."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.active, errs[2] = m.Int64UpDownCounter(MetricActiveAttempts, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts in flight."))
	in.retries, errs[3] = m.Int64Counter(MetricRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries scheduled, by the error that caused them."))
	in.rejections, errs[4] = m.Int64Counter(MetricRejections, metric.WithUnit("{rejection}"),
		metric.WithDescription("Attempts refused locally (open circuit, rate wait past the deadline, full queue) and retries refused by the retry budget."))
	in.fallbacks, errs[5] = m.Int64Counter(MetricFallbacks, metric.WithUnit("{fallback}"),
		metric.WithDescription("Moves of a fallback chain off a failed target."))
	in.circuitState, errs[6] = m.Int64Gauge(MetricCircuitState, metric.WithUnit("{state}"),
		metric.WithDescription("Circuit state of a target: 0 closed, 1 half_open, 2 open."))
	in.transitions, errs[7] = m.Int64Counter(MetricCircuitTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit state changes, by the new state."))
	in.limiterWait, errs[8] = m.Float64Histogram(MetricLimiterWait, metric.WithUnit("s"),
		metric.WithDescription("Time an attempt waited for a rate token or a provider pause."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.callDur, errs[9] = m.Float64Histogram(MetricCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of an instrumented call, retries and backoff included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.switches, errs[10] = m.Int64Counter(MetricPoolSwitches, metric.WithUnit("{switch}"),
		metric.WithDescription("Moves of a pool's attempt off a failed deployment to another."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return in, nil
}

// Hooks returns the hooks that record the metrics. Give them to every
// executor ([resilience.WithHooks] at [resilience.NewResilientExecutor])
// and fallback chain ([resilience.WithHooks] at
// [resilience.FallbackChain.Execute]). A nil Instrumentation returns
// empty hooks.
func (in *Instrumentation) Hooks() resilience.Hooks {
	if in == nil {
		return resilience.Hooks{}
	}
	return resilience.Hooks{
		OnAttemptStart: in.onAttemptStart,
		OnAttemptEnd:   in.onAttemptEnd,
		OnRetry:        in.onRetry,
		OnStateChange:  in.onStateChange,
		OnLimiterWait:  in.onLimiterWait,
		OnRejection:    in.onRejection,
		OnFallback:     in.onFallback,
		OnPoolSwitch:   in.onPoolSwitch,
	}
}

func (in *Instrumentation) onAttemptStart(a resilience.AttemptStart) {
	in.active.Add(bg, 1, metric.WithAttributes(in.targetAttrs(a.Target)...))
}

func (in *Instrumentation) onAttemptEnd(a resilience.AttemptEnd) {
	base := metric.WithAttributes(in.targetAttrs(a.Target)...)
	in.active.Add(bg, -1, base)
	opt := base
	if a.Err != nil {
		opt = in.withAttrs(a.Target, AttrErrorType.String(errorType(a.Err)))
	}
	in.attempts.Add(bg, 1, opt)
	in.attemptDur.Record(bg, a.Duration.Seconds(), opt)
}

func (in *Instrumentation) onRetry(r resilience.RetryScheduled) {
	in.retries.Add(bg, 1, in.withAttrs(r.Target, AttrErrorType.String(errorType(r.Err))))
}

func (in *Instrumentation) onStateChange(s resilience.StateChange) {
	in.circuitState.Record(bg, stateValue(s.To), metric.WithAttributes(in.targetAttrs(s.Target)...))
	in.transitions.Add(bg, 1, in.withAttrs(s.Target, AttrCircuitState.String(s.To.String())))
}

func (in *Instrumentation) onLimiterWait(w resilience.LimiterWait) {
	in.limiterWait.Record(bg, w.Wait.Seconds(), metric.WithAttributes(in.targetAttrs(w.Target)...))
}

func (in *Instrumentation) onRejection(r resilience.Rejection) {
	var err error
	if r.Err != nil {
		err = r.Err
	}
	reason := rejectionReason(err)
	if reason == "" {
		reason = ReasonOther
	}
	in.rejections.Add(bg, 1, in.withAttrs(r.Target,
		AttrRejectionReason.String(reason), AttrErrorType.String(errorType(err))))
}

func (in *Instrumentation) onFallback(h resilience.FallbackHop) {
	if h.From == "" { // the start on the first target, not a move
		return
	}
	extra := []attribute.KeyValue{AttrErrorType.String(errorType(h.Err))}
	if h.To != "" {
		extra = append(extra, AttrFallbackTo.String(h.To))
	}
	in.fallbacks.Add(bg, 1, in.withAttrs(h.From, extra...))
}

func (in *Instrumentation) onPoolSwitch(s resilience.PoolSwitch) {
	if s.From == "" { // a call's first choice, not a move
		return
	}
	in.switches.Add(bg, 1, in.withAttrs(s.From, AttrPool.String(s.Pool), AttrSwitchTo.String(s.To), AttrErrorType.String(errorType(s.Err))))
}

// targetAttrs returns target's attributes, computed once per target. The
// result is shared: never modify it.
func (in *Instrumentation) targetAttrs(target string) []attribute.KeyValue {
	if v, ok := in.targets.Load(target); ok {
		return v.([]attribute.KeyValue)
	}
	attrs := []attribute.KeyValue{AttrTarget.String(target)}
	if provider, model, ok := strings.Cut(target, "/"); ok {
		if m, deployment, ok := strings.Cut(model, "#"); ok {
			model = m
			attrs = append(attrs, AttrDeployment.String(deployment))
		}
		attrs = append(attrs, AttrSystem.String(provider), AttrModel.String(model))
	} else if target != "" {
		attrs = append(attrs, AttrSystem.String(target))
	}
	v, _ := in.targets.LoadOrStore(target, attrs)
	return v.([]attribute.KeyValue)
}

// withAttrs is the measurement option for target's attributes plus extra.
func (in *Instrumentation) withAttrs(target string, extra ...attribute.KeyValue) metric.MeasurementOption {
	base := in.targetAttrs(target)
	all := make([]attribute.KeyValue, 0, len(base)+len(extra))
	all = append(append(all, base...), extra...)
	return metric.WithAttributes(all...)
}

// errorType is the error.type of err: its code's name. An error that is not
// an *aierrors.Error is classified as the executor would
// ([aierrors.ClassifyTransport]). "" for nil.
func errorType(err error) string {
	if err == nil {
		return ""
	}
	return aierrors.ClassifyTransport(err).Code.Name()
}

// rejectionReason names the local rejection in err; "" when err is not
// one.
func rejectionReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, resilience.ErrCircuitOpen):
		return ReasonCircuitOpen
	case errors.Is(err, resilience.ErrRateLimitWait):
		return ReasonRateLimitWait
	case errors.Is(err, resilience.ErrQueueFull):
		return ReasonQueueFull
	case errors.Is(err, resilience.ErrRetryBudgetExhausted):
		return ReasonRetryBudget
	}
	return ReasonOther
}

// stateValue is the gauge value of a circuit state, by severity.
func stateValue(s resilience.CircuitState) int64 {
	switch s {
	case resilience.StateHalfOpen:
		return 1
	case resilience.StateOpen:
		return 2
	}
	return 0
}
