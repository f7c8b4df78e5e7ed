package resilience

import (
	"container/list"
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"golang.org/x/time/rate"
)

// ProviderLimits is what the provider last said about its limits, from
// the rate-limit headers of its answers. A count of -1 was never said.
type ProviderLimits struct {
	RequestsLimit     int
	RequestsRemaining int
	RequestsReset     time.Time
	TokensLimit       int
	TokensRemaining   int
	TokensReset       time.Time
	ObservedAt        time.Time // zero when no header was ever seen
}

func unknownLimits() ProviderLimits {
	return ProviderLimits{RequestsLimit: -1, RequestsRemaining: -1, TokensLimit: -1, TokensRemaining: -1}
}

// RateLimiter paces a target's attempts. Every bucket is a
// [rate.Limiter]: the caller's requests per second, the caller's tokens per
// minute, and the limit learned from the provider, which a 429 cuts and a
// run of successes raises (AIMD), bounded by what its headers say. A pause
// the provider asks for (a 429's Retry-After, "0 remaining") drains the
// learned bucket up to the pause's end, so waiters are then released at
// the learned rate rather than all at once.
//
// A RateLimiter is safe for concurrent use and starts no goroutine. Build
// it with [NewRateLimiter]; a nil *RateLimiter admits everything.
type RateLimiter struct {
	target   string
	hooks    Hooks
	logger   *slog.Logger
	maxPause time.Duration
	// likelyNow is the executor's estimate now of how long an attempt
	// takes but for about one in ten (ResilientExecutor.likelyAttempt):
	// see handsOn. nil for a limiter on its own.
	likelyNow func() time.Duration

	caller     *rate.Limiter // nil: no requests-per-second limit of the caller's
	tokens     *rate.Limiter // nil: no tokens-per-minute limit of the caller's
	learned    *rate.Limiter // rate.Inf until the provider shows a limit
	tokLearned *rate.Limiter // rate.Inf until the provider reports a token limit

	active atomic.Bool  // a learned limit or a pause is in force: the fast path is off
	short  atomic.Int64 // shortWait, ns: two intervals of the learned rate (0: none learned)
	clock  pauseClock   // the buckets' clock, standing still while the provider asks for a pause

	mu        sync.Mutex // guards the fields below
	est       float64    // learned requests per second; 0: none yet
	hint      float64    // this replica's share of the provider's stated limit per second; 0: none
	statedPS  float64    // the provider's stated limit per second; 0: none
	replicas  int        // the replicas sharing the limit (the shared state's membership); 0: alone
	rank      int        // this replica\'s rank among them
	routeNext time.Time  // a pool\'s next place on the routing grid (routeGrid)
	// A Pool's deployment routes by its hint before any 429 (see
	// applyHint): stated is a gauge of what was sent to it, at the hint,
	// nil unless pooled; doubt is set once the provider was seen to accept
	// more than twice the hint, which then is not believed.
	stated      *rate.Limiter
	doubt       bool
	pooled      atomic.Bool
	lastProbe   time.Time // the last increase of onShortage
	lastRelease time.Time // when the learned bucket last released an attempt (spacing)
	queue       list.List // *queued: the attempts waiting for their place in the learned bucket, by place (lone targets)
	lastCut     time.Time
	// The bisection between the highest rate seen clean and the lowest
	// refused while paced (see onSuccess), lone targets (under a stated
	// limit believed, up to it): cleanRate and refusedRate (0: none);
	// stepAt and stepFrom, when the rate last changed by a cut or a step
	// and from what; and
	// since then, the attempts the learned bucket released (the first of
	// them at stepFirst), the 429s to them, and the successes since the
	// last 429.
	cleanRate, refusedRate, stepFrom      float64
	refusedPaced                          time.Time // the last 429 to an attempt the learned bucket paced (zero: none); the slow start is over for forgetRefused
	stepAt, stepFirst                     time.Time
	stepReleases, step429s, stepSuccesses int
	ceil                                  float64 // the rate the last cut was made from, which the provider refused; 0: none
	born                                  time.Time
	sampleN                               int64        // attempts sent, ever, at sampleT
	accepted                              acceptedRing // successes while learning (active), per 100ms
	perSec                                secRing      // successes while learning, per second (noiseTest)
	refusedSec                            secRing      // 429s while learning, per second
	noiseUntil                            time.Time    // 429s were found not to depend on the rate (noiseTest): until then they cut nothing while as few...
	noiseShare                            float64      // ...the share of 429s then...
	noiseGrown                            time.Time    // ...and the rate's last growth since
	since                                 time.Time    // when learning started
	sampleT                               time.Time    // when the send rate was last measured
	limits                                ProviderLimits
	gaps                                  gapLog // the gaps sent and their outcomes, while learning (lone targets)
}

