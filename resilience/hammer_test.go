package resilience

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Hammer: many goroutines drive one executor through every path (success,
// retryable and permanent failures, open circuit, half-open probes, streams,
// cancellation, header observations, preflight and signals) in real time.
// Invariants: the in-flight cap holds, every permit comes back, every error
// is classified, and state-change hooks come in a valid order.
func TestHammerExecutor(t *testing.T) {
	var mu sync.Mutex
	var last CircuitState
	validOrder := true
	var hookCalls atomic.Int64
	e := mustExecutor(t, ResilientConfig{
		Retry:          &RetryConfig{MaxRetries: 2, InitialDelay: 10 * time.Microsecond, MaxDelay: 100 * time.Microsecond, Jitter: 0.5},
		RateLimiter:    &RateLimiterConfig{RequestsPerSecond: 1e6, Burst: 100},
		CircuitBreaker: &CircuitBreakerConfig{FailureThreshold: 3, Cooldown: 200 * time.Microsecond, HalfOpenMaxRequests: 2},
		Backpressure:   &BackpressureConfig{MaxInflight: 4, QueueTimeout: time.Millisecond},
	}, WithName("hammer/m"), WithHooks(Hooks{
		OnStateChange: func(s StateChange) {
			mu.Lock()
			if s.From != last {
				validOrder = false
			}
			last = s.To
			mu.Unlock()
			hookCalls.Add(1)
		},
		OnAttemptEnd: func(AttemptEnd) { hookCalls.Add(1) },
	}))
	codes := []aierrors.StandardErrorCode{aierrors.ServerError, aierrors.Overloaded, aierrors.InvalidRequest, aierrors.RateLimited, aierrors.Timeout}
	var inflight, peak atomic.Int64
	enter := func() {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				return
			}
		}
	}
	hdr := http.Header{"X-Ratelimit-Remaining-Requests": {"5"}, "X-Ratelimit-Limit-Requests": {"10"}}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 300 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(2000))*time.Microsecond)
				op := func(ctx context.Context) error {
					enter()
					defer inflight.Add(-1)
					switch x := r.IntN(10); {
					case x < 5:
						return nil
					case x < 9:
						return providerErr(codes[r.IntN(len(codes))])
					default:
						return ctx.Err()
					}
				}
				var err error
				switch i % 4 {
				case 0:
					err = e.Execute(ctx, op)
				case 1:
					_, err = Do(ctx, e, func(ctx context.Context) (int, error) { return 1, op(ctx) })
				case 2:
					var done func(error)
					_, done, err = DoStream(ctx, e, func(ctx context.Context) (int, error) {
						if err := op(ctx); err != nil {
							return 0, err
						}
						enter() // the stream keeps its permit until done
						return 1, nil
					})
					if done != nil {
						inflight.Add(-1)
						done(nil)
					}
				case 3:
					_ = e.Preflight()
					_ = e.Signals()
					e.ObserveHeader(hdr)
					err = e.Execute(ctx, op)
				}
				cancel()
				if err != nil {
					if _, ok := errors.AsType[*aierrors.Error](err); !ok {
						t.Errorf("Execute = %v (%T); want an *aierrors.Error in the chain", err, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 4 {
		t.Errorf("peak in flight = %d; want <= 4", p)
	}
	if s := e.Signals(); s.CurrentInflight != 0 {
		t.Errorf("CurrentInflight after the hammer = %d; want 0", s.CurrentInflight)
	}
	mu.Lock()
	defer mu.Unlock()
	if !validOrder {
		t.Error("OnStateChange transitions out of order")
	}
	if hookCalls.Load() == 0 {
		t.Error("no hook was called")
	}
}

// Hammer: concurrent use of a standalone breaker with readers.
func TestHammerCircuitBreaker(t *testing.T) {
	b, err := NewCircuitBreaker(CircuitBreakerConfig{FailureThreshold: 2, Cooldown: 50 * time.Microsecond, HalfOpenMaxRequests: 3})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				_ = b.Execute(context.Background(), func(context.Context) error {
					if (g+i)%3 == 0 {
						return providerErr(aierrors.ServerError)
					}
					return nil
				})
				_ = b.State()
				_ = b.Preflight()
				_ = b.CooldownRemaining()
				_ = b.ConsecutiveFailures()
			}
		})
	}
	wg.Wait()
}
