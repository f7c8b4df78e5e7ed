package providertest

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Defaults of [Faults] fields left zero.
const (
	DefaultFaultRetryAfter = time.Second     // Retry-After of a random 429
	DefaultSlowDelay       = 2 * time.Second // Delay of a random slow answer
)

// Faults are random failures, drawn from a generator seeded with Seed, for
// requests that find their model's script empty. Each field is the
// probability, in [0, 1], that a request gets that failure; they must add up
// to at most 1, and a request gets the default answer with the remaining
// probability. Every request draws the same amount of randomness, so a
// given seed and order of requests always give the same outcomes.
type Faults struct {
	Seed int64

	RateLimited float64 // 429 in the route's shape: [RateLimited] or [AnthropicRateLimited]
	ServerError float64 // format-neutral 500
	Unavailable float64 // format-neutral 503
	Overloaded  float64 // Anthropic 529 overloaded_error ([AnthropicOverloaded])
	Reset       float64 // connection reset without an answer
	Slow        float64 // the default answer after SlowDelay
	StreamCut   float64 // the default answer cut part-way (streams: at a random event; others: truncated JSON)

	RetryAfter time.Duration // Retry-After of the 429s; 0 means DefaultFaultRetryAfter
	SlowDelay  time.Duration // 0 means DefaultSlowDelay

	// RetryAfterOnly makes the random 429s carry Retry-After alone, in
	// the route's error shape, with none of the rate-limit headers of
	// [RateLimited] and [AnthropicRateLimited] (whose limits no cap of
	// the server enforces): 429s that say nothing about a limit.
	RetryAfterOnly bool

	// CallKey, when set, names a request header that identifies a call
	// (an idempotency key, a trace ID): a request carrying it draws its
	// outcome from Seed, the header's value and the number of requests
	// with that value received before, not from the order of all requests.
	// The n-th attempt of a call then meets the same fault whatever other
	// calls do, so two clients making the same calls meet the same faults
	// call by call. Requests without the header draw from the model's
	// sequence as usual.
	CallKey string
}

func (f *Faults) probs() []float64 {
	return []float64{f.RateLimited, f.ServerError, f.Unavailable, f.Overloaded, f.Reset, f.Slow, f.StreamCut}
}

func (f *Faults) zero() bool {
	for _, p := range f.probs() {
		if p > 0 {
			return false
		}
	}
	return true
}

// validate panics on probabilities a test could not have meant.
func (f *Faults) validate() {
	sum := 0.0
	for _, p := range f.probs() {
		if !(p >= 0 && p <= 1) {
			panic(fmt.Sprintf("providertest: fault probability %v is outside [0, 1]", p))
		}
		sum += p
	}
	if sum > 1+1e-9 {
		panic(fmt.Sprintf("providertest: fault probabilities add up to %v, more than 1", sum))
	}
}

type faultRand = rand.Rand

func newFaultRand(seed int64) *faultRand {
	return rand.New(rand.NewPCG(uint64(seed), 0x70726f7669646572)) // "provider"
}

// newCallRand returns the generator of the n-th request (from 0) of the
// call key identifies (Faults.CallKey).
func newCallRand(seed int64, key string, n int) *faultRand {
	h := fnv.New64a()
	h.Write([]byte(key))
	return rand.New(rand.NewPCG(uint64(seed)^h.Sum64(), 0x63616c6c00000000|uint64(n))) // "call"
}

