package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// A target that answers quota_exhausted cools down: the next calls skip it
// without a request, and the fallback chain moves on at once.
func ExampleCooldownConfig() {
	cfg := resilience.DefaultConfig() // Cooldown on: 60s after quota_exhausted
	primary, _ := resilience.NewResilientExecutor(cfg, resilience.WithName("openai/gpt-4o"))
	fallback, _ := resilience.NewResilientExecutor(cfg, resilience.WithName("anthropic/claude"))
	execs := map[string]*resilience.ResilientExecutor{"openai/gpt-4o": primary, "anthropic/claude": fallback}
	requests := map[string]int{}
	chain := resilience.NewFallbackChain("openai/gpt-4o", "anthropic/claude")
	for range 3 {
		_ = chain.Execute(context.Background(), func(ctx context.Context, target string) error {
			return execs[target].Execute(ctx, func(context.Context) error {
				requests[target]++
				if target == "openai/gpt-4o" {
					return &aierrors.Error{Code: aierrors.QuotaExhausted, HTTPStatus: 429}
				}
				return nil
			})
		})
	}
	pf := primary.Preflight()
	fmt.Println("requests:", requests["openai/gpt-4o"], requests["anthropic/claude"])
	fmt.Println("preflight:", pf.Code.Name(), errors.Is(pf, resilience.ErrTargetPaused), pf.RetryAfter.Round(time.Minute))
	fmt.Println("signals:", primary.Signals().CoolingDownReason.Name())
	// Output:
	// requests: 1 3
	// preflight: quota_exhausted true 1m0s
	// signals: quota_exhausted
}

// DoTokens reserves a call's token estimate and settles it with the usage.
func ExampleDoTokens() {
	cfg := resilience.ResilientConfig{RateLimiter: &resilience.RateLimiterConfig{TokensPerMinute: 10000}}
	e, _ := resilience.NewResilientExecutor(cfg, resilience.WithName("openai/gpt-4o"))
	answer, err := resilience.DoTokens(context.Background(), e, 1200, func(ctx context.Context) (string, int, error) {
		return "hello", 350, nil // the answer and the tokens it used
	})
	fmt.Println(answer, err)
	fmt.Printf("%.0f of %.0f tokens left\n", e.Signals().TokensRemaining, e.Signals().TokenLimit)
	// Output:
	// hello <nil>
	// 9650 of 10000 tokens left
}

// With hedging, a slow attempt gets a second one; the first answer wins
// and the other is cancelled.
func ExampleHedgeConfig() {
	cfg := resilience.ResilientConfig{Hedge: &resilience.HedgeConfig{Delay: 10 * time.Millisecond}}
	e, _ := resilience.NewResilientExecutor(cfg, resilience.WithName("openai/gpt-4o"))
	var calls atomic.Int32
	v, err := resilience.Do(context.Background(), e, func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // a slow answer, cancelled once the hedge wins
			return "", ctx.Err()
		}
		return "from the hedge", nil
	})
	fmt.Println(v, err)
	// Output:
	// from the hedge <nil>
}

// The retry budget caps the retries in flight on a target at a share of
// its attempts in flight; a refused retry returns the last error.
func ExampleRetryConfig_budget() {
	cfg := resilience.DefaultConfig() // BudgetPercent 20, MinRetryConcurrency 3
	e, _ := resilience.NewResilientExecutor(cfg, resilience.WithName("openai/gpt-4o"))
	s := e.Signals()
	fmt.Println("retries in flight:", s.RetriesInFlight, "allowed now:", s.RetryBudget)
	// A refused retry: errors.Is(err, resilience.ErrRetryBudgetExhausted),
	// and aierrors.CodeOf(err) is the last attempt's code.
	// Output:
	// retries in flight: 0 allowed now: 3
}
