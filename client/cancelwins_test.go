package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// TestCancellationWinsFromEveryHook is issue 15's second point: a call
// cancelled between an attempt's end and the library's next decision (a
// retry pending, a fallback pending) returns E4002 cancelled matching
// context.Canceled, with the provider's last error still reachable, for
// Chat and Stream alike. Each hook cancels the call's ctx.
func TestCancellationWinsFromEveryHook(t *testing.T) {
	type hookCase struct {
		name     string
		hooks    func(cancel context.CancelFunc) resilience.Hooks
		provider bool // the provider's 503 is reachable: an attempt had ended
	}
	// The breaker opens on the first 503 (OnStateChange, then OnRejection
	// for the retry's attempt); the limiter admits 1 request per minute, so
	// the retry waits for its token (OnLimiterWait).
	cases := []hookCase{
		{"OnAttemptStart", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnAttemptStart: func(resilience.AttemptStart) { c() }}
		}, false},
		{"OnAttemptEnd", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnAttemptEnd: func(resilience.AttemptEnd) { c() }}
		}, true},
		{"OnRetry", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnRetry: func(resilience.RetryScheduled) { c() }}
		}, true},
		{"OnStateChange", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnStateChange: func(resilience.StateChange) { c() }}
		}, true},
		{"OnLimiterWait", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnLimiterWait: func(resilience.LimiterWait) { c() }}
		}, true},
		{"OnRejection", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnRejection: func(resilience.Rejection) { c() }}
		}, true},
		{"OnFallback", func(c context.CancelFunc) resilience.Hooks {
			return resilience.Hooks{OnFallback: func(h resilience.FallbackHop) {
				if h.From != "" {
					c()
				}
			}}
		}, true},
	}
	for _, hc := range cases {
		for _, stream := range []bool{false, true} {
			name := hc.name + "/chat"
			if stream {
				name = hc.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := providertest.New()
					srv.SetDefault("gpt-4o", providertest.Answer{Status: http.StatusServiceUnavailable})
					ctx, cancel := context.WithCancel(t.Context())
					if hc.name == "OnRejection" { // the retry's rate wait cannot end before this deadline: refused
						ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
					}
					defer cancel()
					cfg := fastConfig()
					switch hc.name {
					case "OnFallback":
						cfg.Retry.MaxRetries = 0 // straight to the fallback hop
					case "OnStateChange":
						cfg.CircuitBreaker.FailureThreshold = 1
					case "OnLimiterWait", "OnRejection":
						cfg.RateLimiter = &resilience.RateLimiterConfig{RequestsPerSecond: 1.0 / 60, Burst: 1}
					}
					c := build(t, inProcess(srv).Model("openai/gpt-4o").Fallback("anthropic/claude-3-5-sonnet-latest").
						Resilience(cfg).Hooks(hc.hooks(cancel)))
					var err error
					if stream {
						var s *client.ChatStream
						if s, err = c.Stream(ctx, hi()); err == nil {
							s.Close()
						}
					} else {
						_, err = c.Chat(ctx, hi())
					}
					if aierrors.CodeOf(err) != aierrors.Cancelled || !errors.Is(err, context.Canceled) {
						t.Fatalf("err = %v (code %v); want E4002 cancelled matching context.Canceled", err, aierrors.CodeOf(err))
					}
					if hc.provider && !errors.Is(err, aierrors.Overloaded) {
						t.Errorf("err = %v; want the provider's overloaded answer still reachable", err)
					}
					if got := srv.Requests("claude-3-5-sonnet-latest"); got != 0 {
						t.Errorf("requests to the fallback after the cancel = %d; want 0", got)
					}
				})
			})
		}
	}
}
