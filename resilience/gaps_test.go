package resilience

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// The gap log reads each send once the sends before it are known, however
// the answers come back, and keeps the bounds the gaps prove.
func TestGapLogBounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

	t.Run("answers out of order", func(t *testing.T) {
		var s gapLog
		a, b, c := s.log(at(0)), s.log(at(15)), s.log(at(25))
		s.resolve(c, sendAccepted, at(30)) // 25ms after a: but b is not known yet
		s.resolve(b, sendRefused, at(30))  // 15ms after a: but a is not known yet
		if s.lo != 0 || s.hi != 0 {
			t.Fatalf("bounds before the first send is known: lo %v hi %v; want none", s.lo, s.hi)
		}
		s.resolve(a, sendAccepted, at(31))
		if !near(s.hi, 1/0.015) || !near(s.lo, 1/0.025) {
			t.Errorf("lo %v hi %v; want 40 (accepted 25ms after the last accepted) and 66.7 (refused 15ms after it)", s.lo, s.hi)
		}
		floor, ceiling := floorCeiling(s.bounds(at(31)))
		if want := 1 / (0.025 + gapPad.Seconds()); !near(floor, want) {
			t.Errorf("floor %v; want %v (the accepted gap and the jitter allowance)", floor, want)
		}
		if want := 1 / (0.015 + gapPad.Seconds()); !near(ceiling, want) {
			t.Errorf("ceiling %v; want %v", ceiling, want)
		}
		if f, c := floorCeiling(s.bounds(at(31).Add(boundMemory + time.Second))); f != 0 || c != 0 {
			t.Errorf("floor %v ceiling %v after boundMemory; want none (forgotten)", f, c)
		}
	})

	t.Run("an answer that says nothing breaks the chain", func(t *testing.T) {
		var s gapLog
		a, b, c := s.log(at(0)), s.log(at(100)), s.log(at(200))
		s.resolve(a, sendAccepted, at(1))
		s.resolve(b, sendOther, at(101))
		s.resolve(c, sendRefused, at(201))
		if s.hi != 0 {
			t.Errorf("hi %v after a 5xx between; want none (the 5xx may have taken a token)", s.hi)
		}
	})

	t.Run("a larger bucket stops the reading for a minute", func(t *testing.T) {
		var s gapLog
		for i, st := range []sendState{sendAccepted, sendAccepted, sendRefused, sendAccepted} {
			s.resolve(s.log(at([]int{0, 50, 250, 400}[i])), st, at(500))
		}
		// Accepted 50ms apart, refused 200ms after: more than one token.
		if s.lo != 0 || !s.notOne {
			t.Errorf("lo %v notOne %v; want 0 and true", s.lo, s.notOne)
		}
		if f, c := floorCeiling(s.bounds(at(500))); f != 0 || c != 0 {
			t.Errorf("floor %v ceiling %v; want none (the count-based cuts pace a larger bucket)", f, c)
		}
		s.resolve(s.log(at(700)), sendAccepted, at(701))
		if s.lo != 0 {
			t.Errorf("lo %v after notOne; want 0", s.lo)
		}
		// A minute on (the limit may have gone down since, which reads
		// as a larger bucket too), the gaps are read again.
		later := 500 + int((notOneMemory + time.Second).Milliseconds())
		s.resolve(s.log(at(later)), sendAccepted, at(later+1))
		s.resolve(s.log(at(later+300)), sendAccepted, at(later+301))
		s.resolve(s.log(at(later+400)), sendRefused, at(later+401))
		if f, c := floorCeiling(s.bounds(at(later + 401))); s.notOne || f == 0 || c == 0 {
			t.Errorf("notOne %v floor %v ceiling %v a minute on; want the gaps read again", s.notOne, f, c)
		}
	})

	t.Run("a gap refused as long as one accepted keeps the floor", func(t *testing.T) {
		// A bucket of one refuses a gap of exactly 1/c as often as not.
		var s gapLog
		for i, st := range []sendState{sendAccepted, sendAccepted, sendRefused} {
			s.resolve(s.log(at([]int{0, 200, 400}[i])), st, at(500))
		}
		f, c := floorCeiling(s.bounds(at(500)))
		if s.notOne || f == 0 || f != c {
			t.Errorf("notOne %v floor %v ceiling %v; want a bucket of one, floor = ceiling = %v", s.notOne, f, c, 1/(0.2+gapPad.Seconds()))
		}
	})

	t.Run("gaps too short to order say nothing", func(t *testing.T) {
		var s gapLog
		s.resolve(s.log(at(0)), sendAccepted, at(1))
		s.resolve(s.log(at(1)), sendRefused, at(2))
		if s.hi != 0 {
			t.Errorf("hi %v from a 1ms gap; want none", s.hi)
		}
	})

	t.Run("a send out longer than refusals take is read as accepted", func(t *testing.T) {
		var s gapLog
		a := s.log(at(0)) // its answer takes 2s
		s.resolve(s.log(at(30)), sendRefused, at(40))
		if s.n != 2 {
			t.Fatalf("%d sends unread with the first out 40ms, the refusal back in 10ms; want 2 (read from 100ms)", s.n)
		}
		s.resolve(s.log(at(150)), sendAccepted, at(160))
		if s.n != 0 || s.refill.accepted != 2 || !near(s.hi, 1/0.030) {
			t.Fatalf("with the first out 160ms: %d unread, %d accepted, hi %v; want 0, 2 and 33.3 (refused 30ms after it)", s.n, s.refill.accepted, s.hi)
		}
		s.resolve(a, sendOther, at(2000)) // its answer at last, a 503: read already
		if s.refill.accepted != 2 || !s.lastOK.Equal(at(150)) {
			t.Errorf("after the first send's late answer: %d accepted, last accepted at %v; want 2, the send at 150ms", s.refill.accepted, s.lastOK.Sub(t0))
		}
	})

	t.Run("a refusal that comes after its send was read widens the wait", func(t *testing.T) {
		var s gapLog
		a := s.log(at(0))
		s.resolve(s.log(at(10)), sendRefused, at(15)) // back in 5ms: read from 100ms
		s.resolve(s.log(at(20)), sendAccepted, at(30))
		s.resolve(s.log(at(120)), sendAccepted, at(130)) // a read as accepted: lo from the 100ms gap
		if s.n != 0 || s.lo == 0 {
			t.Fatalf("%d unread, lo %v; want 0 and a bound", s.n, s.lo)
		}
		s.resolve(a, sendRefused, at(300))
		if w, _ := s.acceptAfter(at(300)); w != 2*minAcceptAfter || s.lo != 0 {
			t.Errorf("after a refusal 300ms late: read from %v, lo %v; want %v and none", w, s.lo, 2*minAcceptAfter)
		}
	})

	t.Run("a send is waited for until a refusal's time is known", func(t *testing.T) {
		var s gapLog
		s.log(at(0))
		s.resolve(s.log(at(10)), sendAccepted, at(5000))
		if s.n != 2 {
			t.Errorf("%d sends unread; want 2 (no refusal read: the first one's answer is waited for)", s.n)
		}
	})

	t.Run("the ring holds every send behind a slow answer", func(t *testing.T) {
		// 150 sends answered while the first is still out (answers of
		// 1s, some of 3s, at 50 a second): all are read once it is.
		var s gapLog
		first := s.log(at(0))
		for i := 1; i <= 150; i++ {
			s.resolve(s.log(at(10*i)), sendAccepted, at(10*i+5))
		}
		if s.refill.accepted != 0 {
			t.Fatalf("%d read before the first send's answer; want 0", s.refill.accepted)
		}
		s.resolve(first, sendAccepted, at(3000))
		if s.refill.accepted != 151 || s.n != 0 {
			t.Errorf("read %d accepted, %d left; want 151, 0", s.refill.accepted, s.n)
		}
	})

	t.Run("a full ring reads its oldest as unknown", func(t *testing.T) {
		var s gapLog
		first := s.log(at(0))
		for i := 1; i <= gapLogMax; i++ {
			s.log(at(10 * i))
		}
		s.resolve(first, sendAccepted, at(10*gapLogMax+1))
		if s.n != gapLogMax || len(s.ring) != gapLogMax || s.refill.accepted != 0 {
			t.Errorf("n %d, ring %d, %d accepted read; want a full ring of %d without the first send", s.n, len(s.ring), s.refill.accepted, gapLogMax)
		}
	})
}

