// Learning the provider's limit: the learned rate's cuts (onRateLimited), its
// increases (onSuccess, onShortage for a pool's deployment), the provider's
// stated limits read as hints (observe), and the counts they read. See the
// package doc, "Learning the provider's limit".

package resilience

import (
	"math"
	"net/http"
	"time"

	"github.com/ailib-go/ailib/internal/ratelimitheader"
	"golang.org/x/time/rate"
)

// The learning rule's constants (see the package doc, "Learning the
// provider's limit").
const (
	cutFactor     = 0.7                    // a 429 multiplies the learned rate by this...
	acceptedShare = 1.0                    // ...but cuts no lower than this share of what the provider just accepted
	cutGap        = 500 * time.Millisecond // at most one cut per gap: one overshoot, one cut
	probeStep     = 0.01                   // each success while paced adds 0.01 requests per second (about 1% of the rate per second)
	minRate       = 0.1                    // the learned rate never goes below this
	hintWindow    = 60.0                   // a provider's stated request limit is per minute
	// A 429's Retry-After pauses the whole target only from this length up:
	// providers round it up to whole seconds, so "1" often means "in a few
	// milliseconds" (a per-second cap's next token), and pausing every call
	// for it would cost a second of traffic per 429. The call that got the
	// 429 still waits its Retry-After before retrying; the others are paced
	// by the learned rate, which the 429 cut.
	minGlobalPause = 2 * time.Second
	// The rate sent is counted between cuts; over a longer time than
	// this, it is an average over lulls and bursts, not the rate a 429
	// answered.
	sentWindow = 2 * time.Second
)