// NewRateLimiter returns a limiter usable on its own (the executor builds
// its own). A zero field of cfg takes its default.
func NewRateLimiter(cfg RateLimiterConfig, opts ...Option) (*RateLimiter, error) {
	if err := (ResilientConfig{RateLimiter: &cfg}).validate(); err != nil {
		return nil, err
	}
	return newRateLimiter(cfg, buildOptions(opts)), nil
}

func newRateLimiter(cfg RateLimiterConfig, o options) *RateLimiter {
	l := &RateLimiter{
		target:     o.name,
		hooks:      o.hooks,
		logger:     o.logger,
		maxPause:   or(cfg.MaxPause, defaultMaxPause),
		learned:    rate.NewLimiter(rate.Inf, 1),
		tokLearned: rate.NewLimiter(rate.Inf, 1),
		limits:     unknownLimits(),
		sampleT:    time.Now(),
		born:       time.Now(),
	}
	if r := cfg.RequestsPerSecond; r > 0 {
		l.caller = rate.NewLimiter(rate.Limit(r), or(cfg.Burst, max(1, int(math.Ceil(r)))))
	}
	if t := cfg.TokensPerMinute; t > 0 {
		l.tokens = rate.NewLimiter(rate.Limit(t/60), max(1, int(math.Ceil(t))))
	}
	return l
}

// Wait waits for a token, as an attempt does; the error is an
// *aierrors.Error (ErrRateLimitWait when the wait cannot end before the
// ctx deadline, and nothing is taken then).
func (l *RateLimiter) Wait(ctx context.Context) error {
	if ctx.Err() != nil {
		return doneError(ctx, l.name(), nil)
	}
	if _, ae := l.wait(ctx, &clock{}, 0, 0); ae != nil {
		return ae
	}
	return nil
}

// shortWait is the wait of two places at the learned rate (0 when no
// rate is learned): a wait the executor admits whenever a typical attempt
// (ResilientExecutor.expected) fits after it, even if a slow one would not.
// A wait is otherwise admitted only if a slow attempt fits after it; when
// answers are so spread that a slow one would not fit even at once (a
// deadline of 2s, answers of 300ms of which 30% take 1.5s: the smoothed
// duration plus four deviations runs at 2 to 3.5s), only the calls that
// found a place free at once would go, and calls arriving 1.5 times as
// fast as the learned rate would use two places in three: the queue must
// hold a call or two for every place to be used. The answers of the calls that waited
// that little are as likely to fit as those that did not wait. (The
// scenario family's rate-limit points, answers of 300ms, 30% of them 1.5s:
// mean success 55.2% → 56.4%, the loop 54.1%; other spreads of answers
// gained 0.1 to 0.8 points; answers at once, unchanged.)
func (l *RateLimiter) shortWait() time.Duration {
	if l == nil {
		return 0
	}
	return time.Duration(l.short.Load())
}

func (l *RateLimiter) name() string {
	if l == nil {
		return ""
	}
	return l.target
}

// grant is what an attempt took from the token buckets, to settle later.
type grant struct {
	cost     int
	released time.Time // when the learned bucket released the attempt (spacing); zero when it did not pace it
	seq      uint64    // the attempt's entry in the send log (gaps); 0: not logged
}

