package resilience

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	aierrors "github.com/ailib-go/ailib/errors"
)

// maxPoolMembers bounds a pool's deployments: a call keeps the ones it has
// tried in one machine word.
const maxPoolMembers = 64

// PoolMember is one deployment of a [Pool]: a way to reach the pool's
// model (a provider account, an API key, a region) behind an executor of
// its own, so that its circuit, limits, cooldowns and retry budget are its
// own.
type PoolMember struct {
	// Name names the deployment in errors, hooks and signals; it is
	// passed to the op of [Pool.Execute]. Names are unique in a pool.
	Name string
	// Executor runs the deployment's attempts. Give each deployment an
	// executor of its own (its name should be Name, see [WithName]).
	Executor *ResilientExecutor
	// Weight is the deployment's share of the calls while every deployment
	// has capacity, relative to the others' (3, 1, 1: 60%, 20%, 20%); 0
	// means 1. A deployment out of capacity gets no call, whatever its
	// weight.
	Weight float64
}

// Pool spreads the calls for one model over several deployments (keys,
// accounts, regions) and moves a failed attempt to another deployment at
// once. Each attempt goes to one deployment, chosen among those that can
// take it:
//
//  1. Deployments the call already tried are skipped, and so are those
//     that are cooling down (quota exhausted, a revoked key, a long
//     Retry-After), whose circuit is open, or whose shared state says so.
//  2. Of the rest, those ready now — a request token of their limits,
//     learned from the provider or set by the caller, is free, no pause
//     is in force and an in-flight permit is free — share the calls by
//     weight, in nginx's smooth weighted round-robin order (an even
//     interleaving, not random draws: 3:1:1 is exactly 60/20/20 over
//     every five calls).
//  3. When none is ready now, the one ready soonest is chosen, and the
//     attempt waits in its executor (a wait admitted only if it ends in
//     time for the deadline, as always).
//
// Capacity is what each deployment has shown: its executor learns a rate
// from its 429s and headers, and a deployment whose learned budget is spent
// is not ready, so the others take the calls it cannot. Nothing is
// configured per deployment but its weight.
//
// An attempt that fails with a fallbackable error (a 429, a 5xx, a
// timeout, a revoked key; see [aierrors.IsFallbackable]) or is refused by
// its executor (circuit open) moves the call to the next deployment at
// once, without a backoff sleep. The deployment chosen when no other is
// left to try runs with its executor's whole retry policy (backoff,
// Retry-After); when the last one left is out by the time the call comes
// to it, the deployment tried whose retryable failure asked for the
// shortest wait gets that policy instead, after the wait, if it fits the
// deadline. Any other error is returned at once: a bad request is bad
// on every deployment. When every deployment failed, the error names each
// one and the last decides, as a [FallbackChain]'s does; a pool can then
// be one target of a chain.
//
// A Pool is safe for concurrent use.
type Pool struct {
	name    string
	members []PoolMember
	weights []float64
	hooks   Hooks

	mu      sync.Mutex // guards current
	current []float64  // smooth weighted round-robin credit per member
}