// onRateLimited is the decrease: a provider 429 cuts the learned rate to
// cutFactor of the rate it was learned at (or, the first time, of the rate
// the target was sending at), at most once per cutGap, and pauses the
// target for a Retry-After of minGlobalPause or more.
//
// released is when the learned bucket released the attempt that got the
// 429 (zero when it did not pace it): an attempt released before the last
// cut was sent at the old pace, and its 429 says nothing of the new one
// (one cut per round of attempts, as TCP's congestion control reacts once
// per window).
func (l *RateLimiter) onRateLimited(now time.Time, retryAfter time.Duration, sent, inflight int64, released time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	paced := !released.IsZero() && l.est > 0 && !l.pooled.Load()
	atThisRate := paced && !released.Before(l.stepAt)
	if atThisRate {
		l.step429s++
	}
	// Two 429s cut at once, whatever the backlog below: one to an attempt
	// released at a rate the bisection stepped up to, above a rate seen
	// clean (back to that rate: a step costs one 429); and one when the
	// 429s are refusedShare or more of the attempts released since the
	// rate last changed (a rate just above a bucket of one's refill
	// loses every other request; random 429s are not so many), once the
	// accepted count the cut reads covers a slot of the new rate.
	stepBack := atThisRate && l.cleanRate > 0 && l.cleanRate < l.est
	// A bucket of one refused a gap at this rate (see gapLog): the rate
	// is too high, whatever the backlog.
	gb := l.gaps.bounds(now)
	overGap := paced && gb.one() && l.est > gb.ceiling
	tooMany := atThisRate && l.step429s >= 3 && float64(l.step429s) >= refusedShare*float64(l.stepReleases) && now.Sub(l.stepAt) >= acceptedSlot
	l.refusedSec.add(now)
	if l.rateIndependent(now, paced, released, gb) {
		// Cut nothing: see rateIndependent.
	} else if l.est == 0 && now.Sub(l.sampleT) > sentWindow {
		// A first 429 with no recent count of what was sent (the target
		// was built, or last cut, long ago): an average over that time is
		// no rate to cut from (ten minutes of a call a second, then a
		// burst, cut to 0.7 a second; a client built 3s before its calls
		// began played the scenario family at 9% where a fresh one plays
		// 75%). Count first, unpaced, what is sent and accepted, and let
		// the next 429 an accepted slot (100ms) or more later cut from
		// that; counting for 500ms met 40% more 429s and a wider gap to
		// the best. A stated limit is no rate to pace at before that: with
		// no rate to judge it by, a burst stated as a limit (2 a minute)
		// paced at 0.03/s. (A pool's deployment too: its growth when the
		// pool is short stops under the rate a cut was made from, see
		// onShortage, and a pool of two so cut served 2 calls a second of
		// their 20.)
		l.sendRate(now, sent)
		l.since = now
		l.lastCut = now.Add(acceptedSlot - cutGap)
		l.active.Store(true)
	} else if stepBack || tooMany || overGap || now.Sub(l.lastCut) >= cutGap && (released.IsZero() || !released.Before(l.lastCut)) { // lastCut may lie ahead: see the backlog below
		base := l.est
		recent := now.Sub(l.sampleT) <= sentWindow
		sentRate := l.sendRate(now, sent)
		if base == 0 || sentRate < base && recent {
			// Cut from what was really sent, when that is less; not from an
			// average over a lull (since the last cut, minutes ago, say).
			base = sentRate
		}
		// Places already given in the learned bucket were given at the old
		// pace: until they are used, 429s are that backlog's, not a sign
		// that the new rate is still too high. No further cut until then.
		// (They are spaced at the new rate as they are released, see
		// spacing; but a provider that refuses a share of requests
		// whatever the rate would otherwise cut the rate every cutGap,
		// to nothing, while calls queue.)
		l.lastCut = now
		if l.est > 0 {
			vnow, _ := l.clock.at(now)
			l.lastCut = now.Add(time.Duration(max(0, -l.learned.TokensAt(vnow)) / l.est * float64(time.Second)))
		}
		l.ceil = base
		// What the provider just accepted is evidence too: the cut goes no
		// lower than it (nor above the base), so a target paced near the
		// limit loses little per 429. And when no header states a limit
		// and the provider refused a third or more of what was sent, the
		// cut goes straight down to what it accepted: cuts of 0.7 one at a
		// time took 5s to come down from a first guess at 4× the limit,
		// sending into 429s all along.
		next := base * cutFactor
		acc, accN := l.accepted.rate(now, l.countedSince()), l.accepted.count(now)
		if gapAcc, gapN := l.gaps.acceptedRate(); gapAcc > acc {
			// The sends the gap log read as accepted, by send time: a
			// count of successes lags what the provider took by the
			// answers' time (answers of 2s, 20% of them 6s: the first
			// cuts read next to nothing accepted and went from the 50
			// calls a second sent to 25, where 1% of random 429s were
			// all the provider refused).
			acc, accN = gapAcc, gapN
		}
		took := acc
		if now.Sub(l.countedSince()) < time.Second {
			// In the first second of counting the requests still out
			// count as accepted here: a 429 comes back at once, a success
			// after its latency, so the successes counted so far lag what
			// the provider took (answers of 300ms, 30% of them 1.5s: 14/s
			// cut to 1.8 against a cap of 5, 0.6s after the first 429).
			// Later, the last second's successes are a steady rate's.
			took = l.accepted.rateWith(now, l.countedSince(), inflight)
		}
		if floor := acc * acceptedShare; floor > next {
			next = min(floor, base*acceptedShare)
		} else if took > 0 && sentRate >= 1.5*took && l.hint == 0 && accN >= minTookCount {
			next = took
			if !l.pooled.Load() {
				// Against a bucket refilled at c, an attempt sent every
				// 1/s (s > c) finds its token on average half a send
				// interval after it came: the provider accepts about
				// 1/(1/c + 1/2s), not c (a bucket of one: 8/s of 10 at
				// s = 21/s). Invert that. (A pool's deployment is sent
				// what the pool routes to it, not evenly: not corrected.)
				next = 1 / (1/took - 1/(2*sentRate))
			}
		}
		if paced {
			l.refusedPaced = now
			// The rate the refused attempt was released at is an upper
			// bound; the cut goes back to the highest rate seen clean
			// below it, if any (and no closer to it than bisectShare).
			refused := l.est
			if released.Before(l.stepAt) {
				refused = l.stepFrom
			}
			l.refusedRate = refused
			if l.cleanRate > 0 && l.cleanRate < refused {
				next = min(l.cleanRate, bisectShare*refused)
			} else {
				l.cleanRate = 0 // refused at a rate seen clean: the limit moved
			}
			if hint := l.believedHint(); hint > 0 && refused >= atHintShare*hint {
				// Paced at a stated limit it believes, 429s are requests
				// that came a little early (network jitter) to a bucket of
				// one (every other one, at the limit exactly), not a lower
				// limit: back off to just under it, not by 30%. On
				// loopback, cut by 0.7 and probing back at 1% a second, a
				// bucket of one at 5/s (OpenAI's headers) served 58-65% of
				// calls where the best serves 80%; so, 73%. A stated limit
				// that is too high gets two such steps (atHintShare), then
				// the cuts of any.
				next = max(next, bisectShare*refused)
			}
		}
		if gb.one() {
			// A bucket of one's rate lies between the gaps it accepted
			// and refused: halve the range (see onSuccess).
			next = gb.mid
		} else if gb.ceiling > 0 && next > gb.ceiling {
			next = gb.ceiling // no higher than a gap the provider refused
		}
		l.markStep(now)
		l.setEstimate(now, max(next, minRate))
		if lastOK, quiet := l.gaps.quiet(); gb.one() && quiet {
			// A bucket of one refused the gap: the token it did not
			// give comes 1/c after the last request it accepted, not
			// after this one. Space the next release from that one (no
			// request is out since) and give this one's place back, so
			// that a refused probe costs its gap, not its gap and a
			// whole interval more (the first three seconds against a
			// bucket of one at 5/s: 13 accepted of 16, 10 without).
			l.lastRelease = lastOK
			l.giveBackPlace(now)
			l.handOn(now)
		}
	}
	l.stepSuccesses = 0
	l.mu.Unlock()
	if retryAfter > 0 {
		if retryAfter >= minGlobalPause {
			l.pause(now, retryAfter)
		}
	}
}

