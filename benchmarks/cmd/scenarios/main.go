// Command scenarios plays ailib's chaos scenarios S1–S7 with real HTTP on
// loopback against a providertest server, for ailib and the alternatives
// (openai-go, failsafe-go, a naive retry loop), and prints one markdown
// table per scenario next to its theoretical best, then the success-path
// overhead of ailib and failsafe-go.
//
// Run it from the benchmarks module:
//
//	go run ./cmd/scenarios                 # every scenario at full scale (about 4 minutes)
//	go run ./cmd/scenarios -quick          # durations ×0.1 (about 2 minutes, contenders in turn)
//	go run ./cmd/scenarios -scenario S2,S3 -timescale 0.5 -seed 7
//
// Flags:
//
//	-scenario   scenarios to run, comma-separated (S1…S7), "all" or "none"
//	-seed       seed of the provider's random faults (default 1)
//	-calls      number of calls of S1, S4 and S5 (S2 and S3 are defined by duration)
//	-quick      shorthand for -timescale 0.1
//	-timescale  multiply every scenario duration by this, in (0, 1]
//	-overhead   also run the success-path micro-benchmark (default true)
//	-errors     print a sample of each contender's errors under its table
//	-parallel   run a scenario's contenders at the same time (default: only at timescale 1)
//	-contenders run only these contenders (comma-separated name prefixes, e.g. "ailib,naive")
//	-family     after the scenarios, play the scenario family of issue 20 (default true)
//	-family-grid  "full" (216 rate-limit points, noise × -family-seeds, 8 outages), "aged", "latency" or "test" (the go test subsample)
//	-family-seeds seeds of the family's noise points (default 1,2,3,4,5)
//	-family-parallel  family points played at the same time (default 8)
//	-svg        directory to write the pictures to (default "img"; "" = none)
//
// Besides the tables on stdout, the runner writes two pictures into -svg
// (benchmarks/img when run from benchmarks/, as make bench-scenarios does):
// s2-timeline.svg, the requests to the primary and to the fallback per
// half second through S2's outage, one line per contender (when S2 ran),
// and success.svg, the share of calls that succeeded per contender and
// scenario (the scenarios that ran). As it goes it prints progress lines
// on stderr: each scenario and contender as it starts and finishes, with
// the time elapsed.
//
// The family (scenarios.FullFamily) is the plain retry loop and ailib's
// defaults on every point of a grid built from the providers' documented
// behaviour: four rate-limit behaviours × cap × burst × demand × deadline,
// 503 noise from 10% to 40%, outages of 2–60 s with and without a fallback.
// It always runs at timescale 1 (ailib's defaults are not scaled), in real
// time on loopback, -family-parallel points at a time, and prints a
// progress line per point on stderr as it goes, then its tables. The full
// grid takes about 10 minutes; its synctest version is TestFamilyGrid.
//
//	go run ./cmd/scenarios -scenario none -family       # the family only
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailib-go/ailib/benchmarks"
	"github.com/ailib-go/ailib/benchmarks/scenarios"
)

