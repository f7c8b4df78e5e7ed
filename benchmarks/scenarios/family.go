package scenarios

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
)

// The scenario family of issue 20: scenarios generated over a grid from
// the providers' documented behaviour (not from ailib's code), each played
// by the plain retry loop and by ailib built the way a new user builds it,
// next to the point's theoretical best.
//
// Four kinds of point:
//
//   - Rate limit: the provider enforces a per-second token bucket (cap c
//     requests/s, burst b) and the caller is not told. It reports the cap
//     in one of four ways (Behaviours): OpenAI's per-minute headers over
//     the per-second bucket, Anthropic's, Retry-After alone, or a bare
//     429. Load: m × c calls/s (open loop) for FamilyWindow, each call with
//     a deadline D. Grid: c ∈ {5, 10, 20}, b ∈ {1, 2, 5}, m ∈ {1.5, 2, 3},
//     D ∈ {2s, 5s}: 54 points per behaviour, 216 in all.
//   - Noise: p ∈ {10%, 20%, 30%, 40%} of attempts answer 503, drawn per call
//     and attempt from a seed (providertest.Faults.CallKey), so both
//     contenders meet the same faults call by call; 300 calls at 20/s, no
//     fallback, several seeds.
//   - Outage: the primary answers 503 for 2s, 6s, 20s or 60s, after 2s of
//     health and followed by 10s of it; 10 calls/s, each with a 5s
//     deadline; with and without a healthy fallback.
//   - Random 429s: p ∈ {1%, 3%, 10%} of attempts answer 429 whatever the
//     rate (a shared pool's capacity, another client on the key), with
//     Retry-After: 1 and no other header; 50 calls/s for a minute, each
//     with a 10s deadline, no fallback, several seeds. Cutting the rate
//     does not make such 429s rarer.

// Behaviours are the four ways a rate-limited provider tells the caller
// about its cap, as the providers document them (and as they behave).
var Behaviours = []string{BehaviourOpenAIMinute, BehaviourAnthropic, BehaviourRetryAfterOnly, BehaviourBare429}

// The rate-limit behaviours of the family.
const (
	// OpenAI's headers: x-ratelimit-limit-requests is the per-minute
	// figure (60 × c) while the provider enforces c per second;
	// x-ratelimit-remaining-requests is the short bucket's (0 … b);
	// x-ratelimit-reset-requests is the time to the next token ("120ms");
	// 429s carry Retry-After (whole seconds, rounded up) and
	// retry-after-ms. OpenAI's Chat Completions format.
	BehaviourOpenAIMinute = "openai-minute"
	// Anthropic's headers: anthropic-ratelimit-requests-limit (60 × c),
	// -remaining (the short bucket's), -reset (RFC 3339, when the bucket
	// is full); 429s are rate_limit_error with retry-after. Anthropic's
	// Messages format: the contenders call /v1/messages.
	BehaviourAnthropic = "anthropic"
	// A 429 with Retry-After (whole seconds, rounded up) and no other
	// header; successes carry none. OpenAI's format.
	BehaviourRetryAfterOnly = "retry-after-only"
	// A 429 with no header at all. OpenAI's format.
	BehaviourBare429 = "bare-429"
)

// The grid's axes and the family's fixed parameters.
var (
	FamilyCaps      = []float64{5, 10, 20}
	FamilyBursts    = []int{1, 2, 5}
	FamilyDemands   = []float64{1.5, 2, 3}
	FamilyDeadlines = []time.Duration{2 * time.Second, 5 * time.Second}
	FamilyNoise     = []float64{0.1, 0.2, 0.3, 0.4}
	FamilyRandom429 = []float64{0.01, 0.03, 0.1}
	FamilyOutages   = []time.Duration{2 * time.Second, 3 * time.Second, 6 * time.Second, 6500 * time.Millisecond, 20 * time.Second, 21 * time.Second, 60 * time.Second}
)

