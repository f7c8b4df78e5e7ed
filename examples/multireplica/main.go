// Command multireplica shows several replicas of a service sharing one
// provider budget and one circuit through Redis, against a provider that
// enforces its limit.
//
//	go run .                                   # Redis from -redis, $REDIS_URL or redis://127.0.0.1:6379/0
//	go run . -replicas 8 -rps 10 -duration 5s
//
// The provider is an embedded client/providertest server that allows -rps
// requests a second for the key and answers 429 beyond. Each replica is an
// AiClient of its own, as separate processes would have. The program runs
// the replicas twice: first each with an in-process limit of -rps (what a
// single process would configure), then sharing one limit of -rps in Redis
// (redisstore.Limiter and redisstore.State through
// client.Builder.ExecutorOptions). For each run it prints the aggregate
// rate the provider saw and how many 429s it sent.
//
// When no Redis answers, it starts a throw-away redis-server on a free
// loopback port if one is installed (-start-redis=false turns that off),
// and otherwise prints how to start one, after the in-process run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/redisstore"
	"github.com/redis/go-redis/v9"
)

const model = "gpt-4o"

// settings are the command's flags.
type settings struct {
	replicas   int
	workers    int // concurrent callers per replica
	rps        int
	duration   time.Duration
	redisURL   string
	startRedis bool
}

func main() {
	s := settings{}
	flag.IntVar(&s.replicas, "replicas", 4, "replicas (AiClients) calling the provider")
	flag.IntVar(&s.workers, "workers", 3, "concurrent callers per replica")
	flag.IntVar(&s.rps, "rps", 20, "the provider's limit, requests per second, and each replica's budget")
	flag.DurationVar(&s.duration, "duration", 3*time.Second, "length of each run")
	flag.StringVar(&s.redisURL, "redis", defaultRedisURL(), "Redis URL")
	flag.BoolVar(&s.startRedis, "start-redis", true, "start a throw-away redis-server when none answers (if installed)")
	flag.Parse()
	if s.replicas < 1 || s.workers < 1 || s.rps < 1 || s.duration <= 0 {
		fmt.Fprintln(os.Stderr, "multireplica: -replicas, -workers, -rps and -duration must be positive")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdout, s); err != nil {
		fmt.Fprintln(os.Stderr, "multireplica:", err)
		os.Exit(1)
	}
}

