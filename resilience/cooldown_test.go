package resilience

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

func TestCooldownSkipsTarget(t *testing.T) {
	longWait := providerErr(aierrors.RateLimited)
	longWait.RetryAfter = 2 * time.Minute
	shortWait := providerErr(aierrors.RateLimited)
	shortWait.RetryAfter = time.Second
	quotaWithReset := providerErr(aierrors.QuotaExhausted)
	quotaWithReset.RetryAfter = 10 * time.Second
	tests := []struct {
		name string
		err  *aierrors.Error
		want time.Duration // 0: no cooldown
	}{
		{"quota exhausted", providerErr(aierrors.QuotaExhausted), DefaultQuotaCooldown},
		{"quota exhausted with reset", quotaWithReset, 10 * time.Second},
		{"authentication", providerErr(aierrors.Authentication), DefaultAuthCooldown},
		{"Retry-After above MaxRetryAfter", longWait, 2 * time.Minute},
		{"short Retry-After", shortWait, 0},
		{"server error", providerErr(aierrors.ServerError), 0},
		{"bad request", providerErr(aierrors.InvalidRequest), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.Retry.MaxRetries = 0
				primary := mustExecutor(t, cfg, WithName("p/m"))
				fallback := mustExecutor(t, cfg, WithName("f/m"))
				chain := NewFallbackChain("p/m", "f/m")
				execs := map[string]*ResilientExecutor{"p/m": primary, "f/m": fallback}
				calls := map[string]int{}
				call := func() error {
					return chain.Execute(context.Background(), func(ctx context.Context, target string) error {
						return execs[target].Execute(ctx, func(context.Context) error {
							calls[target]++
							if target == "p/m" {
								return tt.err
							}
							return nil
						})
					})
				}
				_ = call()
				_ = call()
				wantPrimary := 2
				if tt.want > 0 {
					wantPrimary = 1
				}
				if calls["p/m"] != wantPrimary {
					t.Errorf("requests to the primary after two calls = %d; want %d", calls["p/m"], wantPrimary)
				}
				s := primary.Signals()
				pf := primary.Preflight()
				if tt.want == 0 {
					if s.CoolingDownFor != 0 || (pf != nil && errors.Is(pf, ErrTargetPaused)) {
						t.Errorf("Signals().CoolingDownFor = %v, Preflight() = %v; want no cooldown", s.CoolingDownFor, pf)
					}
					return
				}
				if s.CoolingDownFor != tt.want || s.CoolingDownReason != tt.err.Code {
					t.Errorf("Signals() cooldown = %v (%v); want %v (%v)", s.CoolingDownFor, s.CoolingDownReason, tt.want, tt.err.Code)
				}
				if pf == nil || !errors.Is(pf, ErrTargetPaused) || pf.Code != tt.err.Code || pf.RetryAfter != tt.want || !pf.Fallbackable() {
					t.Errorf("Preflight() = %+v; want %v wrapping ErrTargetPaused, RetryAfter %v, fallbackable", pf, tt.err.Code, tt.want)
				}
				time.Sleep(tt.want)
				_ = call()
				if calls["p/m"] != 2 {
					t.Errorf("requests to the primary once the cooldown ended = %d; want 2", calls["p/m"])
				}
			})
		})
	}
}

func TestCooldownEveryTargetReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		a := mustExecutor(t, cfg, WithName("a/m"))
		b := mustExecutor(t, cfg, WithName("b/m"))
		execs := map[string]*ResilientExecutor{"a/m": a, "b/m": b}
		n := 0
		op := func(ctx context.Context, target string) error {
			return execs[target].Execute(ctx, func(context.Context) error {
				n++
				return providerErr(aierrors.QuotaExhausted)
			})
		}
		chain := NewFallbackChain("a/m", "b/m")
		_ = chain.Execute(context.Background(), op)
		start := time.Now()
		err := chain.Execute(context.Background(), op)
		if n != 2 || time.Since(start) != 0 || !errors.Is(err, ErrTargetPaused) || aierrors.CodeOf(err) != aierrors.QuotaExhausted {
			t.Errorf("second call = %v after %d requests, %v; want quota_exhausted wrapping ErrTargetPaused at once, 2 requests in all",
				err, n, time.Since(start))
		}
	})
}

func TestCooldownOffWithoutConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := mustExecutor(t, ResilientConfig{})
		f := &failingOp{err: providerErr(aierrors.QuotaExhausted)}
		_ = e.Execute(context.Background(), f.op)
		_ = e.Execute(context.Background(), f.op)
		if f.n() != 2 {
			t.Errorf("requests with Cooldown nil = %d; want 2", f.n())
		}
	})
}