func main() {
	var (
		which     = flag.String("scenario", "all", `scenarios to run, comma-separated (S1…S7), "all" or "none"`)
		seed      = flag.Int64("seed", 1, "seed of the provider's random faults")
		calls     = flag.Int("calls", 0, "number of calls of S1, S4 and S5; 0 = the scenario's (S2 and S3 are defined by duration)")
		quick     = flag.Bool("quick", false, "shorthand for -timescale 0.1")
		timescale = flag.Float64("timescale", 1, "multiply every scenario duration by this, in (0, 1]")
		overhead  = flag.Bool("overhead", true, "also run the success-path micro-benchmark")
		errs      = flag.Bool("errors", false, "print a sample of each contender's errors")
		parallel  = flag.Bool("parallel", false, "run the contenders of a scenario at the same time (default: at timescale 1 only)")
		only      = flag.String("contenders", "", "run only these contenders, comma-separated names or name prefixes (default: all)")
		family    = flag.Bool("family", true, "after the scenarios, play the scenario family of issue 20")
		famGrid   = flag.String("family-grid", "full", `the family's grid: "full", "aged" (its rate-limit points, the client built 3s before its first call), "latency" (its rate-limit and random-429 points, answers of 300ms, 30% of 1.5s) or "test" (the go test subsample)`)
		famSeeds  = flag.String("family-seeds", "1,2,3,4,5", "seeds of the family's noise points, comma-separated")
		famPar    = flag.Int("family-parallel", 8, "family points played at the same time")
		svgDir    = flag.String("svg", "img", `directory to write s2-timeline.svg and success.svg to; "" = none`)
		pools     = flag.Bool("pools", true, "after the scenarios, play issue 19's pool scenarios P1–P5 (real time, about 20s each)")
	)
	flag.Parse()
	scale := *timescale
	if *quick && !flagSet("timescale") {
		scale = 0.1
	}
	if !(scale > 0 && scale <= 1) {
		fatalf("-timescale %v: want a number in (0, 1]", scale)
	}
	var list []scenarios.Scenario
	switch {
	case strings.EqualFold(*which, "all"):
		list = scenarios.All()
	case strings.EqualFold(*which, "none"):
	default:
		for _, id := range strings.Split(*which, ",") {
			sc, ok := scenarios.ByID(strings.TrimSpace(id))
			if !ok {
				fatalf("-scenario %q: unknown scenario (want S1…S7 or all)", id)
			}
			list = append(list, sc)
		}
	}
	if *calls < 0 {
		fatalf("-calls %d: must not be negative", *calls)
	}

	// At full scale the load is light (≤ 50 calls/s per contender), so the
	// contenders share the machine; a smaller timescale multiplies the
	// call rate, so they take turns unless told otherwise.
	if !flagSet("parallel") {
		*parallel = scale == 1
	}
	opt := scenarios.Options{Seed: *seed, Sequential: !*parallel}

	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	env := scenarios.Loopback(scale)
	header(w, env, opt)
	w.Flush()
	ctx := context.Background()
	cs := contenders(*only)
	var played []scenarios.Played
	var s2 []scenarios.Timeline
	var s2sc scenarios.Scenario
	if len(list) > 0 {
		when := "at the same time"
		if opt.Sequential {
			when = "one after another"
		}
		progressf("%d scenarios, %s, timescale %g, the contenders of each %s", len(list), env.Name, scale, when)
	}
	for i, sc := range list {
		sc = sc.WithCalls(*calls)
		start := time.Now()
		progressf("%s %s [%d/%d]: started", sc.ID, sc.Title, i+1, len(list))
		rows, tls := scenarios.RunAllTimed(ctx, env, sc, cs, opt, func(line string) { progressf("%s", line) })
		progressf("%s %s [%d/%d]: finished in %v", sc.ID, sc.Title, i+1, len(list), time.Since(start).Round(100*time.Millisecond))
		played = append(played, scenarios.Played{Scenario: sc, Rows: rows})
		if sc.ID == "S2" {
			s2, s2sc = tls, sc
		}
		scenarios.Markdown(w, env, sc, rows)
		if *errs {
			for _, r := range rows {
				for _, e := range r.Errors {
					fmt.Fprintf(w, "- %s error: %.300s\n", r.Contender, e)
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "<!-- %s ran in %v -->\n\n", sc.ID, time.Since(start).Round(time.Millisecond))
		w.Flush()
	}
	if *svgDir != "" && len(played) > 0 {
		caption := fmt.Sprintf("Run: go run ./cmd/scenarios %s (%s, timescale %g, seed %d); %s, %d CPUs.",
			strings.Join(os.Args[1:], " "), env.Name, scale, opt.Seed, runtime.Version(), runtime.NumCPU())
		writeSVGs(*svgDir, caption, played, s2sc, s2)
	}
	if *pools {
		runPools(ctx, w)
	}
	if *family {
		var seeds []int64
		for _, f := range strings.Split(*famSeeds, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				fatalf("-family-seeds %q: %v", *famSeeds, err)
			}
			seeds = append(seeds, n)
		}
		var points []scenarios.Point
		switch *famGrid {
		case "full":
			points = scenarios.FullFamily(seeds)
		case "aged":
			points = scenarios.AgedFamily()
		case "latency":
			points = scenarios.LatencyFamily(scenarios.FamilyAnswers)
		case "test":
			points = scenarios.TestFamily()
		default:
			fatalf("-family-grid %q: want full, aged, latency or test", *famGrid)
		}
		runFamily(ctx, w, points, max(*famPar, 1))
	}
	if *overhead {
		runOverhead(w)
	}
}

// runPools plays issue 19's pool scenarios on loopback in real time, the
// contenders of each at the same time (each on servers of its own), and
// prints each scenario's table.
func runPools(ctx context.Context, w *bufio.Writer) {
	env := scenarios.Loopback(1)
	for _, sc := range scenarios.PoolScenarios() {
		start := time.Now()
		progressf("%s %s: started", sc.ID, sc.Name)
		cs := scenarios.PoolContenders()
		rows := make([]scenarios.PoolResult, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() { rows[i] = scenarios.RunPool(ctx, env, sc, c) })
		}
		wg.Wait()
		progressf("%s: finished in %v", sc.ID, time.Since(start).Round(100*time.Millisecond))
		scenarios.PoolMarkdown(w, env, sc, rows)
		w.Flush()
	}
}