func defaultRedisURL() string {
	for _, v := range []string{"REDIS_URL", "AILIB_TEST_REDIS_URL"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "redis://127.0.0.1:6379/0"
}

// result is what the provider saw during one run.
type result struct {
	requests, limited int
	ok, failed        int64
	degraded          int64 // times a replica lost Redis (and ran on its local limit)
}

func run(ctx context.Context, w io.Writer, s settings) error {
	redis.SetLogger(quietLogger{}) // failed dials are reported here, not logged
	srv := providertest.NewServer()
	defer srv.Close()
	fmt.Fprintf(w, "provider: openai/%s allows %d requests/s (burst %d), 429 beyond\n", model, s.rps, burstOf(s.rps))
	fmt.Fprintf(w, "%d replicas × %d callers, %v per run\n\n", s.replicas, s.workers, s.duration)
	fmt.Fprintf(w, "%-34s %9s %9s %6s %8s\n", "limit", "requests", "req/s", "429s", "calls ok")
	row := func(name string, r result) {
		fmt.Fprintf(w, "%-34s %9d %9.1f %6d %8d\n", name, r.requests, float64(r.requests)/s.duration.Seconds(), r.limited, r.ok)
		if r.degraded > 0 {
			fmt.Fprintf(w, "  (Redis was slow or unreachable %d times: those replicas ran on their local share meanwhile)\n", r.degraded)
		}
	}

	local, err := measure(ctx, srv, s, nil)
	if err != nil {
		return err
	}
	row(fmt.Sprintf("in-process, %d rps per replica", s.rps), local)

	rdb, where, stop, err := connectRedis(ctx, s)
	if err != nil {
		fmt.Fprintf(w, "\nno Redis for the shared run: %v\n", err)
		fmt.Fprintln(w, "start one, for example:")
		fmt.Fprintln(w, "  apt-get install redis-server && redis-server --port 6379 --save '' --appendonly no")
		fmt.Fprintln(w, "  docker run --rm -p 6379:6379 redis:7")
		fmt.Fprintln(w, "then run again (-redis URL or REDIS_URL to point elsewhere).")
		return nil
	}
	defer stop()
	shared, err := measure(ctx, srv, s, rdb)
	if err != nil {
		return err
	}
	row(fmt.Sprintf("shared in Redis, %d rps in all", s.rps), shared)
	fmt.Fprintf(w, "\nRedis: %s\n", where)
	return nil
}

func burstOf(rps int) int { return max(rps/2, 1) }

// measure runs the replicas for s.duration, each limited to s.rps in
// process, and also sharing one limit of s.rps (and one circuit) in rdb
// when rdb is not nil.
func measure(ctx context.Context, srv *providertest.Server, s settings, rdb redis.UniversalClient) (result, error) {
	srv.Clear()
	srv.SetRateLimit(model, float64(s.rps), burstOf(s.rps))
	var opts []resilience.Option
	if rdb != nil {
		// A fresh prefix per run: no budget left over from an earlier one.
		prefix := redisstore.WithPrefix("multireplica:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":")
		lim, err := redisstore.NewLimiter(rdb, redisstore.Limit{Rate: s.rps, Period: time.Second, Burst: 1}, prefix)
		if err != nil {
			return result{}, err
		}
		st, err := redisstore.NewState(rdb, prefix)
		if err != nil {
			return result{}, err
		}
		// Each Redis operation is capped at 50ms: a slow answer sends a
		// replica to its local limit for a while.
		opts = append(opts, resilience.WithSharedLimiter(lim, ""), resilience.WithSharedState(st, ""))
	}
	// No retries, so that each call is one request the provider counts.
	// In process, each replica is given the whole budget, as a service
	// configured for one process would be. In the shared run, the local
	// limit is what a replica keeps to on its own while Redis is away: its
	// share of the budget.
	local := float64(s.rps)
	if rdb != nil {
		local = max(local/float64(s.replicas), 1)
	}
	cfg := resilience.ResilientConfig{
		RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: local, Burst: 1},
		CircuitBreaker: &resilience.CircuitBreakerConfig{},
	}
	var degraded atomic.Int64
	hooks := resilience.Hooks{OnSharedState: func(ev resilience.SharedStateChange) {
		if ev.Degraded {
			degraded.Add(1)
		}
	}}
	var clients []*client.AiClient
	for range s.replicas {
		c, err := client.NewBuilder().
			IgnoreEnvironment().
			Model("openai/"+model).
			Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-multireplica-demo"}).
			Resilience(cfg).
			ExecutorOptions(opts...).
			Hooks(hooks).
			Build()
		if err != nil {
			return result{}, err
		}
		defer c.CloseIdleConnections()
		clients = append(clients, c)
	}

	ctx, cancel := context.WithTimeout(ctx, s.duration)
	defer cancel()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	req := client.ChatRequest{Messages: []client.Message{client.User("hi")}}
	for _, c := range clients {
		for range s.workers {
			wg.Go(func() {
				for ctx.Err() == nil {
					_, err := c.Chat(ctx, req)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, resilience.ErrRateLimitWait):
						return // no turn before the end of the run
					case ctx.Err() == nil:
						failed.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	st := srv.Stats(model)
	return result{requests: st.Requests, limited: st.Limited, ok: ok.Load(), failed: failed.Load(), degraded: degraded.Load()}, nil
}

// connectRedis connects to s.redisURL, or starts a redis-server of its own
// when none answers there and one is installed. stop closes the client
// and stops the server it started.
func connectRedis(ctx context.Context, s settings) (rdb redis.UniversalClient, where string, stop func(), err error) {
	opt, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return nil, "", nil, fmt.Errorf("-redis %q: %w", s.redisURL, err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	if err = ping(ctx, c); err == nil {
		return c, opt.Addr, func() { _ = c.Close() }, nil
	}
	_ = c.Close()
	if !s.startRedis {
		return nil, "", nil, fmt.Errorf("%s: %w", opt.Addr, err)
	}
	bin, lerr := exec.LookPath("redis-server")
	if lerr != nil {
		return nil, "", nil, fmt.Errorf("%s: %w (and redis-server is not installed to start one)", opt.Addr, err)
	}
	return startRedis(ctx, bin)
}

func ping(ctx context.Context, c *redis.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	return c.Ping(ctx).Err()
}

// startRedis runs bin on a free loopback port, without persistence.
func startRedis(ctx context.Context, bin string) (redis.UniversalClient, string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	dir, err := os.MkdirTemp("", "multireplica-redis-")
	if err != nil {
		return nil, "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", nil, err
	}
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	stop := func() {
		_ = c.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ping(ctx, c) != nil {
		if time.Now().After(deadline) {
			stop()
			return nil, "", nil, fmt.Errorf("started %s on %s but it did not answer PING", bin, addr)
		}
		t := time.NewTimer(20 * time.Millisecond)
		<-t.C
	}
	return c, addr + " (a redis-server started for this run, stopped at exit)", stop, nil
}

// quietLogger drops go-redis's own log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
