package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/redisstore"
	"github.com/redis/go-redis/v9"
)

// poolReplicas builds n replicas (clients) of one service over one pool of
// deployments at urls, sharing their state through st.
func poolReplicas(t *testing.T, n int, urls []string, st *redisstore.State) []*client.AiClient {
	t.Helper()
	var deps []client.Deployment
	for i, u := range urls {
		deps = append(deps, client.Deployment{Name: "d" + strconv.Itoa(i), Model: "openai/" + model, BaseURL: u + "/v1", APIKey: "sk-test-pool-000000000" + strconv.Itoa(i)})
	}
	var out []*client.AiClient
	for range n {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		t.Cleanup(tr.CloseIdleConnections)
		c, err := client.NewBuilder().IgnoreEnvironment().
			HTTPClient(&http.Client{Transport: tr}).
			Pool("gpt", deps...).Model("gpt").
			ExecutorOptions(resilience.WithSharedState(st, "")).
			Build()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestPoolReplicasShareRedis is issue 19's P5 on a real Redis, in real
// time: two replicas over three deployments capped at 15/10/5 rps (OpenAI's
// per-minute headers, burst 2; the callers are not told), 27 calls/s for
// 20s, 5s deadline, calls alternating between the replicas. The bounds are
// one process's: at least 99% success, and 429s and latency as below.
// Then the first deployment's key is revoked: the replica that meets the
// 401 shares its cooldown, and the other never sends to it.
//
// Real time on a shared runner is not exact: when the machine is busy
// with other packages' tests (CI runs them in parallel on two cores), the
// replicas' places drift and one play in a few dozen met 20-22 429s (p50
// 73-100ms instead of 20-30ms), with older code as with this. So a play that breaks a bound is played once more, on
// fresh providers and a fresh prefix, and the test is judged on that one;
// a regression (without the routing grid: 9 429s a play) breaks both.
func TestPoolReplicasShareRedis(t *testing.T) {
	c := testClient(t)
	var p poolPlay
	for try := 1; ; try++ {
		p = playPoolOverRedis(t, c)
		bad := p.broken()
		if len(bad) == 0 {
			break
		}
		if try == 2 {
			for _, msg := range bad {
				t.Error(msg)
			}
			break
		}
		t.Logf("play %d broke a bound (%s): played again", try, strings.Join(bad, "; "))
	}
	srvs, replicas := p.srvs, p.replicas

	// The revoked key: replica 0 meets the 401; replica 1 learns it from
	// Redis and never sends to that deployment.
	srvs[0].SetDefault(model, providertest.InvalidAPIKey())
	ctx := context.Background()
	hi := client.ChatRequest{Messages: []client.Message{client.User("hi")}}
	for range 3 {
		if _, err := replicas[0].Chat(ctx, hi); err != nil {
			t.Fatal(err)
		}
	}
	if n := srvs[0].Stats(model).ByStatus[http.StatusUnauthorized]; n != 1 {
		t.Fatalf("401s after replica 0's calls = %d; want 1", n)
	}
	for range 12 {
		if _, err := replicas[1].Chat(ctx, hi); err != nil {
			t.Fatal(err)
		}
	}
	if n := srvs[0].Stats(model).ByStatus[http.StatusUnauthorized]; n != 1 {
		t.Errorf("401s after replica 1's calls = %d; want still 1 (the cooldown is shared)", n)
	}
	if s, _ := replicas[1].Signals("openai/" + model + "#d0"); !s.Shared.Enabled || s.Shared.PausedFor < 4*time.Minute {
		t.Errorf("replica 1's view of d0: shared pause %v; want the 5m authentication cooldown", s.Shared.PausedFor)
	}
}

// poolPlay is one play of TestPoolReplicasShareRedis's load.
type poolPlay struct {
	srvs               []*providertest.Server
	replicas           []*client.AiClient
	calls, ok, limited int
	p99                time.Duration
}

// playPoolOverRedis plays the load of TestPoolReplicasShareRedis on fresh
// providers and replicas sharing a fresh prefix of c.
func playPoolOverRedis(t *testing.T, c *redis.Client) poolPlay {
	t.Helper()
	st, err := redisstore.NewState(c, redisstore.WithPrefix(uniquePrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	caps := []float64{15, 10, 5}
	var srvs []*providertest.Server
	var urls []string
	for _, r := range caps {
		s := newProvider(t)
		s.SetDefault(model, providertest.Answer{Status: http.StatusOK, Text: "ok", Delay: 20 * time.Millisecond})
		s.SetRateLimitStyle(model, r, 2, providertest.RateLimitOpenAIPerMinute)
		srvs, urls = append(srvs, s), append(urls, s.URL())
	}
	replicas := poolReplicas(t, 2, urls, st)

	const rate, calls = 27.0, 540
	lat := make([]time.Duration, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range calls {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			t0 := time.Now()
			_, errs[i] = replicas[i%2].Chat(ctx, client.ChatRequest{Messages: []client.Message{client.User("hi")}})
			lat[i] = time.Since(t0)
		})
	}
	wg.Wait()
	p := poolPlay{srvs: srvs, replicas: replicas, calls: calls}
	for _, err := range errs {
		if err == nil {
			p.ok++
		}
	}
	var served []int
	for _, s := range srvs {
		st := s.Stats(model)
		p.limited += st.ByStatus[http.StatusTooManyRequests]
		served = append(served, st.ByStatus[http.StatusOK])
	}
	slices.Sort(lat)
	p.p99 = lat[calls*99/100]
	t.Logf("two replicas over Redis: %d/%d ok, %d×429, p50 %v, p99 %v, served %v", p.ok, calls, p.limited, lat[calls/2], p.p99, served)
	return p
}

// broken lists the bounds the play broke.
func (p poolPlay) broken() []string {
	var bad []string
	if p.ok < p.calls*99/100 {
		bad = append(bad, fmt.Sprintf("%d of %d calls succeeded; want at least 99%%", p.ok, p.calls))
	}
	// The bound, fewer than 1%, is held in the synctest version
	// (P5: 0-2 429s). In real time the replicas' places drift with the
	// runner's load (2 here idle, 4 with both cores busy), so this holds
	// them to 1.5%: without the routing grid they met 9 (1.7%).
	if p.limited*200 >= p.calls*3 {
		bad = append(bad, fmt.Sprintf("%d 429s; want fewer than 1.5%% of %d calls", p.limited, p.calls))
	}
	// Latency is a timing claim, which belongs in the synctest scenario
	// (benchmarks/scenarios P5: 175-215ms); in real time on a busy runner
	// this only catches a collapse (calls queued for seconds).
	if p.p99 >= time.Second {
		bad = append(bad, fmt.Sprintf("p99 %v; want under 1s", p.p99))
	}
	return bad
}
