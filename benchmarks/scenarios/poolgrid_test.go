package scenarios

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var poolGrid = flag.Bool("pool.grid", false, "play the pool scenarios' whole grid (TestPoolGrid), not make test's part of it")

// poolRow is one grid point played by ailib's pool, weighted random and
// round-robin.
type poolRow struct {
	sc          PoolScenario
	ailib, w, r PoolResult
}

// violations are the grid's bounds that row breaks: ailib's pool must
// succeed on at least 99% of the calls (every point has the capacity) and
// at least as often as weighted random and round-robin (less one call),
// and meet no more 429s than weighted random (but for one: a tie margin,
// as for the successes). The tighter bounds
// (fewer than 1% 429s, p99 under 200ms) hold on PoolScenarios; over the
// grid they are reported, not asserted (see the README).
func (row poolRow) violations() []string {
	var v []string
	a := row.ailib
	if a.Err != nil {
		return []string{a.Err.Error()}
	}
	if a.Success() < 0.99 {
		v = append(v, fmt.Sprintf("success %.1f%% < 99%%", 100*a.Success()))
	}
	if a.OK+1 < max(row.w.OK, row.r.OK) {
		v = append(v, fmt.Sprintf("%d ok, fewer than weighted random's %d or round-robin's %d", a.OK, row.w.OK, row.r.OK))
	}
	if a.RateLimited > max(row.w.RateLimited, 1) {
		v = append(v, fmt.Sprintf("%d 429s, more than weighted random's %d", a.RateLimited, row.w.RateLimited))
	}
	return v
}

// knownPoolGridFailures maps a grid point to how it fails today; its violations
// are logged, not asserted (as TestFamilyGrid's knownFailures). A listed
// point that holds every bound is reported: take it out then.
var knownPoolGridFailures = map[string]string{
	// Two replicas on a 20 rps deployment with headers whose limit is the
	// burst: their 429s from colliding bursts cut each replica's learned
	// rate for it to 4-6 rps, below the rate the cut was made from, and the
	// pool then climbs back by exploring (10% a second) while calls wait.
	// The plays' interleaving decides how deep the first cut goes: in
	// 20-play batches under -race, 0-2 plays lost 1-14 calls (weighted
	// random loses none), and two of three plays in one CI run. A faster
	// exploration (20% a second) lost more calls over the whole pool grid
	// (17-23 against 5, of 118 800).
	"caps [20 5 5] load 0.8 bucket x2 b2": "ailib 476-480 of 480 ok in 20 plays (weighted random 480); 429s up to 45 (weighted random 233)",
	"caps [20 5 5] load 0.9 bucket x2 b2": "ailib 534-540 of 540 ok (weighted random 540); 429s up to 57 (weighted random 338)",
	// A burst of 4 stated as the limit, at 80% load: each deployment's
	// first two 429s (the first starts a count, the second cuts from it)
	// make six, weighted random's count; the seventh is one deployment's
	// first cut, read from two requests sent 140ms apart (14.4/s, cut to
	// 10 against a cap of 6). Ten before the accepted rate was read over
	// the time it was counted (CHANGELOG); all calls served.
	"caps [6 6 6] load 0.8 bucket x1 b4": "ailib 288 of 288 ok, 7 429s (weighted random 6)",
}

func playPoolGrid(t *testing.T, points []PoolScenario) {
	var rows []poolRow
	for _, sc := range points {
		row := poolRow{sc: sc}
		cs := PoolContenders()
		synctest.Test(t, func(t *testing.T) { row.ailib = RunPool(t.Context(), InProcess(), sc, cs[0]) })
		synctest.Test(t, func(t *testing.T) { row.w = RunPool(t.Context(), InProcess(), sc, cs[1]) })
		synctest.Test(t, func(t *testing.T) { row.r = RunPool(t.Context(), InProcess(), sc, cs[2]) })
		rows = append(rows, row)
	}
	var calls, a429, w429, r429, strict int
	for _, row := range rows {
		calls += row.ailib.Calls
		a429 += row.ailib.RateLimited
		w429 += row.w.RateLimited
		r429 += row.r.RateLimited
		if row.ailib.RateLimited*100 < row.ailib.Calls && row.ailib.P99 < 200*time.Millisecond && row.ailib.Success() >= 0.99 {
			strict++
		}
		t.Logf("%s: %s", row.sc.ID, row.ailib.Summary())
		v := row.violations()
		if len(v) > 0 {
			// As in TestFamilyGrid: the goroutines of a point interleave
			// differently from play to play, and a point near a bound can
			// land either side of it (caps [20 5 5] load 0.8 bucket x2
			// ranged over 98.5-100% and 12-41 429s in four plays). A point
			// that breaks a bound is played twice more and judged on the
			// majority of the three plays.
			broke := 1
			for range 2 {
				again := row
				synctest.Test(t, func(t *testing.T) { again.ailib = RunPool(t.Context(), InProcess(), row.sc, PoolContenders()[0]) })
				t.Logf("%s, played again: %s", row.sc.ID, again.ailib.Summary())
				if len(again.violations()) > 0 {
					broke++
				}
			}
			if broke < 2 {
				t.Logf("%s: held its bounds in 2 of 3 plays (first play: %v)", row.sc.ID, v)
				v = nil
			}
		}
		if known, ok := knownPoolGridFailures[row.sc.ID]; ok {
			if len(v) == 0 {
				t.Logf("%s is listed as a known failure (%s) but holds every bound in this run", row.sc.ID, known)
				continue
			}
			t.Logf("%s: known: %s (this run: %s)", row.sc.ID, known, strings.Join(v, "; "))
			continue
		}
		for _, msg := range v {
			t.Errorf("%s: ailib pool: %s\n\tweighted random: %s\n\tround-robin: %s", row.sc.ID, msg, row.w.Summary(), row.r.Summary())
		}
	}
	t.Logf("pool grid, %d points, %d calls: 429s ailib %d, weighted random %d, round-robin %d; %d points hold the issue's bounds (≥99%%, <1%% 429s, p99 < 200ms)",
		len(rows), calls, a429, w429, r429, strict)
}

// TestPoolGrid plays the pool scenarios generalised (PoolGrid): make
// test plays the points with bursts of 2; -pool.grid all of them.
func TestPoolGrid(t *testing.T) {
	var points []PoolScenario
	for _, sc := range PoolGrid() {
		if *poolGrid || sc.Burst == 2 {
			points = append(points, sc)
		}
	}
	playPoolGrid(t, points)
}
