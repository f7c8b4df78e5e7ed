package scenarios

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
)

// Env is where scenarios run: on loopback sockets in real time
// ([Loopback]), or in-process inside a testing/synctest bubble
// ([InProcess]). The zero Env is not usable.
type Env struct {
	// Name is shown in the tables' heading.
	Name string
	// Scale multiplies every duration of the scenario (outage, demand
	// window, provider delays and rate cap, deadlines, and the contenders'
	// time knobs); 1 = the scenario as defined. Latencies are reported
	// divided by Scale, in scenario time.
	Scale float64
	// Virtual is set when time is a synctest bubble's.
	Virtual bool
	// server returns a fresh provider server, a client reaching it, and
	// what to call when the run is over.
	server func() (*providertest.Server, *http.Client, func())
}

// Loopback runs scenarios against [providertest.NewServer] on a loopback
// port, with real HTTP and real time scaled by scale (0 < scale ≤ 1).
func Loopback(scale float64) Env {
	if !(scale > 0) || scale > 1 {
		scale = 1
	}
	return Env{
		Name:  "real HTTP on loopback",
		Scale: scale,
		server: func() (*providertest.Server, *http.Client, func()) {
			srv := providertest.NewServer()
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConns = 1024
			tr.MaxIdleConnsPerHost = 1024
			hc := &http.Client{Transport: tr}
			return srv, hc, func() {
				tr.CloseIdleConnections()
				srv.Close()
			}
		},
	}
}

// InProcess runs scenarios against [providertest.New] through its
// in-process Transport: no sockets, so it works in a testing/synctest
// bubble, where all time is virtual and the scenario runs at full scale.
func InProcess() Env {
	return Env{
		Name:    "in-process transport, synctest virtual time",
		Scale:   1,
		Virtual: true,
		server: func() (*providertest.Server, *http.Client, func()) {
			srv := providertest.New()
			return srv, &http.Client{Transport: srv.Transport()}, srv.Close
		},
	}
}

// Result is one contender's row in one scenario. Durations are in
// scenario time (measured, divided by the scale).
type Result struct {
	Contender string
	Err       error // the contender could not be built; nothing else is set

	Calls, OK int
	// Requests counts what the provider server received, all models.
	Requests int
	// PrimaryRequests and FallbackRequests split Requests by model.
	PrimaryRequests, FallbackRequests int
	// RateLimited counts the 429s the server sent.
	RateLimited int
	// Dead counts requests sent to a dead provider: the primary's 503s
	// during the outage (S2), every request to the quota-exhausted primary
	// (S4); -1 where the scenario has no dead provider.
	Dead int
	// FirstPrimary counts the first call's requests to the primary, when
	// the scenario runs it alone (S4); -1 otherwise.
	FirstPrimary int
	// P50, P90, P99 are call latencies (failed calls included).
	P50, P90, P99 time.Duration
	// Back is the time from the primary's recovery to the first answer
	// from the primary (S2); -1 where there is no recovery, and Never when
	// no call reached the primary after it.
	Back time.Duration
	// Goodput is successful calls per second, from the first call to the
	// last completion.
	Goodput float64
	// StormPerCall is requests to the overloaded provider per call started
	// during the overload (S6); 0 elsewhere.
	StormPerCall float64
	// Elapsed is the run's length: first call to last completion.
	Elapsed time.Duration
	// Errors holds up to three distinct error messages of failed calls.
	Errors []string
}

// Never marks a Result.Back when traffic never went back to the primary.
const Never time.Duration = math.MaxInt64

// Success is the share of calls that succeeded.
func (r Result) Success() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.OK) / float64(r.Calls)
}

// PerCall is the number of provider requests per call.
func (r Result) PerCall() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.Requests) / float64(r.Calls)
}

// Options tune a run.
type Options struct {
	Seed int64 // seed of the provider's random faults
	// Sequential makes RunAll run the contenders one after another instead
	// of at the same time.
	Sequential bool
}

// CallHeader is the request header every contender sets to the index of
// the call a request belongs to (the same on every attempt), so that a
// provider with [providertest.Faults.CallKey] deals each call the same
// faults whichever contender makes it and in whatever order.
const CallHeader = "X-Bench-Call"

// callKey is the context key of the call's index ([CallHeader]).
type callKey struct{}

// callID returns the call index Run put in ctx, or "".
func callID(ctx context.Context) string {
	id, _ := ctx.Value(callKey{}).(string)
	return id
}

// call is what one call did.
type call struct {
	start, end time.Time
	servedBy   string
	err        error
}

