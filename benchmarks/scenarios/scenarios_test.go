package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The synctest versions of S1–S7. Every contender plays the scenario at
// full scale inside a testing/synctest bubble, on the provider server's
// in-process transport, so a 100-second outage takes milliseconds and
// latencies count only modelled time (provider delays, backoff, waits),
// not CPU. go test -v plays every contender and logs the tables; without
// -v only ailib's rows run. The ailib row is held to the theoretical best
// within the tolerances below, so a regression fails CI.
//
// The provider's faults are seeded, but which call gets which fault
// depends on the order in which attempts arrive, and the libraries'
// backoff jitter is not seeded: rows vary a little from run to run
// (S1 success by a few tenths of a percent), hence tolerances rather than
// exact values.
//
//	S1  ailib, breaker off: success ≥ 98.0% (best 99.19%, less 4σ of 1000 calls: σ = 0.28%),
//	                        ≤ 1.5 requests/call (best 1.42)
//	    ailib (defaults):   the same bounds. Before 2f902f4 (issue 10) the default breaker
//	                        opened after 5 consecutive failed attempts and tripped on this
//	                        noise: 40.7% at seed 1.
//	S2  ailib: 100% success; ≤ threshold + one probe per cooldown = 7 requests to the dead
//	    primary; back on the primary ≤ one cooldown + 1s of recovery; ≤ 1.02 requests/call
//	S3  ailib: success ≥ 60% (best 68.3%); goodput ≥ 9.5/s (best 10/s); 429s ≤ 5% of
//	    requests (best 0; issue 10's bound); ≤ 1.05 requests/call
//	S4  ailib: exactly 1 request to the quota-exhausted primary on the first call and in
//	    total (the cooldown of issue 9); 100% success
//	S5  ailib: 100% success; p50 ≤ 250ms (best 200ms); p90 ≤ 1s and p99 ≤ 1.5s (an attempt
//	    timeout is retried at once; before issue 9 p99 was 2.9s); ≤ 1.35 requests/call.
//	    (The "ailib + hedge" row went with resilience's hedging, issue 13.)
//	S6  ailib, budget off, breaker off: ≥ 2.5 requests to the overloaded provider per call
//	    ailib, breaker off (budget on): ≤ 1.35 (best 1.25); back on the primary ≤ 1s
//	    ailib: ≤ 1.35
//	S7  ailib and ailib, TPM set: ≤ 2 429s (best 0); success ≥ 65%; ≤ 1.05 requests/call
//	    ailib, limiter off: more 429s than ailib

const seed = 1

// play runs sc in a bubble, logs the table and returns the rows by
// contender name. Only ailib's rows run unless the test is verbose
// (go test -v), which plays every contender and logs the whole table:
// that keeps make test (with -race, on two shared cores) short.
func play(t *testing.T, sc Scenario) map[string]Result {
	t.Helper()
	cs := Contenders()
	if !testing.Verbose() {
		cs = slices.DeleteFunc(cs, func(c Contender) bool { return !strings.HasPrefix(c.Name, "ailib") })
	}
	var rows []Result
	synctest.Test(t, func(t *testing.T) {
		rows = RunAll(t.Context(), InProcess(), sc, cs, Options{Seed: seed})
	})
	var b strings.Builder
	Markdown(&b, InProcess(), sc, rows)
	t.Log("\n" + b.String())
	byName := map[string]Result{}
	for _, r := range rows {
		if r.Err != nil {
			t.Errorf("%s: building %s: %v", sc.ID, r.Contender, r.Err)
		}
		byName[r.Contender] = r
	}
	return byName
}

// bound is one assertion on a row: got must satisfy ok; want says how.
type bound struct {
	what string
	got  string
	ok   bool
	want string
}

func check(t *testing.T, id, contender string, bounds ...bound) {
	t.Helper()
	for _, b := range bounds {
		if !b.ok {
			t.Errorf("%s %s %s = %s; want %s", id, contender, b.what, b.got, b.want)
		}
	}
}

func TestS1Flaky(t *testing.T) {
	sc, _ := ByID("S1")
	rows := play(t, sc)

	off := rows["ailib, breaker off"]
	check(t, "S1", off.Contender,
		bound{"success", pct(off.Success()), off.Success() >= 0.98, "≥ 98.00% (best 99.19% − 4σ)"},
		bound{"requests/call", num2(off.PerCall()), off.PerCall() <= 1.5, "≤ 1.50 (best 1.42)"},
	)

	// With its breaker on, ailib must not lose calls to it: the provider is
	// noisy, not down.
	ai := rows["ailib"]
	check(t, "S1", ai.Contender,
		bound{"success", pct(ai.Success()), ai.Success() >= 0.98, "≥ 98.00% (best 99.19% − 4σ; the breaker must not trip on noise)"},
		bound{"requests/call", num2(ai.PerCall()), ai.PerCall() <= 1.5, "≤ 1.50 (best 1.42)"},
	)
}

