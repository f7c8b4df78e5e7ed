package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunShared(t *testing.T) {
	url := os.Getenv("AILIB_TEST_REDIS_URL")
	if url == "" {
		reason := "AILIB_TEST_REDIS_URL is not set: run under scripts/redis-for-tests.sh (make test does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	var out strings.Builder
	err := run(context.Background(), &out, settings{replicas: 2, workers: 2, rps: 20, duration: time.Second, redisURL: url})
	if err != nil {
		t.Fatalf("run = %v; want nil", err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"in-process, 20 rps per replica", "shared in Redis, 20 rps in all", "Redis: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Without Redis, and not allowed to start one, the program says how to
// start one and returns.
func TestRunWithoutRedis(t *testing.T) {
	var out strings.Builder
	start := time.Now()
	err := run(context.Background(), &out, settings{replicas: 2, workers: 1, rps: 20, duration: 200 * time.Millisecond,
		redisURL: "redis://127.0.0.1:1/0"})
	if err != nil {
		t.Fatalf("run = %v; want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run without Redis took %v; want it to give up quickly", d)
	}
	if !strings.Contains(out.String(), "no Redis for the shared run") || !strings.Contains(out.String(), "redis-server") {
		t.Errorf("output without Redis does not say how to start one:\n%s", out.String())
	}
}
