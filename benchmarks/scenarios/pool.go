package scenarios

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/shared"
)

// PoolModel is the model every deployment of a pool scenario serves.
const PoolModel = "gpt-4o"

// PoolScenario is a scenario of issue 19: one model behind several
// deployments (keys, accounts, regions), each a provider server of its own
// with its own rate cap, which no caller is told.
type PoolScenario struct {
	ID, Name string
	// Caps is each deployment's cap in requests per second (0: none),
	// enforced as a token bucket of Burst; Style is what its headers say.
	Caps  []float64
	Burst int
	Style providertest.RateLimitStyle
	// Weights are the pool's static weights (nil: equal).
	Weights []float64
	// Rate calls a second, evenly spaced, for Duration; each call has
	// Deadline.
	Rate     float64
	Duration time.Duration
	Deadline time.Duration
	// Latency is every answer's delay.
	Latency time.Duration
	// RevokeAt > 0 revokes the first deployment's key then: it answers
	// 401 invalid_api_key from that moment on.
	RevokeAt time.Duration
	// Replicas is the number of clients (service replicas) the calls are
	// spread over, round-robin; for ailib they share a store (in memory
	// here; Redis in the redisstore module's test). 0 means 1.
	Replicas int
}

// Calls is the number of calls the scenario makes.
func (sc PoolScenario) Calls() int { return int(math.Round(sc.Rate * sc.Duration.Seconds())) }

// PoolScenarios returns the scenarios of issue 19, with OpenAI's
// documented headers (per-minute limits over a per-second bucket).
func PoolScenarios() []PoolScenario {
	base := PoolScenario{Burst: 2, Style: providertest.RateLimitOpenAIPerMinute, Deadline: 5 * time.Second, Latency: 20 * time.Millisecond}
	p1, p2, p3, p4, p5 := base, base, base, base, base
	p1.ID, p1.Name = "P1", "three deployments capped at 10 rps each, 25 calls/s for 20 s"
	p1.Caps, p1.Rate, p1.Duration = []float64{10, 10, 10}, 25, 20*time.Second
	p2.ID, p2.Name = "P2", "unequal caps 15/10/5 rps, 27 calls/s for 20 s, 5 s deadline"
	p2.Caps, p2.Rate, p2.Duration = []float64{15, 10, 5}, 27, 20*time.Second
	p3.ID, p3.Name = "P3", "first deployment's key revoked at 3 s, 20 calls/s for 12 s"
	p3.Caps, p3.Rate, p3.Duration, p3.RevokeAt = []float64{20, 20, 20}, 20, 12*time.Second, 3*time.Second
	p4.ID, p4.Name = "P4", "weights 3:1:1, ample capacity, 20 calls/s for 10 s"
	p4.Caps, p4.Weights, p4.Rate, p4.Duration = []float64{0, 0, 0}, []float64{3, 1, 1}, 20, 10*time.Second
	p5 = p2
	p5.ID, p5.Name, p5.Replicas = "P5", "P2 over two replicas sharing a store", 2
	return []PoolScenario{p1, p2, p3, p4, p5}
}

// PoolGrid is the pool scenarios generalised: three sets of caps (equal,
// unequal, one large) at half, 80% and 90% load, each of the five ways
// providertest states a limit (OpenAI's and Anthropic's per-minute
// headers, Retry-After only, a bare 429, and "bucket" headers whose limit
// is the burst: a stated limit that lies low), bursts of 1, 2 and 4, one
// replica or two sharing a store. Two replicas with bursts of 1 are left
// out: replicas that do not share a schedule collide in a bucket of 1 (a
// request refused for each pair closer than 1/cap, a quarter of them at
// half load) whatever they learn; only a shared limiter helps there.
func PoolGrid() []PoolScenario {
	var out []PoolScenario
	styles := []providertest.RateLimitStyle{providertest.RateLimitOpenAIPerMinute, providertest.RateLimitAnthropicPerMinute,
		providertest.RateLimitRetryAfterOnly, providertest.RateLimitBare, providertest.RateLimitBucket}
	for _, caps := range [][]float64{{15, 10, 5}, {10, 10, 10}, {20, 5, 5}, {6, 6, 6}} {
		total := 0.0
		for _, c := range caps {
			total += c
		}
		for _, load := range []float64{0.5, 0.8, 0.9} {
			for _, st := range styles {
				for _, rep := range []int{1, 2} {
					for _, burst := range []int{1, 2, 4} {
						if burst == 1 && rep > 1 {
							continue
						}
						out = append(out, PoolScenario{
							ID:   fmt.Sprintf("caps %v load %.1f %s x%d b%d", caps, load, st, rep, burst),
							Name: fmt.Sprintf("caps %v, %.0f%% load, %s headers, %d replica(s), burst %d", caps, 100*load, st, rep, burst),
							Caps: caps, Burst: burst, Style: st, Rate: load * total, Duration: 20 * time.Second,
							Deadline: 5 * time.Second, Latency: 20 * time.Millisecond, Replicas: rep,
						})
					}
				}
			}
		}
	}
	return out
}

