package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// errCallerGaveUp is the cancel cause of the cancellation tests.
var errCallerGaveUp = errors.New("caller gave up")

// cancelled runs call with a ctx cancelled (with cause errCallerGaveUp)
// after d, and returns how long after the cancel it returned, and its
// error. In a synctest bubble the fake clock moves only when every
// goroutine is blocked, so a call that reacts to the cancel at once
// returns 0: it needed no timer to fire after the cancel.
func cancelled(t *testing.T, d time.Duration, call func(ctx context.Context) error) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var cancelAt time.Time
	timer := time.AfterFunc(d, func() {
		cancelAt = time.Now()
		cancel(errCallerGaveUp)
	})
	defer timer.Stop()
	err := call(ctx)
	if cancelAt.IsZero() {
		t.Fatalf("call returned %v before the cancel at %v", err, d)
	}
	return time.Since(cancelAt), err
}

// checkCancelled checks that err is the error of a call cancelled with
// errCallerGaveUp and that it came back at once.
func checkCancelled(t *testing.T, what string, err error, late time.Duration) {
	t.Helper()
	if late != 0 {
		t.Errorf("%s returned %v after the cancel; want 0 (no timer may fire in between)", what, late)
	}
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Code != aierrors.Cancelled {
		t.Errorf("%s error = %v; want an *aierrors.Error with code Cancelled", what, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s error = %v; want errors.Is(err, context.Canceled)", what, err)
	}
	if !errors.Is(err, errCallerGaveUp) {
		t.Errorf("%s error = %v; want the cancel cause reachable with errors.Is", what, err)
	}
}

// chatCall and streamCall adapt Chat and Stream (read to the end) to
// cancelled.
func chatCall(c *client.AiClient) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		resp, err := c.Chat(ctx, hi())
		if err == nil {
			return errors.New("Chat() succeeded: " + resp.Content)
		}
		return err
	}
}

func streamCall(c *client.AiClient) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		s, err := c.Stream(ctx, hi())
		if err != nil {
			return err
		}
		defer s.Close()
		readAll(s)
		if s.Err() == nil {
			return errors.New("stream succeeded: " + s.Text())
		}
		return s.Err()
	}
}