// sendRate is the rate the target sent at since the last measure (at
// construction, or the last cut), under l.mu.
func (l *RateLimiter) sendRate(now time.Time, n int64) float64 {
	secs := now.Sub(l.sampleT).Seconds()
	r := 1.0
	if secs > 0 {
		r = max(float64(n-l.sampleN)/secs, 1)
	}
	l.sampleN, l.sampleT = n, now
	return r
}

// onAnswered counts an answer of the provider's that was not a 429 (a
// 5xx, say) as accepted: the provider took the request, and a cut floored
// at what it accepted must not read its other failures as a lower limit.
func (l *RateLimiter) onAnswered() {
	if _, ok := l.lockCounted(); ok {
		l.mu.Unlock()
	}
}

// lockCounted takes l.mu and counts an answer the provider accepted, at
// now; ok is false, and l.mu not taken, while nothing is learned (the
// success path then takes no lock).
func (l *RateLimiter) lockCounted() (now time.Time, ok bool) {
	if l == nil || !l.active.Load() && !l.pooled.Load() {
		return time.Time{}, false
	}
	now = time.Now()
	l.mu.Lock()
	l.accepted.add(now)
	l.perSec.add(now)
	return now, true
}

// onSuccess is the increase: while the learned bucket is what paces the
// target (it is empty), each success raises the learned rate by probeStep,
// about probeStep·rate per second: a slow probe back up, bounded by the
// provider's stated limit. A rate seen clean also steps toward the lowest
// rate refused (the bisection): a cut leaves up to 30% of the limit
// unused, which the slow probe alone takes half a minute to find again.
func (l *RateLimiter) onSuccess() {
	now, ok := l.lockCounted()
	if !ok {
		return
	}
	if l.stated != nil && !l.doubt && l.stated.Limit() != rate.Inf && l.stated.TokensAt(now) <= -doubtOver {
		// The provider accepted doubtOver requests more than the stated
		// limit allows (a burst it allows is smaller than that).
		l.doubt = true
		l.stated.SetLimitAt(now, rate.Inf)
	}
	// A pool's deployment grows only when its pool is short (onShortage):
	// capacity it does not need is not worth a 429 to find.
	hint := l.believedHint()
	if vnow, _ := l.clock.at(now); l.est > 0 && !l.pooled.Load() && (hint == 0 || l.est < hint) && l.learned.TokensAt(vnow) < 1 {
		next := l.est + probeStep
		l.stepSuccesses++
		forgot := !l.refusedPaced.IsZero() && now.Sub(l.refusedPaced) >= forgetRefused
		if hint == 0 && forgot && l.stepAt.Before(l.refusedPaced.Add(forgetRefused)) {
			l.markStep(now) // a fresh round: the releases counted since the last step span the minute
		}
		if (hint == 0 && (l.refusedPaced.IsZero() || forgot) || hint > 0 && l.est < hint/2) && l.cleanAt(now, startCount) {
			// No 429 while paced yet (or far under the stated limit):
			// the rate is a first guess from what was sent, which a burst
			// after a second of nothing made 1/s against a cap of 10, and
			// the slow probe then took minutes. Double it each time it
			// shows clean, as TCP's slow start; a 429 while paced ends
			// that (the bisection takes over). A minute with no 429 while
			// paced starts it again: the limit may have gone up (a higher
			// tier, say), and the slow probe would take minutes to find it.
			l.cleanRate = l.est // what a 429 at the doubled rate steps back to
			next = l.est * slowStart
			if hint > 0 {
				next = min(next, hint)
			}
			l.markStep(now)
		} else if l.cleanAt(now, cleanCount) {
			// Paced at this rate for a while, and no 429: the limit is
			// at least this. Step a quarter of the way up to just under
			// the lowest rate refused (a bisection: what a cut of 0.7
			// left unused comes back in a few steps, not at 1% a second).
			l.cleanRate = l.est
			if l.refusedRate > 0 && l.est < bisectShare*l.refusedRate {
				next = l.est + (bisectShare*l.refusedRate-l.est)*bisectStep
				l.markStep(now)
			}
		}
		if gb := l.gaps.bounds(now); gb.ceiling > 0 {
			if gb.one() && gb.lo >= provenShare*l.est && gb.ceiling > l.est {
				// A bucket of one (see gapLog) accepted a gap at this
				// rate and refused a shorter one: its rate lies between.
				// Halve the range at once; each gap is a test, and the
				// next answer says which half (a step too far costs one
				// 429, and steps back to this rate).
				l.cleanRate = l.est
				next = max(next, gb.mid)
				l.markStep(now)
			}
			if next > gb.ceiling {
				next = max(l.est, gb.ceiling) // a gap the provider refused is no gap to send at
			}
		}
		if now.Before(l.noiseUntil) && l.queue.Len() > 0 && now.Sub(l.noiseGrown) >= time.Second {
			// 429s cut nothing now (see rateIndependent): the demand
			// the cuts left waiting is found at noiseRoom a second, as
			// long as the 429s stay as few as they were.
			next, l.noiseGrown = max(next, noiseRoom*l.est), now
		}
		if next > l.refusedRate {
			l.refusedRate = 0 // probed past it with no 429: the limit moved
		}
		l.setEstimate(now, next)
	}
	l.mu.Unlock()
}

