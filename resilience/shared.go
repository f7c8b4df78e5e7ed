package resilience

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience/shared"
)

// sharedTimeout bounds each operation on the shared store: a store slower
// than that is treated as down, and the target runs on local state.
const sharedTimeout = 50 * time.Millisecond

// How soon a degraded target asks the store again: doubling from the
// first to the last.
const (
	sharedRecheckMin = 100 * time.Millisecond
	sharedRecheckMax = 2 * time.Second
)

// Membership of a shared limit (see shared.Membership): each replica
// refreshes its own at most this often, on a call, and is counted live
// for sharedMemberTTL after. Its first sharedMemberEarly refreshes come
// sooner (sharedMemberFirst, doubling): replicas that start together see
// 1, 2, 3… live at their first join, and a count too low makes a share
// too large if the store is lost early.
const (
	sharedMemberEvery = time.Second
	sharedMemberTTL   = 3 * time.Second
	sharedMemberFirst = 100 * time.Millisecond
	sharedMemberEarly = 3
)

// sharedGraceAhead is how far ahead a replica just back from degraded
// mode gives places of its share (see reserve).
const sharedGraceAhead = 500 * time.Millisecond

// sharedGrace is how long a replica just back from degraded mode keeps
// to its share (see reserve): until the others, which ask the store again
// at most sharedRecheckMax apart, are back too.
const sharedGrace = sharedRecheckMax + 500*time.Millisecond

// sharedQuotaPause is the shared pause after quota_exhausted without a
// Retry-After.
const sharedQuotaPause = 60 * time.Second

type sharedOptions struct {
	limiter  shared.Limiter
	limKey   string
	state    shared.State
	stateKey string
}

// WithSharedLimiter makes every attempt also take a token from l under key
// ("" = the target's name), after the local wait: replicas that share l
// share the provider's rate limit. See the package doc ("Scale-out").
func WithSharedLimiter(l shared.Limiter, key string) Option {
	return optionFunc(func(o *options) { o.shared.limiter, o.shared.limKey = l, key })
}

// WithSharedState shares the target's circuit and pauses with every
// replica that uses s under the same key ("" = the target's name).
func WithSharedState(s shared.State, key string) Option {
	return optionFunc(func(o *options) { o.shared.state, o.shared.stateKey = s, key })
}

// sharedTicket is what an attempt took from the shared state.
type sharedTicket struct{ probe bool }

// sharedGate is the executor's link to the shared limiter and state. A
// store that fails or is slow is marked degraded: the target runs on its
// local state and asks the store again after a growing delay (lazily, on
// the next attempt: no goroutine). Nil when neither is configured.
type sharedGate struct {
	target    string
	hooks     Hooks
	logger    *slog.Logger
	limiter   shared.Limiter
	limKey    string
	state     shared.State
	stateKey  string
	maxProbes int
	cooldown  time.Duration // of a failed probe
	maxPause  time.Duration

	degraded atomic.Bool
	checking atomic.Bool  // one attempt asks a degraded store
	retryAt  atomic.Int64 // Unix ns a degraded store is asked again

	mu       sync.Mutex // guards lastErr and failures
	lastErr  error
	failures int

	openUntil   atomic.Int64 // last known shared open period, Unix ns
	pausedUntil atomic.Int64 // last known shared pause, Unix ns
	pauseCode   atomic.Int32
	published   atomic.Int64 // the local open period last published

	// Degraded-mode pacing: nil unless the limiter tells its rate
	// (shared.RateReporter). members is nil unless it also counts replicas
	// (shared.Membership).
	share    *shared.Share
	members  shared.Membership
	memberID string
	memberAt atomic.Int64 // Unix ns the membership is due for a refresh
	joins    atomic.Int32 // refreshes so far
	graceAt  atomic.Int64 // Unix ns until which the share paces, after the store came back
	ahead    atomic.Int64 // ns: how far ahead of its answer the store's last place lay (see Share.Lost)
	// The store came back: once the grace is over, set the learned rate
	// back to what it was when the store was lost.
	restoreDue atomic.Bool

	// The replicas sharing the state, when the state counts them and the
	// limiter does not (members): each takes its share of a limit the
	// provider states (RateLimiter.setReplicas).
	stateMembers shared.Membership
	stateJoinAt  atomic.Int64 // Unix ns the state's membership is due for a refresh
	stateJoins   atomic.Int32

	local   *RateLimiter  // the executor's; its learned rate is set back when the store is back
	learned atomic.Uint64 // the learned rate (float64 bits) when the store was lost
}

