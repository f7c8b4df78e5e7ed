package resilience

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/ratelimitheader"
	"golang.org/x/time/rate"
)

// ProviderLimits is what the provider last said about its limits, from the
// rate-limit headers of its answers (OpenAI x-ratelimit-*, Anthropic
// anthropic-ratelimit-*, IETF RateLimit-*). A field the provider did not
// report keeps its earlier value; -1 and the zero time mean never reported.
type ProviderLimits struct {
	RequestsLimit     int       // requests allowed per window
	RequestsRemaining int       // requests left in the current window
	RequestsReset     time.Time // when the request window resets
	TokensLimit       int       // tokens allowed per window
	TokensRemaining   int       // tokens left in the current window
	TokensReset       time.Time // when the token window resets
	ObservedAt        time.Time // when a rate-limit header was last seen; zero if never
}

func unknownLimits() ProviderLimits {
	return ProviderLimits{RequestsLimit: -1, RequestsRemaining: -1, TokensLimit: -1, TokensRemaining: -1}
}

// limitsRecord keeps the provider-reported limits of one target.
type limitsRecord struct {
	mu sync.Mutex // guards l
	l  ProviderLimits
}

func newLimitsRecord() *limitsRecord { return &limitsRecord{l: unknownLimits()} }

func (r *limitsRecord) get() ProviderLimits {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.l
}

// observe parses h and merges what it says; ok is false when h holds no
// rate-limit header.
func (r *limitsRecord) observe(h http.Header, now time.Time) (ratelimitheader.Limits, bool) {
	pl, ok := ratelimitheader.Parse(h, now)
	if !ok {
		return pl, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.l.ObservedAt = now
	if pl.RequestsLimit >= 0 {
		r.l.RequestsLimit = pl.RequestsLimit
	}
	if pl.RequestsRemaining >= 0 {
		r.l.RequestsRemaining = pl.RequestsRemaining
	}
	if pl.RequestsReset > 0 {
		r.l.RequestsReset = now.Add(pl.RequestsReset)
	}
	if pl.TokensLimit >= 0 {
		r.l.TokensLimit = pl.TokensLimit
	}
	if pl.TokensRemaining >= 0 {
		r.l.TokensRemaining = pl.TokensRemaining
	}
	if pl.TokensReset > 0 {
		r.l.TokensReset = now.Add(pl.TokensReset)
	}
	return pl, true
}

// RateLimiter is a per-target token bucket (golang.org/x/time/rate) that
// also learns from the provider. Every attempt takes a token from each of:
//
//   - the caller's bucket, RequestsPerSecond with Burst (none when
//     RequestsPerSecond is 0);
//   - the learned bucket, when the provider's answers (seen by
//     [RateLimiter.ObserveHeader]) report a request limit L, the requests R
//     remaining and the time T until the limit is fully replenished: it
//     holds L tokens, refills at the provider's rate, estimated as (L-R)/T
//     (OpenAI and Anthropic replenish continuously), and each answer brings
//     its tokens down to R. It goes away when no answer has reported the
//     limit for LearnedLimitTTL, leaving the caller's bucket alone.
//
// So the tighter of the two limits wins, and a target with no rate of its
// own still keeps to the provider's. Besides, a 429 with a wait
// ([RateLimiter.Pause]), or "0 tokens remaining until reset" (or
// "0 requests remaining until reset" when the limit is not reported),
// pauses the target until then (at most MaxPause), leaving at most one
// token in each bucket when the pause ends.
//
// Every wait is ctx-aware and is never started when it cannot finish before
// the ctx deadline: the attempt then fails at once with a RateLimited
// *aierrors.Error wrapping [ErrRateLimitWait], RetryAfter the wait needed.
//
// A RateLimiter is safe for concurrent use. A nil *RateLimiter admits
// everything at once.
type RateLimiter struct {
	lim      *rate.Limiter // nil when RequestsPerSecond is 0: no token limit of the caller's
	maxPause time.Duration
	target   string
	hooks    Hooks
	logger   *slog.Logger
	limits   *limitsRecord
	learned  learnedBucket

	tok        *tokenBucket  // the caller's TokensPerMinute; nil when 0
	tokLearned learnedBucket // the provider's token limit, from its headers

	// pausedUntil is the Unix time (ns) before which no attempt may start,
	// as the provider asked; 0 when never paused. It only moves forward.
	pausedUntil atomic.Int64
}

// NewRateLimiter returns a full bucket configured by cfg. Options:
// [WithName], [WithHooks] (OnLimiterWait and OnRejection are used),
// [WithLogger].
func NewRateLimiter(cfg RateLimiterConfig, opts ...Option) (*RateLimiter, error) {
	if err := (ResilientConfig{RateLimiter: &cfg}).Validate(); err != nil {
		return nil, err
	}
	return newRateLimiter(cfg, buildOptions(opts)), nil
}

func newRateLimiter(cfg RateLimiterConfig, o options) *RateLimiter {
	l := &RateLimiter{
		maxPause: orDuration(cfg.MaxPause, DefaultMaxPause),
		target:   o.name,
		hooks:    o.hooks,
		logger:   o.logger,
		limits:   newLimitsRecord(),
	}
	l.learned.fixedTTL = cfg.LearnedLimitTTL
	l.tokLearned.fixedTTL = cfg.LearnedLimitTTL
	l.tok = newTokenBucket(cfg.TokensPerMinute, cfg.TokenBurst)
	if cfg.RequestsPerSecond > 0 {
		burst := cfg.Burst
		if burst == 0 {
			burst = max(1, int(math.Ceil(cfg.RequestsPerSecond)))
		}
		l.lim = rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), burst)
	}
	return l
}