// NewPool returns a pool named name over members. Of opts, [WithHooks]
// applies: OnPoolSwitch reports each deployment chosen.
func NewPool(name string, members []PoolMember, opts ...Option) (*Pool, error) {
	var errs []error
	switch {
	case len(members) == 0:
		errs = append(errs, fmt.Errorf("resilience: pool %q has no members", name))
	case len(members) > maxPoolMembers:
		errs = append(errs, fmt.Errorf("resilience: pool %q has %d members, at most %d", name, len(members), maxPoolMembers))
	}
	p := &Pool{name: name, members: slices.Clone(members), hooks: buildOptions(opts).hooks}
	seen := map[string]bool{}
	for i, m := range p.members {
		switch w := m.Weight; {
		case m.Name == "":
			errs = append(errs, fmt.Errorf("resilience: pool %q member %d: empty name", name, i))
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("resilience: pool %q member %q listed twice", name, m.Name))
		case w < 0 || math.IsNaN(w) || math.IsInf(w, 0):
			errs = append(errs, fmt.Errorf("resilience: pool %q member %q: Weight %v must be a finite number >= 0", name, m.Name, w))
		}
		seen[m.Name] = true
		p.weights = append(p.weights, or(m.Weight, 1))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.current = make([]float64, len(p.members))
	for _, m := range p.members {
		m.Executor.limiter.setPooled()
	}
	return p, nil
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Members returns the names of the pool's deployments, in the order given.
func (p *Pool) Members() []string {
	out := make([]string, len(p.members))
	for i, m := range p.members {
		out[i] = m.Name
	}
	return out
}

// onceOption makes an executor call make one attempt: the pool retries on
// another deployment instead.
type onceOption struct{}

func (onceOption) callOption() {}

// Execute runs op on one deployment after another, chosen as the type's
// doc says, until one succeeds, an error is not fallbackable, every
// deployment failed or ctx ends. op gets the deployment's name and is run
// through its executor with opts ([WithTokens], [WithStream]).
func (p *Pool) Execute(ctx context.Context, op func(ctx context.Context, member string) error, opts ...CallOption) error {
	var (
		tried   uint64
		names   []string
		errs    []error
		failed  []int // the member of each of errs
		from    string
		retried bool // a deployment ran with its executor's retries
	)
	var waitSince time.Time // when this call began to wait for a deployment
	// run sends the call to deployment m (reported to OnPoolSwitch, with
	// the last failure that moved it, when switched is set).
	run := func(m *PoolMember, switched bool, o []CallOption) error {
		if switched && p.hooks.OnPoolSwitch != nil {
			var why error
			if len(errs) > 0 {
				why = errs[len(errs)-1]
			}
			p.hooks.OnPoolSwitch(PoolSwitch{Pool: p.name, From: from, To: m.Name, Err: why})
		}
		return m.Executor.Execute(ctx, func(ctx context.Context) error { return op(ctx, m.Name) }, o...)
	}
	for {
		now := time.Now()
		var waited time.Duration
		if !waitSince.IsZero() {
			waited = now.Sub(waitSince)
		}
		i, rest, wait := p.pick(tried, now, waited)
		if i < 0 {
			break
		}
		out := rest < 0 // every deployment left is cooling down or open
		m := &p.members[i]
		if wait > 0 && fits(ctx, now, wait+m.Executor.expected()) {
			// Wait here, holding no place, and choose again: for the pace
			// all but poolHorizon (the executor waits the rest, holding a
			// place); for a stated limit up to maxRouteWait (the call may
			// then go over it).
			nap := min(wait, maxRouteWait) // then over the stated limit, if still none is ready
			if pace := m.Executor.limiter.waitAt(now); pace > 0 {
				nap = pace - poolHorizon
			}
			if nap > 0 {
				if waitSince.IsZero() {
					waitSince = now
				}
				if !sleep(ctx, nap, nil) {
					return doneError(ctx, p.name, nil)
				}
				continue
			}
		}
		m.Executor.limiter.routed(time.Now())
		callOpts := opts
		if rest != 0 {
			callOpts = append(slices.Clip(opts), onceOption{})
		} else {
			retried = true
		}
		err := run(m, true, callOpts)
		if err == nil {
			return nil
		}
		// An error that ends the call here keeps those of the deployments
		// tried before it.
		ended := func(err error) error {
			return chainOf(append(names, m.Name), append(errs, err), len(p.members), "deployments of "+p.name)
		}
		if ctx.Err() != nil {
			return ended(doneError(ctx, m.Name, err))
		}
		if !aierrors.IsFallbackable(err) && !errors.Is(err, ErrCircuitOpen) {
			if rest != 0 && aierrors.IsRetryable(err) {
				// Retryable on this deployment only (a conflict): give it
				// the retries the single attempt did not have.
				err = run(m, false, opts)
				if err == nil {
					return nil
				}
				if ctx.Err() != nil {
					return ended(doneError(ctx, m.Name, err))
				}
			}
			return ended(err)
		}
		tried |= 1 << i
		names = append(names, m.Name)
		errs = append(errs, err)
		failed = append(failed, i)
		from = m.Name
		if out {
			break // the others would refuse at once too: one refusal says enough
		}
	}
	if !retried {
		if j, wait := p.lastChance(failed, errs, time.Now()); j >= 0 && fits(ctx, time.Now(), wait+p.members[j].Executor.expected()) {
			m := &p.members[j]
			if !sleep(ctx, wait, nil) {
				return doneError(ctx, p.name, errs[len(errs)-1])
			}
			err := run(m, true, opts)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return doneError(ctx, m.Name, err)
			}
			names, errs = append(names, m.Name), append(errs, err)
		}
	}
	if len(errs) == 0 { // not reached: a pool has members
		return errors.New("resilience: pool " + p.name + " has no members")
	}
	return chainOf(names, errs, len(names), "deployments of "+p.name)
}