// wait is step 2 of an attempt: it takes a request token from each bucket
// (and cost tokens from the token buckets), waiting when one is empty or
// the provider asked for a pause. A wait is admitted only if it ends at
// least need (a slow attempt's duration) before the ctx deadline;
// otherwise nothing is taken and the attempt is refused at once.
//
// The buckets run on the pause clock (see pauseClock): a pause freezes
// them, so a place taken before the pause moves by the pause's length and
// places taken during it follow at the learned pace after it.
func (l *RateLimiter) wait(ctx context.Context, clk *clock, cost int, need time.Duration) (grant, *aierrors.Error) {
	if l == nil {
		return grant{}, nil
	}
	if !l.active.Load() && (cost == 0 || l.tokens == nil) && (l.caller == nil || l.caller.AllowN(clk.now(), 1)) {
		return grant{}, nil // nothing to wait for: no reservation, no allocation
	}
	now := clk.now()
	vnow, shift := l.clock.at(now)
	var g grant
	var rs [4]*rate.Reservation
	rs[0], rs[1] = reserve(l.caller, vnow, 1), reserve(l.learned, vnow, 1)
	if cost > 0 {
		g.cost = cost
		rs[2], rs[3] = reserve(l.tokens, vnow, cost), reserve(l.tokLearned, vnow, cost)
	}
	// The learned bucket's place is kept apart (learnedV, virtual time):
	// the attempt may take a place freed ahead of it there (see enqueue).
	var learnedV, otherV time.Time
	for i, r := range rs {
		if r == nil {
			continue
		}
		if v := vnow.Add(r.DelayFrom(vnow)); i == 1 {
			learnedV = v
		} else if v.After(otherV) {
			otherV = v
		}
	}
	q := l.enqueue(rs[1], learnedV, vnow)
	defer l.leave(q)
	var wake <-chan struct{}
	if q != nil {
		wake = q.wake
	}
	cancel := func() {
		v, _ := l.clock.at(time.Now())
		for _, r := range rs {
			if r != nil {
				r.CancelAt(v)
			}
		}
	}
	placeAt := func() time.Time { // when the buckets release this attempt
		return maxTime(vnow, maxTime(learnedV, otherV)).Add(shift)
	}
	place := placeAt()
	delay := place.Sub(now)
	for reported, spaced := false, false; ; {
		if delay <= 0 {
			if spaced {
				break
			}
			// The place has come: keep it one interval of the learned
			// rate after the last one released (see spacing).
			spaced, wake = true, nil
			var ok bool
			if delay, ok = l.spacing(ctx, now, place, need, q); !ok {
				cancel()
				l.giveBackPlace(now)
				return grant{}, l.refuse(delay, "local rate-limit queue: the wait would end too late for the call's deadline")
			}
			if delay <= 0 {
				g.released = now
				break
			}
			g.released = now.Add(delay)
		}
		if dl, ok := ctx.Deadline(); ok && now.Add(delay+need).After(dl) {
			cancel()
			if spaced { // a pause began during the spacing: the place will not be used
				l.giveBackPlace(now)
			}
			return grant{}, l.refuse(delay, "local rate-limit queue: the wait would end too late for the call's deadline")
		}
		if !reported {
			reported = true
			if l.hooks.OnLimiterWait != nil {
				l.hooks.OnLimiterWait(LimiterWait{Target: l.target, Wait: delay})
			}
			if l.logger != nil {
				l.logger.LogAttrs(ctx, slog.LevelDebug, "resilience: rate limiter wait",
					slog.String("target", l.target), slog.Duration("wait", delay))
			}
		}
		if !sleep(ctx, delay, wake) {
			cancel()
			if spaced {
				l.giveBackPlace(time.Now())
			}
			return grant{}, doneError(ctx, l.target, nil)
		}
		now = time.Now()
		if !spaced {
			// A pause that started while this attempt waited moved its
			// place by the pause's length.
			var v time.Time
			v, shift = l.clock.at(now)
			if wake != nil && chanClosed(wake) {
				// The queue ahead left a place free (see handOn):
				// this attempt takes it, before its own.
				learnedV, wake = maxTime(v, q.free.Add(-shift)), nil
			}
			place = placeAt()
			delay = place.Sub(now)
			continue
		}
		// A pause that started during the spacing moved its place by the
		// pause's length.
		_, s2 := l.clock.at(now)
		delay, shift = s2-shift, s2
		if delay > 0 {
			place = place.Add(delay)
		}
	}
	return g, nil
}

// logSend logs an attempt about to be sent, while the limiter learns a
// limit (see gapLog), and returns its entry (0: not logged). The executor
// calls it once every admission is taken, just before the request goes:
// a gap read from an earlier time (the wait's end, before an in-flight
// permit was waited for) would be too short, and a gap accepted too
// short bounds the rate too high.
func (l *RateLimiter) logSend() uint64 {
	if l == nil || !l.active.Load() || l.pooled.Load() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gaps.log(time.Now())
}

// sent records what came of an attempt the limiter logged (see gapLog).
//
// The gap log reads the sends in order: a 429 sent after a request still
// out is read only once that request's answer is in. With answers slower
// than the gap between sends, onRateLimited (called just after, for the
// 429 itself) still sees what was read before, so when an answer that is
// not a 429 lets the log read such a refusal, sent acts on it then, as
// the 429 would have had it been read at once:
//   - a refusal no bucket refilled at the rate proven sends (refillTest):
//     the 429s are random (foundNoise). Otherwise the clash waited for
//     the next 429 and was stale by then (read more than a second
//     before): 1% of random 429s at 50 calls/s with answers of 300ms,
//     30% of them 1.5s, served 96.8-98.6% of calls on one seed of five
//     in two plays, the loop 100%; so, 99.5-100%.
//   - a refusal that lowers a bucket of one's ceiling under the rate: the
//     rate goes to the middle of the bounds. The bisection stalled above
//     the limit: against a bucket of one at 5/s, 4 refusals at 6.25/s left
//     the rate there, 25 429s and 47% of the calls served (the loop 61%);
//     so, 64%, 12 429s; the latency family's 216 points +0.1 in the mean
//     success on two shapes of answers (three plays each), 3% fewer 429s.
//
// Answers at once leave nothing to read late: the scenario family's
// grids without latency did not move.
func (l *RateLimiter) sent(g grant, st sendState) {
	if l == nil || g.seq == 0 {
		return
	}
	l.mu.Lock()
	now := time.Now()
	hi := l.gaps.hi
	l.gaps.resolve(g.seq, st, now)
	if st != sendRefused && l.est > 0 && !l.pooled.Load() {
		if sent, ok := l.clashRead(now); ok {
			l.foundNoise(now, sent)
		} else if gb := l.gaps.bounds(now); l.gaps.hi != hi && gb.one() && l.est > gb.ceiling {
			l.markStep(now)
			l.setEstimate(now, max(gb.mid, minRate))
		}
	}
	l.mu.Unlock()
}