// Limit returns the caller's configured rate in requests per second; +Inf
// when there is none. See [RateLimiter.LearnedLimit] for the provider's.
func (l *RateLimiter) Limit() float64 {
	if l == nil || l.lim == nil {
		return math.Inf(1)
	}
	return float64(l.lim.Limit())
}

// Burst returns the caller's bucket size; 0 when there is no configured
// rate.
func (l *RateLimiter) Burst() int {
	if l == nil || l.lim == nil {
		return 0
	}
	return l.lim.Burst()
}

// LearnedLimit returns the request rate (per second) and bucket size
// learned from the provider's headers; +Inf and 0 when none is in force.
func (l *RateLimiter) LearnedLimit() (rps float64, burst int) {
	if l == nil {
		return math.Inf(1), 0
	}
	rps, burst, _ = l.learned.state(time.Now())
	return rps, burst
}

// Tokens returns the tokens an attempt could use now: the fewer of the
// caller's bucket and the learned one (+Inf when neither limits). It does
// not consume any and ignores pauses (see PausedFor).
func (l *RateLimiter) Tokens() float64 {
	return l.tokensAt(time.Now())
}

func (l *RateLimiter) tokensAt(now time.Time) float64 {
	if l == nil {
		return math.Inf(1)
	}
	t := math.Inf(1)
	if l.lim != nil {
		t = l.lim.TokensAt(now)
	}
	if l.learned.active.Load() {
		_, _, lt := l.learned.state(now)
		t = math.Min(t, lt)
	}
	return t
}

// PausedFor returns how long the provider's pause still lasts; 0 when not
// paused.
func (l *RateLimiter) PausedFor() time.Duration {
	return l.pausedAt(time.Now())
}

func (l *RateLimiter) pausedAt(now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	if p := l.pausedUntil.Load(); p > now.UnixNano() {
		return time.Duration(p - now.UnixNano())
	}
	return 0
}

// Pause stops admitting attempts for d (capped by MaxPause) and drains
// the buckets: when the pause ends, each holds at most one token, so the
// attempts that waited go one at a time at the rate, instead of all at
// once. A pause never shortens an earlier, longer one. The executor calls
// it for a 429 with a Retry-After.
func (l *RateLimiter) Pause(d time.Duration) {
	if l == nil || d <= 0 {
		return
	}
	now := time.Now()
	l.pauseUntil(now, now.Add(min(d, l.maxPause)))
}

func (l *RateLimiter) pauseUntil(now, t time.Time) {
	until := t.UnixNano()
	for {
		cur := l.pausedUntil.Load()
		if cur >= until {
			return
		}
		if l.pausedUntil.CompareAndSwap(cur, until) {
			break
		}
	}
	if l.lim != nil {
		// Leave 1 token (and a fraction) at t: reserve the rest at t.
		if n := int(l.lim.TokensAt(t)) - 1; n > 0 {
			l.lim.ReserveN(t, n)
		}
	}
	l.learned.drainUntil(now, t)
}

// ObserveHeader feeds the rate-limit headers of a provider answer (success
// or error) to the limiter: the reported limits become visible in
// [RateLimiter.ProviderLimits], a reported request limit with its
// remaining requests and reset time tunes the learned bucket, and
// "0 tokens remaining until reset" pauses the target until the reset (as
// does "0 requests remaining until reset" when no limit is reported to
// learn a rate from).
func (l *RateLimiter) ObserveHeader(h http.Header) {
	if l == nil {
		return
	}
	now := time.Now()
	pl, ok := l.limits.observe(h, now)
	if !ok {
		return
	}
	l.learn(pl, now)
}