const (
	FamilyWindow         = 10 * time.Second // rate-limit points: the demand window
	familyNoiseCalls     = 300
	familyNoiseRate      = 20.0
	familyOutageWarmup   = 2 * time.Second
	familyOutageAfter    = 10 * time.Second
	familyOutageRate     = 10.0
	familyOutageDeadline = 5 * time.Second
	familyAttempts       = 4 // both contenders: the first attempt and 3 retries (ailib's default; the loop's 4 attempts)
	familyRandom429Rate  = 50.0
	familyRandom429Calls = 3000 // a minute
	familyRandom429Dead  = 10 * time.Second
)

// The kinds of family point.
const (
	KindRateLimit = "rate-limit"
	KindNoise     = "noise"
	KindOutage    = "outage"
	KindRandom429 = "random-429"
)

// Point is one point of the family's grid.
type Point struct {
	Kind string // KindRateLimit, KindNoise, KindOutage or KindRandom429

	// Rate limit.
	Behaviour string        // one of Behaviours
	Cap       float64       // requests/s the provider admits
	Burst     int           // its bucket
	Demand    float64       // calls/s, as a multiple of Cap
	Deadline  time.Duration // per call

	// Noise and random 429s.
	Noise float64 // share of attempts answered 503 (429 for KindRandom429)
	Seed  int64

	// Outage.
	Outage   time.Duration
	Fallback bool

	// Age is how long before its first call ailib's client was built (a
	// rate-limit point; 0: just before). A long-lived client has sent
	// nothing, or little, for a while when the load comes: the rate it
	// learns from its first 429s must not be an average over that time.
	Age time.Duration

	// Latency is how long the provider takes to answer a request it
	// accepts (a rate-limit or random-429 point; 0: at once), and
	// SlowShare the share of those answers that take SlowDelay instead,
	// drawn from a fixed seed.
	// Real answers take time and some take much longer: the successes the
	// limiter counts lag the requests the provider took, and a slow answer
	// can outlast the call's deadline after its wait.
	Latency   time.Duration
	SlowShare float64
	SlowDelay time.Duration
}

// Name identifies the point, e.g. "openai-minute c10 b2 2x D5s",
// "noise 30% seed 2", "outage 6s +fallback".
func (p Point) Name() string {
	switch p.Kind {
	case KindRateLimit:
		name := fmt.Sprintf("%s c%g b%d %gx D%v", p.Behaviour, p.Cap, p.Burst, p.Demand, p.Deadline)
		if p.Age > 0 {
			name += fmt.Sprintf(" built %v before", p.Age)
		}
		return name + p.answers()
	case KindNoise:
		return fmt.Sprintf("noise %g%% seed %d", 100*p.Noise, p.Seed)
	case KindRandom429:
		return fmt.Sprintf("random 429s %g%% seed %d", 100*p.Noise, p.Seed) + p.answers()
	case KindOutage:
		fb := "no fallback"
		if p.Fallback {
			fb = "+fallback"
		}
		return fmt.Sprintf("outage %v %s", p.Outage, fb)
	}
	return "?"
}

// answers names the point's answers when they take time ("" when at once).
func (p Point) answers() string {
	if p.Latency == 0 {
		return ""
	}
	s := fmt.Sprintf(" answers %v %g%% slow", p.Latency, 100*p.SlowShare)
	if p.SlowShare > 0 && p.SlowDelay != FamilyAnswers.Slow {
		s += fmt.Sprintf(" %v", p.SlowDelay)
	}
	return s
}

// slowAnswers makes the primary answer after p.Latency and returns f with
// p.SlowShare of the answers slowed to p.SlowDelay (durations at the
// timescale), for s.SetFaults.
func (p Point) slowAnswers(s *providertest.Server, scale float64, f providertest.Faults) providertest.Faults {
	s.SetDefault(Primary, providertest.Answer{Status: http.StatusOK, Text: providertest.DefaultText, Delay: scaleD(p.Latency, scale)})
	f.Slow, f.SlowDelay = p.SlowShare, scaleD(p.SlowDelay, scale)
	return f
}

// answersText describes the point's answers for Scenario.Provider ("" when
// at once).
func (p Point) answersText() string {
	if p.Latency == 0 {
		return ""
	}
	return fmt.Sprintf("; answers in %v, %g%% of them in %v", p.Latency, 100*p.SlowShare, p.SlowDelay)
}