// PoolBest is the theoretical best of a pool scenario: a caller that knows
// every cap (and the revocation) and spreads calls to fit.
type PoolBest struct {
	Success     float64 // share of calls
	RateLimited int
	P99         time.Duration
	Split       []float64 // share of calls per deployment (P4: the weights)
}

// Best returns sc's theoretical best.
func (sc PoolScenario) Best() PoolBest {
	capacity := 0.0
	for _, c := range sc.Caps {
		if c == 0 {
			capacity = math.Inf(1)
		}
		capacity += c
	}
	b := PoolBest{Success: min(1, capacity/sc.Rate), P99: sc.Latency}
	if sc.Weights != nil {
		total := 0.0
		for _, w := range sc.Weights {
			total += w
		}
		for _, w := range sc.Weights {
			b.Split = append(b.Split, w/total)
		}
	}
	return b
}

// PoolResult is one contender's row in one pool scenario.
type PoolResult struct {
	Contender string
	Err       error // the contender could not be built

	Calls, OK   int
	Requests    int   // received by all deployments
	PerServer   []int // requests each deployment received
	ServedBy    []int // successful answers each deployment gave
	RateLimited int   // 429s sent, all deployments
	// Unauthorized is the 401s the revoked deployment sent: its first,
	// and every request to it after.
	Unauthorized int
	P50, P99     time.Duration
	Goodput      float64 // successful calls a second, first call to last completion
	Errors       []string
}

// Success is the share of calls that succeeded.
func (r PoolResult) Success() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.OK) / float64(r.Calls)
}

// Split is each deployment's share of the successful answers.
func (r PoolResult) Split() []float64 {
	out := make([]float64, len(r.ServedBy))
	for i, n := range r.ServedBy {
		if r.OK > 0 {
			out[i] = float64(n) / float64(r.OK)
		}
	}
	return out
}

// PoolContender is a way to call a pool of deployments.
type PoolContender struct {
	Name   string
	Config string // how it is set up, for the README
	// New returns one replica's caller over the deployments at urls;
	// store is shared by the replicas of one run.
	New func(sc PoolScenario, urls []string, hc *http.Client, store *PoolStore) (Caller, error)
}

// PoolStore is what replicas of one run share: ailib's shared state and
// limiter stores (in memory here).
type PoolStore struct {
	State   shared.State
	Limiter shared.Limiter // nil: none
}

// PoolContenders returns ailib's pool with its defaults, and the ways
// users spread one model over keys today.
func PoolContenders() []PoolContender {
	return []PoolContender{
		{Name: "ailib pool, defaults", Config: "client.NewBuilder().Pool(\"gpt\", Deployment{Name, Model, BaseURL, APIKey, Weight}...).Model(\"gpt\"): " +
			"no Resilience call; replicas add ExecutorOptions(WithSharedState(store, \"\"))", New: newAilibPool},
		{Name: "weighted random, switch key on 401/403/429", Config: "bifrost-style: a key drawn by weight per attempt among those " +
			"not tried; 401/403/429 switch key at once, 5xx and network errors sleep 1 s; 4 attempts", New: newWeightedRandom},
		{Name: "round-robin + retry loop", Config: "hand-written: the next key in turn per attempt, 1 s sleep after a failure; 4 attempts", New: newRoundRobin},
		{Name: "one key, retry loop", Config: "the first deployment only, 1 s sleep after a failure; 4 attempts (openai-go or failsafe-go on one key)", New: newOneKey},
	}
}