// learn applies what the provider said: the request limit goes to the
// learned bucket; exhaustion it cannot pace by pauses the target.
func (l *RateLimiter) learn(pl ratelimitheader.Limits, now time.Time) {
	paced := false
	if pl.RequestsRemaining >= 0 {
		paced = l.learned.observe(now, pl.RequestsLimit, pl.RequestsRemaining, pl.RequestsReset)
	}
	if pl.TokensRemaining >= 0 {
		l.tokLearned.observe(now, pl.TokensLimit, pl.TokensRemaining, pl.TokensReset)
	}
	var wait time.Duration
	if pl.RequestsExhausted() && pl.RequestsReset > 0 && !paced {
		// The reset is when the limit is fully replenished; without a rate
		// to tell when the next request is allowed, wait for it.
		wait = pl.RequestsReset
	}
	if pl.TokensExhausted() && pl.TokensReset > wait {
		wait = pl.TokensReset
	}
	if wait > 0 {
		l.pauseUntil(now, now.Add(min(wait, l.maxPause)))
	}
}

// ProviderLimits returns what the provider last reported.
func (l *RateLimiter) ProviderLimits() ProviderLimits {
	if l == nil {
		return unknownLimits()
	}
	return l.limits.get()
}

// Preflight reports whether an attempt would get a token now, without
// taking one: nil, or a RateLimited *aierrors.Error wrapping
// [ErrRateLimitWait] with RetryAfter = the wait needed.
func (l *RateLimiter) Preflight() *aierrors.Error {
	if l == nil {
		return nil
	}
	now := time.Now()
	wait := l.pausedAt(now)
	wait += l.tokenWait(now, now.Add(wait), false, false)
	if wait > 0 {
		return rejection(l.target, aierrors.RateLimited, ErrRateLimitWait, wait, "no rate token available now")
	}
	return nil
}

// Wait takes one token, waiting for it (and for any provider pause) as
// long as ctx allows. It returns nil, a RateLimited *aierrors.Error
// wrapping [ErrRateLimitWait] at once when the wait cannot finish before
// the ctx deadline (RetryAfter = the wait needed), or a Cancelled/Timeout
// *aierrors.Error when ctx ends while waiting (the token is given back).
func (l *RateLimiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ctxError(ctx, l.targetName())
	}
	if ae := l.wait(ctx, time.Now()); ae != nil {
		return ae
	}
	return nil
}

func (l *RateLimiter) targetName() string {
	if l == nil {
		return ""
	}
	return l.target
}

// tokenWait estimates how long after t (now or later) a token is available
// from each bucket an attempt still needs, taking none.
func (l *RateLimiter) tokenWait(now, t time.Time, haveCfg, haveLearned bool) time.Duration {
	var d time.Duration
	if !haveCfg && l.lim != nil {
		if tokens := l.lim.TokensAt(t); tokens < 1 {
			d = durationForTokens(float64(l.lim.Limit()), 1-tokens)
		}
	}
	if !haveLearned && l.learned.active.Load() {
		d = max(d, l.learned.wait(now, t))
	}
	return d
}

// wait is step 2 of an attempt; the fast path neither allocates nor reads
// the clock (now is the attempt's).
func (l *RateLimiter) wait(ctx context.Context, now time.Time) *aierrors.Error {
	return l.waitFor(ctx, now, false)
}

// waitFor is wait; skipCfg leaves the caller's bucket out (a shared
// limiter that answers stands in for it; see WithSharedLimiter).
func (l *RateLimiter) waitFor(ctx context.Context, now time.Time, skipCfg bool) *aierrors.Error {
	if l == nil {
		return nil
	}
	if l.pausedUntil.Load() > now.UnixNano() {
		return l.waitSlow(ctx, skipCfg || l.lim == nil)
	}
	haveCfg := skipCfg || l.lim == nil || l.lim.AllowN(now, 1)
	if haveCfg && (!l.learned.active.Load() || l.learned.allow(now)) {
		return nil
	}
	return l.waitSlow(ctx, haveCfg)
}