// Run plays sc against one contender in env and measures it. It blocks
// until every call has returned.
func Run(ctx context.Context, env Env, sc Scenario, c Contender, opt Options) Result {
	res := Result{Contender: c.Name, Dead: -1, FirstPrimary: -1, Back: -1}
	s := env.Scale
	if !(s > 0) {
		s = 1
	}
	srv, hc, done := env.server()
	defer done()
	if sc.setup != nil {
		sc.setup(srv, opt.Seed, s)
	}
	caller, err := c.New(sc.Knobs.scaled(s), srv.URL(), hc)
	if err != nil {
		res.Err = err
		return res
	}

	calls := make([]call, sc.calls)
	interval := scale(time.Duration(float64(time.Second)/sc.rate), s)
	timeoutD := scale(sc.callTimeout, s)
	one := func(i int) {
		cctx, cancel := context.WithTimeout(ctx, timeoutD)
		defer cancel()
		cctx = context.WithValue(cctx, callKey{}, strconv.Itoa(i))
		calls[i].start = time.Now()
		calls[i].servedBy, calls[i].err = caller.Call(cctx)
		calls[i].end = time.Now()
	}

	t0 := time.Now()
	var wg sync.WaitGroup
	// Timed changes of the provider, on their own goroutine.
	wg.Go(func() {
		for _, ev := range sc.events {
			if !sleepUntil(ctx, t0.Add(scale(ev.at, s))) {
				return
			}
			ev.do(srv, s)
		}
	})
	first := 0
	if sc.firstAlone && sc.calls > 0 {
		one(0)
		res.FirstPrimary = srv.Stats(Primary).Requests
		first = 1
	}
	start := time.Now() // the other calls follow at the scenario's rate
	for i := first; i < sc.calls; i++ {
		if !sleepUntil(ctx, start.Add(time.Duration(i-first)*interval)) {
			break
		}
		wg.Go(func() { one(i) })
	}
	wg.Wait()

	// Measure.
	pst, fst := srv.Stats(Primary), srv.Stats(Fallback)
	res.Calls = sc.calls
	res.PrimaryRequests, res.FallbackRequests = pst.Requests, fst.Requests
	res.Requests = pst.Requests + fst.Requests
	res.RateLimited = pst.ByStatus[http.StatusTooManyRequests] + fst.ByStatus[http.StatusTooManyRequests]
	switch {
	case sc.recovery > 0:
		res.Dead = pst.ByStatus[http.StatusServiceUnavailable]
	case sc.primaryDead:
		res.Dead = pst.Requests
	}
	lat := make([]time.Duration, 0, len(calls))
	var firstStart, lastEnd time.Time
	recoveryAt := t0.Add(scale(sc.recovery, s))
	outageAt := t0.Add(scale(sc.outageStart, s))
	outageCalls := 0
	back := time.Time{}
	seen := map[string]bool{}
	for _, cl := range calls {
		if cl.start.IsZero() {
			continue // not started: the caller's ctx ended
		}
		if firstStart.IsZero() || cl.start.Before(firstStart) {
			firstStart = cl.start
		}
		if cl.end.After(lastEnd) {
			lastEnd = cl.end
		}
		lat = append(lat, unscale(cl.end.Sub(cl.start), s))
		if sc.outageStart > 0 && !cl.start.Before(outageAt) && cl.start.Before(recoveryAt) {
			outageCalls++
		}
		if cl.err != nil {
			if msg := cl.err.Error(); !seen[msg] && len(res.Errors) < 3 {
				seen[msg] = true
				res.Errors = append(res.Errors, msg)
			}
			continue
		}
		res.OK++
		if sc.recovery > 0 && cl.servedBy == Primary && cl.end.After(recoveryAt) && (back.IsZero() || cl.end.Before(back)) {
			back = cl.end
		}
	}
	slices.Sort(lat)
	res.P50, res.P90, res.P99 = quantile(lat, 0.50), quantile(lat, 0.90), quantile(lat, 0.99)
	res.Elapsed = unscale(lastEnd.Sub(firstStart), s)
	if res.Elapsed > 0 {
		res.Goodput = float64(res.OK) / res.Elapsed.Seconds()
	}
	if outageCalls > 0 {
		res.StormPerCall = float64(res.Dead) / float64(outageCalls)
	}
	if sc.recovery > 0 {
		res.Back = Never
		if !back.IsZero() {
			res.Back = unscale(back.Sub(recoveryAt), s)
		}
	}
	return res
}

// RunAll plays sc against every contender that runs in it, each with its
// own provider server, at the same time (or one after another with
// opt.Sequential), and returns the rows in the order of cs.
func RunAll(ctx context.Context, env Env, sc Scenario, cs []Contender, opt Options) []Result {
	var out []Result
	for _, c := range cs {
		if c.runs(sc.ID) {
			out = append(out, Result{Contender: c.Name})
		}
	}
	var wg sync.WaitGroup
	i := 0
	for _, c := range cs {
		if !c.runs(sc.ID) {
			continue
		}
		idx := i
		i++
		if opt.Sequential {
			out[idx] = Run(ctx, env, sc, c, opt)
			continue
		}
		wg.Go(func() { out[idx] = Run(ctx, env, sc, c, opt) })
	}
	wg.Wait()
	return out
}

func unscale(d time.Duration, s float64) time.Duration {
	if s == 1 {
		return d
	}
	return time.Duration(float64(d) / s)
}

// quantile returns the nearest-rank q-quantile of sorted.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sleepUntil waits until t or until ctx is done; it reports whether t was
// reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	return sleepCtx(ctx, d)
}

// String gives a one-line summary of r, for logs.
func (r Result) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%s: error: %v", r.Contender, r.Err)
	}
	return fmt.Sprintf("%s: %d/%d ok, %d requests (%d primary, %d fallback), %d 429s, dead %d, p50 %v p99 %v, back %v",
		r.Contender, r.OK, r.Calls, r.Requests, r.PrimaryRequests, r.FallbackRequests, r.RateLimited, r.Dead, r.P50, r.P99, r.Back)
}
