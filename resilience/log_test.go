package resilience

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Rule: errors never carry secrets into logs: log lines name the target,
// attempt and code, never the provider's message or the request.
func TestLogsCarryNoSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := mustExecutor(t, ResilientConfig{
			Retry:          exactRetry(1, time.Millisecond),
			CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 2},
			RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1, Burst: 1},
		}, WithName("openai/gpt-4o"), WithLogger(logger))
		secret := &aierrors.Error{Code: aierrors.ServerError, HTTPStatus: 500, Message: "bad key sk-proj-SECRET123 in request"}
		_ = e.Execute(context.Background(), func(context.Context) error { return secret })
		_ = e.Execute(context.Background(), func(context.Context) error { return nil })
		out := buf.String()
		if strings.Contains(out, "SECRET123") {
			t.Errorf("log output contains the provider message:\n%s", out)
		}
		for _, want := range []string{
			`"msg":"resilience: attempt"`, `"target":"openai/gpt-4o"`, `"attempt":2`, `"code":"E3001"`,
			`"msg":"resilience: retry scheduled"`, `"msg":"resilience: rate limiter wait"`,
			`"msg":"resilience: circuit state change"`, `"to":"open"`, `"msg":"resilience: rejected"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log output lacks %s:\n%s", want, out)
			}
		}
	})
}

// A nil logger (the default) logs nothing and costs nothing.
func TestNilLoggerIsSilent(t *testing.T) {
	e := mustExecutor(t, ResilientConfig{}, WithLogger(nil))
	if e.logger != nil || e.timing {
		t.Error("WithLogger(nil) enabled logging")
	}
}