// waitSlow waits for a provider pause to end and for a token from each
// bucket (haveCfg: the caller's bucket already gave one), in that order,
// checking again after every sleep. A wait that cannot end before the ctx
// deadline is refused at once, with RetryAfter the whole wait still needed,
// and gives back what it can.
func (l *RateLimiter) waitSlow(ctx context.Context, haveCfg bool) *aierrors.Error {
	haveCfg = haveCfg || l.lim == nil
	haveLearned := false
	giveBack := func() {
		if haveLearned {
			l.learned.cancel()
		}
	}
	// The wait is reported once, before its first sleep. A waiter loops
	// when a pause is extended or a bucket is still short after it wakes;
	// reporting every loop flooded hooks and logs under load (thousands
	// of waiters re-sleeping on one extended pause) and counted the same
	// wait several times.
	reported := false
	sleep := func(d time.Duration) *aierrors.Error {
		if !reported {
			reported = true
			return l.sleep(ctx, d)
		}
		if !sleepCtx(ctx, d) {
			return ctxError(ctx, l.target)
		}
		return nil
	}
	for {
		now := time.Now()
		deadline, hasDeadline := ctx.Deadline()
		if pause := l.pausedAt(now); pause > 0 {
			if need := pause + l.tokenWait(now, now.Add(pause), haveCfg, haveLearned); hasDeadline && !now.Add(need).Before(deadline) {
				giveBack()
				return l.reject(need, "provider rate limit pause exceeds the deadline")
			}
			if err := sleep(pause); err != nil {
				giveBack()
				return err
			}
			continue // the pause may have been extended meanwhile
		}
		if !haveCfg {
			r := l.lim.ReserveN(now, 1)
			if !r.OK() { // cannot happen: burst >= 1
				giveBack()
				return l.reject(0, "rate limiter admits no request")
			}
			d := r.DelayFrom(now)
			need := max(d, l.tokenWait(now, now, true, haveLearned))
			if need > 0 && hasDeadline && !now.Add(need).Before(deadline) {
				r.CancelAt(now)
				giveBack()
				return l.reject(need, "rate limit wait exceeds the deadline")
			}
			if d > 0 {
				if err := sleep(d); err != nil {
					r.Cancel()
					giveBack()
					return err
				}
			}
			haveCfg = true
			continue
		}
		if !haveLearned && l.learned.active.Load() {
			d, ok := l.learned.reserve(now, deadline, hasDeadline)
			if !ok {
				return l.reject(d, "provider rate limit wait exceeds the deadline")
			}
			haveLearned = true
			if d > 0 {
				if err := sleep(d); err != nil {
					giveBack()
					return err
				}
			}
			continue // a pause may have started meanwhile
		}
		return nil
	}
}

// sleep waits d or until ctx is done, reporting the wait first.
func (l *RateLimiter) sleep(ctx context.Context, d time.Duration) *aierrors.Error {
	return limiterSleep(ctx, l.hooks, l.logger, l.target, "resilience: rate limiter wait", d)
}

// limiterSleep waits d or until ctx is done, after reporting the wait to
// the OnLimiterWait hook and the logger (msg says which limiter), so that
// the local and the shared limiters report their waits the same way.
func limiterSleep(ctx context.Context, hooks Hooks, logger *slog.Logger, target, msg string, d time.Duration) *aierrors.Error {
	if hooks.OnLimiterWait != nil {
		hooks.OnLimiterWait(LimiterWait{Target: target, Wait: d})
	}
	if logger != nil {
		logger.LogAttrs(ctx, slog.LevelDebug, msg, slog.String("target", target), slog.Duration("wait", d))
	}
	if !sleepCtx(ctx, d) {
		return ctxError(ctx, target)
	}
	return nil
}

func (l *RateLimiter) reject(retryAfter time.Duration, msg string) *aierrors.Error {
	ae := rejection(l.target, aierrors.RateLimited, ErrRateLimitWait, retryAfter, msg)
	reportRejection(l.hooks, l.logger, l.target, ae)
	return ae
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reportRejection calls OnRejection and logs.
func reportRejection(h Hooks, logger *slog.Logger, target string, ae *aierrors.Error) {
	if h.OnRejection != nil {
		h.OnRejection(Rejection{Target: target, Err: ae})
	}
	if logger != nil {
		logger.LogAttrs(context.Background(), slog.LevelInfo, "resilience: rejected",
			slog.String("target", target), slog.String("code", ae.Code.Code()),
			slog.Duration("retry_after", ae.RetryAfter), slog.String("reason", ae.Message))
	}
}

// durationForTokens is the time rps takes to refill tokens, rounded up.
func durationForTokens(rps, tokens float64) time.Duration {
	if rps <= 0 || tokens <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(tokens / rps * float64(time.Second)))
}