// lastChance chooses, when every deployment was tried once or is out and
// none ran with its executor's retries, the one tried that gets them
// after all: of those whose attempt failed retryably (a 429, a 5xx, a
// timeout; not a refusal: open, cooling down) and that can take an
// attempt now, the one whose Retry-After ends first, and how long until
// then. -1 when none. Without it a pool gave up on a call when its last
// choice was out and the others had each answered a 429 that asked for
// 22ms: a single target would have waited the 22ms and retried.
func (p *Pool) lastChance(failed []int, errs []error, now time.Time) (int, time.Duration) {
	best, wait := -1, time.Duration(0)
	for k, i := range failed {
		var ae *aierrors.Error
		if !errors.As(errs[k], &ae) || !ae.Retryable() || errors.Is(ae, ErrCircuitOpen) || errors.Is(ae, ErrTargetPaused) {
			continue
		}
		e := p.members[i].Executor
		if _, ready := e.readyIn(now); !ready || e.retry == nil || ae.RetryAfter > e.retry.maxRetryAfter {
			continue
		}
		if w := ae.RetryAfter; best < 0 || w < wait {
			best, wait = i, w
		}
	}
	return best, wait
}

// pick chooses the deployment for the next attempt among those not in
// tried: -1 when none is left. rest is how many others, able to take an
// attempt now or soon, would be left after it; -1 when none of those left
// can (each is cooling down or open), and best is the first of them.
func (p *Pool) pick(tried uint64, now time.Time, waited time.Duration) (best, rest int, wait time.Duration) {
	best = -1
	var (
		ready     uint64 // members ready now, within their stated limits
		over      uint64 // members whose pace is ready now, over their stated limits
		soonest   = time.Duration(math.MaxInt64)
		soon      = -1 // the member ready soonest, when none is ready now
		unable    = -1 // the first member that cannot take an attempt now
		available int
	)
	for i := range p.members {
		if tried&(1<<i) != 0 {
			continue
		}
		e := p.members[i].Executor
		pace, ok := e.readyIn(now)
		if !ok {
			if unable < 0 {
				unable = i
			}
			continue
		}
		available++
		w := max(pace, e.limiter.routeWait(now))
		switch {
		case w == 0:
			ready |= 1 << i
		case pace == 0:
			over |= 1 << i
		}
		if w > 0 && w < soonest {
			soonest, soon = w, i
		}
	}
	switch {
	case ready != 0:
		best = p.roundRobin(ready)
	case over != 0 && soonest > maxRouteWait && waited >= maxRouteWait:
		// The deployments that could go now are over their stated limits,
		// and none is back under them soon: go over (a stated limit may be
		// wrong: the provider accepting shows it, a 429 teaches the real
		// one) rather than let capacity sit idle.
		best = p.roundRobin(over)
	case soon >= 0:
		best = soon
		wait = soonest
		p.short(tried, now, waited)
	default:
		// Every member left is cooling down or open: its executor refuses
		// at once, with how long it is out in RetryAfter.
		return unable, -1, 0
	}
	return best, available - 1, wait
}

// maxRouteWait is the longest a call waits for a deployment to be back
// under its stated limit while another's pace would let it go now.
const maxRouteWait = 50 * time.Millisecond

// exploreWait is how long a call waits for a deployment before a pool
// whose deployments are all at their ceilings explores past one: a queue
// is building, not the jitter of arrivals (a few milliseconds at 90% load).
const exploreWait = 100 * time.Millisecond

// poolHorizon is how far ahead a pool lets a call take a deployment's
// place: a call that would wait longer waits in the pool, holding no
// place, and chooses again then. Places taken far ahead keep the pace they
// were taken at: after a 429 cuts a deployment's rate, a backlog of them
// still went out too fast and met more 429s (on providers with bursts of
// 1, a cut from 8% over the limit to half of it, and a spiral from there).
const poolHorizon = 50 * time.Millisecond

// short is called when no deployment is ready: calls wait for capacity
// the learned rates may understate; this one has waited so far. Each
// deployment grows toward what its last 429 refused; when none can and a
// queue is building, the one cut longest ago explores past it (see
// RateLimiter.onShortage).
func (p *Pool) short(tried uint64, now time.Time, waited time.Duration) {
	grew := false
	var cut []int // members with a learned rate, the longest cut first
	for i := range p.members {
		if tried&(1<<i) != 0 {
			continue
		}
		l := p.members[i].Executor.limiter
		if l.onShortage(now, false) {
			grew = true
		}
		if !l.cutAt().IsZero() {
			cut = append(cut, i)
		}
	}
	if grew || waited < exploreWait {
		return
	}
	slices.SortFunc(cut, func(a, b int) int {
		return p.members[a].Executor.limiter.cutAt().Compare(p.members[b].Executor.limiter.cutAt())
	})
	for _, i := range cut {
		if p.members[i].Executor.limiter.onShortage(now, true) {
			return // one at a time
		}
	}
}

// fits reports whether d from now ends before ctx's deadline.
func fits(ctx context.Context, now time.Time, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || now.Add(d).Before(dl)
}