// A bucket of one with no header, sent one and a half times its cap: the
// gaps it accepts and refuses bound its rate within a few rounds, and the
// learned rate holds within the jitter allowance of the cap from the
// third second on. From the 429s' count alone (before the gap log), a rate
// just over the cap lost every other request, the cut went to 0.85 of the
// cap, and over seconds 3-9 the bisection was at 0.89 to 0.975 of it. In
// the first three seconds, where the learning is, a refused probe costs
// its gap only: the next request is spaced from the last one accepted
// (13 accepted of the 16 the cap allows; 10 when it was spaced from the
// refused one).
func TestABucketOfOneIsLearnedFromItsGaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const c = 5.0
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
		p := &bucketOfOne{l: l, c: c}
		lowest, highest := math.Inf(1), 0.0
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(3 * time.Second)
			for range 70 { // seconds 3-9, every 100ms
				r := l.learnedRate()
				lowest, highest = min(lowest, r), max(highest, r)
				time.Sleep(100 * time.Millisecond)
			}
		}()
		accepted := p.play(t, 10*time.Second, 1.5*c)
		<-done
		if lowest < 0.98*c || highest > c {
			t.Errorf("learned rate over seconds 3-9 in [%.3f, %.3f]; want within [%.2f, %g]", lowest, highest, 0.98*c, c)
		}
		if first := accepted[0] + accepted[1] + accepted[2]; first < 12 {
			t.Errorf("accepted %d in seconds 0-2 (the cap: 16); want ≥ 12", first)
		}
	})
}