func newAilibPool(sc PoolScenario, urls []string, hc *http.Client, store *PoolStore) (Caller, error) {
	deps := make([]client.Deployment, len(urls))
	for i, u := range urls {
		deps[i] = client.Deployment{Name: "d" + strconv.Itoa(i), Model: "openai/" + PoolModel, BaseURL: u + "/v1", APIKey: apiKey}
		if sc.Weights != nil {
			deps[i].Weight = sc.Weights[i]
		}
	}
	b := client.NewBuilder().IgnoreEnvironment().HTTPClient(hc).Pool("gpt", deps...).Model("gpt")
	if store != nil {
		var opts []resilience.Option
		if store.State != nil {
			opts = append(opts, resilience.WithSharedState(store.State, ""))
		}
		if store.Limiter != nil {
			opts = append(opts, resilience.WithSharedLimiter(store.Limiter, ""))
		}
		b.ExecutorOptions(opts...)
	}
	c, err := b.Build()
	if err != nil {
		return nil, err
	}
	return ailibCaller{c: c}, nil
}

// keyLoop is the hand-written contenders: pick chooses the deployment of
// attempt i (tried holds those the call tried), after failing with status
// (0: network error) switch says whether to go on at once.
type keyLoop struct {
	hc       *http.Client
	urls     []string
	attempts int
	sleep    time.Duration
	pick     func(i int, tried uint64) int
	switchOn func(status int) bool
}

func (k keyLoop) Call(ctx context.Context) (string, error) {
	var tried uint64
	var last error
	for i := range k.attempts {
		d := k.pick(i, tried)
		tried |= 1 << d
		resp, err := post(ctx, k.hc, k.urls[d], PoolModel, 0)
		status := 0
		switch {
		case err != nil:
			last = err
		case resp.StatusCode == http.StatusOK:
			return strconv.Itoa(d), nil
		default:
			status = resp.StatusCode
			last = fmt.Errorf("HTTP %d from deployment %d", status, d)
		}
		if ctx.Err() != nil {
			return "", last
		}
		if i+1 < k.attempts && !k.switchOn(status) && !sleepCtx(ctx, k.sleep) {
			return "", last
		}
	}
	return "", last
}

func newWeightedRandom(sc PoolScenario, urls []string, hc *http.Client, _ *PoolStore) (Caller, error) {
	weights := sc.Weights
	if weights == nil {
		weights = slices.Repeat([]float64{1}, len(urls))
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(19, 19))
	return keyLoop{hc: hc, urls: urls, attempts: 4, sleep: time.Second,
		pick: func(_ int, tried uint64) int {
			mu.Lock()
			defer mu.Unlock()
			total := 0.0
			for i, w := range weights {
				if tried&(1<<i) == 0 || tried == 1<<len(urls)-1 {
					total += w
				}
			}
			x := rng.Float64() * total
			for i, w := range weights {
				if tried&(1<<i) == 0 || tried == 1<<len(urls)-1 {
					if x < w {
						return i
					}
					x -= w
				}
			}
			return len(urls) - 1
		},
		switchOn: func(status int) bool {
			return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests
		}}, nil
}

func newRoundRobin(_ PoolScenario, urls []string, hc *http.Client, _ *PoolStore) (Caller, error) {
	var next atomic.Uint64
	return keyLoop{hc: hc, urls: urls, attempts: 4, sleep: time.Second,
		pick:     func(int, uint64) int { return int((next.Add(1) - 1) % uint64(len(urls))) },
		switchOn: func(int) bool { return false }}, nil
}

func newOneKey(_ PoolScenario, urls []string, hc *http.Client, _ *PoolStore) (Caller, error) {
	return keyLoop{hc: hc, urls: urls, attempts: 4, sleep: time.Second,
		pick:     func(int, uint64) int { return 0 },
		switchOn: func(int) bool { return false }}, nil
}