func TestS2Outage(t *testing.T) {
	sc, _ := ByID("S2")
	rows := play(t, sc)
	ai := rows["ailib"]
	k := sc.Knobs
	// ailib's open interval starts at the cooldown and doubles per failed
	// probe, up to the maximum (resilience's package doc): the probes of
	// an outage fall at the running sums of 1, 2, 4, ... cooldowns, and the
	// primary is back at the first probe after the recovery.
	probes, at, next := 0, time.Duration(0), k.BreakerCooldown
	for at < s2Outage {
		at += next
		probes++
		next = min(2*next, k.BreakerMaxCooldown)
	}
	maxDead := k.BreakerThreshold + probes
	slack := time.Second
	maxBack := at - s2Outage + slack
	check(t, "S2", ai.Contender,
		bound{"success", pct(ai.Success()), ai.OK == ai.Calls, "100.00%"},
		bound{"requests to the dead primary", fmt.Sprint(ai.Dead), ai.Dead >= 0 && ai.Dead <= maxDead,
			fmt.Sprintf("≤ %d (threshold %d + %d probes, the open interval doubling)", maxDead, k.BreakerThreshold, probes)},
		bound{"back on primary", dur(ai.Back), ai.Back >= 0 && ai.Back <= maxBack,
			fmt.Sprintf("≤ %v (the first probe after recovery + %v)", maxBack, slack)},
		bound{"requests/call", num2(ai.PerCall()), ai.PerCall() <= 1.02, "≤ 1.02 (best 1.01)"},
	)
}

// S3, and S3 with ailib's client built 3s before its first call (a
// long-lived client: 31% at c47af05, its first 429 cut to the average
// sent since the client was built).
func TestS3RateCap(t *testing.T) {
	for _, age := range []time.Duration{0, 3 * time.Second} {
		t.Run(fmt.Sprintf("built %v before", age), func(t *testing.T) {
			sc, _ := ByID("S3")
			sc.Knobs.age = age
			rows := play(t, sc)
			ai := rows["ailib"]
			share := 0.0
			if ai.Requests > 0 {
				share = float64(ai.RateLimited) / float64(ai.Requests)
			}
			check(t, "S3", ai.Contender,
				bound{"success", pct(ai.Success()), ai.Success() >= 0.60, fmt.Sprintf("≥ 60%% (best %s)", pct(sc.Best.Success))},
				bound{"goodput", fmt.Sprintf("%.1f/s", ai.Goodput), ai.Goodput >= 9.5, "≥ 9.5/s (best 10/s)"},
				bound{"429s", fmt.Sprintf("%d of %d requests (%s)", ai.RateLimited, ai.Requests, pct(share)), share <= 0.05,
					"≤ 5% of requests (best 0)"},
				bound{"requests/call", num2(ai.PerCall()), ai.PerCall() <= 1.05, "≤ 1.05 (best 1.00)"},
			)
		})
	}
}

func TestS4Quota(t *testing.T) {
	sc, _ := ByID("S4")
	rows := play(t, sc)
	ai := rows["ailib"]
	check(t, "S4", ai.Contender,
		bound{"requests to the primary on the first call", intOrDash(ai.FirstPrimary), ai.FirstPrimary == 1, "1"},
		bound{"success", pct(ai.Success()), ai.OK == ai.Calls, "100.00%"},
		// Issue 9: after quota_exhausted the primary cools down (60s) and
		// later calls go straight to the fallback.
		bound{"requests to the primary", fmt.Sprint(ai.PrimaryRequests), ai.PrimaryRequests == 1, "1 in total (the cooldown)"},
	)
}

func TestS5Slow(t *testing.T) {
	sc, _ := ByID("S5")
	rows := play(t, sc)
	ai := rows["ailib"]
	// Issue 9: an attempt timeout is retried at once, without backoff
	// (p99 was 2.9 s with the backoff).
	check(t, "S5", ai.Contender,
		bound{"success", pct(ai.Success()), ai.OK == ai.Calls, "100.00%"},
		bound{"p50", dur(ai.P50), ai.P50 <= 250*time.Millisecond, "≤ 250 ms (best 200 ms)"},
		bound{"p90", dur(ai.P90), ai.P90 <= time.Second, "≤ 1.00 s (best 500 ms with hedging)"},
		bound{"p99", dur(ai.P99), ai.P99 <= 1500*time.Millisecond, "≤ 1.50 s (best 800 ms with hedging)"},
		bound{"requests/call", num2(ai.PerCall()), ai.PerCall() <= 1.35, "≤ 1.35 (best 1.24)"},
	)
}

