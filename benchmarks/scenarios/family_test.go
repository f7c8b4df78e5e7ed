package scenarios

import (
	"flag"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestFamilyGrid is the synctest version of the scenario family of issue
// 20 (family.go): every point of TestFamily (24 rate-limit points, 6 per
// behaviour, every axis value at least once per behaviour; the 4 noise
// levels at seeds 1 and 2; the 8 outage points) is played by the plain
// retry loop and by ailib's defaults, in virtual time, and ailib is held to
// FamilyResult.Violations: success ≥ the loop's, ≥ best − 5 points, and on
// rate-limit points fewer 429s than the loop.
//
// knownFailures lists the points where ailib's defaults do not meet the
// bounds today, with the numbers seen; they are skipped, not loosened.
// Every other point is asserted (on the majority of three plays when its
// first play breaks a bound).
func TestFamilyGrid(t *testing.T) {
	points := TestFamily()
	switch {
	case *fullFamily:
		points = FullFamily([]int64{1, 2, 3, 4, 5})
	case *agedFamily:
		points = AgedFamily()
	case *latencyFamily:
		points = LatencyFamily(Answers{Typical: *latencyTypical, SlowShare: *latencySlowShare, Slow: *latencySlow})
	}
	for _, p := range points {
		t.Run(strings.ReplaceAll(p.Name(), " ", "_"), func(t *testing.T) {
			t.Parallel()
			// Time in the bubble is exact, but the goroutines of a point
			// interleave differently from play to play, and a point near a
			// bound can land either side of it (one such flip in about 25
			// runs of the suite). So a point that breaks a bound is played
			// twice more and judged on the majority of the three plays.
			play := func() FamilyResult {
				var r FamilyResult
				synctest.Test(t, func(t *testing.T) {
					r = RunPoint(t.Context(), InProcess(), p)
				})
				t.Logf("%s: %s", p.Name(), r.Summary())
				return r
			}
			r := play()
			v := r.Violations()
			if len(v) > 0 {
				broke := 1
				for range 2 {
					if again := play(); len(again.Violations()) > 0 {
						broke++
					} else {
						r = again
					}
				}
				if broke < 2 {
					t.Logf("%s broke a bound in 1 of 3 plays: judged on the other two", p.Name())
					v = nil
				}
			}
			if known, ok := knownFailures[p.Name()]; ok {
				if len(v) == 0 {
					// Held to the bounds like any other point from now on:
					// take it out of knownFailures.
					t.Logf("%s is listed as a known failure (%s) but holds every bound in this run", p.Name(), known)
					return
				}
				t.Skipf("known: %s (this run: %s)", known, strings.Join(v, "; "))
			}
			for _, msg := range v {
				t.Errorf("%s: ailib defaults: %s\n\t%s", p.Name(), msg, r.Summary())
			}
		})
	}
}

// fullFamily plays the whole grid (FullFamily, seeds 1–5) instead of
// TestFamily: go test -run TestFamilyGrid -family.full (about a minute
// without -race); agedFamily its rate-limit points with the client built
// FamilyAge before its first call (-family.aged).
var (
	fullFamily = flag.Bool("family.full", false, "TestFamilyGrid: play the whole grid, not the subsample")
	agedFamily = flag.Bool("family.aged", false, "TestFamilyGrid: play the 216 rate-limit points with the client built FamilyAge before its first call")
	// Not held today: see LatencyFamily and the README's family paragraph.
	latencyFamily    = flag.Bool("family.latency", false, "TestFamilyGrid: play the 216 rate-limit and 15 random-429 points with answers that take time (-family.answer, -family.slow-share, -family.slow)")
	latencyTypical   = flag.Duration("family.answer", FamilyAnswers.Typical, "-family.latency: how long a typical answer takes")
	latencySlowShare = flag.Float64("family.slow-share", FamilyAnswers.SlowShare, "-family.latency: the share of answers that are slow")
	latencySlow      = flag.Duration("family.slow", FamilyAnswers.Slow, "-family.latency: how long a slow answer takes")
)

// knownFailures maps a point's name to the numbers it fails with
// ("success" is the share of calls, best the theoretical best): such a
// point is skipped, not loosened, and reported in the log when it holds
// every bound (take it out of the list then). Every rate-limit, noise,
// outage and random-429 point of TestFamily is asserted today: the last
// rate-limit ones, buckets of one at 5 and 10 a second with no rate-limit
// header, hold since the limiter reads the gaps between requests, and the
// random-429 ones (1% and 10% at seed 2: 82% and 92-94%) since it reads
// the refill those gaps prove (see resilience's refillTest).
var knownFailures = map[string]string{}

// TestBestRateLimit checks the oracle schedule against cases worked by
// hand.
func TestBestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		c        float64
		burst    int
		rate     float64
		n        int
		d        time.Duration
		want     int
		lastWait time.Duration
	}{
		// Demand under the cap: all served at once.
		{10, 1, 5, 50, time.Second, 50, 0},
		// 20 calls 1ms apart, cap 10/s, bucket 2, deadline 1s: calls 0 and
		// 1 on the bucket, then a token every 100ms from 1ms: the one at
		// 1.001s still finds call 11 (deadline 1.011s) in time, so
		// 2 + 10 = 12, the last after 1.001 − 0.011 = 990ms.
		{10, 2, 1000, 20, time.Second, 12, 990 * time.Millisecond},
		// 2× demand over 10s, bucket 1: served ≈ 1 + 10 × (10 + 2) = 121 of 200.
		{10, 1, 20, 200, 2 * time.Second, 120, 0},
	} {
		got, lat := bestRateLimit(tc.c, tc.burst, tc.rate, tc.n, tc.d)
		if got != tc.want && !(tc.lastWait == 0 && got >= tc.want && got <= tc.want+1) {
			t.Errorf("bestRateLimit(%v, %d, %v, %d, %v) = %d; want %d", tc.c, tc.burst, tc.rate, tc.n, tc.d, got, tc.want)
		}
		if tc.lastWait > 0 && len(lat) > 0 && (lat[len(lat)-1]-tc.lastWait).Abs() > time.Millisecond {
			t.Errorf("last wait = %v; want %v", lat[len(lat)-1], tc.lastWait)
		}
	}
}
