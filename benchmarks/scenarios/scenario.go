package scenarios

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
)

// The models every scenario serves on its provider server. A contender
// calls [Primary] first and, in scenarios with a fallback, [Fallback] when
// the primary cannot answer.
const (
	Primary  = "primary"
	Fallback = "fallback"
)

// Knobs are the resilience settings a scenario gives every contender, each
// applied where the contender has the knob (see [Contenders] for how each
// maps them). Durations are scenario time: [Run] scales them.
type Knobs struct {
	MaxRetries         int           // retries after the first attempt (openai-go keeps its default, 2)
	InitialDelay       time.Duration // first backoff delay
	MaxDelay           time.Duration // ceiling of a computed backoff delay
	MaxRetryAfter      time.Duration // longest provider Retry-After honoured
	BreakerThreshold   int           // consecutive failures that open the circuit
	BreakerCooldown    time.Duration // open → half-open, the first time
	BreakerMaxCooldown time.Duration // the open interval doubles per failed probe up to this
	MaxInflight        int           // in-flight cap (bulkhead)
	AttemptTimeout     time.Duration // per provider request; 0 = none
	NaiveSleep         time.Duration // the naive loop's fixed sleep between attempts
	Fallback           bool          // call Fallback when Primary fails
	Hedge              time.Duration // hedge delay (failsafe-go + hedge row only)
	MaxTokens          int           // the requests' max_tokens; 0 = not sent
	TokensPerMinute    float64       // the caller's token limit (ailib, TPM set row only)

	scale     float64 // the timescale the durations above were scaled by; 0 = 1
	noBudget  bool    // ailib, budget off: RetryConfig.Budget -1
	noLimiter bool    // ailib, limiter off: RateLimiterConfig.Disabled (no token limiting)
	anthropic bool    // the family's "anthropic" behaviour: call Anthropic's Messages API (ailib defaults and naive loop only)
	// age: ailib defaults (family) is built this long before the first
	// call, as a long-lived client is; 0: just before.
	age time.Duration
}

// DefaultKnobs are ailib's defaults, read from [resilience.DefaultConfig]
// (retries, backoff, Retry-After cap, the breaker's consecutive-failure
// threshold and cooldown), an in-flight cap of 256 that no scenario
// reaches, and the naive loop's 1s sleep.
func DefaultKnobs() Knobs {
	d := resilience.DefaultConfig()
	return Knobs{
		MaxRetries:         d.Retry.MaxRetries,
		InitialDelay:       d.Retry.InitialDelay,
		MaxDelay:           d.Retry.MaxDelay,
		MaxRetryAfter:      d.Retry.MaxRetryAfter,
		BreakerThreshold:   d.CircuitBreaker.FailureThreshold,
		BreakerCooldown:    d.CircuitBreaker.Cooldown,
		BreakerMaxCooldown: d.CircuitBreaker.MaxCooldown,
		MaxInflight:        256,
		NaiveSleep:         time.Second,
	}
}

func (k Knobs) scaled(s float64) Knobs {
	k.InitialDelay = scale(k.InitialDelay, s)
	k.MaxDelay = scale(k.MaxDelay, s)
	k.MaxRetryAfter = scale(k.MaxRetryAfter, s)
	k.BreakerCooldown = scale(k.BreakerCooldown, s)
	k.BreakerMaxCooldown = scale(k.BreakerMaxCooldown, s)
	k.AttemptTimeout = scale(k.AttemptTimeout, s)
	k.NaiveSleep = scale(k.NaiveSleep, s)
	k.Hedge = scale(k.Hedge, s)
	k.age = scale(k.age, s)
	k.scale = s
	return k
}

// scale multiplies d by s, keeping a positive d positive.
func scale(d time.Duration, s float64) time.Duration {
	if d <= 0 || s == 1 {
		return d
	}
	return max(time.Duration(math.Round(float64(d)*s)), 1)
}