func newSharedGate(o options, cfg ResilientConfig) *sharedGate {
	so := o.shared
	if so.limiter == nil && so.state == nil {
		return nil
	}
	g := &sharedGate{
		target:    o.name,
		hooks:     o.hooks,
		logger:    o.logger,
		limiter:   so.limiter,
		limKey:    or(so.limKey, o.name),
		state:     so.state,
		stateKey:  or(so.stateKey, o.name),
		maxProbes: or(cfg.CircuitBreaker.HalfOpenMaxRequests, defaultHalfOpenMaxRequests),
		cooldown:  or(cfg.CircuitBreaker.Cooldown, defaultCooldown),
		maxPause:  or(cfg.RateLimiter.MaxPause, defaultMaxPause),
	}
	if rr, ok := so.limiter.(shared.RateReporter); ok {
		g.share = new(shared.Share)
		g.share.SetLimit(rr.Rate())
		if m, ok := so.limiter.(shared.Membership); ok {
			var b [8]byte
			_, _ = rand.Read(b[:])
			g.members, g.memberID = m, hex.EncodeToString(b[:])
		}
	}
	if m, ok := so.state.(shared.Membership); ok && g.members == nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		g.stateMembers, g.memberID = m, hex.EncodeToString(b[:])
	}
	return g
}

// use says whether to ask the store now, and whether this attempt is the
// one probing a degraded store.
func (g *sharedGate) use() (ok, probing bool) {
	if !g.degraded.Load() {
		return true, false
	}
	if time.Now().UnixNano() < g.retryAt.Load() {
		return false, false
	}
	if g.checking.CompareAndSwap(false, true) {
		return true, true
	}
	return false, false
}

// done records the store's answer to one operation; false when it failed.
func (g *sharedGate) done(ctx context.Context, err error, probing bool) bool {
	switch {
	case err == nil:
		if probing {
			g.mu.Lock()
			was := g.degraded.Swap(false)
			g.failures, g.lastErr = 0, nil
			g.mu.Unlock()
			g.checking.Store(false)
			if was {
				// See reserve's grace.
				// The grace lasts until the others have seen the store
				// back, and until the places this replica took locally
				// have gone out.
				grace := time.Now().Add(sharedGrace)
				if g.share != nil {
					if last := g.share.Last(); last.After(grace) {
						grace = last
					}
				}
				g.graceAt.Store(grace.UnixNano())
				g.restoreDue.Store(true)
				g.report(false, nil)
			}
		}
		return true
	case ctx.Err() != nil:
		if probing {
			g.checking.Store(false)
		}
		return false
	}
	g.mu.Lock()
	was := g.degraded.Load()
	if was && !probing {
		g.mu.Unlock()
		return false // started before the store was marked degraded
	}
	g.failures = min(g.failures+1, 16)
	g.lastErr = err
	g.retryAt.Store(time.Now().Add(min(sharedRecheckMin<<(g.failures-1), sharedRecheckMax)).UnixNano())
	if !was {
		g.learned.Store(math.Float64bits(g.local.learnedRate()))
		if g.share != nil {
			g.share.Lost(time.Now(), time.Duration(g.ahead.Load()))
		}
	}
	g.degraded.Store(true)
	g.mu.Unlock()
	if probing {
		g.checking.Store(false)
	}
	if !was {
		g.report(true, err)
	}
	return false
}

func (g *sharedGate) report(degraded bool, err error) {
	if g.logger != nil {
		if degraded {
			g.logger.LogAttrs(context.Background(), slog.LevelWarn, "resilience: shared state unreachable, running on local state",
				slog.String("target", g.target), slog.String("error", err.Error()))
		} else {
			g.logger.LogAttrs(context.Background(), slog.LevelInfo, "resilience: shared state reachable again",
				slog.String("target", g.target))
		}
	}
	if g.hooks.OnSharedState != nil {
		g.hooks.OnSharedState(SharedStateChange{Target: g.target, Degraded: degraded, Err: err})
	}
}