// The bisection's constants (see onSuccess and the package doc).
const (
	bisectStep   = 0.25                   // a step goes this share of the way...
	bisectShare  = 0.95                   // ...to this share of the lowest rate refused while paced
	cleanCount   = 5                      // a rate is clean after this many successes with no 429...
	cleanTime    = 200 * time.Millisecond // ...over this long at least...
	cleanPace    = 0.9                    // ...while the learned bucket released at this share of the rate or more
	refusedShare = 0.2                    // 429s to this share of the attempts released at a rate cut it at once
	atHintShare  = 0.9                    // a 429 paced at this share of a believed stated limit or more steps back to bisectShare of the rate (however many)
	provenShare  = 0.99                   // a gap accepted at this share of the rate or more proves the rate (gapLog)
	slowStart    = 2.0                    // before any 429 while paced, a clean rate doubles...
	startCount   = 2                      // ...clean after this many successes (and cleanTime, cleanPace)
	// A minute with no 429 while paced restarts the slow start. Paced at
	// the limit, the slow probe crosses it within seconds (a 429, a step
	// back): a minute without one means the limit went up, or the target
	// was not busy (a doubling then costs a 429 and a step back).
	forgetRefused = time.Minute
)

// markStep records a change of the learned rate by a cut or a step,
// under l.mu.
func (l *RateLimiter) markStep(now time.Time) {
	l.stepFrom, l.stepAt = l.est, now
	l.stepReleases, l.step429s, l.stepSuccesses = 0, 0, 0
}

// cleanAt reports whether the rate has been seen clean after successes
// with no 429 (cleanCount; startCount for the slow start, where at a
// guess of 1/s five took 5s a step): successes alone do not show it when
// the bucket did not release at the rate (after a step up, the places
// given at the old pace come first), under l.mu. The pace is counted from
// the first release at or after the step, not from the step: after a cut,
// spacing sets each release ahead of its place, and the releases set
// before a step, which fall after it, are not the step's (from the step,
// a step waited seconds to be clean).
func (l *RateLimiter) cleanAt(now time.Time, successes int) bool {
	d := now.Sub(l.stepAt)
	return l.stepReleases > 0 && l.stepSuccesses >= successes && d >= cleanTime &&
		float64(l.stepReleases) >= cleanPace*l.est*now.Sub(l.stepFirst).Seconds()
}

// The increase of a pool's deployments while the pool is short of
// capacity (calls wait for a deployment to be ready): each grows by
// shortageStep of its learned rate each shortageGap (about 22% a second),
// up to ceilShare of the rate its last cut was made from (the provider
// refused that) and up to the provider's stated limit. Only when none can
// grow so does the pool explore past a ceiling, one deployment at a time,
// by exploreStep each shortageGap, until a 429 sets a new ceiling.
const (
	shortageStep = 0.02
	exploreStep  = 0.01
	shortageGap  = 100 * time.Millisecond
	ceilShare    = 0.97
)