// Group is the row of the summary table the point is pooled into: the
// rate-limit behaviour, the noise level, or the outage kind.
func (p Point) Group() string {
	switch p.Kind {
	case KindRateLimit:
		if p.Age > 0 {
			return p.Behaviour + ", client built before"
		}
		if p.Latency > 0 {
			return p.Behaviour + ", slow answers"
		}
		return p.Behaviour
	case KindNoise:
		return fmt.Sprintf("noise %g%%", 100*p.Noise)
	case KindRandom429:
		if p.Latency > 0 {
			return fmt.Sprintf("random 429s %g%%, slow answers", 100*p.Noise)
		}
		return fmt.Sprintf("random 429s %g%%", 100*p.Noise)
	case KindOutage:
		if p.Fallback {
			return "outage, fallback"
		}
		return "outage, no fallback"
	}
	return "?"
}

// FullFamily returns the whole grid: 216 rate-limit points (4 behaviours ×
// 3 caps × 3 bursts × 3 demands × 2 deadlines), the noise levels × seeds,
// and the 8 outage points.
func FullFamily(seeds []int64) []Point {
	var out []Point
	for _, bh := range Behaviours {
		for _, c := range FamilyCaps {
			for _, b := range FamilyBursts {
				for _, m := range FamilyDemands {
					for _, d := range FamilyDeadlines {
						out = append(out, Point{Kind: KindRateLimit, Behaviour: bh, Cap: c, Burst: b, Demand: m, Deadline: d})
					}
				}
			}
		}
	}
	return append(out, noiseAndOutages(seeds)...)
}

// AgedFamily returns the 216 rate-limit points of the grid with ailib's
// client built FamilyAge before its first call.
func AgedFamily() []Point {
	var out []Point
	for _, p := range FullFamily(nil) {
		if p.Kind == KindRateLimit {
			p.Age = FamilyAge
			out = append(out, p)
		}
	}
	return out
}

// LatencyFamily returns the 216 rate-limit points of the grid and its 15
// random-429 points (seeds 1–5) with answers of shape a (FamilyAnswers:
// 300ms, 30% of them 1.5s). The best is still the oracle's for answers at
// once: an upper bound, not reached when a slow answer cannot fit the
// deadline.
func LatencyFamily(a Answers) []Point {
	var out []Point
	for _, p := range FullFamily([]int64{1, 2, 3, 4, 5}) {
		if p.Kind == KindRateLimit || p.Kind == KindRandom429 {
			p.Latency, p.SlowShare, p.SlowDelay = a.Typical, a.SlowShare, a.Slow
			out = append(out, p)
		}
	}
	return out
}

// Answers is how long a provider takes to answer the requests it
// accepts: Typical, but SlowShare of them (drawn from a fixed seed) Slow.
type Answers struct {
	Typical   time.Duration
	SlowShare float64
	Slow      time.Duration
}

// FamilyAnswers is LatencyFamily's usual shape of answers: a typical
// answer fits a 2s deadline six times over, a slow one once, and a slow
// one after a wait of more than 0.5s not at all.
var FamilyAnswers = Answers{Typical: 300 * time.Millisecond, SlowShare: 0.3, Slow: 1500 * time.Millisecond}

// FamilyAge is how long before its first call an aged point's client is
// built (Point.Age): longer than the 2s a fresh client's first 429 reads
// as recent.
const FamilyAge = 3 * time.Second

// TestFamily is the subsample of the grid that go test asserts: for each
// behaviour, six rate-limit points chosen so that every cap, burst,
// demand and deadline value appears at least once per behaviour, rotated
// between behaviours so that together they cover 24 distinct
// (cap, burst, demand, deadline) combinations, and two more with the
// client built FamilyAge before (the S3, c10 b2 2× D5s, and c20
// b5 3× D2s); the four noise levels and the three levels of random 429s
// at seeds 1 and 2; and all outage points.
func TestFamily() []Point {
	var out []Point
	for bi, bh := range Behaviours {
		for j := range 6 {
			out = append(out, Point{Kind: KindRateLimit, Behaviour: bh,
				Cap:      FamilyCaps[j%3],
				Burst:    FamilyBursts[(j+bi)%3],
				Demand:   FamilyDemands[(j/3+j+2*bi)%3],
				Deadline: FamilyDeadlines[(j+bi)%2],
			})
		}
		out = append(out,
			Point{Kind: KindRateLimit, Behaviour: bh, Cap: 10, Burst: 2, Demand: 2, Deadline: 5 * time.Second, Age: FamilyAge},
			Point{Kind: KindRateLimit, Behaviour: bh, Cap: 20, Burst: 5, Demand: 3, Deadline: 2 * time.Second, Age: FamilyAge})
	}
	return append(out, noiseAndOutages([]int64{1, 2})...)
}