// TestCancelPromptness cancels a call in each place it can wait and checks
// that it returns at the instant of the cancel, with a Cancelled error
// that keeps the cause, and that the cancellation neither counts against
// the circuit nor keeps a permit.
func TestCancelPromptness(t *testing.T) {
	noRetry := resilience.ResilientConfig{CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 1}}
	tests := []struct {
		name string
		cfg  resilience.ResilientConfig
		// setup prepares the server and the client's state so that the call
		// under test waits where the test says; it returns that call.
		setup func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error
		// waited checks that the call did wait where expected.
		waited       func(t *testing.T, srv *providertest.Server, h *hookLog)
		wantInflight int // permits still held after the call (by setup's stream)
		wantFailures int // counted failures: the provider's, before the cancel
	}{
		{
			name: "limiter wait for a token",
			cfg: resilience.ResilientConfig{
				RateLimiter:    &resilience.RateLimiterConfig{RequestsPerSecond: 1.0 / 3600, Burst: 1},
				CircuitBreaker: noRetry.CircuitBreaker,
			},
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				if _, err := c.Chat(context.Background(), hi()); err != nil { // spends the only token
					t.Fatalf("first Chat() error = %v", err)
				}
				return chatCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if h.limiterWaits.Load() == 0 {
					t.Error("OnLimiterWait was not called: the call did not wait for a token")
				}
				if n := srv.Requests("gpt-4o"); n != 1 {
					t.Errorf("server requests = %d; want 1 (the cancelled call sent nothing)", n)
				}
			},
		},
		{
			name: "limiter pause asked by the provider",
			cfg: resilience.ResilientConfig{
				RateLimiter:    &resilience.RateLimiterConfig{},
				CircuitBreaker: noRetry.CircuitBreaker,
			},
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.RateLimited(time.Hour))
				if _, err := c.Chat(context.Background(), hi()); !errors.Is(err, aierrors.RateLimited) {
					t.Fatalf("first Chat() error = %v; want RateLimited", err)
				}
				return streamCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if h.limiterWaits.Load() == 0 {
					t.Error("OnLimiterWait was not called: the call did not wait for the pause")
				}
				if n := srv.Requests("gpt-4o"); n != 1 {
					t.Errorf("server requests = %d; want 1", n)
				}
			},
		},
		{
			name: "in-flight queue",
			cfg: resilience.ResilientConfig{
				Backpressure:   &resilience.BackpressureConfig{MaxInflight: 1},
				CircuitBreaker: noRetry.CircuitBreaker,
			},
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"a", "b"}, ChunkDelay: time.Second})
				holder, err := c.Stream(context.Background(), hi()) // holds the only permit
				if err != nil {
					t.Fatalf("holding Stream() error = %v", err)
				}
				t.Cleanup(func() { holder.Close() })
				return chatCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if n := srv.Requests("gpt-4o"); n != 1 {
					t.Errorf("server requests = %d; want 1 (the queued call sent nothing)", n)
				}
			},
			wantInflight: 1,
		},
		{
			name: "backoff sleep",
			cfg: resilience.ResilientConfig{
				// A window longer than the test: gobreaker forgets failures,
				// consecutive ones included, once they leave the window.
				Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: time.Hour, MaxDelay: time.Hour},
				CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 10, Window: time.Hour},
			},
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.Unavailable())
				return chatCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if h.retries.Load() != 1 {
					t.Errorf("OnRetry called %d times; want 1 (the call sleeps before its retry)", h.retries.Load())
				}
				if n := srv.Requests("gpt-4o"); n != 1 {
					t.Errorf("server requests = %d; want 1", n)
				}
			},
			wantFailures: 1, // the 503
		},
		{
			name: "stream backoff sleep",
			cfg: resilience.ResilientConfig{
				// A window longer than the test: gobreaker forgets failures,
				// consecutive ones included, once they leave the window.
				Retry:          &resilience.RetryConfig{MaxRetries: 3, InitialDelay: time.Hour, MaxDelay: time.Hour},
				CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 10, Window: time.Hour},
			},
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"a"}, CutAfter: providertest.CutAtStart})
				return streamCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if h.retries.Load() != 1 {
					t.Errorf("OnRetry called %d times; want 1", h.retries.Load())
				}
			},
			wantFailures: 1, // the cut stream
		},
		{
			name: "chat waiting for response headers",
			cfg:  noRetry,
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.Slow(time.Hour, "late"))
				return chatCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if n := srv.Stats("gpt-4o").Abandoned; n != 1 {
					t.Errorf("server Abandoned = %d; want 1 (the request was waiting for its answer)", n)
				}
			},
		},
		{
			name: "stream waiting for response headers",
			cfg:  noRetry,
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.Slow(time.Hour, "late"))
				return streamCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if n := srv.Stats("gpt-4o").Abandoned; n != 1 {
					t.Errorf("server Abandoned = %d; want 1", n)
				}
			},
		},
		{
			name: "stream waiting for its first event",
			cfg:  noRetry,
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("gpt-4o", providertest.Answer{Status: 200, Chunks: []string{"late"}, ChunkDelay: time.Hour})
				return streamCall(c)
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {
				if n := srv.Stats("gpt-4o").Streams; n != 1 {
					t.Errorf("server Streams = %d; want 1 (the stream had started)", n)
				}
			},
		},
		{
			name: "stream Next",
			cfg:  noRetry,
			setup: func(t *testing.T, srv *providertest.Server, c *client.AiClient) func(ctx context.Context) error {
				srv.Script("claude", providertest.Answer{Status: 200, Chunks: []string{"a", "b"}, ChunkDelay: time.Minute})
				return func(ctx context.Context) error {
					s, err := c.Stream(ctx, hi())
					if err != nil {
						return err
					}
					defer s.Close()
					if !s.Next() {
						return errors.New("first Next() = false")
					}
					if s.Next() {
						return errors.New("second Next() = true")
					}
					return s.Err()
				}
			},
			waited: func(t *testing.T, srv *providertest.Server, h *hookLog) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := providertest.New()
				h := &hookLog{}
				target := "openai/gpt-4o"
				if tt.name == "stream Next" {
					target = "anthropic/claude"
				}
				c := build(t, inProcess(srv).Model(target).Resilience(only(tt.cfg)).StreamIdleTimeout(0).Hooks(h.hooks()))
				call := tt.setup(t, srv, c)
				before := c.SignalsSnapshot()
				late, err := cancelled(t, 30*time.Second, call)
				checkCancelled(t, tt.name, err, late)
				tt.waited(t, srv, h)
				after := c.SignalsSnapshot()
				if after.CurrentInflight != tt.wantInflight {
					t.Errorf("CurrentInflight = %d after the cancelled call; want %d", after.CurrentInflight, tt.wantInflight)
				}
				if got, want := after.Circuit.ConsecutiveFailures, before.Circuit.ConsecutiveFailures+tt.wantFailures; got != want || after.CircuitState != resilience.StateClosed {
					t.Errorf("circuit %v with %d failures after the cancel; want closed with %d: cancellation must not count (%+v)",
						after.CircuitState, got, want, after.Circuit)
				}
			})
		})
	}
}

// hookLog counts the hook calls the cancellation tests look at.
type hookLog struct {
	limiterWaits, retries atomic.Int64
}

func (h *hookLog) hooks() resilience.Hooks {
	return resilience.Hooks{
		OnLimiterWait: func(resilience.LimiterWait) { h.limiterWaits.Add(1) },
		OnRetry:       func(resilience.RetryScheduled) { h.retries.Add(1) },
	}
}

// stallingBody is a transport whose 200 answer sends part of its body and
// then stalls until the request's ctx ends, as a real connection does.
type stallingBody struct{}

func (stallingBody) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	pr, pw := io.Pipe()
	context.AfterFunc(req.Context(), func() { pw.CloseWithError(req.Context().Err()) })
	go func() {
		pw.Write([]byte(`{"choices":[{"message":{"content":"par`))
		// The rest never comes; the pipe is closed when ctx ends.
	}()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: pr, Request: req}, nil
}

func TestCancelWhileReadingChatBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := build(t, client.NewBuilder().IgnoreEnvironment().Model("ollama/llama3").
			Resilience(offConfig()).HTTPClient(&http.Client{Transport: stallingBody{}}))
		late, err := cancelled(t, time.Minute, chatCall(c))
		checkCancelled(t, "Chat reading the body", err, late)
		if strings.Contains(err.Error(), "par") {
			t.Errorf("error %q carries part of the answer", err)
		}
	})
}

// TestCancelBeforeCall checks that a ctx already done sends nothing, for
// Chat and Stream, with a primary and a fallback.
func TestCancelBeforeCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Fallback("anthropic/claude"))
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errCallerGaveUp)
		for name, call := range map[string]func(context.Context) error{"Chat": chatCall(c), "Stream": streamCall(c)} {
			start := time.Now()
			err := call(ctx)
			checkCancelled(t, name, err, time.Since(start))
			if n := client.AttemptsOf(err); n != 0 {
				t.Errorf("%s: AttemptsOf(err) = %d; want 0", name, n)
			}
		}
		if n := len(srv.Received()); n != 0 {
			t.Errorf("server received %d requests; want none", n)
		}
	})
}
