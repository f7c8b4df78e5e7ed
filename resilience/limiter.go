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
// also learns from the provider: a "remaining 0 until reset" header seen by
// [RateLimiter.ObserveHeader], or a 429 with a wait ([RateLimiter.Pause]),
// pauses the bucket until then (at most MaxPause). Every wait is
// ctx-aware and is never started when it cannot finish before the ctx
// deadline.
//
// A RateLimiter is safe for concurrent use. A nil *RateLimiter admits
// everything at once.
type RateLimiter struct {
	lim      *rate.Limiter // nil when RequestsPerSecond is 0: no token limit
	maxPause time.Duration
	target   string
	hooks    Hooks
	logger   *slog.Logger
	limits   *limitsRecord

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
	if cfg.RequestsPerSecond > 0 {
		burst := cfg.Burst
		if burst == 0 {
			burst = max(1, int(math.Ceil(cfg.RequestsPerSecond)))
		}
		l.lim = rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), burst)
	}
	return l
}

// Limit returns the configured rate in requests per second; +Inf when
// there is no token limit.
func (l *RateLimiter) Limit() float64 {
	if l == nil || l.lim == nil {
		return math.Inf(1)
	}
	return float64(l.lim.Limit())
}

// Burst returns the bucket size; 0 when there is no token limit.
func (l *RateLimiter) Burst() int {
	if l == nil || l.lim == nil {
		return 0
	}
	return l.lim.Burst()
}

// Tokens returns the tokens available now (+Inf when there is no token
// limit). It does not consume any and ignores pauses (see PausedFor).
func (l *RateLimiter) Tokens() float64 {
	return l.tokensAt(time.Now())
}

func (l *RateLimiter) tokensAt(now time.Time) float64 {
	if l == nil || l.lim == nil {
		return math.Inf(1)
	}
	return l.lim.TokensAt(now)
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

// Pause stops admitting attempts for d (capped by MaxPause). A pause never
// shortens an earlier, longer one. The executor calls it for a 429 with a
// Retry-After.
func (l *RateLimiter) Pause(d time.Duration) {
	if l == nil || d <= 0 {
		return
	}
	l.pauseUntil(time.Now().Add(min(d, l.maxPause)))
}

func (l *RateLimiter) pauseUntil(t time.Time) {
	until := t.UnixNano()
	for {
		cur := l.pausedUntil.Load()
		if cur >= until || l.pausedUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// ObserveHeader feeds the rate-limit headers of a provider answer (success
// or error) to the limiter: the reported limits become visible in
// [RateLimiter.ProviderLimits], and "0 requests (or tokens) remaining until
// reset" pauses the bucket until the reset.
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

// learn applies what the provider said to the bucket. Today that is the
// pause on exhaustion; adopting the provider's rate itself (SetLimit from
// RequestsLimit and the window) belongs here too (issue #10).
func (l *RateLimiter) learn(pl ratelimitheader.Limits, now time.Time) {
	var wait time.Duration
	if pl.RequestsExhausted() && pl.RequestsReset > 0 {
		wait = pl.RequestsReset
	}
	if pl.TokensExhausted() && pl.TokensReset > wait {
		wait = pl.TokensReset
	}
	if wait > 0 {
		l.pauseUntil(now.Add(min(wait, l.maxPause)))
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
	if l.lim != nil {
		if tokens := l.lim.TokensAt(now.Add(wait)); tokens < 1 {
			wait += durationForTokens(float64(l.lim.Limit()), 1-tokens)
		}
	}
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

// wait is step 2 of an attempt; the fast path neither allocates nor reads
// the clock (now is the attempt's).
func (l *RateLimiter) wait(ctx context.Context, now time.Time) *aierrors.Error {
	if l == nil {
		return nil
	}
	if l.pausedUntil.Load() <= now.UnixNano() && (l.lim == nil || l.lim.AllowN(now, 1)) {
		return nil
	}
	return l.waitSlow(ctx)
}

func (l *RateLimiter) waitSlow(ctx context.Context) *aierrors.Error {
	haveToken := false
	for {
		now := time.Now()
		deadline, hasDeadline := ctx.Deadline()
		if pause := l.pausedAt(now); pause > 0 {
			if hasDeadline && !now.Add(pause).Before(deadline) {
				return l.reject(pause, "provider rate limit pause exceeds the deadline")
			}
			if err := l.sleep(ctx, pause); err != nil {
				return err
			}
			continue // the pause may have been extended meanwhile
		}
		if haveToken || l.lim == nil {
			return nil
		}
		r := l.lim.ReserveN(now, 1)
		if !r.OK() { // cannot happen: burst >= 1
			return l.reject(0, "rate limiter admits no request")
		}
		d := r.DelayFrom(now)
		if d > 0 {
			if hasDeadline && !now.Add(d).Before(deadline) {
				r.CancelAt(now)
				return l.reject(d, "rate limit wait exceeds the deadline")
			}
			if err := l.sleep(ctx, d); err != nil {
				r.Cancel()
				return err
			}
		}
		haveToken = true
	}
}

// sleep waits d or until ctx is done, reporting the wait first.
func (l *RateLimiter) sleep(ctx context.Context, d time.Duration) *aierrors.Error {
	if l.hooks.OnLimiterWait != nil {
		l.hooks.OnLimiterWait(LimiterWait{Target: l.target, Wait: d})
	}
	if l.logger != nil {
		l.logger.LogAttrs(ctx, slog.LevelDebug, "resilience: rate limiter wait",
			slog.String("target", l.target), slog.Duration("wait", d))
	}
	if !sleepCtx(ctx, d) {
		return ctxError(ctx, l.target)
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
