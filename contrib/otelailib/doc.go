// Package otelailib reports what ailib's resilience layer does as
// OpenTelemetry metrics and spans.
//
// It lives in its own module, github.com/ailib-go/ailib/contrib/otelailib,
// so that ailib itself does not depend on OpenTelemetry.
//
// # Wiring
//
// Build one [Instrumentation] with [New] and share it. Its
// [Instrumentation.Hooks] go to every executor and fallback chain, and give
// the metrics. Calls made through [Instrumentation.Execute], [Do] or
// [Instrumentation.Transport] also get a span each and the call duration:
//
//	in, err := otelailib.New(otelailib.WithMeterProvider(mp), otelailib.WithTracerProvider(tp))
//	exec, err := resilience.NewResilientExecutor(cfg,
//		resilience.WithName("openai/gpt-4o"), resilience.WithHooks(in.Hooks()))
//	err = in.Execute(ctx, exec, op)                     // or otelailib.Do
//	hc := &http.Client{Transport: in.Transport(exec, nil)} // for an SDK's HTTP client
//
// Without options, New uses the global providers of
// go.opentelemetry.io/otel, which record nothing until the application
// sets them.
//
// # Metrics
//
// All come from one meter named [ScopeName]. Durations are in seconds.
//
//	Name                         Instrument            Unit         Attributes (besides the target's)  Recorded
//	ailib.attempts               Int64Counter          {attempt}    error.type when failed             each attempt's end
//	ailib.attempt.duration       Float64Histogram      s            error.type when failed             each attempt's end
//	ailib.active_attempts        Int64UpDownCounter    {attempt}                                       +1 at start, -1 at end
//	ailib.retries                Int64Counter          {retry}      error.type (the reason)            each scheduled retry
//	ailib.rejections             Int64Counter          {rejection}  ailib.rejection.reason, error.type each local rejection or refused retry
//	ailib.fallbacks              Int64Counter          {fallback}   error.type, ailib.fallback.to      each move off a failed target
//	ailib.pool.switches          Int64Counter          {switch}     error.type, ailib.pool, ailib.pool.to  each move of a pool's attempt off a deployment
//	ailib.circuit.state          Int64Gauge            {state}                                         each circuit state change
//	ailib.circuit.transitions    Int64Counter          {transition} ailib.circuit.state (the new one)  each circuit state change
//	ailib.limiter.wait.duration  Float64Histogram      s                                               each wait for a rate token
//	ailib.call.duration          Float64Histogram      s            error.type when failed             each instrumented call
//
// Every measurement carries the target's attributes: ailib.target (the
// executor's name, such as "openai/gpt-4o"), and, split at the first "/",
// gen_ai.system (the provider, "openai") and gen_ai.request.model
// ("gpt-4o"; absent when the name has no "/"). A pool's deployment is
// named "provider/model#deployment" (client.Builder.Pool): the model stops
// at "#" and ailib.deployment carries the rest ("eastus"); its key never
// appears. For ailib.fallbacks the target is the one that failed;
// ailib.fallback.to is the next one, absent when the chain gave up. The
// start of a chain on its first target is not counted. ailib.pool.switches
// counts likewise a pool's moves off a deployment (the target, with the
// deployment's attributes) to another (ailib.pool.to), in the pool
// ailib.pool; a call's first choice is not counted.
//
// error.type is the snake_case name of the [aierrors.StandardErrorCode],
// such as "rate_limited", "overloaded" or "cancelled"; it is absent on
// success. ailib.rejection.reason is "circuit_open", "rate_limit_wait",
// "queue_full", "retry_budget" (a retry the retry budget refused; the
// call then ends with the failed attempt's error) or "other".
// ailib.circuit.state is "closed", "half_open" or "open"; the
// ailib.circuit.state gauge is 0 for closed, 1 for half_open and 2 for
// open, recorded when the state changes (a target
// whose circuit never changed has no point: it is closed). In-flight
// attempts are the ailib.active_attempts sum; a stream's attempt stays
// active until the stream is done.
//
// The attribute names follow the OpenTelemetry GenAI semantic conventions
// where they apply (gen_ai.system, gen_ai.request.model, error.type); newer
// versions of those conventions call the provider gen_ai.provider.name.
// Hooks carry no context, so metrics recorded from hooks have no exemplars
// linking them to a trace.
//
// # Spans
//
// [Instrumentation.Execute], [Do] and [Instrumentation.Transport] start one
// span per call, named [SpanName], of kind internal, with the target's
// attributes. Each attempt adds an event named [EventAttempt], timestamped
// at the attempt's start, with ailib.attempt (1-based) and
// ailib.attempt.duration (seconds). Through Execute and Do, an attempt
// whose op failed also has error.type; through the Transport, an attempt
// that got an answer has http.response.status_code, and one that got none
// (a reset connection, a timeout) has error.type. At the end the span
// gets ailib.attempt.count (and, through the Transport, the final
// http.response.status_code), and on failure error.type, the error status
// (described by the code's name), and ailib.rejection.reason when a local
// rejection ended the call. Error messages are not recorded: provider
// messages may echo request content.
//
// A local rejection before any attempt (an open circuit) adds no attempt
// event. Through the Transport the call (span and ailib.call.duration)
// ends when the response headers arrive; an attempt whose body is still
// being read is timed by the ailib.attempt.duration metric, not the event.
//
// # Concurrency
//
// An Instrumentation is safe for concurrent use; its hooks may serve any
// number of executors and chains. A nil *Instrumentation records nothing:
// its Hooks are empty and its Execute, Do and Transport only call through.
package otelailib
