package resilience

import "time"

// What the gaps between a lone target's requests say about its provider's
// limit, while the limiter learns one.
//
// A provider's token bucket holds at most b tokens and refills at c per
// second. Take a request sent g seconds after the last request it
// accepted, with only refused ones between (a refused request takes no
// token):
//
//   - refused: the bucket held less than one token, though it had gained
//     c·g since the accepted one left it at 0 or more, so c < 1/g. This
//     holds for any bucket: the gaps the provider refuses bound its rate
//     from above (hi, the lowest 1/g refused).
//   - accepted: for a bucket of one, which the accepted request emptied,
//     c ≥ 1/g (lo, the highest 1/g accepted). A larger bucket may have had
//     tokens left: a gap it accepts shorter than one it refused (by more
//     than the jitter, gapPad) shows it, and the gaps are not read for a
//     minute (notOneMemory).
//
// The limiter reads the bounds (RateLimiter.onRateLimited, onSuccess) for
// a bucket of one only: an increase goes no higher than hi, a cut and a
// step go to the middle of lo and hi, a gap refused at the current rate
// cuts at once, and the request after a refused one is spaced from the
// last one accepted. Against a bucket of one (a per-second cap with no
// burst, say) a rate just above c loses every other request, so the 429s'
// count, which the cut reads otherwise, says only that c is between half
// the rate and the rate: cut from 5.02/s to 4.28 against a cap of 5, the
// bisection took 5s to come back. The gaps say [5.00, 5.02) after a few
// rounds. hi bounds a larger bucket too, but its count-based cuts need no
// such precision, and a provider that refuses a few requests at random
// (no bucket at all) would lower hi with each refusal at the paced gap,
// and the 2ms margin step the rate down with it (3% random 429s at 50/s:
// 40/s served in the first 10s instead of 49). No library keeps such
// bounds; this is a ring of the last sends and a few numbers.
//
// The outcomes come back out of order (a request's latency varies), and
// a request's gap is to the last accepted one sent before it: the ring
// keeps the sends in order and reads each once the ones before it are
// known (a refusal so read after its own 429 was handled is acted on
// then: see RateLimiter.sent). A provider refuses at its door, so a
// refusal comes back at once where an answer takes its model's time: a
// send still out acceptAfter after it went (twice the slowest refusal
// read lately) was not refused, and is read as accepted then, not when
// its answer comes (answers of 2s, 20% of them 6s: a refusal was read
// seconds after it came, and random 429s were found 14s after the first,
// with the rate cut to half the demand meanwhile). A refusal that comes
// after its send was so read doubles the wait, and the lower bounds it
// may have raised (lo, the refill test's floor) are dropped. An outcome
// that says nothing of the bucket (a 5xx, a timeout, a cancelled call)
// before then breaks the chain. A limit that goes down reads as a larger
// bucket (a gap accepted at the old limit, one refused at the new): the
// count-based cuts follow it, and a minute later the gaps are read again.
type gapLog struct {
	ring       []sendEntry // the sends not yet read, from head: grows to hold every send out (see gapLogMax)
	head, n    int
	next       uint64        // the last send's sequence number (0 is "not logged"); the ring holds next-n+1 to next
	lastOK     time.Time     // the send time of the last accepted request read (zero: none, or the chain broke)
	lo, hi     float64       // the bounds on the provider's rate (0: none)
	loAt, hiAt time.Time     // when each was last set (see boundMemory)
	notOne     bool          // the bucket was seen to hold more than one token: the gaps are not read...
	notOneAt   time.Time     // ...for notOneMemory from then
	refusedIn  time.Duration // the longest a refusal took to come back, while each came within refusalMemory of the one before...
	refusedAt  time.Time     // ...and when the last one was read (zero: none)
	refill     refillTest
	// The sends read as accepted, by send time (see acceptedRate): the
	// first send logged, the last one read, and the count.
	firstAt, readTo time.Time
	took            acceptedRing
}

type sendEntry struct {
	at    time.Time
	state sendState
}

type sendState uint8

const (
	sendPending  sendState = iota
	sendAccepted           // a success: the provider took a token
	sendRefused            // a 429 rate limit from the provider
	sendOther              // an answer or failure that says nothing of the bucket
)