func reserve(lim *rate.Limiter, at time.Time, n int) *rate.Reservation {
	if lim == nil || lim.Limit() == rate.Inf {
		return nil
	}
	if b := lim.Burst(); n > b {
		n = b // a reservation above the bucket would never be granted
	}
	return lim.ReserveN(at, n)
}

func (l *RateLimiter) refuse(retryAfter time.Duration, msg string) *aierrors.Error {
	ae := rejection(l.target, aierrors.RateLimited, ErrRateLimitWait, retryAfter, msg)
	reportRejection(l.hooks, l.logger, l.target, ae)
	return ae
}

// settle replaces an attempt's token estimate by what it used: all of it
// back when the attempt failed (used 0), the difference taken or given
// back otherwise. x/time/rate cannot cancel a reservation whose time has
// come (Reservation.CancelAt does nothing then), so a refund is a
// reservation of a negative count, which adds tokens (capped at the burst).
func (l *RateLimiter) settle(g grant, used int) {
	if l == nil || g.cost == 0 || used == g.cost {
		return
	}
	vnow, _ := l.clock.at(time.Now())
	for _, lim := range []*rate.Limiter{l.tokens, l.tokLearned} {
		if lim != nil && lim.Limit() != rate.Inf {
			lim.ReserveN(vnow, min(used-g.cost, lim.Burst()))
		}
	}
}

// preflight reports whether an attempt would have to wait now, taking
// nothing.
func (l *RateLimiter) preflight() *aierrors.Error {
	if wait := l.waitAt(time.Now()); wait > 0 {
		return rejection(l.target, aierrors.RateLimited, ErrRateLimitWait, wait, "no rate token available now")
	}
	return nil
}

// waitAt is how long a request would wait for its pacing at now: a pause
// in force, then a request token of each bucket. It takes nothing.
func (l *RateLimiter) waitAt(now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	vnow, _ := l.clock.at(now)
	wait := l.pausedFor(now)
	var tokenWait time.Duration
	for _, lim := range []*rate.Limiter{l.caller, l.learned} {
		if lim != nil && lim.Limit() != rate.Inf {
			if t := lim.TokensAt(vnow); t < 1 {
				tokenWait = max(tokenWait, time.Duration((1-t)/float64(lim.Limit())*float64(time.Second)))
			}
		}
	}
	return wait + tokenWait
}

// signals fills the rate part of a snapshot.
func (l *RateLimiter) signals(now time.Time) (remaining float64, s RateSignals) {
	s = RateSignals{Limit: math.Inf(1), Learned: math.Inf(1), TokenLimit: math.Inf(1), TokensLeft: math.Inf(1), Provider: unknownLimits()}
	remaining = math.Inf(1)
	if l == nil {
		return remaining, s
	}
	vnow, _ := l.clock.at(now)
	if l.caller != nil {
		s.Limit = float64(l.caller.Limit())
		remaining = l.caller.TokensAt(vnow)
	}
	if l.tokens != nil {
		s.TokenLimit = float64(l.tokens.Limit()) * 60
		s.TokensLeft = l.tokens.TokensAt(vnow)
	}
	if l.tokLearned.Limit() != rate.Inf {
		s.TokensLeft = min(s.TokensLeft, l.tokLearned.TokensAt(vnow))
	}
	l.mu.Lock()
	if l.est > 0 {
		s.Learned = l.est
		remaining = min(remaining, l.learned.TokensAt(vnow))
	}
	s.Provider = l.limits
	l.mu.Unlock()
	s.PausedFor = l.pausedFor(now)
	return remaining, s
}

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

// sleep waits d, or until ctx is done (false), or until wake is closed
// (true, early). It holds nothing.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// clashRead takes a clash the refill test read within the last second
// (refillTest.takeClash), unless the 429s are taken as random already,
// under l.mu.
func (l *RateLimiter) clashRead(now time.Time) (float64, bool) {
	if now.Before(l.noiseUntil) {
		return 0, false
	}
	return l.gaps.refill.takeClash(now)
}