// With answers slower than refusals, and refusals that take up to 200ms
// (a network's), a bucket of one is still learned from its gaps, and its
// 429s are never taken for random ones: a send is read as accepted only
// once it is out twice as long as the slowest refusal lately, and a
// refusal read after its send was so read drops what the misread proved.
func TestSlowRefusalsAreNotTakenForRandomOnes(t *testing.T) {
	for _, c := range []float64{5, 10, 20} {
		t.Run(fmt.Sprintf("cap=%g", c), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
				p := &bucketOfOne{l: l, c: c, answer: time.Second, refusal: 200 * time.Millisecond, rng: rand.New(rand.NewPCG(1, uint64(c)))}
				random := false
				lowest, highest := math.Inf(1), 0.0
				done := make(chan struct{})
				go func() {
					defer close(done)
					for i := range 120 { // seconds 0-12, every 100ms
						l.mu.Lock()
						random = random || time.Now().Before(l.noiseUntil)
						l.mu.Unlock()
						if i >= 50 {
							r := l.learnedRate()
							lowest, highest = min(lowest, r), max(highest, r)
						}
						time.Sleep(100 * time.Millisecond)
					}
				}()
				p.play(t, 12*time.Second, 2*c)
				<-done
				if random || lowest < 0.9*c || highest > c {
					t.Errorf("taken as random: %v; learned rate over seconds 5-11 in [%.2f, %.2f]; want never, within [%.1f, %g]", random, lowest, highest, 0.9*c, c)
				}
			})
		})
	}
}

// A 429 sent while an earlier request is still out is read only once that
// request's answer is in; the rate then goes to the middle of the bounds,
// as it would have at the 429 had the gaps been known then.
func TestARefusalReadLateStillCuts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(10)
		start := time.Now()
		send := func(at time.Duration) uint64 {
			time.Sleep(time.Until(start.Add(at)))
			return l.logSend()
		}
		l.sent(grant{seq: send(0)}, sendAccepted)
		slow := send(120 * time.Millisecond) // answered late, below
		refused := send(230 * time.Millisecond)
		// 110ms after slow, not known yet: the refusal took 150ms to
		// come back, and slow is out for less than twice that.
		time.Sleep(150 * time.Millisecond)
		l.sent(grant{seq: refused}, sendRefused)
		if r := l.learnedRate(); r != 10 {
			t.Fatalf("learned rate with the refusal not yet read = %v; want 10", r)
		}
		time.Sleep(500 * time.Millisecond)
		l.sent(grant{seq: slow}, sendAccepted)
		// Accepted 120ms after the one before (8.33/s), refused 110ms after
		// it (9.09/s): the ceiling is 1/(110ms + the jitter) = 8.93, the
		// middle 8.71, under the rate of 10.
		if r := l.learnedRate(); math.Abs(r-8.71) > 0.01 {
			t.Errorf("learned rate once the refusal is read = %.3f; want 8.71 (the middle of 8.33 and 9.09)", r)
		}
	})
}

// A 429 that no bucket sends, read late (behind a request still out), has
// the 429s taken as random when it is read, not at the next 429, by when
// the clash would be stale.
func TestARandomRefusalReadLateIsFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := learnedAt(40)
		start := time.Now()
		send := func(at time.Duration, st sendState) uint64 {
			time.Sleep(time.Until(start.Add(at)))
			seq := l.logSend()
			if st != sendPending {
				l.sent(grant{seq: seq}, st)
			}
			return seq
		}
		send(0, sendRefused)
		for ms := 25; ms <= 1000; ms += 25 {
			send(time.Duration(ms)*time.Millisecond, sendAccepted)
		}
		send(1010*time.Millisecond, sendRefused) // 39 accepted in 1.01s: a refill of 38.5/s at least
		send(1040*time.Millisecond, sendAccepted)
		slow := send(1100*time.Millisecond, sendPending)
		send(1150*time.Millisecond, sendRefused) // 50ms after slow: no bucket refilled at 38.5/s refuses it
		l.mu.Lock()
		l.setEstimate(time.Now(), 20) // what the 429s' cuts left
		l.mu.Unlock()
		time.Sleep(500 * time.Millisecond)
		l.sent(grant{seq: slow}, sendAccepted)
		l.mu.Lock()
		random := time.Now().Before(l.noiseUntil)
		l.mu.Unlock()
		if r := l.learnedRate(); !random || r < 40 {
			t.Errorf("once the refusal is read: random %v, learned rate %.1f; want the 429s taken as random and the rate back to 1.1 times the most sent (44)", random, r)
		}
	})
}