func noiseAndOutages(seeds []int64) []Point {
	var out []Point
	for _, p := range FamilyNoise {
		for _, s := range seeds {
			out = append(out, Point{Kind: KindNoise, Noise: p, Seed: s})
		}
	}
	for _, o := range FamilyOutages {
		for _, fb := range []bool{false, true} {
			out = append(out, Point{Kind: KindOutage, Outage: o, Fallback: fb})
		}
	}
	for _, p := range FamilyRandom429 {
		for _, s := range seeds {
			out = append(out, Point{Kind: KindRandom429, Noise: p, Seed: s})
		}
	}
	return out
}

// style maps a behaviour to the provider server's header style.
func style(behaviour string) providertest.RateLimitStyle {
	switch behaviour {
	case BehaviourOpenAIMinute:
		return providertest.RateLimitOpenAIPerMinute
	case BehaviourAnthropic:
		return providertest.RateLimitAnthropicPerMinute
	case BehaviourRetryAfterOnly:
		return providertest.RateLimitRetryAfterOnly
	}
	return providertest.RateLimitBare
}

// Scenario builds the point's scenario: provider, load, the naive loop's
// knobs (4 attempts, 1s apart, fallback where on) and the theoretical
// best.
func (p Point) Scenario() Scenario {
	k := DefaultKnobs()
	k.MaxRetries = familyAttempts - 1
	sc := Scenario{ID: p.Name(), Title: p.Group(), Knobs: k, timed: true}
	switch p.Kind {
	case KindRateLimit:
		rate := p.Demand * p.Cap
		n := int(math.Round(rate * FamilyWindow.Seconds()))
		sc.Knobs.anthropic = p.Behaviour == BehaviourAnthropic
		sc.Knobs.age = p.Age
		sc.calls, sc.rate, sc.callTimeout = n, rate, p.Deadline
		st := style(p.Behaviour)
		sc.setup = func(s *providertest.Server, _ int64, scale float64) {
			if p.Latency > 0 {
				s.SetFaults(Primary, p.slowAnswers(s, scale, providertest.Faults{Seed: 7}))
			}
			s.SetRateLimitStyle(Primary, p.Cap/scale, p.Burst, st)
		}
		sc.Provider = fmt.Sprintf("admits %g requests/s, bucket of %d, reported as %q (%s)", p.Cap, p.Burst, p.Behaviour, st) + p.answersText()
		sc.Load = fmt.Sprintf("%g calls/s for %v (%d calls), deadline %v, no fallback; nobody is told the cap", rate, FamilyWindow, n, p.Deadline)
		served, lat := bestRateLimit(p.Cap, p.Burst, rate, n, p.Deadline)
		sc.Best = bestFrom(n, served, lat, float64(served)/float64(n))
		sc.BestText = fmt.Sprintf("a client that knows the cap sends, whenever the provider's bucket holds a token, the oldest call "+
			"still inside its deadline (earliest deadline first, optimal for one-request calls) and fails the others at once: "+
			"%d/%d served, no 429; upper bound min(1, (b + c·(window + D))/calls) = %s",
			served, n, pct(math.Min(1, (float64(p.Burst)+p.Cap*(FamilyWindow+p.Deadline).Seconds())/float64(n))))
	case KindNoise:
		sc.calls, sc.rate, sc.callTimeout, sc.timed = familyNoiseCalls, familyNoiseRate, defaultCallTimeout, false
		f := providertest.Faults{Seed: p.Seed, Unavailable: p.Noise, CallKey: CallHeader}
		sc.setup = func(s *providertest.Server, _ int64, _ float64) { s.SetFaults(Primary, f) }
		sc.Provider = fmt.Sprintf("%g%% of attempts answer 503, drawn per call and attempt from seed %d", 100*p.Noise, p.Seed)
		sc.Load = fmt.Sprintf("%d calls at %g/s, deadline %v, no fallback", familyNoiseCalls, familyNoiseRate, defaultCallTimeout)
		success := 1 - math.Pow(p.Noise, familyAttempts)
		sc.Best = Best{Success: success, PerCall: success / (1 - p.Noise), RateLimited: 0, Dead: -1, P50: 0, P99: 0, Back: -1}
		sc.BestText = fmt.Sprintf("%d attempts retried at once: success 1−p^%d = %s, (1−p^%d)/(1−p) = %.2f requests per call, no wait",
			familyAttempts, familyAttempts, pct(success), familyAttempts, sc.Best.PerCall)
	case KindRandom429:
		sc.calls, sc.rate, sc.callTimeout, sc.timed = familyRandom429Calls, familyRandom429Rate, familyRandom429Dead, false
		f := providertest.Faults{Seed: p.Seed, RateLimited: p.Noise, RetryAfterOnly: true, CallKey: CallHeader}
		sc.setup = func(s *providertest.Server, _ int64, scale float64) {
			if p.Latency > 0 {
				s.SetFaults(Primary, p.slowAnswers(s, scale, f))
				return
			}
			s.SetFaults(Primary, f)
		}
		sc.Provider = fmt.Sprintf("%g%% of attempts answer 429 whatever the rate (Retry-After: %v, no other header), "+
			"drawn per call and attempt from seed %d; no limit is enforced", 100*p.Noise, providertest.DefaultFaultRetryAfter, p.Seed) + p.answersText()
		sc.Load = fmt.Sprintf("%d calls at %g/s, deadline %v, no fallback", familyRandom429Calls, familyRandom429Rate, familyRandom429Dead)
		success := 1 - math.Pow(p.Noise, familyAttempts)
		sc.Best = Best{Success: success, PerCall: success / (1 - p.Noise), RateLimited: -1, Dead: -1, P50: 0, P99: 0, Back: -1}
		sc.BestText = fmt.Sprintf("%d attempts, each retry after the Retry-After: success 1−p^%d = %s; a 429 here says nothing of the rate",
			familyAttempts, familyAttempts, pct(success))
	case KindOutage:
		total := familyOutageWarmup + p.Outage + familyOutageAfter
		n := int(familyOutageRate * total.Seconds())
		sc.Knobs.Fallback = p.Fallback
		sc.calls, sc.rate, sc.callTimeout = n, familyOutageRate, familyOutageDeadline
		sc.recovery, sc.outageStart = familyOutageWarmup+p.Outage, familyOutageWarmup
		sc.events = []event{
			{at: familyOutageWarmup, what: "primary down", do: func(s *providertest.Server, _ float64) { s.SetDefault(Primary, providertest.Unavailable()) }},
			{at: familyOutageWarmup + p.Outage, what: "primary back", do: func(s *providertest.Server, _ float64) {
				s.SetDefault(Primary, providertest.OK(providertest.DefaultText))
			}},
		}
		fb := "no fallback"
		if p.Fallback {
			fb = "a healthy fallback"
		}
		sc.Provider = fmt.Sprintf("the primary answers 503 from %v to %v; %s", familyOutageWarmup, familyOutageWarmup+p.Outage, fb)
		sc.Load = fmt.Sprintf("%g calls/s for %v (%d calls), deadline %v", familyOutageRate, total, n, familyOutageDeadline)
		served, lat := bestOutage(n, p.Outage, p.Fallback)
		sc.Best = bestFrom(n, served, lat, float64(served)/float64(n))
		sc.Best.Back = 0
		if p.Fallback {
			sc.BestText = "a client that knows when the primary is down sends each call once, to the fallback during the outage: 100%, 1 request per call, no wait"
		} else {
			sc.BestText = fmt.Sprintf("a client that knows when the primary is back sends each call once, at once or at the recovery if "+
				"that is inside its deadline (%v), and fails the others at once: %d/%d", familyOutageDeadline, served, n)
		}
	}
	return sc
}