const (
	// The ring starts at gapLogMin sends and doubles while every one of
	// them is still out, up to gapLogMax; a send still out when that
	// many followed it is read as unknown (it breaks the chain). The
	// sends are read in order, so the ring must hold all those behind
	// the slowest answer out: at 50 calls a second with answers of 1s,
	// 20% of them 3s, about 150. With 64, the oldest was read as
	// unknown whenever a slow answer led, the chains broke, and the
	// refill test seldom read two refusals in one: 1% of random 429s
	// served 97.8% of calls on one seed (p50 2.6s), 3% 90.8%, where the
	// loop served all (the 15 random-429 points: 98.8% on average, p50
	// 1.4s; so, 99.9%, p50 1.0s, the answers' own). 4096 entries take
	// 128KiB, with that many requests out.
	gapLogMin = 64
	gapLogMax = 4096
	// Gaps shorter than this say nothing: the requests may reach the
	// provider in the other order.
	minGap = 2 * time.Millisecond
	// The allowance for the network's jitter between the gaps sent and
	// the gaps the provider sees, added to a gap read from a bound.
	gapPad = 2 * time.Millisecond
	// A bound is forgotten this long after it was last set: the
	// provider's limit may have moved, and a stray 429 (one not due to
	// the bucket) would otherwise hold the rate down for good.
	boundMemory = 10 * time.Second
	// A bucket seen to hold more than one token is read so for this
	// long: a limit that went down reads so too (a gap accepted at the
	// old limit, one refused at the new), and so do random 429s.
	notOneMemory = time.Minute
	// A send still out this many times the slowest refusal read lately
	// was not refused (see acceptAfter)...
	refusalSpread = 2
	// ...nor one out this long, whatever the refusals took: a refusal
	// that came back in a millisecond says little of the next one's
	// network.
	minAcceptAfter = 100 * time.Millisecond
	// The slowest refusal is forgotten this long after the last one.
	refusalMemory = time.Minute
)

// log records a send at now and returns its sequence number.
func (s *gapLog) log(now time.Time) uint64 {
	if s.n == len(s.ring) {
		if len(s.ring) < gapLogMax {
			s.grow()
		} else {
			s.ring[s.head].state = sendOther // never heard of: read as unknown
			s.drain(now)
		}
	}
	if s.next == 0 {
		s.firstAt = now
	}
	s.next++
	s.ring[(s.head+s.n)%len(s.ring)] = sendEntry{at: now, state: sendPending}
	s.n++
	return s.next
}