// onShortage is the increase of a pool's deployment while its pool is
// short (see shortageStep); it reports whether it grew. Between a pool's
// deployments a 429 costs no failed call (the attempt moves on), so the
// pool probes harder than a lone target's slow probe (probeStep); but it
// probes only when it needs the capacity, and not past what a 429 refused
// unless nothing else is left (explore), so that the 429s stay few.
func (l *RateLimiter) onShortage(now time.Time, explore bool) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	hint := l.believedHint()
	if l.est == 0 || (hint > 0 && l.est >= hint) || now.Before(l.lastCut) {
		return false
	}
	limit := math.Inf(1)
	if hint > 0 {
		limit = hint
	}
	next := l.est * (1 + shortageStep)
	switch {
	case explore:
		next = l.est * (1 + exploreStep)
	case l.ceil > 0 && l.est >= ceilShare*l.ceil:
		return false
	case l.ceil > 0:
		// Far below the ceiling (a first cut from a burst can land 5
		// times too low), a quarter of the way up each step.
		limit = min(limit, ceilShare*l.ceil)
		next = max(next, l.est+(limit-l.est)/4)
	}
	next = min(next, limit)
	if next <= l.est*1.001 {
		return false // at its limit (a float a hair below it)
	}
	if now.Sub(l.lastProbe) < shortageGap {
		return true // grew lately: counts as growing
	}
	l.lastProbe = now
	l.setEstimate(now, next)
	return true
}

// believedHint is the stated limit's share when it is believed: not
// doubted, and not far below the learned rate (see setEstimate); 0
// otherwise.
func (l *RateLimiter) believedHint() float64 {
	if l.hint <= 0 || l.doubt || l.hint < l.est/2 {
		return 0
	}
	return l.hint
}

// cutAt is the time of the last cut (zero when none), for the pool's
// choice of a deployment to explore.
func (l *RateLimiter) cutAt() time.Time {
	if l == nil {
		return time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.est == 0 {
		return time.Time{}
	}
	return l.lastCut
}

// applyHint sets this replica's share of the stated limit, and caps the
// learned rate by it (see setEstimate), under l.mu.
//
// A pool's deployment also routes by it from the first answer that states
// it: the pool sends it no more than its hint while others are ready
// (Pool.pick, through routeWait). A lone target learns its limit from its
// first 429s; but the deployments of a pool are sent what the others
// cannot take, and one left unrouted takes bursts, meets 429s and is cut
// far below its limit (issue 19's P2: 3 to 7 more 429s in the first
// second, and the first cut 20-40% low). Its own pacing is unchanged, so
// a hint that lies low (a "limit" that is a burst, say) is soon
// contradicted by what the provider accepts, and then not believed.
func (l *RateLimiter) applyHint(now time.Time) {
	l.hint = l.statedPS / float64(max(l.replicas, 1))
	if l.est > l.hint && l.hint > 0 && l.hint >= l.est/2 {
		l.setEstimate(now, l.hint)
	}
	if l.stated != nil {
		lim := rate.Inf
		if l.hint > 0 && !l.doubt {
			lim = rate.Limit(l.hint)
		}
		l.stated.SetLimitAt(now, lim)
	}
}

// setReplicas says how many replicas share the target's limit (the shared
// state's membership) and this one's rank among them: a limit the provider
// states is for all of them, so each takes its share of it as its hint,
// and a pool routes by it on a grid offset by the rank (see routeGrid).
func (l *RateLimiter) setReplicas(n, rank int) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n != l.replicas || rank != l.rank {
		l.replicas, l.rank = n, rank
		l.applyHint(time.Now())
	}
}

// acceptedSlot is the acceptedRing's resolution.
const acceptedSlot = 100 * time.Millisecond

// minTookCount is the fewest successes counted in the last second that
// the cut "straight down to what it accepted" reads a rate from. A count
// of one over a fraction of a second says little of the rate: one success
// in the 0.4s after a first 429 read as 2.4/s against a refill of 5/s
// (bare 429s, a bucket of one at 5/s, 15 calls/s, the client built 3s
// before its calls: two seconds at half the cap, 34% of the calls served,
// best 40%). With fewer, the cut is the usual one, and a later 429 reads
// a longer count. (The scenario family: the aged grid's last two misses
// hold, 37% and 47%; the fresh grid unchanged; the latency grid 1.5 more
// 429s a point, none lost.)
const minTookCount = 2

// acceptedRing counts successes in the last second, in ten 100ms slots.
type acceptedRing struct {
	n    [10]int64
	slot [10]int64 // the 100ms period each count is for
}

func (r *acceptedRing) add(now time.Time) {
	p := now.UnixNano() / int64(acceptedSlot)
	i := p % 10
	if r.slot[i] != p {
		r.slot[i], r.n[i] = p, 0
	}
	r.n[i]++
}