// poolServers returns n provider servers for env: in-process behind one
// transport that routes by host, or listening on loopback ports.
func poolServers(env Env, n int) (srvs []*providertest.Server, urls []string, hc *http.Client, done func()) {
	if env.Virtual {
		m := map[string]*providertest.Server{}
		for i := range n {
			s := providertest.New()
			host := "d" + strconv.Itoa(i) + ".invalid"
			m[host] = s
			srvs, urls = append(srvs, s), append(urls, "http://"+host)
		}
		return srvs, urls, &http.Client{Transport: providertest.HostTransport(m)}, func() {
			for _, s := range srvs {
				s.Close()
			}
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
	for range n {
		s := providertest.NewServer()
		srvs, urls = append(srvs, s), append(urls, s.URL())
	}
	return srvs, urls, &http.Client{Transport: tr}, func() {
		tr.CloseIdleConnections()
		for _, s := range srvs {
			s.Close()
		}
	}
}

// RunPool plays sc against c in env (whose Scale is ignored: pool
// scenarios run at full scale) and measures it. It blocks until every
// call has returned.
func RunPool(ctx context.Context, env Env, sc PoolScenario, c PoolContender) PoolResult {
	res := PoolResult{Contender: c.Name}
	srvs, urls, hc, done := poolServers(env, len(sc.Caps))
	defer done()
	for i, s := range srvs {
		s.SetDefault(PoolModel, providertest.Answer{Status: http.StatusOK, Text: providertest.DefaultText, Delay: sc.Latency})
		if sc.Caps[i] > 0 {
			s.SetRateLimitStyle(PoolModel, sc.Caps[i], sc.Burst, sc.Style)
		}
	}
	store := &PoolStore{State: shared.NewMemoryState()}
	replicas := make([]Caller, max(sc.Replicas, 1))
	for i := range replicas {
		var err error
		if replicas[i], err = c.New(sc, urls, hc, store); err != nil {
			res.Err = err
			return res
		}
	}

	n := sc.Calls()
	calls := make([]call, n)
	interval := time.Duration(float64(time.Second) / sc.Rate)
	t0 := time.Now()
	var wg sync.WaitGroup
	if sc.RevokeAt > 0 {
		wg.Go(func() {
			if sleepUntil(ctx, t0.Add(sc.RevokeAt)) {
				srvs[0].SetDefault(PoolModel, providertest.InvalidAPIKey())
			}
		})
	}
	for i := range n {
		if !sleepUntil(ctx, t0.Add(time.Duration(i)*interval)) {
			break
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, sc.Deadline)
			defer cancel()
			calls[i].start = time.Now()
			calls[i].servedBy, calls[i].err = replicas[i%len(replicas)].Call(cctx)
			calls[i].end = time.Now()
		})
	}
	wg.Wait()
	for _, r := range replicas {
		if cl, ok := r.(interface{ Close() }); ok {
			cl.Close()
		}
	}

	res.Calls = n
	for _, s := range srvs {
		st := s.Stats(PoolModel)
		res.PerServer = append(res.PerServer, st.Requests)
		res.ServedBy = append(res.ServedBy, st.ByStatus[http.StatusOK])
		res.Requests += st.Requests
		res.RateLimited += st.ByStatus[http.StatusTooManyRequests]
	}
	if sc.RevokeAt > 0 {
		res.Unauthorized = srvs[0].Stats(PoolModel).ByStatus[http.StatusUnauthorized]
	}
	lat := make([]time.Duration, 0, n)
	var first, last time.Time
	seen := map[string]bool{}
	for _, cl := range calls {
		if cl.start.IsZero() {
			continue
		}
		if first.IsZero() || cl.start.Before(first) {
			first = cl.start
		}
		if cl.end.After(last) {
			last = cl.end
		}
		lat = append(lat, cl.end.Sub(cl.start))
		if cl.err != nil {
			if msg := cl.err.Error(); !seen[msg] && len(res.Errors) < 3 {
				seen[msg] = true
				res.Errors = append(res.Errors, msg)
			}
			continue
		}
		res.OK++
	}
	slices.Sort(lat)
	res.P50, res.P99 = quantile(lat, 0.5), quantile(lat, 0.99)
	if el := last.Sub(first); el > 0 {
		res.Goodput = float64(res.OK) / el.Seconds()
	}
	return res
}