// pick draws one request's outcome. It always draws two numbers, so the
// sequence stays aligned whatever was picked.
func (f *Faults) pick(rng *faultRand, def Answer, r *Request) Answer {
	u, v := rng.Float64(), rng.Float64()
	ps := f.probs()
	i := 0
	for acc := 0.0; i < len(ps); i++ {
		acc += ps[i]
		if u < acc {
			break
		}
	}
	switch i {
	case 0:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = DefaultFaultRetryAfter
		}
		if f.RetryAfterOnly {
			a := rateCapAnswer(r.Format, ra)
			a.Header = http.Header{}
			setRetryAfter(a.Header, ra, false)
			return a
		}
		if r.Format == FormatAnthropic {
			return AnthropicRateLimited(ra)
		}
		return RateLimited(ra)
	case 1:
		return ServerError()
	case 2:
		return Unavailable()
	case 3:
		return AnthropicOverloaded()
	case 4:
		return Answer{Reset: true}
	case 5:
		d := f.SlowDelay
		if d <= 0 {
			d = DefaultSlowDelay
		}
		def = def.clone()
		def.Delay = d
		return def
	case 6:
		def = def.clone()
		if r.Stream {
			// CutAtStart or after 1..n events, n = the answer's event count.
			n := def.events()
			def.CutAfter = int(v * float64(n+1))
			if def.CutAfter == 0 {
				def.CutAfter = CutAtStart
			}
		} else {
			def.CutAfter = 1 + int(v*60) // bytes: always inside the JSON
		}
		return def
	}
	return def
}

// chunks returns the stream's content events.
func (a *Answer) chunks() []string {
	if len(a.Chunks) > 0 {
		return a.Chunks
	}
	return splitWords(a.Text)
}

// bucket is the token bucket of SetRateLimit; guarded by Server.mu.
type bucket struct {
	rps    float64
	burst  int
	tokens float64
	last   time.Time // zero: not used yet (full)
	style  RateLimitStyle
}

// RateLimitStyle says what the rate cap of [Server.SetRateLimitStyle]
// tells clients about itself. Whatever the style, the cap enforced is the
// same token bucket (rps requests per second, bursts of burst), and a
// request over it gets a 429 in the route's shape (OpenAI
// rate_limit_exceeded; Anthropic {"type":"error","error":{"type":
// "rate_limit_error",...}}); only the headers differ. The styles follow
// what the providers document, and the ways real servers depart from it.
type RateLimitStyle int

const (
	// RateLimitBucket is the default ([Server.SetRateLimit]): every answer
	// carries the bucket's own state in the route's headers, limit = burst,
	// reset = time until the bucket is full (OpenAI as a duration,
	// Anthropic in RFC 3339); a 429 adds Retry-After (whole seconds,
	// rounded up) and, on OpenAI routes, retry-after-ms.
	RateLimitBucket RateLimitStyle = iota
	// RateLimitOpenAIPerMinute is OpenAI's documented headers over a
	// per-second bucket: x-ratelimit-limit-requests is the per-minute
	// figure, round(60 × rps); x-ratelimit-remaining-requests is the
	// short bucket's whole tokens (0 … burst); x-ratelimit-reset-requests
	// is the time until the next token, in Go duration syntax rounded to
	// the millisecond ("120ms"; "0s" when the bucket is full), not the
	// time until it is full. A 429 adds Retry-After (whole seconds,
	// rounded up) and retry-after-ms, both the time to the next token.
	// The headers are sent on every route, whatever its format.
	RateLimitOpenAIPerMinute
	// RateLimitAnthropicPerMinute is Anthropic's documented headers over a
	// per-second bucket: anthropic-ratelimit-requests-limit is the
	// per-minute figure, round(60 × rps); -remaining the short bucket's
	// whole tokens; -reset the time the bucket is fully replenished, RFC
	// 3339 rounded up to the second. A 429 adds retry-after (whole
	// seconds, rounded up, to the next token) and nothing else. The
	// headers are sent on every route, whatever its format.
	RateLimitAnthropicPerMinute
	// RateLimitRetryAfterOnly sends no rate-limit header on any answer; a
	// 429 carries only Retry-After, the time to the next token in whole
	// seconds, rounded up.
	RateLimitRetryAfterOnly
	// RateLimitBare sends no header at all about the cap: a 429 says
	// nothing of when to come back.
	RateLimitBare
)

// String returns the style's name.
func (st RateLimitStyle) String() string {
	switch st {
	case RateLimitBucket:
		return "bucket"
	case RateLimitOpenAIPerMinute:
		return "openai-per-minute"
	case RateLimitAnthropicPerMinute:
		return "anthropic-per-minute"
	case RateLimitRetryAfterOnly:
		return "retry-after-only"
	case RateLimitBare:
		return "bare"
	}
	return "RateLimitStyle(" + strconv.Itoa(int(st)) + ")"
}