// rate is the successes per second over the last second, or over the time
// since learning started when that is shorter (at least 100ms).
func (r *acceptedRing) rate(now, since time.Time) float64 { return r.rateWith(now, since, 0) }

// rateWith is rate with extra successes counted.
func (r *acceptedRing) rateWith(now, since time.Time, extra int64) float64 {
	secs := min(1, max(acceptedSlot.Seconds(), now.Sub(since).Seconds()))
	return float64(r.count(now)+extra) / secs
}

// count is the successes in the last second.
func (r *acceptedRing) count(now time.Time) int64 {
	p := now.UnixNano() / int64(acceptedSlot)
	var sum int64
	for i := range r.n {
		if p-r.slot[i] < 10 {
			sum += r.n[i]
		}
	}
	return sum
}

// Random 429s: a provider that refuses a share of requests whatever the
// rate (a shared pool's capacity, another client's use of the key) is no
// limit to learn: each 429 cut the rate a little, the slow probe did not
// make it up, and the rate sank toward nothing (AIMD's equilibrium under
// random losses p is proportional to 1/p: 3% of 50 calls/s served 12.8/s
// after a minute). A bucket, whatever its size b and refill c, accepts at
// most c + b/T requests a second over T seconds; so if the best
// noiseWindow seconds of the last noiseSlots show it accepting P a second,
// c ≥ P − b/noiseWindow: for any burst of up to 2s of its refill,
// P ≤ 1.2c, and noiseTest·P ≤ 0.84c. Evenly paced under c, no bucket
// refuses: a 429 paced at noiseTest·P or less is one a steady limit does
// not send. The share of 429s over the last noiseWindow seconds is then
// taken as the provider's random share, the rate goes back up to
// noiseRoom times the most that was sent, and from then on a 429 cuts
// nothing, each keeping the finding noiseMemory more, while the 429s of
// the last noiseEndSecs seconds stay under that share plus noiseMargin
// (and three standard deviations of the count); the rate grows by
// noiseRoom a second while calls wait for it (the cuts left demand
// waiting). A limit under the random 429s, or one that went
// down, raises their share: that ends the finding, the cuts resume, and
// what was counted before is forgotten (a minute's burst, read as P, does
// not trigger it again).
//
// The gap log's refill test (see refillTest) makes the same finding from
// the send times, sooner: no burst allowance is needed there, since a
// bucket that refused a request held less than a token, so a 429 sent
// more than 1/floor after the last accepted request, floor being the
// rate proven between two earlier 429s, is one no bucket sends. Random
// 429s at 10% are found within 0.6-3.5s of the first (not 10-15s: the cuts
// before left a queue that 89-94% of calls outlived), and at 1% within
// 11-38s (the cuts and the slow probe balanced near 30 of 50 calls a
// second, above noiseTest·P, on two seeds of five: 82% served). P stays
// the test when the sends are not read in order (more than gapLogMax
// in flight: long answers at a high rate).
const (
	noiseSlots    = 60   // seconds of successes and 429s kept
	noiseWindow   = 10   // P is counted over this many whole seconds
	noiseTest     = 0.7  // a 429 paced at this share of P or less is not a limit's
	noiseMargin   = 0.1  // 429s this share of the answers above the random share...
	noiseEndMin   = 5    // ...and at least this many, over...
	noiseEndSecs  = 3    // ...these last seconds end the finding
	noiseMaxShare = 0.3  // the random share is taken as this at most...
	noiseMinShare = 0.01 // ...and its deviation as at least this one's
	noiseMemory   = time.Minute
	noiseRoom     = 1.1 // the rate goes back to this share of the most sent, and grows by it each second
)

// rateIndependent reports whether a 429 is one to cut nothing for: under
// a finding that 429s do not depend on the rate, or one that makes that
// finding (the refill test read a 429 no bucket sends, or one was paced at
// noiseTest of what the provider was seen to accept, or less), which puts
// the rate back, under l.mu. Lone targets only; for the P test, not a
// bucket of one (the gap log's).
func (l *RateLimiter) rateIndependent(now time.Time, paced bool, released time.Time, gb gapBounds) bool {
	if l.pooled.Load() || l.est == 0 {
		return false
	}
	if now.Before(l.noiseUntil) {
		ref := l.refusedSec.recent(now, noiseEndSecs)
		n, q := float64(ref+l.perSec.recent(now, noiseEndSecs)), max(l.noiseShare, noiseMinShare)
		// More than the random share plus noiseMargin, by three standard
		// deviations of a binomial count at that share: at 20 answers a
		// second, 10% of random 429s made 17% over 3 seconds one play in
		// three, and ended the finding.
		if ref >= noiseEndMin && float64(ref) >= n*(l.noiseShare+noiseMargin)+3*math.Sqrt(n*q*(1-q)) {
			l.noiseUntil = time.Time{}
			l.perSec, l.refusedSec = secRing{}, secRing{}
			l.gaps.refill.forget()
			return false
		}
		l.noiseUntil = now.Add(noiseMemory)
		return true
	}
	sent, clash := l.gaps.refill.takeClash(now)
	if !clash {
		if !paced || gb.one() {
			return false
		}
		at := l.est
		if released.Before(l.stepAt) {
			at = l.stepFrom
		}
		p := l.perSec.best(now)
		if p == 0 || at > noiseTest*p {
			return false
		}
	}
	l.foundNoise(now, sent)
	return true
}