// PoolViolations returns the bounds of issue 19 that ailib's row r breaks
// in sc, given the other contenders' rows (empty when it holds them all).
func PoolViolations(sc PoolScenario, r PoolResult, others []PoolResult) []string {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	if r.Err != nil {
		return []string{r.Err.Error()}
	}
	if s := r.Success(); s < 0.99 {
		bad("success %.1f%% < 99%%", 100*s)
	}
	if limit := 0.01 * float64(r.Calls); float64(r.RateLimited) >= limit {
		bad("429s %d, not fewer than 1%% of %d calls", r.RateLimited, r.Calls)
	}
	switch sc.ID {
	case "P1":
		if want := sc.Rate; r.Goodput < 0.98*want {
			bad("goodput %.2f/s not within 2%% of %.0f/s", r.Goodput, want)
		}
	case "P2", "P5":
		if r.P99 >= 200*time.Millisecond {
			bad("p99 %v not under 200ms", r.P99)
		}
		for _, o := range others {
			if o.Err == nil && o.OK > r.OK {
				bad("fewer successes (%d) than %s (%d)", r.OK, o.Contender, o.OK)
			}
		}
	case "P3":
		if r.OK != r.Calls {
			bad("%d calls failed", r.Calls-r.OK)
		}
		if r.Unauthorized > 3 {
			bad("%d requests answered 401 by the revoked deployment; want its first and at most the calls in flight then (3)", r.Unauthorized)
		}
	case "P4":
		for i, share := range r.Split() {
			if want := sc.Best().Split[i]; math.Abs(share-want) > 0.05 {
				bad("deployment %d served %.1f%% of calls; want %.0f%% ± 5", i, 100*share, 100*want)
			}
		}
	}
	return v
}

// Summary is r in one line.
func (r PoolResult) Summary() string {
	if r.Err != nil {
		return r.Contender + ": " + r.Err.Error()
	}
	split := make([]string, len(r.ServedBy))
	for i, s := range r.Split() {
		split[i] = strconv.FormatFloat(100*s, 'f', 1, 64)
	}
	s := fmt.Sprintf("%s: %d/%d ok (%.1f%%), %d requests, %d×429, p50 %v, p99 %v, goodput %.2f/s, split %s",
		r.Contender, r.OK, r.Calls, 100*r.Success(), r.Requests, r.RateLimited, r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Goodput, strings.Join(split, "/"))
	if r.Unauthorized > 0 {
		s += fmt.Sprintf(", %d×401 from the revoked key", r.Unauthorized)
	}
	if len(r.Errors) > 0 {
		s += "; errors: " + strings.Join(r.Errors, " | ")
	}
	return s
}

// PoolMarkdown writes one table per scenario: the theoretical best, then
// each contender's row.
func PoolMarkdown(w io.Writer, env Env, sc PoolScenario, rows []PoolResult) {
	b := sc.Best()
	fmt.Fprintf(w, "**%s: %s** (%s, %s headers, burst %d)\n\n", sc.ID, sc.Name, env.Name, sc.Style, sc.Burst)
	fmt.Fprintln(w, "| contender | success | 429s | 401s | p50 | p99 | goodput | split |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	best401 := "—"
	if sc.RevokeAt > 0 {
		best401 = "1"
	}
	split := "—"
	if b.Split != nil {
		parts := make([]string, len(b.Split))
		for i, s := range b.Split {
			parts[i] = strconv.FormatFloat(100*s, 'f', 0, 64)
		}
		split = strings.Join(parts, "/")
	}
	fmt.Fprintf(w, "| theoretical best | %.1f%% | 0 | %s | %v | %v | %.1f/s | %s |\n", 100*b.Success, best401, sc.Latency, b.P99, min(sc.Rate, sc.Rate*b.Success), split)
	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(w, "| %s | error: %v | | | | | | |\n", r.Contender, r.Err)
			continue
		}
		parts := make([]string, len(r.ServedBy))
		for i, s := range r.Split() {
			parts[i] = strconv.FormatFloat(100*s, 'f', 0, 64)
		}
		u := "—"
		if sc.RevokeAt > 0 {
			u = strconv.Itoa(r.Unauthorized)
		}
		fmt.Fprintf(w, "| %s | %.1f%% | %d | %s | %v | %v | %.1f/s | %s |\n", r.Contender, 100*r.Success(), r.RateLimited, u,
			r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Goodput, strings.Join(parts, "/"))
	}
	fmt.Fprintln(w)
}