// TestLoopback plays S4 with a few calls on a real loopback socket, time
// scaled down, to check the path cmd/scenarios takes. Only ailib and the
// naive loop run: openai-go's backoff does not follow the timescale.
func TestLoopback(t *testing.T) {
	sc, _ := ByID("S4")
	sc = sc.WithCalls(5)
	var cs []Contender
	for _, c := range Contenders() {
		if c.Name == "ailib" || c.Name == "naive loop" {
			cs = append(cs, c)
		}
	}
	rows := RunAll(t.Context(), Loopback(0.01), sc, cs, Options{Seed: seed})
	for _, r := range rows {
		switch {
		case r.Err != nil:
			t.Errorf("S4 on loopback: building %s: %v", r.Contender, r.Err)
		case r.OK != r.Calls:
			t.Errorf("S4 on loopback: %s succeeded %d/%d calls; want all (errors: %q)", r.Contender, r.OK, r.Calls, r.Errors)
		}
	}
	if ai := rows[0]; ai.FirstPrimary != 1 || ai.PrimaryRequests != 1 {
		t.Errorf("S4 on loopback: ailib sent %d requests to the primary on the first call, %d in all; want 1 and 1 (cooldown)",
			ai.FirstPrimary, ai.PrimaryRequests)
	}
	if naive := rows[1]; naive.FirstPrimary != 4 {
		t.Errorf("S4 on loopback: the naive loop sent %d requests to the primary on the first call; want 4", naive.FirstPrimary)
	}
}

func TestMarkdown(t *testing.T) {
	sc, _ := ByID("S2")
	var b strings.Builder
	Markdown(&b, Loopback(0.5), sc, []Result{
		{Contender: "x", Calls: 10, OK: 9, Requests: 12, Dead: 2, P50: 1500 * time.Microsecond, P99: 2 * time.Second, Back: Never},
	})
	got := b.String()
	for _, want := range []string{
		"### S2 — outage, then recovery",
		fmt.Sprintf("| *theoretical best* | 100.00%% | %.2f | 0 | %d | — | — | 0 |", sc.Best.PerCall, sc.Best.Dead),
		"| x | 90.00% | 1.20 | 0 | 2 | 1.5 ms | 2.00 s | never |",
		"timescale 0.5",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Markdown(S2) = %s; want it to contain %q", got, want)
		}
	}
}

func TestS6RetryStorm(t *testing.T) {
	sc, _ := ByID("S6")
	rows := play(t, sc)
	off := rows["ailib, budget off, breaker off"]
	budget := rows["ailib, breaker off"]
	ai := rows["ailib"]
	check(t, "S6", off.Contender,
		bound{"storm requests/call", num2(off.StormPerCall), off.StormPerCall >= 2.5, "≥ 2.50 (retries alone multiply the load; calls near the end recover)"},
	)
	check(t, "S6", budget.Contender,
		bound{"storm requests/call", num2(budget.StormPerCall), budget.StormPerCall <= 1.35, "≤ 1.35 (budget 20%: best 1.25)"},
		bound{"back on primary", dur(budget.Back), budget.Back >= 0 && budget.Back <= time.Second, "≤ 1 s"},
	)
	check(t, "S6", ai.Contender,
		bound{"storm requests/call", num2(ai.StormPerCall), ai.StormPerCall <= 1.35, "≤ 1.35 (budget and breaker)"},
	)
}

func TestS7TokenCap(t *testing.T) {

	sc, _ := ByID("S7")
	rows := play(t, sc)
	off := rows["ailib, limiter off"]
	for _, name := range []string{"ailib", "ailib, TPM set"} {
		ai := rows[name]
		check(t, "S7", ai.Contender,
			bound{"429s", fmt.Sprint(ai.RateLimited), ai.RateLimited <= 2, "≤ 2 (best 0)"},
			// Each attempt reserves prompt + max_tokens (1005), twice what
			// an answer uses (500): once the bucket is empty, a call whose
			// wait for its estimate would pass its deadline fails at once,
			// locally, without a request (best 83.3% counts actual usage).
			bound{"success", pct(ai.Success()), ai.Success() >= 0.65, "≥ 65% (best 83.33%)"},
			bound{"requests/call", num2(ai.PerCall()), ai.PerCall() <= 1.05, "≤ 1.05 (best 1.00)"},
		)
	}
	check(t, "S7", off.Contender,
		bound{"429s", fmt.Sprint(off.RateLimited), off.RateLimited > rows["ailib"].RateLimited, "more than ailib's (what token limiting saves)"},
	)
}
