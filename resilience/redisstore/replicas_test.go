package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/redisstore"
	"github.com/redis/go-redis/v9"
)

// events is a time-stamped record of what the replicas and the provider saw.
type events struct {
	mu   sync.Mutex
	sent []time.Time // requests that reached the provider
	r429 []time.Time // of which the provider answered 429
	ok   []time.Time // calls that succeeded (at their end)
	late atomic.Int64
	refused,
	other atomic.Int64
}

func (ev *events) add(list *[]time.Time, t time.Time) {
	ev.mu.Lock()
	*list = append(*list, t)
	ev.mu.Unlock()
}

func count(ts []time.Time, from, to time.Time) int {
	n := 0
	for _, t := range ts {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// busiest is the most events of ts in a window of length d starting at
// one of them in [from, to).
func busiest(ts []time.Time, from, to time.Time, d time.Duration) int {
	best := 0
	for _, t := range ts {
		if t.Before(from) || !t.Before(to) {
			continue
		}
		best = max(best, count(ts, t, t.Add(d)))
	}
	return best
}

// TestReplicasLoseRedis is the operator's test of issue 17: three replica
// processes (this test binary run again as TestReplicaProcess), each an
// executor of the README's setup (DefaultConfig, a shared limit of 20/s in
// Redis), offer 45 calls/s in all, each with a 3s deadline, to a provider
// in this process capped at 20 rps (burst 2, 20ms a call). Redis is killed
// for 6s, then restarted. What the provider saw is counted here.
//
//   - Redis up: about 20 successful calls/s, under 1 provider 429/s;
//   - Redis killed: the waits Redis gave still go out, then each replica
//     goes at its share (a third: the membership kept in Redis said 3):
//     no 3s window above 1.5 × 20/s, at most 2 429s/s on average;
//   - Redis back: from 3s after, about 20 successful calls/s, under 1
//     provider 429/s.
func TestReplicasLoseRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 20s")
	}
	rp := startRedis(t)
	const (
		limit    = 20
		replicas = 3
		run      = 19 * time.Second
	)
	srv := newProvider(t)
	srv.SetRateLimit(model, limit, 2)
	srv.SetDefault(model, providertest.Slow(20*time.Millisecond, "ok"))
	var ev events
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		srv.Handler().ServeHTTP(rec, r)
		ev.add(&ev.sent, at)
		if rec.code == http.StatusTooManyRequests {
			ev.add(&ev.r429, at)
		}
	}))
	t.Cleanup(front.Close)

	var causes sync.Map // the degraded hooks' errors
	var wg sync.WaitGroup
	ready := make(chan struct{}, replicas)
	var cmds []*exec.Cmd
	for i := range replicas {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "AILIB_REPLICA_PROVIDER="+front.URL, "AILIB_REPLICA_REDIS="+rp.addr(),
			"AILIB_REPLICA_FOR="+run.String())
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatalf("start replica %d: %v", i, err)
		}
		cmds = append(cmds, cmd)
		wg.Go(func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				kind, rest, _ := strings.Cut(sc.Text(), " ")
				switch kind {
				case "ok":
					ns, _ := strconv.ParseInt(rest, 10, 64)
					ev.add(&ev.ok, time.Unix(0, ns))
				case "late":
					ev.late.Add(1)
				case "refused":
					ev.refused.Add(1)
				case "other":
					if ev.other.Add(1) <= 5 {
						t.Logf("replica %d: %s", i, sc.Text())
					}
				case "cause":
					causes.Store(rest, true)
				case "ready":
					ready <- struct{}{}
				case "bad", "end":
					t.Logf("replica %d: %s", i, sc.Text())
					if kind == "bad" {
						t.Errorf("replica %d: %s", i, rest)
					}
				default:
					t.Logf("replica %d: %s", i, sc.Text())
				}
			}
		})
	}
	for range replicas {
		select {
		case <-ready:
		case <-time.After(time.Minute):
			t.Fatal("replica processes not ready after a minute")
		}
	}
	sleep := func(d time.Duration) {
		tm := time.NewTimer(d)
		defer tm.Stop()
		<-tm.C
	}
	t0 := time.Now()
	sleep(6 * time.Second)
	tKill := time.Now()
	rp.kill()
	sleep(6 * time.Second)
	tBack := time.Now()
	rp.start()
	sleep(7 * time.Second)
	tEnd := time.Now()
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	wg.Wait()

	ev.mu.Lock()
	defer ev.mu.Unlock()
	type phase struct {
		name     string
		from, to time.Time
	}
	phases := []phase{
		{"A: Redis up", t0.Add(3 * time.Second), tKill},
		{"B: Redis killed", tKill, tBack},
		{"C: Redis back (after 3s)", tBack.Add(3 * time.Second), tEnd},
	}
	rates := map[string][3]float64{}
	for _, p := range phases {
		secs := p.to.Sub(p.from).Seconds()
		r := [3]float64{
			float64(count(ev.ok, p.from, p.to)) / secs,
			float64(count(ev.sent, p.from, p.to)) / secs,
			float64(count(ev.r429, p.from, p.to)) / secs,
		}
		rates[p.name] = r
		t.Logf("%-26s calls ok %5.1f/s, provider requests %5.1f/s, provider 429 %4.1f/s", p.name, r[0], r[1], r[2])
	}
	burst3 := busiest(ev.sent, tKill.Add(-time.Second), tEnd.Add(-3*time.Second), 3*time.Second)
	burst1 := busiest(ev.sent, tKill.Add(-time.Second), tEnd.Add(-time.Second), time.Second)
	var perSec []string
	for k := time.Duration(0); t0.Add((k + 1) * time.Second).Before(tEnd.Add(time.Millisecond)); k++ {
		from := t0.Add(k * time.Second)
		perSec = append(perSec, fmt.Sprintf("%d/%d", count(ev.sent, from, from.Add(time.Second)), count(ev.r429, from, from.Add(time.Second))))
	}
	t.Logf("provider requests/429s each second (kill at %.1fs, back at %.1fs): %s", tKill.Sub(t0).Seconds(), tBack.Sub(t0).Seconds(), strings.Join(perSec, " "))
	t.Logf("around the outage: busiest 3s %d requests (%.1f/s), busiest 1s %d; calls refused at once %d, failed late %d, other errors %d",
		burst3, float64(burst3)/3, burst1, ev.refused.Load(), ev.late.Load(), ev.other.Load())
	causes.Range(func(k, _ any) bool { t.Logf("OnSharedState cause: %s", k); return true })

	// The bounds leave room for a loaded 2-core machine.
	if r := rates["A: Redis up"]; r[0] < 0.85*limit || r[2] >= 1 {
		t.Errorf("Redis up: %.1f calls ok/s, %.1f 429s/s; want ≥ %.0f ok/s, < 1 429/s", r[0], r[2], 0.85*limit)
	}
	if r := rates["B: Redis killed"]; r[2] > 2 {
		t.Errorf("Redis killed: %.1f 429s/s; want at most 2", r[2])
	}
	if burst3 > 3*limit*3/2 {
		t.Errorf("busiest 3s around the outage: %d requests; want at most %d (1.5 × %d/s)", burst3, 3*limit*3/2, limit)
	}
	if r := rates["C: Redis back (after 3s)"]; r[0] < 0.85*limit || r[2] >= 1 {
		t.Errorf("Redis back: %.1f calls ok/s, %.1f 429s/s; want ≥ %.0f ok/s, < 1 429/s", r[0], r[2], 0.85*limit)
	}
	if ev.late.Load() > 10 {
		t.Errorf("%d calls ran past their deadline; want (almost) none: a wait that cannot finish is refused at once", ev.late.Load())
	}
	n := 0
	causes.Range(func(k, _ any) bool {
		n++
		if s := k.(string); !strings.Contains(s, "connection refused") && !strings.Contains(s, "connection lost") {
			t.Errorf("OnSharedState cause %q; want it named (connection refused or lost)", s)
		}
		return true
	})
	if n == 0 {
		t.Error("no OnSharedState(Degraded) event")
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// TestReplicaProcess is one replica of TestReplicasLoseRedis, in a process
// of its own; it runs only when that test starts it. It offers 15 calls/s,
// each with a 3s deadline, for AILIB_REPLICA_FOR, and prints one line per
// call's end (ok with its time, late, refused or other), one per degraded
// cause, and its signals at the end.
func TestReplicaProcess(t *testing.T) {
	url := os.Getenv("AILIB_REPLICA_PROVIDER")
	if url == "" {
		t.Skip("a replica process of TestReplicasLoseRedis")
	}
	runFor, err := time.ParseDuration(os.Getenv("AILIB_REPLICA_FOR"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		offered  = 15
		deadline = 3 * time.Second
	)
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		fmt.Printf(format+"\n", a...)
		mu.Unlock()
	}
	c := redis.NewClient(redisstore.Configure(newOptions(os.Getenv("AILIB_REPLICA_REDIS"))))
	defer c.Close()
	lim, err := redisstore.NewLimiter(c, redisstore.Limit{Rate: 20, Period: time.Second, Burst: 2})
	if err != nil {
		t.Fatal(err)
	}
	st, err := redisstore.NewState(c)
	if err != nil {
		t.Fatal(err)
	}
	hooks := resilience.Hooks{OnSharedState: func(ch resilience.SharedStateChange) {
		if ch.Degraded {
			say("cause %s", ch.Err)
		}
	}}
	e := mustExecutor(t, resilience.DefaultConfig(), resilience.WithName("openai/"+model),
		resilience.WithSharedLimiter(lim, ""), resilience.WithSharedState(st, ""), resilience.WithHooks(hooks))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	op := chatOpAt(url, &http.Client{Transport: tr})

	var wg sync.WaitGroup
	say("ready")
	tick := time.NewTicker(time.Second / offered)
	end := time.NewTimer(runFor)
loop:
	for {
		select {
		case <-end.C:
			break loop
		case <-tick.C:
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := e.Execute(ctx, op)
			switch {
			case err == nil:
				say("ok %d", time.Now().UnixNano())
			case errors.Is(err, resilience.ErrRateLimitWait):
				say("refused")
				if time.Since(start) > 100*time.Millisecond && !errors.Is(err, aierrors.RateLimited) {
					say("bad refusal after %v: %v", time.Since(start), err)
				}
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, aierrors.Timeout):
				say("late")
			default:
				say("other %v", err)
			}
		})
	}
	tick.Stop()
	wg.Wait()
	s := e.Signals()
	say("end learned %.2f rps, shared degraded %v", s.Rate.Learned, s.Shared.Degraded)
}