// check is the shared part of step 1: what the store last said about the
// circuit and pauses, refused before any waiting.
func (g *sharedGate) check(clk *clock) *aierrors.Error {
	if g == nil {
		return nil
	}
	n := clk.now().UnixNano()
	if u := g.openUntil.Load(); u > n {
		return rejection(g.target, aierrors.Overloaded, ErrCircuitOpen, time.Duration(u-n), "circuit open (shared)")
	}
	if u := g.pausedUntil.Load(); u > n {
		// A pause for a rate limit is a wait; any other (quota exhausted,
		// a revoked key, a long Retry-After: another replica's cooldown)
		// keeps the code of the answer that started it.
		if code := aierrors.StandardErrorCode(g.pauseCode.Load()); code != aierrors.RateLimited && code != 0 {
			return rejection(g.target, code, ErrTargetPaused, time.Duration(u-n), "target paused (shared) after "+code.Name())
		}
		return rejection(g.target, aierrors.RateLimited, ErrRateLimitWait, time.Duration(u-n), "target paused (shared): the provider asked to wait")
	}
	return nil
}

// reserve is the shared part of step 2: a token of the shared limit, after
// the local wait, admitted only if it leaves need before the deadline.
// While the store is unreachable, the target is paced locally at its share
// of the limit (see shared.Share); when it answers again, each place taken
// locally is taken from it as it goes out (see paceLocally), and the
// replica keeps to its share for a grace period.
func (g *sharedGate) reserve(ctx context.Context, cost int, need time.Duration) *aierrors.Error {
	if g == nil || g.limiter == nil {
		return nil
	}
	ok, probing := g.use()
	if !ok {
		return g.paceLocally(ctx, need)
	}
	maxWait := defaultMaxPause
	if dl, has := ctx.Deadline(); has {
		maxWait = max(min(maxWait, time.Until(dl)-need), 0)
	}
	if g.members != nil {
		every := sharedMemberEvery
		if n := g.joins.Load(); n < sharedMemberEarly {
			every = sharedMemberFirst << n
		}
		if at := g.memberAt.Load(); time.Now().UnixNano() >= at && g.memberAt.CompareAndSwap(at, time.Now().Add(every).UnixNano()) {
			g.joins.Add(1)
			opCtx, cancel := context.WithTimeout(ctx, sharedTimeout)
			live, rank, err := g.members.Join(opCtx, g.limKey, g.memberID, sharedMemberTTL)
			cancel()
			if !g.done(ctx, err, probing) {
				g.memberAt.Store(0)
				return g.failed(ctx, need)
			}
			if time.Now().UnixNano() < g.graceAt.Load() {
				// A store back from a restart has lost the members: until
				// every replica has asked it again, do not believe a drop.
				live = max(live, g.share.Members())
			}
			g.share.SetMembers(live, rank)
			g.local.setReplicas(live, rank)
		}
	}
	if g.share != nil && time.Now().UnixNano() < g.graceAt.Load() {
		// Just back from degraded mode: the other replicas may run on
		// their shares until they ask the store again. Until then this
		// one keeps to its share too: it waits for its share's place,
		// then asks the shared limiter, which so counts the place about
		// when it goes out (counted earlier, a place would let another
		// replica's go out with it). Share places are given a short way
		// ahead only: the shared limiter may still refuse after the wait.
		wait, ok := g.share.Reserve(time.Now(), min(maxWait, sharedGraceAhead))
		if !ok {
			return g.refuse(wait, "local rate-limit queue (shared, store just back: this replica's share): the wait would end too late for the call's deadline")
		}
		if ae := g.sleep(ctx, wait); ae != nil {
			return ae
		}
		maxWait = max(maxWait-wait, 0)
	} else if g.share != nil && g.restoreDue.CompareAndSwap(true, false) {
		// The grace is over. The 429s while on the shares (their phases
		// are not coordinated) say nothing about the shared limit, in
		// force again.
		g.local.restoreLearned(math.Float64frombits(g.learned.Load()))
	}
	opCtx, cancel := context.WithTimeout(ctx, sharedTimeout)
	wait, taken, err := g.limiter.Reserve(opCtx, g.limKey, 1, maxWait)
	cancel()
	if !g.done(ctx, err, probing) {
		return g.failed(ctx, need)
	}
	if g.share != nil {
		// The latest place the shared limiter gave (a refusal's wait is one
		// interval past it): degraded pacing starts after it.
		now := time.Now()
		at := now.Add(wait)
		if !taken {
			at = at.Add(-g.share.Interval())
		}
		g.share.Granted(at)
		g.ahead.Store(int64(at.Sub(now)))
	}
	if !taken {
		return g.refuse(wait, "local rate-limit queue (shared): the wait would end too late for the call's deadline")
	}
	return g.sleep(ctx, wait)
}

// take records in the shared limit one place given locally, whatever the
// wait (nobody waits for it); a failure only marks the store degraded.
func (g *sharedGate) take(ctx context.Context) {
	opCtx, cancel := context.WithTimeout(ctx, sharedTimeout)
	_, _, err := g.limiter.Reserve(opCtx, g.limKey, 1, time.Duration(math.MaxInt64))
	cancel()
	g.done(ctx, err, false)
}

