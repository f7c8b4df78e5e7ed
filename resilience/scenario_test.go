package resilience

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
)

// Scenario tests of issue 10 against providertest, inside synctest
// bubbles: a tiny op sends one chat request through the server's
// in-process Transport, feeds the answer's rate-limit headers to the
// executor and classifies the answer with aierrors.ClassifyResponse, as a
// provider adapter does.

const scenarioModel = "gpt-4o-mini"

// providerOp is the op of the scenario tests. It records every attempt.
type providerOp struct {
	tr http.RoundTripper
	e  *ResilientExecutor

	mu       sync.Mutex
	attempts []attemptRecord
}

type attemptRecord struct {
	at     time.Duration // since start
	status int
}

func newProviderOp(srv *providertest.Server, e *ResilientExecutor) *providerOp {
	return &providerOp{tr: srv.Transport(), e: e}
}

func (p *providerOp) call(ctx context.Context, start time.Time) error {
	body := `{"model":"` + scenarioModel + `","messages":[{"role":"user","content":"hi"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://providertest.invalid/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.tr.RoundTrip(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	p.e.ObserveHeader(resp.Header)
	p.mu.Lock()
	p.attempts = append(p.attempts, attemptRecord{time.Since(start), resp.StatusCode})
	p.mu.Unlock()
	if resp.StatusCode >= 400 {
		return aierrors.ClassifyResponse(resp.StatusCode, resp.Header, b)
	}
	return err
}

// opens counts the circuit's transitions to open and the attempts sent
// before the first one.
type opens struct {
	mu       sync.Mutex
	n        int
	firstAt  int // attempts sent when the circuit first opened
	attempts func() int
}

func (o *opens) hook(s StateChange) {
	if s.To != StateOpen {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == 0 {
		o.firstAt = o.attempts()
	}
	o.n++
}

// Issue 10: with 30% random 503s (and the default 3 retries), noise never
// opens the circuit, over 10 seeds and two traffic levels, and retries
// save at least 99% of the calls. The calls run one after another, so the
// order of requests (and so the faults drawn) is the same on every run.
func TestNoiseDoesNotOpenCircuit(t *testing.T) {
	const calls = 1000
	var total, ok, oldRuleTrips int
	for seed := range int64(10) {
		// Even seeds: a call per second (about 43 attempts per window, the
		// rate rule's most sensitive range); odd seeds: 10 calls a second.
		every := time.Second
		if seed%2 == 1 {
			every = 100 * time.Millisecond
		}
		synctest.Test(t, func(t *testing.T) {
			srv := providertest.New()
			srv.SetFaults(scenarioModel, providertest.Faults{Seed: seed, Unavailable: 0.3})
			o := &opens{attempts: func() int { return srv.Requests(scenarioModel) }}
			e := mustExecutor(t, DefaultConfig(), WithName("openai/"+scenarioModel), WithHooks(Hooks{OnStateChange: o.hook}))
			p := newProviderOp(srv, e)
			start := time.Now()
			succeeded, maxRate := 0, 0.0
			for i := range calls {
				next := start.Add(time.Duration(i+1) * every)
				err := e.Execute(context.Background(), func(ctx context.Context) error { return p.call(ctx, start) })
				if s := e.Signals(); s.WindowAttempts >= DefaultMinRequests {
					maxRate = max(maxRate, s.FailureRate)
				}
				if err == nil {
					succeeded++
				} else if ae := asAI(t, err); ae.HTTPStatus != http.StatusServiceUnavailable || !errors.Is(err, ErrRetriesExhausted) {
					t.Errorf("call %d: %v; want success or the 503 after every retry", i, err)
				}
				time.Sleep(time.Until(next))
			}
			if o.n != 0 {
				t.Errorf("seed %d: the circuit opened %d times (first after %d attempts); want never", seed, o.n, o.firstAt)
			}
			longestRun, run := 0, 0
			for _, a := range p.attempts {
				if a.status == http.StatusOK {
					run = 0
				} else {
					run++
					longestRun = max(longestRun, run)
				}
			}
			t.Logf("seed %d, a call every %v: %d/%d calls succeeded, %d requests; longest run of failures %d, highest failure rate over >= %d attempts %.2f",
				seed, every, succeeded, calls, len(p.attempts), longestRun, DefaultMinRequests, maxRate)
			if longestRun >= 5 {
				oldRuleTrips++
			}
			total += calls
			ok += succeeded
		})
	}
	t.Logf("the old default (5 consecutive failures) would have opened the circuit in %d of 10 seeds", oldRuleTrips)
	if rate := float64(ok) / float64(total); rate < 0.99 {
		t.Errorf("success rate over 10 seeds = %.4f; want >= 0.99", rate)
	} else {
		t.Logf("success rate over 10 seeds = %.4f", rate)
	}
}

// Issue 10: a provider that is fully down opens the circuit within the
// documented number of attempts: DefaultFailureThreshold (12, the third
// call with 3 retries) with the default rules; MinRequests (30) from a
// quiet start with the failure rate alone. Later calls are rejected at once
// without reaching the provider.
func TestOutageOpensCircuitWithinDocumentedAttempts(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*CircuitBreakerConfig)
		want int
	}{
		{"default rules", func(*CircuitBreakerConfig) {}, DefaultFailureThreshold},
		{"failure rate only", func(c *CircuitBreakerConfig) { c.Trip = TripOnFailureRate }, DefaultMinRequests},
		{"consecutive only", func(c *CircuitBreakerConfig) { c.Trip = TripOnConsecutive }, DefaultFailureThreshold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				srv.SetFaults(scenarioModel, providertest.Faults{Unavailable: 1})
				o := &opens{attempts: func() int { return srv.Requests(scenarioModel) }}
				cfg := DefaultConfig()
				tt.cfg(cfg.CircuitBreaker)
				e := mustExecutor(t, cfg, WithHooks(Hooks{OnStateChange: o.hook}))
				p := newProviderOp(srv, e)
				start := time.Now()
				var err error
				for range 20 {
					err = e.Execute(context.Background(), func(ctx context.Context) error { return p.call(ctx, start) })
					time.Sleep(100 * time.Millisecond)
				}
				if o.n != 1 || o.firstAt != tt.want {
					t.Errorf("circuit opened %d times, first after %d attempts; want once, after %d", o.n, o.firstAt, tt.want)
				}
				if got := srv.Requests(scenarioModel); got != tt.want {
					t.Errorf("provider got %d requests; want %d (none once open)", got, tt.want)
				}
				if !errors.Is(err, ErrCircuitOpen) {
					t.Errorf("last call = %v; want ErrCircuitOpen", err)
				}
			})
		})
	}
}

// Issue 10: against a provider capped at 10 rps that reports its limit in
// OpenAI's x-ratelimit-* headers, with demand at 20 calls a second and no
// rate configured (DefaultConfig), the limiter learns the cap: after the
// first second, under 5% of the requests get a 429 and goodput stays at
// the cap. Calls that cannot get a turn before their 5s deadline are
// refused locally, at once.
func TestLimiterLearnsProviderCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			capRPS   = 10
			demand   = 20 // calls per second
			duration = 10 * time.Second
		)
		srv := providertest.New()
		srv.SetRateLimit(scenarioModel, capRPS, capRPS)
		var ev events
		e := mustExecutor(t, DefaultConfig(), WithName("openai/"+scenarioModel), WithHooks(Hooks{OnRejection: ev.hooks().OnRejection}))
		p := newProviderOp(srv, e)
		start := time.Now()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			refused  int // no turn before the deadline: refused locally
			late     int // a 429 whose wait did not fit the deadline
			failed   []error
			finished int
		)
		for i := range int(duration.Seconds()) * demand {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / demand)))
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err := e.Execute(ctx, func(ctx context.Context) error { return p.call(ctx, start) })
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					finished++
				case errors.Is(err, ErrRateLimitWait):
					refused++
				case aierrors.CodeOf(err) == aierrors.RateLimited:
					late++
				default:
					failed = append(failed, err)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)

		perSecond := make(map[int][2]int) // second -> {ok, 429}
		var after, limitedAfter int
		for _, a := range p.attempts {
			s := int(a.at / time.Second)
			c := perSecond[s]
			switch a.status {
			case http.StatusOK:
				c[0]++
			case http.StatusTooManyRequests:
				c[1]++
			}
			perSecond[s] = c
			if a.at >= time.Second {
				after++
				if a.status == http.StatusTooManyRequests {
					limitedAfter++
				}
			}
		}
		var b strings.Builder
		for s := range int(elapsed/time.Second) + 1 {
			fmt.Fprintf(&b, " %d:%d/%d", s, perSecond[s][0], perSecond[s][1])
		}
		t.Logf("over %v: %d calls succeeded, %d refused locally, %d ended on a 429, %d failed; per second ok/429:%s",
			elapsed, finished, refused, late, len(failed), b.String())
		s := e.Signals()
		t.Logf("signals: learned %.3g rps, burst %d; configured %v; provider %+v", s.LearnedRateLimit, s.LearnedBurst, s.RateLimit, s.Provider)

		if share := float64(limitedAfter) / float64(after); share >= 0.05 {
			t.Errorf("after the first second %d of %d requests got a 429 (%.1f%%); want under 5%%", limitedAfter, after, 100*share)
		}
		// Goodput at the cap: every full second from the 1st while demand
		// lasts gets at least 9 successes, and 10 on average (the provider
		// allows no more).
		sum := 0
		for sec := 1; sec < int(duration/time.Second); sec++ {
			ok := perSecond[sec][0]
			sum += ok
			if ok < capRPS-1 || ok > capRPS {
				t.Errorf("second %d: %d successes; want %d±1", sec, ok, capRPS)
			}
		}
		if avg := float64(sum) / float64(int(duration/time.Second)-1); avg < 0.95*capRPS {
			t.Errorf("goodput from the 1st second = %.2f/s; want >= %.1f/s", avg, 0.95*capRPS)
		}
		if len(failed) > 0 {
			t.Errorf("%d calls failed otherwise, first: %v", len(failed), failed[0])
		}
		if s.LearnedBurst != capRPS || s.LearnedRateLimit < capRPS || s.LearnedRateLimit > 1.1*capRPS || !isInf(s.RateLimit) {
			t.Errorf("Signals learned %v rps, burst %d, configured %v; want about %d rps, burst %d, configured +Inf",
				s.LearnedRateLimit, s.LearnedBurst, s.RateLimit, capRPS, capRPS)
		}
		for _, r := range ev.rejected {
			if r.Err.Code != aierrors.RateLimited || r.Err.RetryAfter <= 0 {
				t.Errorf("local rejection %v; want RateLimited with RetryAfter", r.Err)
				break
			}
		}
	})
}

func isInf(f float64) bool { return f > 1e308 }