// A cut reads what the provider took from the sends the gap log read as
// accepted, not from the successes counted: with answers of 2s, none is
// back when the 429s come.
func TestACutReadsWhatTheProviderTookBeforeItsAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newRateLimiter(RateLimiterConfig{}, options{name: "p/m"})
		time.Sleep(100 * time.Millisecond)
		sent := int64(5)
		l.onRateLimited(time.Now(), 0, sent, 5, time.Time{}) // 50/s sent: cut to 35
		refuse := func() {
			seq := l.logSend()
			l.sent(grant{seq: seq}, sendRefused)
			l.onRateLimited(time.Now(), 0, sent, 50, time.Time{})
		}
		// A second at 50/s, none answered yet but two refused at once,
		// after gaps longer than those accepted (not a bucket of one's:
		// the gaps bound nothing).
		for i := range 50 {
			sent++
			if i == 20 || i == 49 {
				time.Sleep(30 * time.Millisecond)
				refuse()
				continue
			}
			time.Sleep(20 * time.Millisecond)
			l.logSend()
		}
		// 48 of 50 taken: the cut goes no lower than that (nor above the
		// rate it cuts from, 35); from the successes counted (none), 24.5.
		if r := l.learnedRate(); r != 35 {
			t.Errorf("learned rate = %.2f; want 35, held by the 48 requests a second the provider took", r)
		}
	})
}

func floorCeiling(b gapBounds) (floor, ceiling float64) { return b.floor, b.ceiling }

// The refill test finds random refusals once the rate has come down from
// one the provider was seen to accept, and never takes a token bucket's
// refusals for random ones, whatever its size and the rates sent at.
func TestRefillTest(t *testing.T) {
	t0 := time.Unix(1000, 0)
	// send logs and resolves n sends evenly paced at rate from *now, each
	// accepted or refused by ok.
	send := func(s *gapLog, now *time.Time, rate float64, n int, ok func(time.Time) bool) {
		for range n {
			st := sendRefused
			if ok(*now) {
				st = sendAccepted
			}
			s.resolve(s.log(*now), st, *now)
			*now = now.Add(time.Duration(float64(time.Second) / rate))
		}
	}

	t.Run("token buckets", func(t *testing.T) {
		for _, b := range []float64{1, 2, 5, 60} {
			for _, rates := range [][]float64{{20, 9.5, 12, 8, 11}, {50, 10.5, 30, 9.9}, {11, 10.1, 10.5}} {
				const c = 10.0
				var s gapLog
				now, tokens, last := t0, b, t0
				bucket := func(at time.Time) bool {
					tokens = min(b, tokens+c*at.Sub(last).Seconds())
					last = at
					if tokens >= 1 {
						tokens--
						return true
					}
					return false
				}
				for _, r := range rates {
					send(&s, &now, r, int(3*r), bucket)
					if _, clash := s.refill.takeClash(now); clash {
						t.Errorf("b %v, rates %v: a clash at %v/s; a bucket refilled at %v sends none", b, rates, r, c)
					}
				}
				if f := s.refill.floor; f > c {
					t.Errorf("b %v, rates %v: floor %v above the refill %v", b, rates, f, c)
				}
			}
		}
	})

	t.Run("random refusals", func(t *testing.T) {
		var s gapLog
		now, i := t0, 0
		tenth := func(time.Time) bool { i++; return i%10 != 0 } // 10% refused, whatever the rate
		send(&s, &now, 40, 80, tenth)
		if _, clash := s.refill.takeClash(now); clash {
			t.Fatal("a clash at one rate: random refusals at one rate look like a bucket's")
		}
		if f := s.refill.floor; f < 34 || f > 36 {
			t.Errorf("floor %v after 2s at 40/s with 10%% refused; want 35 less a refusal's", f)
		}
		send(&s, &now, 28, 30, tenth)
		sent, clash := s.refill.takeClash(now)
		if !clash {
			t.Fatal("no clash at 28/s after 36/s was accepted")
		}
		if sent < 39 || sent > 40 {
			t.Errorf("sent %v; want the 40/s the floor was proven at", sent)
		}
		if _, again := s.refill.takeClash(now); again {
			t.Error("the clash was not forgotten once taken")
		}
	})

	t.Run("forgotten after refillMemory", func(t *testing.T) {
		var s gapLog
		now, i := t0, 0
		tenth := func(time.Time) bool { i++; return i%10 != 0 }
		send(&s, &now, 40, 80, tenth)
		now = now.Add(refillMemory + time.Second)
		send(&s, &now, 28, 30, tenth)
		if _, clash := s.refill.takeClash(now); clash {
			t.Error("a clash with a floor proven more than refillMemory ago")
		}
	})
}