func (g *sharedGate) refuse(wait time.Duration, msg string) *aierrors.Error {
	ae := rejection(g.target, aierrors.RateLimited, ErrRateLimitWait, wait, msg)
	reportRejection(g.hooks, g.logger, g.target, ae)
	return ae
}

// slack is the time a call keeps in hand, past its local wait, for the
// wait of this replica's share while the target runs on it (degraded, or
// just back): up to one of the share's places, which keep to a grid (see
// shared.Share). Without it, calls that waited locally almost to their
// deadline would be refused by the share, their local places lost.
func (g *sharedGate) slack() time.Duration {
	if g == nil || g.share == nil || (!g.degraded.Load() && time.Now().UnixNano() >= g.graceAt.Load()) {
		return 0
	}
	return g.share.Spacing()
}

// failed is reserve after a store operation failed: the call's own end, or
// local pacing.
func (g *sharedGate) failed(ctx context.Context, need time.Duration) *aierrors.Error {
	if ctx.Err() != nil {
		return doneError(ctx, g.target, nil)
	}
	return g.paceLocally(ctx, need)
}

// paceLocally is reserve while the store is unreachable: this replica's
// share of the shared limit, starting after the places the store gave.
// Without a known rate, nothing (the local limiter alone paces).
func (g *sharedGate) paceLocally(ctx context.Context, need time.Duration) *aierrors.Error {
	if g.share == nil {
		return nil
	}
	maxWait := defaultMaxPause
	if dl, has := ctx.Deadline(); has {
		maxWait = max(min(maxWait, time.Until(dl)-need), 0)
	}
	wait, ok := g.share.Reserve(time.Now(), maxWait)
	if !ok {
		return g.refuse(wait, "local rate-limit queue (shared, store unreachable: this replica's share): the wait would end too late for the call's deadline")
	}
	if ae := g.sleep(ctx, wait); ae != nil {
		return ae
	}
	if !g.degraded.Load() {
		// The store came back while this call waited: the place goes out
		// now, so it is counted now (whatever the wait the shared limiter
		// gives; the call does not wait again).
		g.take(ctx)
	}
	return nil
}

func (g *sharedGate) sleep(ctx context.Context, wait time.Duration) *aierrors.Error {
	if wait <= 0 {
		return nil
	}
	if g.hooks.OnLimiterWait != nil {
		g.hooks.OnLimiterWait(LimiterWait{Target: g.target, Wait: wait})
	}
	if !sleep(ctx, wait, nil) {
		return doneError(ctx, g.target, nil)
	}
	return nil
}

// admit is the shared part of step 4: the store's view of the circuit, and
// a half_open probe slot, taken only now that the attempt is about to go.
func (g *sharedGate) admit(ctx context.Context) (sharedTicket, *aierrors.Error) {
	if g == nil || g.state == nil {
		return sharedTicket{}, nil
	}
	ok, probing := g.use()
	if !ok {
		return sharedTicket{}, nil
	}
	if g.stateMembers != nil {
		every := sharedMemberEvery
		if n := g.stateJoins.Load(); n < sharedMemberEarly {
			every = sharedMemberFirst << n
		}
		if at := g.stateJoinAt.Load(); time.Now().UnixNano() >= at && g.stateJoinAt.CompareAndSwap(at, time.Now().Add(every).UnixNano()) {
			g.stateJoins.Add(1)
			opCtx, cancel := context.WithTimeout(ctx, sharedTimeout)
			live, rank, err := g.stateMembers.Join(opCtx, g.stateKey, g.memberID, sharedMemberTTL)
			cancel()
			if !g.done(ctx, err, probing) {
				g.stateJoinAt.Store(0)
				return sharedTicket{}, nil
			}
			g.local.setReplicas(live, rank)
			if ok, probing = g.use(); !ok {
				return sharedTicket{}, nil
			}
		}
	}
	opCtx, cancel := context.WithTimeout(ctx, sharedTimeout)
	a, err := g.state.Admit(opCtx, g.stateKey, g.maxProbes)
	cancel()
	if !g.done(ctx, err, probing) {
		if ctx.Err() != nil {
			return sharedTicket{}, doneError(ctx, g.target, nil)
		}
		return sharedTicket{}, nil
	}
	now := time.Now()
	g.openUntil.Store(untilNs(now, a.OpenFor))
	g.pausedUntil.Store(untilNs(now, a.PausedFor))
	g.pauseCode.Store(int32(a.PauseCode))
	if a.OpenFor > 0 || a.ProbesFull || a.PausedFor > 0 {
		if ae := g.check(&clock{now}); ae != nil {
			return sharedTicket{}, ae
		}
		return sharedTicket{}, rejection(g.target, aierrors.Overloaded, ErrCircuitOpen, 0, "circuit half_open (shared): every probe slot taken")
	}
	return sharedTicket{probe: a.Probe}, nil
}

