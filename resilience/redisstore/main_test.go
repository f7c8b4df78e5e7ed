package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; TestRedisKilledMidRun makes many on
	// purpose.
	redis.SetLogger(quietLogger{})
	goleak.VerifyTestMain(m)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// needRedis skips the test, or fails it under CI=true, where Redis must be
// there (make test and .ci/run start one).
func needRedis(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: Redis is required)", reason)
	}
	t.Skip(reason)
}

// newOptions are the client options the tests (and the docs) recommend:
// ctx deadlines bound each command, so the executor's per-operation
// timeout holds.
func newOptions(addr string) *redis.Options {
	return &redis.Options{Addr: addr, ContextTimeoutEnabled: true, DialTimeout: time.Second}
}

// testClient connects to the Redis of AILIB_TEST_REDIS_URL.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("AILIB_TEST_REDIS_URL")
	if url == "" {
		needRedis(t, "AILIB_TEST_REDIS_URL is not set: run the tests under scripts/redis-for-tests.sh (make test does)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redis.ParseURL(AILIB_TEST_REDIS_URL=%q) = %v; want nil error", url, err)
	}
	opt.ContextTimeoutEnabled = true
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING %s = %v; want PONG", opt.Addr, err)
	}
	return c
}

// uniquePrefix keeps each test's keys apart from every other test's (and
// from earlier runs on the same server).
func uniquePrefix(testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "ailibtest:" + hex.EncodeToString(b[:]) + ":"
}

// redisProc is a redis-server of the test's own, which the test may kill
// and restart on the same port.
type redisProc struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

// startRedis starts a redis-server on a free loopback port; it is stopped
// when the test ends.
func startRedis(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		needRedis(t, "redis-server is not installed (apt-get install redis-server; scripts/redis-for-tests.sh does it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen = %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	p := &redisProc{t: t, bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(p.kill)
	p.start()
	return p
}

func (p *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// start runs the server and waits until it answers PING.
func (p *redisProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir, "--daemonize", "no", "--loglevel", "warning")
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.bin, err)
	}
	c := redis.NewClient(newOptions(p.addr()))
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.kill()
			p.t.Fatalf("redis-server on %s did not answer PING: %v", p.addr(), err)
		}
		<-tick.C
	}
}

// kill stops the server at once (SIGKILL), as a crash would.
func (p *redisProc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}