// Best is a scenario's theoretical best, the row every contender is
// measured against. A negative number means "not a target here".
type Best struct {
	Success      float64       // share of calls that succeed
	PerCall      float64       // provider requests per call
	RateLimited  int           // 429s
	Dead         int           // requests to a dead provider
	P50, P99     time.Duration // call latency
	Back         time.Duration // time back on the primary after recovery
	Goodput      float64       // S3: successful calls per second
	FirstPrimary int           // S4: requests to the primary on the first call
	P90          time.Duration // S5
}

// event is a timed change of the provider's behaviour.
type event struct {
	at   time.Duration // after the first call, scenario time
	what string
	do   func(s *providertest.Server, scale float64)
}

// Scenario is one of the chaos scenarios S1–S7: what the provider does,
// the load, the knobs, and the theoretical best.
type Scenario struct {
	ID    string // "S1" … "S5"
	Title string
	// Provider says what the provider server does, Load the calls made.
	Provider, Load string
	// BestText explains the theoretical best; Best holds its numbers.
	BestText string
	Best     Best
	// Knobs are the settings every contender gets.
	Knobs Knobs

	calls       int           // number of calls
	rate        float64       // calls per second (open loop)
	timed       bool          // duration-defined: Calls does not apply
	firstAlone  bool          // the first call runs alone before the others
	callTimeout time.Duration // per-call deadline, scenario time
	setup       func(s *providertest.Server, seed int64, scale float64)
	events      []event
	recovery    time.Duration // offset of the primary's recovery (S2, S6); 0 = none
	outageStart time.Duration // offset of the outage (S6's storm column)
	primaryDead bool          // the primary never answers (S4): every request to it is to a dead provider
	columns     []column      // scenario-specific extra columns
}

// Calls returns the number of calls the scenario makes.
func (sc Scenario) Calls() int { return sc.calls }

// WithCalls returns sc making n calls at the same rate. Scenarios defined
// by a duration (S2 and S3: an outage, a demand window) ignore it.
func (sc Scenario) WithCalls(n int) Scenario {
	if n > 0 && !sc.timed {
		sc.calls = n
	}
	return sc
}

// column is a scenario-specific column of the results table.
type column int

const (
	colGoodput column = iota + 1
	colFirstPrimary
	colP90
	colStormPerCall
)

// Scenario defaults.
const (
	defaultCallTimeout = 60 * time.Second
	s2Warmup           = 5 * time.Second
	s2Outage           = 60 * time.Second
	s2After            = 35 * time.Second
	s3Cap              = 10.0
	s3Burst            = 10
	s3Demand           = 20.0
	s3Window           = 30 * time.Second
	s3CallTimeout      = 10 * time.Second
	s5Median           = 200 * time.Millisecond
	s5Slow             = 2 * time.Second
	s5AttemptTimeout   = 500 * time.Millisecond
	s5Hedge            = 300 * time.Millisecond
	s6Warmup           = time.Second
	s6Outage           = 5 * time.Second
	s6After            = 4 * time.Second
	s6Rate             = 200.0
	s6Delay            = 200 * time.Millisecond
	s7TPM              = 30000
	s7MaxTokens        = 1000
	s7Prompt           = 100
	s7Completion       = 400
	s7Demand           = 3.0
	s7Window           = 60 * time.Second
	s7CallTimeout      = 30 * time.Second
)

// All returns the scenarios S1–S5 as issue 6 defines them, and S6–S7 of
// issue 9 (retry storm, token cap).
func All() []Scenario {
	return []Scenario{s1(), s2(), s3(), s4(), s5(), s6(), s7()}
}

// ByID returns the scenario with id ("S1"…"S7", case-insensitive).
func ByID(id string) (Scenario, bool) {
	for _, sc := range All() {
		if strings.EqualFold(sc.ID, id) {
			return sc, true
		}
	}
	return Scenario{}, false
}

