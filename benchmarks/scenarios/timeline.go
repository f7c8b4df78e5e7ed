package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
)

// TimelineBucket is the width of a [Timeline]'s buckets, in scenario time.
const TimelineBucket = 500 * time.Millisecond

// Timeline is what one contender sent the provider over one run: the
// requests to [Primary] and to [Fallback] per [TimelineBucket], by arrival
// time at the server in scenario time (measured ÷ the timescale) since the
// run began. Primary and Fallback have the same length.
type Timeline struct {
	Contender         string
	Primary, Fallback []int
}

// WithTimeline returns env, whose runs also record in tl, when they end,
// the requests their provider server received (from
// [providertest.Server.Received]). The run's origin is when [Run] asks env
// for its server, just before it builds the contender and makes the first
// call; in a synctest bubble no time passes in between. tl.Contender is
// left as it is.
func (e Env) WithTimeline(tl *Timeline) Env {
	inner := e.server
	s := e.Scale
	if !(s > 0) {
		s = 1
	}
	e.server = func() (*providertest.Server, *http.Client, func()) {
		srv, hc, done := inner()
		start := time.Now()
		return srv, hc, func() {
			tl.record(srv.Received(), start, s)
			done()
		}
	}
	return e
}

// record counts reqs into tl's buckets, from start, at timescale s.
func (tl *Timeline) record(reqs []providertest.Request, start time.Time, s float64) {
	tl.Primary, tl.Fallback = tl.Primary[:0], tl.Fallback[:0]
	for _, r := range reqs {
		var b *[]int
		switch r.Model {
		case Primary:
			b = &tl.Primary
		case Fallback:
			b = &tl.Fallback
		default:
			continue
		}
		i := int(max(unscale(r.Time.Sub(start), s), 0) / TimelineBucket)
		for len(*b) <= i {
			*b = append(*b, 0)
		}
		(*b)[i]++
	}
	for len(tl.Primary) < len(tl.Fallback) {
		tl.Primary = append(tl.Primary, 0)
	}
	for len(tl.Fallback) < len(tl.Primary) {
		tl.Fallback = append(tl.Fallback, 0)
	}
}

// Sum returns the requests a timeline counts to the primary and to the
// fallback.
func (tl Timeline) Sum() (primary, fallback int) {
	for _, n := range tl.Primary {
		primary += n
	}
	for _, n := range tl.Fallback {
		fallback += n
	}
	return primary, fallback
}

// RunAllTimed is [RunAll] that also records every contender's [Timeline]
// (one per result, in the same order) and, when progress is not nil,
// calls it with a line as each contender starts and finishes (elapsed real
// time, calls answered, requests). The calls to progress never overlap.
func RunAllTimed(ctx context.Context, env Env, sc Scenario, cs []Contender, opt Options, progress func(line string)) ([]Result, []Timeline) {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		progress(fmt.Sprintf(format, args...))
	}
	var run []Contender
	for _, c := range cs {
		if c.runs(sc.ID) {
			run = append(run, c)
		}
	}
	out := make([]Result, len(run))
	tls := make([]Timeline, len(run))
	one := func(i int) {
		c := run[i]
		tls[i].Contender = c.Name
		say("%s %s: started (%d/%d)", sc.ID, c.Name, i+1, len(run))
		start := time.Now()
		out[i] = Run(ctx, env.WithTimeline(&tls[i]), sc, c, opt)
		r := out[i]
		if r.Err != nil {
			say("%s %s: not run: %v", sc.ID, c.Name, r.Err)
			return
		}
		say("%s %s: finished in %v: %d/%d calls answered, %d requests (%d primary, %d fallback)", sc.ID, c.Name,
			time.Since(start).Round(100*time.Millisecond), r.OK, r.Calls, r.Requests, r.PrimaryRequests, r.FallbackRequests)
	}
	var wg sync.WaitGroup
	for i := range run {
		if opt.Sequential {
			one(i)
			continue
		}
		wg.Go(func() { one(i) })
	}
	wg.Wait()
	return out, tls
}

// outage returns when sc's primary goes down and when it comes back, in
// scenario time from the first call; ok is false when sc has no outage.
func (sc Scenario) outage() (from, to time.Duration, ok bool) {
	if sc.recovery <= 0 {
		return 0, 0, false
	}
	from = sc.outageStart
	if from == 0 && len(sc.events) > 0 {
		from = sc.events[0].at
	}
	return from, sc.recovery, true
}

// length is how long sc's calls keep starting: calls ÷ rate, scenario
// time.
func (sc Scenario) length() time.Duration {
	if sc.rate <= 0 {
		return 0
	}
	return time.Duration(float64(sc.calls) / sc.rate * float64(time.Second))
}