// bestFrom makes a Best from an oracle schedule: served of n calls, their
// latencies (failed calls fail at once, 0).
func bestFrom(n, served int, lat []time.Duration, perCall float64) Best {
	lat = append(lat, make([]time.Duration, n-len(lat))...)
	slices.Sort(lat)
	return Best{Success: float64(served) / float64(n), PerCall: perCall, RateLimited: 0, Dead: -1,
		P50: quantile(lat, 0.5), P99: quantile(lat, 0.99), Back: -1}
}

// bestRateLimit schedules n calls arriving at rate per second, each with
// deadline d, on a bucket of burst tokens (full at the first call)
// refilled at c per second: whenever the bucket holds a token, the oldest
// call still inside its deadline is sent. It returns the number served and
// their waits.
func bestRateLimit(c float64, burst int, rate float64, n int, d time.Duration) (int, []time.Duration) {
	const eps = 1e-9
	arrival := func(i int) float64 { return float64(i) / rate }
	dl := d.Seconds()
	tokens, t := float64(burst), 0.0
	var queue []int
	var lat []time.Duration
	next := 0
	for {
		for len(queue) > 0 && arrival(queue[0])+dl <= t+eps {
			queue = queue[1:] // its deadline passed: an oracle failed it at once
		}
		if len(queue) > 0 && tokens >= 1-eps {
			lat = append(lat, time.Duration((t-arrival(queue[0]))*float64(time.Second)))
			queue, tokens = queue[1:], tokens-1
			continue
		}
		if len(queue) == 0 && next >= n {
			return len(lat), lat
		}
		tn := math.Inf(1)
		if next < n {
			tn = arrival(next)
		}
		if len(queue) > 0 {
			tn = math.Min(tn, t+(1-tokens)/c)
		}
		tokens = math.Min(float64(burst), tokens+(tn-t)*c)
		t = tn
		if next < n && arrival(next) <= t+eps {
			queue = append(queue, next)
			next++
		}
	}
}