// foundNoise takes the 429s as random from now (see rateIndependent):
// their share of the last noiseWindow seconds is the random share, and
// the rate goes back to noiseRoom times the most sent (sent: over the
// windows the refill test read; or over noiseWindow seconds), under l.mu.
func (l *RateLimiter) foundNoise(now time.Time, sent float64) {
	ref, acc := l.refusedSec.recent(now, noiseWindow), l.perSec.recent(now, noiseWindow)
	l.noiseShare = min(noiseMaxShare, float64(ref)/float64(max(1, ref+acc)))
	l.noiseUntil, l.noiseGrown = now.Add(noiseMemory), now
	l.cleanRate, l.refusedRate = 0, 0
	l.markStep(now)
	l.setEstimate(now, max(l.est, noiseRoom*max(sent, bestSent(&l.perSec, &l.refusedSec, now))))
}

// secRing counts events (successes, 429s) per second over the last
// noiseSlots seconds: a ring of counters, under l.mu (x/time/rate keeps
// no count of what was accepted, and the acceptedRing holds one second).
type secRing struct {
	n   [noiseSlots]int64
	sec [noiseSlots]int64 // the Unix second each count is for
}

func (r *secRing) add(now time.Time) {
	s := now.Unix()
	i := slotOf(s)
	if r.sec[i] != s {
		r.sec[i], r.n[i] = s, 0
	}
	r.n[i]++
}

// best is the highest rate counted over noiseWindow consecutive whole
// seconds of the last noiseSlots; 0 when none was counted.
func (r *secRing) best(now time.Time) float64 { return bestOf(now, r) }

// bestSent is the highest rate of answers, successes (acc) and 429s (ref),
// over noiseWindow consecutive whole seconds of the last noiseSlots.
func bestSent(acc, ref *secRing, now time.Time) float64 { return bestOf(now, acc, ref) }

func bestOf(now time.Time, rings ...*secRing) float64 {
	cur := now.Unix()
	var top int64
	for end := cur - 1; end-noiseWindow >= cur-noiseSlots; end-- {
		var sum int64
		for s := end - noiseWindow + 1; s <= end; s++ {
			i := slotOf(s)
			for _, r := range rings {
				if r.sec[i] == s {
					sum += r.n[i]
				}
			}
		}
		top = max(top, sum)
	}
	return float64(top) / noiseWindow
}

// recent is the count of the last secs seconds, the current one included.
func (r *secRing) recent(now time.Time, secs int64) int64 {
	cur := now.Unix()
	var sum int64
	for s := cur - secs + 1; s <= cur; s++ {
		if i := slotOf(s); r.sec[i] == s {
			sum += r.n[i]
		}
	}
	return sum
}

func slotOf(sec int64) int { return int((sec%noiseSlots + noiseSlots) % noiseSlots) }

// doubtOver is how many requests over its stated limit a pool's
// deployment must have had accepted for the limit not to be believed.
const doubtOver = 3

// countedSince is when successes began to be counted: learning's start,
// or a pool's deployment's construction (it counts from the start, see
// onSuccess), whatever its first 429 set since to. A rate over the last
// second from 166ms of counts was 6 times too low; a pool's deployment
// read its last second's counts over the 140ms since its first 429, 8
// successes a second as 57, and the cut stayed at the rate sent (the
// pool grid's caps of 6 with bursts of 4 met 10 429s where weighted
// random met 6; so, 7).
func (l *RateLimiter) countedSince() time.Time {
	if l.pooled.Load() || l.since.IsZero() {
		return l.born
	}
	return l.since
}

