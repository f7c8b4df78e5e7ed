package client_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/ailib-go/ailib/client/providertest"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/shared"
)

// Two clients (two replicas of a service) given one shared state through
// ExecutorOptions: the primary's circuit opened by the first sends the
// second straight to the fallback, without a request to the primary.
func TestExecutorOptionsShareTheCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", providertest.ServerError())
		state := shared.NewMemoryState()
		replica := func() func() error {
			c := build(t, inProcess(srv).
				Model("openai/gpt-4o").
				Fallback("anthropic/claude-3-5-sonnet-latest").
				ExecutorOptions(resilience.WithSharedState(state, "")))
			return func() error { _, err := c.Chat(context.Background(), hi()); return err }
		}
		a, b := replica(), replica()
		for range 3 { // 2 attempts each (one retry: a fallback follows); the circuit opens at the 5th counted failure
			if err := a(); err != nil {
				t.Fatalf("replica A Chat = %v; want the fallback's answer", err)
			}
		}
		primary := srv.Requests("gpt-4o")
		if err := b(); err != nil {
			t.Fatalf("replica B Chat = %v; want the fallback's answer", err)
		}
		if got := srv.Requests("gpt-4o"); got != primary {
			t.Errorf("primary requests after replica B's call = %d; want %d (its circuit is open in the shared state)", got, primary)
		}
	})
}

func TestExecutorOptionsReplaced(t *testing.T) {
	srv := providertest.New()
	state := shared.NewMemoryState()
	c := build(t, inProcess(srv).Model("openai/gpt-4o").
		ExecutorOptions(resilience.WithSharedState(state, "")).
		ExecutorOptions())
	if c.SignalsSnapshot().Shared.Enabled {
		t.Error("SignalsSnapshot().Shared.Enabled = true after ExecutorOptions(); want false (cleared)")
	}
	c = build(t, inProcess(srv).Model("openai/gpt-4o").ExecutorOptions(resilience.WithSharedState(state, "")))
	if !c.SignalsSnapshot().Shared.Enabled {
		t.Error("SignalsSnapshot().Shared.Enabled = false; want true")
	}
}