func s1() Scenario {
	const p = 0.3
	k := DefaultKnobs()
	success := 1 - math.Pow(p, float64(k.MaxRetries+1))
	perCall := success / (1 - p) // E[attempts] = (1-p⁴)/(1-p)
	return Scenario{
		ID:       "S1",
		Title:    "flaky provider",
		Provider: "30% of attempts answer 503 at random (seeded)",
		Load:     "1000 calls, 50 calls/s, no fallback",
		BestText: fmt.Sprintf("with %d retries, success 1−0.3^%d = %.2f%% and (1−0.3^%d)/(1−0.3) = %.2f requests per call "+
			"(the issue rounds the amplification up to 1/(1−0.3) ≈ 1.43); no call lost to a breaker, since the provider is "+
			"not down", k.MaxRetries, k.MaxRetries+1, 100*success, k.MaxRetries+1, perCall),
		Best:  Best{Success: success, PerCall: perCall, RateLimited: 0, Dead: -1, P50: -1, P99: -1, Back: -1},
		Knobs: k,
		calls: 1000, rate: 50, callTimeout: defaultCallTimeout,
		setup: func(s *providertest.Server, seed int64, _ float64) {
			s.SetFaults(Primary, providertest.Faults{Seed: seed, Unavailable: p})
		},
	}
}

func s2() Scenario {
	k := DefaultKnobs()
	k.Fallback = true
	total := s2Warmup + s2Outage + s2After
	probes := int(s2Outage / k.BreakerCooldown)
	return Scenario{
		ID:       "S2",
		Title:    "outage, then recovery",
		Provider: fmt.Sprintf("the primary answers 503 from %v to %v, then recovers; the fallback is healthy", s2Warmup, s2Warmup+s2Outage),
		Load:     fmt.Sprintf("10 calls/s for %v (1000 calls), fallback on", total),
		BestText: fmt.Sprintf("100%% success; at most threshold + one probe per cooldown = %d + %d = %d requests to the dead "+
			"primary (breaker %d consecutive failures, cooldown %v); back on the primary at once, and at worst within one "+
			"cooldown of recovery", k.BreakerThreshold, probes, k.BreakerThreshold+probes, k.BreakerThreshold, k.BreakerCooldown),
		Best:  Best{Success: 1, PerCall: 1 + float64(k.BreakerThreshold+probes)/1000, Dead: k.BreakerThreshold + probes, P50: -1, P99: -1, Back: 0},
		Knobs: k,
		calls: 1000, rate: 10, timed: true, callTimeout: defaultCallTimeout,
		recovery: s2Warmup + s2Outage,
		events: []event{
			{at: s2Warmup, what: "primary down", do: func(s *providertest.Server, _ float64) { s.SetDefault(Primary, providertest.Unavailable()) }},
			{at: s2Warmup + s2Outage, what: "primary back", do: func(s *providertest.Server, _ float64) {
				s.SetDefault(Primary, providertest.OK(providertest.DefaultText))
			}},
		},
	}
}

func s3() Scenario {
	k := DefaultKnobs()
	calls := int(s3Demand * s3Window.Seconds())
	// A client that knew the cap would send exactly what the provider
	// admits: the burst, then 10/s until the last call's deadline.
	admitted := float64(s3Burst) + s3Cap*(s3Window+s3CallTimeout).Seconds()
	success := math.Min(1, admitted/float64(calls))
	return Scenario{
		ID:       "S3",
		Title:    "provider rate cap",
		Provider: fmt.Sprintf("the provider admits %.0f requests/s (bucket of %d) and answers 429 with Retry-After and x-ratelimit-* headers above that", s3Cap, s3Burst),
		Load:     fmt.Sprintf("%.0f calls/s for %v (%d calls), each with a %v deadline, no fallback; no contender is told the cap", s3Demand, s3Window, calls, s3CallTimeout),
		BestText: fmt.Sprintf("goodput = the cap, %.0f calls/s; no 429 (a client that knows the cap never exceeds it); "+
			"1 request per call; success at most (burst + cap × (window + deadline)) / calls = %.0f/%d = %.1f%%",
			s3Cap, admitted, calls, 100*success),
		Best:  Best{Success: success, PerCall: 1, RateLimited: 0, Dead: -1, P50: -1, P99: -1, Back: -1, Goodput: s3Cap},
		Knobs: k,
		calls: calls, rate: s3Demand, timed: true, callTimeout: s3CallTimeout,
		columns: []column{colGoodput},
		setup: func(s *providertest.Server, _ int64, scale float64) {
			s.SetRateLimit(Primary, s3Cap/scale, s3Burst)
		},
	}
}