// take spends one token if there is one. It returns whether it did, the
// wait until the next token otherwise, and the rate-limit headers of the
// bucket's state in format.
func (b *bucket) take(now time.Time, format Format) (ok bool, wait time.Duration, h http.Header) {
	switch {
	case b.last.IsZero():
		b.tokens = float64(b.burst)
	case now.After(b.last):
		b.tokens = math.Min(float64(b.burst), b.tokens+now.Sub(b.last).Seconds()*b.rps)
	}
	// A clock that went back (a synctest bubble after real time) refills
	// nothing but restarts from now.
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		ok = true
	} else {
		wait = time.Duration(math.Ceil((1 - b.tokens) / b.rps * float64(time.Second)))
	}
	full := time.Duration(math.Ceil((float64(b.burst) - b.tokens) / b.rps * float64(time.Second)))
	remaining := strconv.Itoa(int(math.Floor(b.tokens)))
	limit := strconv.Itoa(b.burst)
	h = http.Header{}
	perMinute := strconv.FormatInt(int64(math.Round(60*b.rps)), 10)
	switch b.style {
	case RateLimitOpenAIPerMinute:
		next := wait
		if ok && b.tokens < float64(b.burst) {
			// Time until the whole tokens grow by one.
			next = time.Duration(math.Ceil((math.Floor(b.tokens) + 1 - b.tokens) / b.rps * float64(time.Second)))
		}
		h.Set("x-ratelimit-limit-requests", perMinute)
		h.Set("x-ratelimit-remaining-requests", remaining)
		h.Set("x-ratelimit-reset-requests", formatResetDuration(next))
		if !ok {
			setRetryAfter(h, wait, true)
		}
		return ok, wait, h
	case RateLimitAnthropicPerMinute:
		h.Set("anthropic-ratelimit-requests-limit", perMinute)
		h.Set("anthropic-ratelimit-requests-remaining", remaining)
		h.Set("anthropic-ratelimit-requests-reset", formatRFC3339Ceil(now.Add(full)))
		if !ok {
			setRetryAfter(h, wait, false)
		}
		return ok, wait, h
	case RateLimitRetryAfterOnly:
		if !ok {
			setRetryAfter(h, wait, false)
		}
		return ok, wait, h
	case RateLimitBare:
		return ok, wait, h
	}
	if format == FormatAnthropic {
		h.Set("anthropic-ratelimit-requests-limit", limit)
		h.Set("anthropic-ratelimit-requests-remaining", remaining)
		h.Set("anthropic-ratelimit-requests-reset", formatRFC3339Ceil(now.Add(full)))
	} else {
		h.Set("x-ratelimit-limit-requests", limit)
		h.Set("x-ratelimit-remaining-requests", remaining)
		h.Set("x-ratelimit-reset-requests", formatResetDuration(full))
	}
	if !ok {
		setRetryAfter(h, wait, format != FormatAnthropic)
	}
	return ok, wait, h
}

// rateCapAnswer is the 429 of the rate cap; its headers come from the bucket.
func rateCapAnswer(format Format, wait time.Duration) Answer {
	return capAnswer(format, wait, "requests", "requests per second", "on requests per second")
}

// capAnswer is a 429 of one of the server's caps in the route's shape, with
// the wording the providers use: dimension is OpenAI's error type
// ("requests", "tokens"), anthropicLimit and openAIScope name the limit.
func capAnswer(format Format, wait time.Duration, dimension, anthropicLimit, openAIScope string) Answer {
	retry := formatResetDuration(wait)
	if format == FormatAnthropic {
		return Answer{Status: http.StatusTooManyRequests, Body: anthropicErrorJSON("rate_limit_error",
			"This request would exceed your organization's rate limit of "+anthropicLimit+". Please try again in "+retry+".")}
	}
	return Answer{Status: http.StatusTooManyRequests, Body: openAIErrorJSON(
		"Rate limit reached for "+dimension+" in organization org-providertest "+openAIScope+". Please try again in "+retry+".",
		dimension, "", "rate_limit_exceeded")}
}