// grow doubles the ring (gapLogMin at first), keeping the sends in order.
func (s *gapLog) grow() {
	ring := make([]sendEntry, max(gapLogMin, 2*len(s.ring)))
	for i := range s.n {
		ring[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	s.ring, s.head = ring, 0
}

// resolve sets the outcome of send seq and reads the sends now known in
// order.
func (s *gapLog) resolve(seq uint64, st sendState, now time.Time) {
	// The ring holds consecutive sequence numbers from its head's; one
	// below it was read already (or dropped from a full ring, as unknown).
	first := s.next - uint64(s.n) + 1
	switch {
	case seq >= first && seq-first < uint64(s.n):
		e := &s.ring[(s.head+int(seq-first))%len(s.ring)]
		e.state = st
		if st == sendRefused {
			s.refusedBack(now.Sub(e.at), now)
		}
	case seq < first && st == sendRefused:
		// Read as accepted before its refusal came: refusals take
		// longer than allowed. Wait twice as long from now on, and drop
		// what the misread may have proven (a rate accepted, a refill).
		s.refusedIn, s.refusedAt = max(2*s.refusedIn, minAcceptAfter), now
		s.lo = 0
		s.refill.forget()
	}
	s.drain(now)
}

// refusedLately reports whether a refusal was read within refusalMemory:
// refusedIn says how long refusals take only then.
func (s *gapLog) refusedLately(now time.Time) bool {
	return !s.refusedAt.IsZero() && now.Sub(s.refusedAt) <= refusalMemory
}

// refusedBack records that a refusal took d to come back.
func (s *gapLog) refusedBack(d time.Duration, now time.Time) {
	if !s.refusedLately(now) {
		s.refusedIn = d
	}
	s.refusedIn, s.refusedAt = max(s.refusedIn, d), now
}

// acceptAfter is how long a send must be out to be read as accepted
// (false: none yet, no refusal read lately).
func (s *gapLog) acceptAfter(now time.Time) (time.Duration, bool) {
	if !s.refusedLately(now) {
		return 0, false
	}
	return max(minAcceptAfter, refusalSpread*s.refusedIn), true
}

func (s *gapLog) drain(now time.Time) {
	if s.notOne && now.Sub(s.notOneAt) > notOneMemory {
		s.notOne = false // the limit may have changed since (a lower one reads as a larger bucket)
	}
	for s.n > 0 {
		e := s.ring[s.head]
		if e.state == sendPending {
			if w, ok := s.acceptAfter(now); !ok || now.Sub(e.at) < w {
				return
			}
			e.state = sendAccepted // not refused in the time refusals take: its answer may come later
		}
		s.head, s.n = (s.head+1)%len(s.ring), s.n-1
		s.readTo = e.at
		switch e.state {
		case sendAccepted:
			s.took.add(e.at)
			s.refill.accepted++
			if g := e.at.Sub(s.lastOK); !s.lastOK.IsZero() && g >= minGap && !s.notOne {
				if r := 1 / g.Seconds(); r > s.lo || now.Sub(s.loAt) > boundMemory {
					s.lo, s.loAt = r, now
				}
			}
			s.lastOK = e.at
		case sendRefused:
			s.refill.refused(e.at, s.lastOK, now)
			if g := e.at.Sub(s.lastOK); !s.lastOK.IsZero() && g >= minGap {
				if r := 1 / g.Seconds(); r < s.hi || now.Sub(s.hiAt) > boundMemory {
					s.hi, s.hiAt = r, now
				}
			}
		case sendOther:
			s.lastOK = time.Time{}
		}
		if lo, hi := s.fresh(now); lo > 0 && hi > 0 && 1/lo+gapPad.Seconds() < 1/hi {
			// A gap accepted shorter than one refused (by more than the
			// jitter): the bucket holds more than one token (or refuses
			// at random), and the gaps it accepts bound nothing.
			s.lo, s.notOne, s.notOneAt = 0, true, now
		}
	}
}

// acceptedRate is the rate of the sends read as accepted over the second
// up to the last one read (over the time since the first one logged when
// that is shorter, at least acceptedSlot), and their count. It lags the
// sends by acceptAfter at most, where a count of the successes lags them
// by the answers' time (see RateLimiter.onRateLimited).
func (s *gapLog) acceptedRate() (float64, int64) {
	if s.readTo.IsZero() {
		return 0, 0
	}
	return s.took.rate(s.readTo, s.firstAt), s.took.count(s.readTo)
}

// fresh returns the bounds set within boundMemory (0: none).
func (s *gapLog) fresh(now time.Time) (lo, hi float64) {
	if now.Sub(s.loAt) <= boundMemory {
		lo = s.lo
	}
	if now.Sub(s.hiAt) <= boundMemory {
		hi = s.hi
	}
	return lo, hi
}

// gapBounds is what the gaps allow, in rates (0: none).
type gapBounds struct {
	floor   float64 // no cut below it: lo's gap with the jitter allowance (a bucket of one only)
	ceiling float64 // no increase above it: hi's gap with the jitter allowance
	mid     float64 // halfway between lo and hi, the bisection's next test (with a floor only)
	lo      float64 // the highest rate accepted (with a floor only)
}

// one reports whether both bounds are known for a bucket of one.
func (b gapBounds) one() bool { return b.floor > 0 }

// bounds returns what the gaps read within boundMemory allow: nothing
// once the bucket was seen not to be one (see gapLog).
func (s *gapLog) bounds(now time.Time) gapBounds {
	lo, hi := s.fresh(now)
	if s.notOne || hi == 0 {
		return gapBounds{} // not a bucket of one, or nothing refused lately
	}
	b := gapBounds{ceiling: 1 / (1/hi + gapPad.Seconds())}
	if lo > 0 {
		// lo is kept only while within the jitter of hi or under it (a
		// bucket of one refuses a gap of exactly 1/c as often as not).
		b.floor = min(1/(1/lo+gapPad.Seconds()), b.ceiling)
		b.mid, b.lo = min((lo+hi)/2, b.ceiling), lo
	}
	return b
}

// quiet reports whether every logged send has been read, and returns the
// send time of the last one the provider accepted (zero: none, or the
// chain broke).
func (s *gapLog) quiet() (lastOK time.Time, ok bool) {
	return s.lastOK, s.n == 0 && !s.lastOK.IsZero()
}

// refillTest finds refusals no token bucket sends: a provider that refuses
// a share of requests whatever the rate (see RateLimiter.rateIndependent).
//
// A bucket refilled at c refuses a request only when it holds less than
// one token. Between two requests it refused, sent T seconds apart with A
// accepted between, it gained at most c·T and held less than one token at
// the first, so A ≤ c·T + 1: c ≥ (A−1)/T, whatever its size (floor, the
// highest such rate over the refusals of the last refillMemory: a minute,
// since 1% of random 429s come seconds apart and the rate the cuts leave
// drifts down slowly; on loopback, with 10s, the floor followed the rate
// down and one seed of five was never found, 84-89% served). And a
// request sent g after the last one it accepted, with only refused ones
// between, found min(b, c·g) tokens or more: refused, c < 1/g. A refusal
// whose gap says c < 1/g ≤ floor is one no bucket sends (clash). Both
// read the send times, in send order, not the answers' (whose latency
// would move accepted requests between windows), with gapPad of jitter
// between a gap's ends (as gapLog's bounds). No library keeps such counts.
type refillTest struct {
	accepted int64 // accepted sends read so far
	refusals int64 // refused sends read so far
	marks    [refillMarks]refillMark
	head, n  int
	floor    float64   // the refill rate proven (0: none)
	floorAt  time.Time // when it was last raised
	sent     float64   // the highest rate sent over the floor's windows (accepted and refused)
	clash    time.Time // a refusal no bucket refilled at floor sends was read then (zero: none since taken)
}

type refillMark struct {
	at       time.Time // a refused send's time
	accepted int64     // refillTest.accepted when it was read
	refusals int64     // refillTest.refusals before it
}

const (
	refillMarks = 16 // refusals a window can start at
	// A window shorter than this bounds little, and its ends' jitter is a
	// large part of it.
	minRefillWindow = 500 * time.Millisecond
	refillMemory    = time.Minute
)

// refused reads a refused send at at, the last accepted send before it
// at lastOK (zero: none, or the chain broke).
func (t *refillTest) refused(at, lastOK, now time.Time) {
	if now.Sub(t.floorAt) > refillMemory {
		t.floor, t.sent = 0, 0
	}
	if g := at.Sub(lastOK) - gapPad; !lastOK.IsZero() && g > 0 && t.floor > 0 && t.floor*g.Seconds() >= 1 {
		t.clash = now
	}
	for i := range t.n {
		m := t.marks[(t.head+i)%refillMarks]
		w := at.Sub(m.at)
		if w < minRefillWindow || now.Sub(m.at) > refillMemory {
			continue
		}
		secs := (w + gapPad).Seconds()
		if r := float64(t.accepted-m.accepted-1) / secs; r > t.floor {
			t.floor, t.floorAt = r, now
		}
		t.sent = max(t.sent, float64(t.accepted-m.accepted+t.refusals-m.refusals)/secs)
	}
	if t.n == refillMarks {
		t.head, t.n = (t.head+1)%refillMarks, t.n-1
	}
	t.marks[(t.head+t.n)%refillMarks] = refillMark{at: at, accepted: t.accepted, refusals: t.refusals}
	t.n++
	t.refusals++
}

// takeClash reports whether a refusal no bucket sends was read within
// the last second, and forgets it, with the highest rate sent over the
// windows that proved the floor.
func (t *refillTest) takeClash(now time.Time) (sent float64, ok bool) {
	if t.clash.IsZero() || now.Sub(t.clash) > time.Second {
		return 0, false
	}
	t.clash = time.Time{}
	return t.sent, true
}

// forget drops what was read: the provider's limit may have changed.
func (t *refillTest) forget() { *t = refillTest{accepted: t.accepted, refusals: t.refusals} }