func s4() Scenario {
	k := DefaultKnobs()
	k.Fallback = true
	return Scenario{
		ID:       "S4",
		Title:    "quota exhausted",
		Provider: "the primary answers 429 insufficient_quota (no Retry-After) to every request; the fallback is healthy",
		Load:     "100 calls, 10 calls/s, fallback on; the first call runs alone",
		BestText: "100% success; the first call sends one request to the primary, then falls back; with a cooldown on " +
			"exhausted quota, later calls skip the primary: 1 request to the dead primary in total, 1.01 requests per call",
		Best:  Best{Success: 1, PerCall: 1.01, RateLimited: 1, Dead: 1, P50: -1, P99: -1, Back: -1, FirstPrimary: 1},
		Knobs: k,
		calls: 100, rate: 10, firstAlone: true, primaryDead: true, callTimeout: defaultCallTimeout,
		columns: []column{colFirstPrimary},
		setup: func(s *providertest.Server, _ int64, _ float64) {
			s.SetDefault(Primary, providertest.InsufficientQuota())
		},
	}
}

func s5() Scenario {
	k := DefaultKnobs()
	k.AttemptTimeout = s5AttemptTimeout
	k.Hedge = s5Hedge
	return Scenario{
		ID:       "S5",
		Title:    "slow provider",
		Provider: fmt.Sprintf("answers take %v; 20%% of them (seeded) take %v, 10× the median", s5Median, s5Slow),
		Load:     fmt.Sprintf("200 calls, 10 calls/s, no fallback; per-attempt timeout %v where the contender has one", s5AttemptTimeout),
		BestText: fmt.Sprintf("p50 = the median, %v. Attempts are slow independently (20%%), so a call is slow only when "+
			"every attempt it made is: with a hedge after %v and a second one after %v, p90 ≈ %v + %v = %v and p99 ≈ %v + %v = %v "+
			"(all three slow: 0.8%%), for 1 + 0.2 + 0.04 = 1.24 requests per call. Without hedging, a per-attempt timeout T "+
			"followed by an immediate retry gives p90 ≈ T + %v and p99 ≈ 2T + %v",
			s5Median, s5Hedge, 2*s5Hedge, s5Hedge, s5Median, s5Hedge+s5Median, 2*s5Hedge, s5Median, 2*s5Hedge+s5Median,
			s5Median, s5Median),
		Best:  Best{Success: 1, PerCall: 1.24, RateLimited: 0, Dead: -1, P50: s5Median, P90: s5Hedge + s5Median, P99: 2*s5Hedge + s5Median, Back: -1},
		Knobs: k,
		calls: 200, rate: 10, callTimeout: defaultCallTimeout,
		columns: []column{colP90},
		setup: func(s *providertest.Server, seed int64, scale float64) {
			s.SetDefault(Primary, providertest.Answer{Status: http.StatusOK, Text: providertest.DefaultText, Delay: scaleD(s5Median, scale)})
			s.SetFaults(Primary, providertest.Faults{Seed: seed, Slow: 0.2, SlowDelay: scaleD(s5Slow, scale)})
		},
	}
}