// roundRobin is nginx's smooth weighted round-robin over the members in
// set: each gains its weight, the richest is chosen and pays the total.
func (p *Pool) roundRobin(set uint64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	best, total := -1, 0.0
	for i, w := range p.weights {
		if set&(1<<i) == 0 {
			continue
		}
		p.current[i] += w
		total += w
		if best < 0 || p.current[i] > p.current[best] {
			best = i
		}
	}
	p.current[best] -= total
	return best
}

// PoolSignals is how a pool's deployments are doing right now.
type PoolSignals struct {
	Pool    string
	Members []SignalsSnapshot // in the pool's order; each Target is the executor's name
	// Ready is how many deployments could take an attempt now; Available
	// how many are not cooling down or open (ready now or after a wait).
	Ready, Available int
}

// Signals returns the state of the pool's deployments. Reading it has no
// side effects.
func (p *Pool) Signals() PoolSignals {
	now := time.Now()
	s := PoolSignals{Pool: p.name, Members: make([]SignalsSnapshot, len(p.members))}
	for i, m := range p.members {
		s.Members[i] = m.Executor.Signals()
		if wait, ok := m.Executor.readyIn(now); ok {
			s.Available++
			if wait == 0 {
				s.Ready++
			}
		}
	}
	return s
}

// setPooled marks the limiter of a pool's deployment (see applyHint).
func (l *RateLimiter) setPooled() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stated == nil {
		l.stated = rate.NewLimiter(rate.Inf, 1)
		l.pooled.Store(true)
		l.applyHint(time.Now())
	}
}

// routed counts an attempt the pool sent to the deployment, against its
// hint (see applyHint).
func (l *RateLimiter) routed(now time.Time) {
	if l == nil || l.stated == nil || l.stated.Limit() == rate.Inf {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if every, slot, ok := l.routeGrid(now); ok {
		l.routeNext = slot.Add(every)
	}
	l.stated.ReserveN(now, 1) // the debt that doubts a limit (onSuccess)
}

// routeWait is how long until the deployment is back under its hint.
func (l *RateLimiter) routeWait(now time.Time) time.Duration {
	if l == nil || l.stated == nil || l.stated.Limit() == rate.Inf {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, slot, ok := l.routeGrid(now); ok {
		return max(slot.Sub(now), 0)
	}
	if t := l.stated.TokensAt(now); t < 1 {
		return time.Duration((1 - t) / float64(l.stated.Limit()) * float64(time.Second))
	}
	return 0
}

// routeGrid is the routing of the replicas sharing a stated limit: replica
// rank of n routes at its share on the places rank/limit past the
// multiples of n/limit, counted from the Unix epoch (as shared.Share paces
// a replica when the store is lost), so that their requests interleave at
// the limit's pace instead of falling on the same instants, where a burst
// of 2 refused one in a few. x/time/rate's buckets have no phase, hence
// this. A place may be taken up to one interval of the limit late (with
// half, calls waited for places: P5's p50 went from 20 to 77ms and its
// 429s from 2 to 8, the late places bunching the others'). It
// returns the spacing of this replica's places and its next place, under
// l.mu; ok is false with fewer than two replicas or no believed limit.
func (l *RateLimiter) routeGrid(now time.Time) (every time.Duration, slot time.Time, ok bool) {
	if l.replicas < 2 || l.doubt || l.statedPS <= 0 {
		return 0, time.Time{}, false
	}
	interval := time.Duration(float64(time.Second) / l.statedPS)
	every = interval * time.Duration(l.replicas)
	from := now.Add(-interval)
	if l.routeNext.After(from) {
		from = l.routeNext
	}
	off := from.UnixNano() - int64(l.rank)*int64(interval)
	if r := off % int64(every); r != 0 {
		if r < 0 {
			r += int64(every)
		}
		from = from.Add(every - time.Duration(r))
	}
	return every, from, true
}

// readyIn says whether the executor could take an attempt (false: it is
// cooling down, its circuit is open, or its shared state says so) and how
// long that attempt would wait for its pacing (0: none). It takes nothing;
// a pool's stated-limit routing is apart (RateLimiter.routeWait).
func (e *ResilientExecutor) readyIn(now time.Time) (time.Duration, bool) {
	if e == nil {
		return 0, true
	}
	clk := clock{now}
	if e.cool.check(e.name, &clk) != nil || e.breaker.preflight() != nil || e.shared.check(&clk) != nil {
		return 0, false
	}
	wait := e.limiter.waitAt(now)
	if wait == 0 && e.bp.preflight() != nil {
		wait = time.Millisecond // full: any other deployment is better, but this one is not out
	}
	return wait, true
}