// setEstimate sets the learned rate, under l.mu.
func (l *RateLimiter) setEstimate(now time.Time, r float64) {
	if l.hint > 0 && l.hint >= r/2 && !l.doubt {
		// A stated limit far below what the provider was just seen to
		// accept is not believed (its unit or window is not the one read).
		r = min(r, l.hint)
	}
	if l.since.IsZero() {
		l.since = now
	}
	l.est = r
	if r > 0 {
		l.short.Store(int64(2 * float64(time.Second) / r))
	}
	vnow, _ := l.clock.at(now)
	old, backlog := l.learned.Limit(), 1-l.learned.TokensAt(vnow)
	l.learned.SetLimitAt(vnow, rate.Limit(r))
	l.learned.SetBurstAt(vnow, 1) // the provider's burst is unknown: evenly spaced is safe at any
	if old != rate.Inf && rate.Limit(r) > old && backlog > 1 && l.pooled.Load() {
		// Places already given keep their times, and x/time/rate would
		// give the next ones at the new pace from the tokens left: before
		// the last of those, two requests close together (the provider
		// refuses the second). Keep the last place where it was: take the
		// places the faster pace would add before it. (A pool's
		// deployment only: a lone target's spacing keeps the new places
		// apart from the old, and its queue hands the places the old pace
		// leaves free on to the next attempt, see enqueue. Taken places
		// are never given back, and after steps up and down they ran
		// seconds ahead: every call was refused for its deadline.)
		extra := int(backlog * (r/float64(old) - 1))
		for range extra {
			l.learned.ReserveN(vnow, 1)
		}
	}
	l.active.Store(true)
}

// learnedRate is the learned request rate; 0: none.
func (l *RateLimiter) learnedRate() float64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.est
}

// restoreLearned raises the learned rate back to r (0: no learned limit)
// when it is lower: the cuts since were made while the target ran on
// something else's pacing (the shared limit's local share), and say
// nothing about the pacing now back in force.
func (l *RateLimiter) restoreLearned(r float64) {
	if l == nil {
		return
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.est == 0 || (r > 0 && l.est >= r):
	case r == 0:
		vnow, _ := l.clock.at(now)
		l.est = 0
		l.short.Store(0)
		l.learned.SetLimitAt(vnow, rate.Inf)
	default:
		l.setEstimate(now, r)
	}
}

// observe reads the provider's rate-limit headers as hints (see the package
// doc): the stated request limit, per minute, bounds the learned rate from
// above once 429s have shown a limit; a stated token limit becomes the
// learned token bucket, lowered to the tokens the provider says are left.
func (l *RateLimiter) observe(h http.Header, now time.Time) {
	if l == nil {
		return
	}
	pl, ok := ratelimitheader.Parse(h, now)
	if !ok {
		return
	}
	l.mu.Lock()
	l.limits.ObservedAt = now
	if pl.RequestsLimit >= 0 {
		l.limits.RequestsLimit = pl.RequestsLimit
	}
	if pl.RequestsRemaining >= 0 {
		l.limits.RequestsRemaining = pl.RequestsRemaining
	}
	if pl.RequestsReset > 0 {
		l.limits.RequestsReset = now.Add(pl.RequestsReset)
	}
	if pl.TokensLimit >= 0 {
		l.limits.TokensLimit = pl.TokensLimit
	}
	if pl.TokensRemaining >= 0 {
		l.limits.TokensRemaining = pl.TokensRemaining
	}
	if pl.TokensReset > 0 {
		l.limits.TokensReset = now.Add(pl.TokensReset)
	}
	if pl.RequestsLimit > 0 {
		// A hint caps the learned rate once 429s have shown there is a
		// limit; it never paces a target on its own.
		l.statedPS = float64(pl.RequestsLimit) / hintWindow
		l.applyHint(now)
	}
	// "0 remaining" does not pause the target: the reset may be the time
	// to a full window (OpenAI) rather than to the next request (P6), and
	// once a 429 shows the limit, the learned bucket paces at it anyway.
	vnow, _ := l.clock.at(now)
	if pl.TokensLimit > 0 {
		per := rate.Limit(float64(pl.TokensLimit) / hintWindow)
		if l.tokLearned.Limit() != per {
			first := l.tokLearned.Limit() == rate.Inf
			l.tokLearned.SetLimitAt(vnow, per)
			l.tokLearned.SetBurstAt(vnow, pl.TokensLimit)
			if first { // a new bucket starts full (rate.Limiter(Inf, 1) held one token)
				l.tokLearned.ReserveN(vnow, -pl.TokensLimit)
			}
		}
		// The provider's count of tokens left lowers the learned bucket,
		// never raises it: the tokens of our attempts in flight are not in
		// the provider's count yet.
		if pl.TokensRemaining >= 0 {
			if over := l.tokLearned.TokensAt(vnow) - float64(pl.TokensRemaining); over >= 1 {
				l.tokLearned.ReserveN(vnow, min(int(over), l.tokLearned.Burst()))
			}
		}
	}
	l.mu.Unlock()
}