// after is the shared part of step 8: pauses the provider asked for, the
// local circuit opening, and a probe's outcome, published to the store.
// Every admitted attempt passes here exactly once, a panicking one too, so
// a probe slot is always given back.
func (g *sharedGate) after(ctx context.Context, t sharedTicket, ae *aierrors.Error, o outcome, b *CircuitBreaker) {
	if g == nil || g.state == nil {
		return
	}
	if ae != nil && !localRejection(ae) {
		g.publishPause(ctx, ae)
	}
	opened := false
	if o == outcomeFailure && b != nil {
		now := time.Now().UnixNano()
		if u := b.holdUntil.Load(); u > now && g.published.Swap(u) != u {
			opened = true
			d := time.Duration(u - now)
			g.publish(ctx, func(c context.Context) error { return g.state.Open(c, g.stateKey, d) })
			g.openUntil.Store(u)
		}
	}
	if !t.probe || opened {
		return
	}
	switch o {
	case outcomeSuccess:
		g.publish(ctx, func(c context.Context) error { return g.state.Close(c, g.stateKey) })
		g.openUntil.Store(0)
	case outcomeFailure:
		g.publish(ctx, func(c context.Context) error { return g.state.Open(c, g.stateKey, g.cooldown) })
		g.openUntil.Store(untilNs(time.Now(), g.cooldown))
	default:
		g.publish(ctx, func(c context.Context) error { return g.state.Release(c, g.stateKey) })
	}
}

func (g *sharedGate) publishPause(ctx context.Context, ae *aierrors.Error) {
	var d time.Duration
	switch {
	case ae.Code == aierrors.RateLimited && ae.RetryAfter >= minGlobalPause: // see minGlobalPause
		d = min(ae.RetryAfter, g.maxPause)
	case ae.Code == aierrors.QuotaExhausted:
		d = or(ae.RetryAfter, sharedQuotaPause)
	default:
		return
	}
	code := ae.Code
	g.publish(ctx, func(c context.Context) error { return g.state.Pause(c, g.stateKey, d, code) })
	if u := untilNs(time.Now(), d); u > g.pausedUntil.Load() {
		g.pausedUntil.Store(u)
		g.pauseCode.Store(int32(code))
	}
}

// publishCooldown shares a cooldown this replica started (see
// [CooldownConfig]) as a pause of its length, so that the other replicas
// skip the target too: a revoked key, a long Retry-After. Quota
// exhaustion is already shared by publishPause.
func (g *sharedGate) publishCooldown(ctx context.Context, d time.Duration, code aierrors.StandardErrorCode) {
	if g == nil || g.state == nil || code == aierrors.QuotaExhausted {
		return
	}
	g.publish(ctx, func(c context.Context) error { return g.state.Pause(c, g.stateKey, d, code) })
	if u := untilNs(time.Now(), d); u > g.pausedUntil.Load() {
		g.pausedUntil.Store(u)
		g.pauseCode.Store(int32(code))
	}
}

// publish runs one store operation on behalf of an attempt that has
// finished: the caller's cancellation does not stop it.
func (g *sharedGate) publish(ctx context.Context, op func(context.Context) error) {
	ok, probing := g.use()
	if !ok {
		return
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	err := op(opCtx)
	cancel()
	g.done(context.Background(), err, probing)
}

func (g *sharedGate) signals(now time.Time) SharedSignals {
	if g == nil {
		return SharedSignals{}
	}
	s := SharedSignals{Enabled: true, Degraded: g.degraded.Load()}
	if s.Degraded {
		g.mu.Lock()
		if g.lastErr != nil {
			s.Error = g.lastErr.Error()
		}
		g.mu.Unlock()
	}
	n := now.UnixNano()
	if u := g.openUntil.Load(); u > n {
		s.OpenFor = time.Duration(u - n)
	}
	if u := g.pausedUntil.Load(); u > n {
		s.PausedFor = time.Duration(u - n)
	}
	return s
}

func untilNs(now time.Time, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return now.Add(d).UnixNano()
}