// runFamily plays points on loopback at timescale 1, par at a time,
// printing one progress line per point on stderr as each finishes, then
// the family's tables on w.
func runFamily(ctx context.Context, w *bufio.Writer, points []scenarios.Point, par int) {
	env := scenarios.Loopback(1)
	fmt.Fprintf(os.Stderr, "family: %d points, %d at a time, real time on loopback\n", len(points), par)
	start := time.Now()
	results := make([]scenarios.FamilyResult, len(points))
	sem := make(chan struct{}, par)
	var mu sync.Mutex
	var wg sync.WaitGroup
	done := 0
	for i, p := range points {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := scenarios.RunPoint(ctx, env, p)
			results[i] = r
			mu.Lock()
			done++
			mark := ""
			if v := r.Violations(); len(v) > 0 {
				mark = "  ✗ " + strings.Join(v, "; ")
			}
			fmt.Fprintf(os.Stderr, "family [%d/%d %v] %s (%v): %s%s\n", done, len(points), time.Since(start).Round(time.Second),
				p.Name(), r.Elapsed.Round(100*time.Millisecond), r.Summary(), mark)
			mu.Unlock()
		})
	}
	wg.Wait()
	scenarios.FamilyMarkdown(w, env, results)
	fmt.Fprintf(w, "<!-- the family ran in %v -->\n\n", time.Since(start).Round(time.Second))
	w.Flush()
}

// header prints the machine, the environment and what the timescale does.
func header(w io.Writer, env scenarios.Env, opt scenarios.Options) {
	fmt.Fprintf(w, "## How well calls survive\n\n")
	fmt.Fprintf(w, "- Machine: %s %s/%s, %s, %d CPUs (GOMAXPROCS %d).\n", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	when := "at the same time"
	if opt.Sequential {
		when = "one after another"
	}
	fmt.Fprintf(w, "- Run: %s, seed %d, every contender on its own providertest.NewServer() with the same seed, "+
		"contenders %s.\n", env.Name, opt.Seed, when)
	if env.Scale != 1 {
		fmt.Fprintf(w, "- Timescale %g: scaled are the scenario's durations (outage, demand window, call rate, deadlines), "+
			"the provider's delays and rate cap (×1/%g requests/s, so Retry-After and x-ratelimit-reset shrink too) and "+
			"every time knob a contender exposes (backoff, cooldown, Retry-After cap, attempt timeout, hedge delay, the "+
			"naive loop's sleep). Not scaled: openai-go's built-in backoff (0.5s×2ⁿ, not configurable), failsafe-go's "+
			"Retry-After, read in whole seconds (a 10ms wait reads as \"1\"), and the loopback's own latency. "+
			"Times in the tables are scenario time (measured ÷ %g), so those rows look slower than at full scale.\n",
			env.Scale, env.Scale, env.Scale)
	}
	fmt.Fprintf(w, "- Contenders:\n")
	for _, c := range scenarios.Contenders() {
		only := ""
		if len(c.Only) > 0 {
			only = " (" + strings.Join(c.Only, ", ") + " only)"
		}
		fmt.Fprintf(w, "  - **%s**%s: %s.\n", c.Name, only, c.Config)
	}
	fmt.Fprintln(w)
}

// contenders returns the contenders whose name starts with one of the
// comma-separated prefixes in list (all when list is empty).
func contenders(list string) []scenarios.Contender {
	all := scenarios.Contenders()
	if strings.TrimSpace(list) == "" {
		return all
	}
	var out []scenarios.Contender
	for _, c := range all {
		for _, p := range strings.Split(list, ",") {
			if p = strings.TrimSpace(p); p != "" && strings.HasPrefix(strings.ToLower(c.Name), strings.ToLower(p)) {
				out = append(out, c)
				break
			}
		}
	}
	if len(out) == 0 {
		fatalf("-contenders %q: no contender matches", list)
	}
	return out
}

// cpuModel reads the CPU's model name from /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU unknown"
}

