package shared_test

import (
	"context"
	"fmt"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience/shared"
)

// A MemoryLimiter hands out places in order: the burst at once, then one
// per 1/rate, and none whose wait would exceed maxWait.
func ExampleNewMemoryLimiter() {
	l := shared.NewMemoryLimiter(1, 2) // 1 a second, bursts of 2
	ctx := context.Background()
	for range 3 {
		wait, ok, _ := l.Reserve(ctx, "openai/gpt-4o", 1, 10*time.Second)
		fmt.Println(ok, wait > 0)
	}
	_, ok, _ := l.Reserve(ctx, "openai/gpt-4o", 1, 0) // only at once: refused, nothing taken
	fmt.Println(ok)
	// Output:
	// true false
	// true false
	// true true
	// false
}

// A MemoryState holds a circuit and a pause per key, as redisstore.State
// does across processes.
func ExampleNewMemoryState() {
	s := shared.NewMemoryState()
	ctx := context.Background()
	_ = s.Open(ctx, "openai/gpt-4o", 5*time.Second)
	a, _ := s.Admit(ctx, "openai/gpt-4o", 1)
	fmt.Println(a.OpenFor > 0)

	_ = s.Pause(ctx, "anthropic/claude-sonnet-4-5", time.Minute, aierrors.QuotaExhausted)
	a, _ = s.Admit(ctx, "anthropic/claude-sonnet-4-5", 1)
	fmt.Println(a.PausedFor > 0, a.PauseCode)
	// Output:
	// true
	// true E2002 quota_exhausted
}

// Membership counts the live replicas of a group, each with a rank every
// replica sees alike.
func ExampleNewMemoryMembership() {
	m := shared.NewMemoryMembership()
	ctx := context.Background()
	_, _, _ = m.Join(ctx, "openai/gpt-4o", "replica-b", time.Minute)
	live, rank, _ := m.Join(ctx, "openai/gpt-4o", "replica-a", time.Minute)
	fmt.Println(live, rank)
	// Output: 2 0
}