// bestOutage: with a fallback every call is served at once; without, a call
// that arrives during the outage is served at the recovery if that comes
// before its deadline.
func bestOutage(n int, outage time.Duration, fallback bool) (int, []time.Duration) {
	start, end := familyOutageWarmup, familyOutageWarmup+outage
	var lat []time.Duration
	for i := range n {
		at := time.Duration(float64(i) / familyOutageRate * float64(time.Second))
		switch {
		case fallback || at < start || at >= end:
			lat = append(lat, 0)
		case end-at < familyOutageDeadline:
			lat = append(lat, end-at)
		}
	}
	return len(lat), lat
}

// FamilyContenders are the two rows of every point: the plain retry loop
// and ailib as a new user builds it.
func FamilyContenders() []Contender {
	var naive Contender
	for _, c := range Contenders() {
		if c.Name == "naive loop" {
			naive = c
		}
	}
	naive.Name = "plain retry loop"
	return []Contender{
		naive,
		{
			Name: "ailib defaults",
			Config: "client.NewBuilder().Model(p+\"/primary\").Provider(p, {BaseURL, APIKey}).HTTPClient(hc)[.Fallback(p+\"/fallback\")]" +
				".IgnoreEnvironment().Build(), p = openai (anthropic for the anthropic behaviour): no Resilience call, so " +
				"resilience.DefaultConfig() untouched; IgnoreEnvironment only keeps the machine's AI_LIB_* variables out",
			New: newAilibDefaults,
		},
	}
}

func newAilibDefaults(k Knobs, baseURL string, hc *http.Client) (Caller, error) {
	prov := "openai"
	if k.anthropic {
		prov = "anthropic"
	}
	b := client.NewBuilder().
		Model(prov+"/"+Primary).
		Provider(prov, client.ProviderConfig{BaseURL: baseURL + "/v1", APIKey: apiKey}).
		HTTPClient(hc).
		IgnoreEnvironment()
	if k.Fallback {
		b.Fallback(prov + "/" + Fallback)
	}
	c, err := b.Build()
	if err != nil {
		return nil, err
	}
	time.Sleep(k.age) // a client built a while before its calls (Point.Age)
	return ailibCaller{c: c}, nil
}