// runOverhead runs the success-path micro-benchmark of package benchmarks
// with testing.Benchmark and prints it as a table.
func runOverhead(w *bufio.Writer) {
	progressf("overhead: the success-path micro-benchmarks, 4 pairs of about 2 s each")
	fmt.Fprintf(w, "### Overhead on the success path\n\n")
	fmt.Fprintf(w, "Retry + breaker + rate limiter + in-flight cap around an op that succeeds at once, no I/O "+
		"(the benchmarks in success_path_test.go, run here with testing.Benchmark; `go test -run='^$' -bench=. -benchmem` "+
		"runs them with the usual flags).\n\n")
	fmt.Fprintf(w, "| benchmark | ailib | failsafe-go | ailib ÷ failsafe-go |\n|---|--:|--:|--:|\n")
	w.Flush()
	for _, row := range []struct {
		name     string
		ai, fail func(*testing.B)
	}{
		{"success path, every policy on", benchmarks.SuccessPathAilib, benchmarks.SuccessPathFailsafe},
		{"success path, every policy on, parallel", benchmarks.SuccessPathAilibParallel, benchmarks.SuccessPathFailsafeParallel},
		{"success path, ailib DefaultConfig", benchmarks.SuccessPathAilibDefaults, benchmarks.SuccessPathFailsafe},
		{"success path, ailib DefaultConfig, parallel", benchmarks.SuccessPathAilibDefaultsParallel, benchmarks.SuccessPathFailsafeParallel},
	} {
		a, f := testing.Benchmark(row.ai), testing.Benchmark(row.fail)
		progressf("overhead: %s: ailib %d ns, failsafe-go %d ns", row.name, a.NsPerOp(), f.NsPerOp())
		ratio := float64(f.NsPerOp()) / float64(max(a.NsPerOp(), 1))
		fmt.Fprintf(w, "| %s | %s | %s | %.2f× |\n", row.name, benchText(a), benchText(f), 1/ratio)
		w.Flush()
	}
	fmt.Fprintln(w)
}

func benchText(r testing.BenchmarkResult) string {
	return fmt.Sprintf("%d ns, %d allocs (%d B)", r.NsPerOp(), r.AllocsPerOp(), r.AllocedBytesPerOp())
}

// writeSVGs writes success.svg (every scenario played) and, when S2 was
// played, s2-timeline.svg into dir, saying so on stderr.
func writeSVGs(dir, caption string, played []scenarios.Played, s2 scenarios.Scenario, tls []scenarios.Timeline) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatalf("-svg %s: %v", dir, err)
	}
	write := func(name string, draw func(io.Writer) error) {
		path := filepath.Join(dir, name)
		var b bytes.Buffer
		if err := draw(&b); err != nil {
			fatalf("%s: %v", path, err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			fatalf("%v", err)
		}
		progressf("wrote %s", path)
	}
	write("success.svg", func(w io.Writer) error { return scenarios.SuccessSVG(w, played, caption) })
	if len(tls) > 0 {
		write("s2-timeline.svg", func(w io.Writer) error { return scenarios.TimelineSVG(w, s2, tls, caption) })
	}
}

// progressStart is when the run began, for the progress lines.
var progressStart = time.Now()

// progressf prints a progress line on stderr, with the time since the run
// began.
func progressf(format string, args ...any) {
	d := time.Since(progressStart).Round(time.Second)
	fmt.Fprintf(os.Stderr, "scenarios [%d:%02d] %s\n", int(d.Minutes()), int(d.Seconds())%60, fmt.Sprintf(format, args...))
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scenarios: "+format+"\n", args...)
	os.Exit(2)
}
