package scenarios

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Markdown writes sc's results as a markdown section: what the provider
// does, the load, the knobs, the theoretical best, then one table with the
// best first and a row per contender.
func Markdown(w io.Writer, env Env, sc Scenario, rows []Result) {
	fmt.Fprintf(w, "### %s — %s\n\n", sc.ID, sc.Title)
	fmt.Fprintf(w, "- Provider: %s.\n", sc.Provider)
	fmt.Fprintf(w, "- Load: %s.\n", sc.Load)
	fmt.Fprintf(w, "- Knobs: %s.\n", knobText(sc.Knobs))
	fmt.Fprintf(w, "- Theoretical best: %s.\n", sc.BestText)
	if env.Scale != 1 {
		fmt.Fprintf(w, "- Ran at timescale %g: every duration above ×%g in real time; times below are divided back.\n", env.Scale, env.Scale)
	}
	if env.Virtual {
		fmt.Fprintf(w, "- Ran in virtual time (%s): latencies count only modelled time (provider delays, backoff, waits), not CPU or network.\n", env.Name)
	}
	fmt.Fprintln(w)

	head := []string{"contender", "success", "requests/call", "429s", "to dead provider", "p50", "p99", "back on primary"}
	align := []string{"---", "--:", "--:", "--:", "--:", "--:", "--:", "--:"}
	for _, c := range sc.columns {
		head = append(head, c.title())
		align = append(align, "--:")
	}
	fmt.Fprintf(w, "| %s |\n|%s|\n", strings.Join(head, " | "), strings.Join(align, "|"))

	b := sc.Best
	best := []string{"*theoretical best*", pct(b.Success), num2(b.PerCall), intOrDash(b.RateLimited), intOrDash(b.Dead),
		dur(b.P50), dur(b.P99), dur(b.Back)}
	for _, c := range sc.columns {
		switch c {
		case colGoodput:
			best = append(best, fmt.Sprintf("%.1f/s", b.Goodput))
		case colFirstPrimary:
			best = append(best, strconv.Itoa(b.FirstPrimary))
		case colP90:
			best = append(best, dur(b.P90))
		case colStormPerCall:
			best = append(best, "≤ 1.25")
		}
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(best, " | "))

	for _, r := range rows {
		if r.Err != nil {
			fmt.Fprintf(w, "| %s | not run: %v |\n", r.Contender, r.Err)
			continue
		}
		back := dur(r.Back)
		if r.Back == Never {
			back = "never"
		}
		cells := []string{r.Contender, pct(r.Success()), num2(r.PerCall()), strconv.Itoa(r.RateLimited), intOrDash(r.Dead),
			dur(r.P50), dur(r.P99), back}
		for _, c := range sc.columns {
			switch c {
			case colGoodput:
				cells = append(cells, fmt.Sprintf("%.1f/s", r.Goodput))
			case colFirstPrimary:
				cells = append(cells, intOrDash(r.FirstPrimary))
			case colP90:
				cells = append(cells, dur(r.P90))
			case colStormPerCall:
				cells = append(cells, num2(r.StormPerCall))
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
}

func (c column) title() string {
	switch c {
	case colGoodput:
		return "goodput"
	case colFirstPrimary:
		return "1st call → primary"
	case colP90:
		return "p90"
	case colStormPerCall:
		return "storm requests/call"
	}
	return "?"
}

// knobText describes the knobs of a scenario.
func knobText(k Knobs) string {
	parts := []string{
		fmt.Sprintf("%d retries", k.MaxRetries),
		fmt.Sprintf("backoff %v ×2 up to %v", k.InitialDelay, k.MaxDelay),
		fmt.Sprintf("Retry-After honoured up to %v", k.MaxRetryAfter),
		fmt.Sprintf("breaker %d consecutive failures, cooldown %v", k.BreakerThreshold, k.BreakerCooldown),
		fmt.Sprintf("in-flight cap %d", k.MaxInflight),
	}
	if k.AttemptTimeout > 0 {
		parts = append(parts, fmt.Sprintf("attempt timeout %v", k.AttemptTimeout))
	}
	if k.Hedge > 0 {
		parts = append(parts, fmt.Sprintf("hedge after %v (the failsafe-go + hedge row only)", k.Hedge))
	}
	if k.MaxTokens > 0 {
		parts = append(parts, fmt.Sprintf("max_tokens %d", k.MaxTokens))
	}
	parts = append(parts, fmt.Sprintf("naive sleep %v", k.NaiveSleep))
	if k.Fallback {
		parts = append(parts, "fallback on")
	} else {
		parts = append(parts, "no fallback")
	}
	return strings.Join(parts, "; ")
}

func pct(f float64) string {
	if f < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

func num2(f float64) string {
	if f < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", f)
}

func intOrDash(n int) string {
	if n < 0 {
		return "—"
	}
	return strconv.Itoa(n)
}

// dur formats d with about three significant digits: "4 ms", "230 ms",
// "1.25 s", "31.2 s".
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d == 0:
		return "0"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}