// FamilyResult is one point played by the family's contenders.
type FamilyResult struct {
	Point    Point
	Scenario Scenario
	Loop     Result // the plain retry loop
	Ailib    Result // ailib defaults
	Elapsed  time.Duration
}

// RunPoint plays p against FamilyContenders in env, both at the same time,
// each on its own provider server.
func RunPoint(ctx context.Context, env Env, p Point) FamilyResult {
	sc := p.Scenario()
	start := time.Now()
	rows := RunAll(ctx, env, sc, FamilyContenders(), Options{Seed: p.Seed})
	return FamilyResult{Point: p, Scenario: sc, Loop: rows[0], Ailib: rows[1], Elapsed: time.Since(start)}
}

// Violations returns the family's bounds that r breaks, empty when it
// holds them all. On every point, ailib's defaults must
//
//   - succeed at least as often as the plain retry loop (counted in calls,
//     less a tie margin of 1% of the calls, at least one: in a synctest
//     bubble the goroutines of one point still interleave differently from
//     run to run, and the same point's counts move by about that much);
//   - succeed within 5 percentage points of the theoretical best (less the
//     same tie margin);
//   - on rate-limit points, draw fewer 429s than the loop.
func (r FamilyResult) Violations() []string {
	var v []string
	ai, loop, best := r.Ailib, r.Loop, r.Scenario.Best
	if ai.Err != nil || loop.Err != nil {
		return []string{fmt.Sprintf("not run: ailib %v, loop %v", ai.Err, loop.Err)}
	}
	tie := max(1, r.Scenario.calls/100)
	if ai.OK+tie <= loop.OK {
		v = append(v, fmt.Sprintf("success %s < loop's %s (%d < %d calls)", pct(ai.Success()), pct(loop.Success()), ai.OK, loop.OK))
	}
	if float64(ai.OK+tie) < (best.Success-0.05)*float64(r.Scenario.calls) {
		v = append(v, fmt.Sprintf("success %s < best %s − 5 points", pct(ai.Success()), pct(best.Success)))
	}
	if r.Point.Kind == KindRateLimit && ai.RateLimited >= loop.RateLimited {
		v = append(v, fmt.Sprintf("%d 429s ≥ loop's %d", ai.RateLimited, loop.RateLimited))
	}
	return v
}

// Summary is one line of numbers for logs and progress.
func (r FamilyResult) Summary() string {
	return fmt.Sprintf("best %s | loop %s, %d×429, %.2f req/call, p50 %s p99 %s | ailib %s, %d×429, %.2f req/call, p50 %s p99 %s",
		pct(r.Scenario.Best.Success),
		pct(r.Loop.Success()), r.Loop.RateLimited, r.Loop.PerCall(), dur(r.Loop.P50), dur(r.Loop.P99),
		pct(r.Ailib.Success()), r.Ailib.RateLimited, r.Ailib.PerCall(), dur(r.Ailib.P50), dur(r.Ailib.P99))
}