func s6() Scenario {
	k := DefaultKnobs()
	total := s6Warmup + s6Outage + s6After
	calls := int(s6Rate * total.Seconds())
	outageCalls := int(s6Rate * s6Outage.Seconds())
	return Scenario{
		ID:    "S6",
		Title: "retry storm",
		Provider: fmt.Sprintf("every answer takes %v; from %v to %v the provider is overloaded and answers 503 to everything, then recovers",
			s6Delay, s6Warmup, s6Warmup+s6Outage),
		Load: fmt.Sprintf("%.0f calls/s for %v (%d calls, %d of them during the overload), no fallback", s6Rate, total, calls, outageCalls),
		BestText: fmt.Sprintf("retries cannot help while the provider is down, so every retry is extra load on a struggling provider: "+
			"%d retries per call multiply it by up to %d (%d requests to the overloaded provider). A retry budget of 20%% of the "+
			"attempts in flight keeps retries to about a quarter of the first attempts (≤ 1.25 requests per call, %d in all); "+
			"a breaker cuts the load further, to its threshold plus one probe per cooldown. The \"storm\" column is requests to the "+
			"overloaded provider per call made during the overload", k.MaxRetries, k.MaxRetries+1, (k.MaxRetries+1)*outageCalls, outageCalls*5/4),
		Best:  Best{Success: -1, PerCall: -1, RateLimited: 0, Dead: -1, P50: -1, P99: -1, Back: 0},
		Knobs: k,
		calls: calls, rate: s6Rate, timed: true, callTimeout: defaultCallTimeout,
		recovery: s6Warmup + s6Outage, outageStart: s6Warmup,
		columns: []column{colStormPerCall},
		setup: func(s *providertest.Server, _ int64, scale float64) {
			s.SetDefault(Primary, providertest.Answer{Status: http.StatusOK, Text: providertest.DefaultText, Delay: scaleD(s6Delay, scale)})
		},
		events: []event{
			{at: s6Warmup, what: "overloaded", do: func(s *providertest.Server, scale float64) {
				a := providertest.Unavailable()
				a.Delay = scaleD(s6Delay, scale)
				s.SetDefault(Primary, a)
			}},
			{at: s6Warmup + s6Outage, what: "recovered", do: func(s *providertest.Server, scale float64) {
				s.SetDefault(Primary, providertest.Answer{Status: http.StatusOK, Text: providertest.DefaultText, Delay: scaleD(s6Delay, scale)})
			}},
		},
	}
}

func s7() Scenario {
	k := DefaultKnobs()
	k.MaxTokens = s7MaxTokens
	calls := int(s7Demand * s7Window.Seconds())
	used := s7Prompt + s7Completion
	perSec := float64(s7TPM) / 60 / float64(used)
	admitted := float64(s7TPM)/float64(used) + perSec*(s7Window+s7CallTimeout).Seconds()
	success := math.Min(1, admitted/float64(calls))
	// Goodput is measured from the first call to the last completion, so
	// the best counts the initial bucket as well as the sustained rate.
	bestGoodput := math.Min(admitted, float64(calls)) / (s7Window + s7CallTimeout).Seconds()
	return Scenario{
		ID:    "S7",
		Title: "token-per-minute cap",
		Provider: fmt.Sprintf("the provider admits %d tokens a minute (a bucket of %d): a request goes when the bucket holds its prompt "+
			"plus max_tokens, and is charged its usage (%d + %d = %d tokens); above that it answers 429 with Retry-After; every "+
			"answer carries x-ratelimit-*-tokens headers", s7TPM, s7TPM, s7Prompt, s7Completion, used),
		Load: fmt.Sprintf("%.0f calls/s for %v (%d calls) with max_tokens %d, each with a %v deadline, no fallback; only the "+
			"\"ailib, TPM set\" row is told the cap", s7Demand, s7Window, calls, s7MaxTokens, s7CallTimeout),
		BestText: fmt.Sprintf("no 429 (a client that knows the token cap never exceeds it); the cap sustains %.1f calls/s, and "+
			"goodput over the run (first call to last completion, the initial bucket included) is at most "+
			"%.0f calls / %v = %.2f/s; 1 request per call; success at most (bucket + cap × (window + deadline)) / calls = %.0f/%d = %.1f%%",
			perSec, admitted, s7Window+s7CallTimeout, bestGoodput, admitted, calls, 100*success),
		Best:  Best{Success: success, PerCall: 1, RateLimited: 0, Dead: -1, P50: -1, P99: -1, Back: -1, Goodput: bestGoodput},
		Knobs: k,
		calls: calls, rate: s7Demand, timed: true, callTimeout: s7CallTimeout,
		columns: []column{colGoodput},
		setup: func(s *providertest.Server, _ int64, scale float64) {
			s.SetTokenLimitPer(Primary, s7TPM, scaleD(time.Minute, scale))
			s.SetDefault(Primary, providertest.Answer{Status: http.StatusOK, Text: providertest.DefaultText,
				Usage: providertest.Usage{PromptTokens: s7Prompt, CompletionTokens: s7Completion}})
		},
	}
}

func scaleD(d time.Duration, s float64) time.Duration { return scale(d, s) }