// FamilyMarkdown writes the family's results: a summary per behaviour,
// noise level and outage kind (calls pooled over its points), then one row
// per point, with the bounds each point breaks.
func FamilyMarkdown(w io.Writer, env Env, rs []FamilyResult) {
	fmt.Fprintf(w, "### Scenario family (issue 20): %d points, plain retry loop vs ailib defaults\n\n", len(rs))
	fmt.Fprintf(w, "- Rate limit: the provider enforces c requests/s with a bucket of b and is not told; demand m × c calls/s for %v, "+
		"deadline D; grid c ∈ %v, b ∈ %v, m ∈ %v, D ∈ %v. Behaviours: %s.\n", FamilyWindow, FamilyCaps, FamilyBursts, FamilyDemands,
		FamilyDeadlines, strings.Join(Behaviours, ", "))
	fmt.Fprintf(w, "- Noise: %d calls at %g/s, 503s drawn per call and attempt from the seed (both contenders meet the same faults).\n",
		familyNoiseCalls, familyNoiseRate)
	fmt.Fprintf(w, "- Outage: the primary answers 503 after %v for 2–60 s, %v of health after; %g calls/s, deadline %v.\n",
		familyOutageWarmup, familyOutageAfter, familyOutageRate, familyOutageDeadline)
	fmt.Fprintf(w, "- Random 429s: %d calls at %g/s, deadline %v; 429s (Retry-After: %v, no other header) drawn per call "+
		"and attempt from the seed, whatever the rate.\n", familyRandom429Calls, familyRandom429Rate, familyRandom429Dead, providertest.DefaultFaultRetryAfter)
	fmt.Fprintf(w, "- Best: rate limit, an earliest-deadline-first client that knows the cap; noise and random 429s, 1−p⁴; "+
		"outage, a client that knows when the primary is down. Bounds (ailib): success ≥ the loop's and ≥ best − 5 points; "+
		"on rate-limit points fewer 429s than the loop.\n")
	if env.Virtual {
		fmt.Fprintf(w, "- Ran in virtual time (%s).\n", env.Name)
	} else {
		fmt.Fprintf(w, "- Ran on %s, in real time.\n", env.Name)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "| group | points | best success | loop success | ailib success | loop 429s | ailib 429s | loop req/call | ailib req/call | loop p50 / p99 (median point) | ailib p50 / p99 (median point) | points failing a bound |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	var groups []string
	by := map[string][]FamilyResult{}
	for _, r := range rs {
		g := r.Point.Group()
		if _, ok := by[g]; !ok {
			groups = append(groups, g)
		}
		by[g] = append(by[g], r)
	}
	for _, g := range groups {
		var calls, bestOK float64
		var loop, ai Result
		var lp50, lp99, ap50, ap99 []time.Duration
		failing := 0
		for _, r := range by[g] {
			calls += float64(r.Loop.Calls)
			bestOK += r.Scenario.Best.Success * float64(r.Loop.Calls)
			loop.Calls += r.Loop.Calls
			loop.OK += r.Loop.OK
			loop.RateLimited += r.Loop.RateLimited
			loop.Requests += r.Loop.Requests
			ai.Calls += r.Ailib.Calls
			ai.OK += r.Ailib.OK
			ai.RateLimited += r.Ailib.RateLimited
			ai.Requests += r.Ailib.Requests
			lp50, lp99 = append(lp50, r.Loop.P50), append(lp99, r.Loop.P99)
			ap50, ap99 = append(ap50, r.Ailib.P50), append(ap99, r.Ailib.P99)
			if len(r.Violations()) > 0 {
				failing++
			}
		}
		med := func(ds []time.Duration) string { slices.Sort(ds); return dur(quantile(ds, 0.5)) }
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %d | %d | %s | %s | %s / %s | %s / %s | %d |\n", g, len(by[g]),
			pct(bestOK/calls), pct(loop.Success()), pct(ai.Success()), loop.RateLimited, ai.RateLimited,
			num2(loop.PerCall()), num2(ai.PerCall()), med(lp50), med(lp99), med(ap50), med(ap99), failing)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "| point | best | loop | ailib | best p50 / p99 | loop 429s | ailib 429s | loop req/call | ailib req/call | loop p50 / p99 | ailib p50 / p99 | bounds |\n")
	fmt.Fprintf(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range rs {
		b := r.Scenario.Best
		verdict := "ok"
		if v := r.Violations(); len(v) > 0 {
			verdict = "**" + strings.Join(v, "; ") + "**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s / %s | %d | %d | %s | %s | %s / %s | %s / %s | %s |\n", r.Point.Name(),
			pct(b.Success), pct(r.Loop.Success()), pct(r.Ailib.Success()), dur(b.P50), dur(b.P99),
			r.Loop.RateLimited, r.Ailib.RateLimited, num2(r.Loop.PerCall()), num2(r.Ailib.PerCall()),
			dur(r.Loop.P50), dur(r.Loop.P99), dur(r.Ailib.P50), dur(r.Ailib.P99), verdict)
	}
	fmt.Fprintln(w)
}
