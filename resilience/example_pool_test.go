package resilience_test

import (
	"context"
	"fmt"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

func ExampleNewPool() {
	member := func(name string) resilience.PoolMember {
		exec, err := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName(name))
		if err != nil {
			panic(err)
		}
		return resilience.PoolMember{Name: name, Executor: exec}
	}
	pool, err := resilience.NewPool("gpt-4o", []resilience.PoolMember{member("org-1"), member("org-2")})
	if err != nil {
		panic(err)
	}
	fmt.Println(pool.Name(), pool.Members())
	// Output: gpt-4o [org-1 org-2]
}

func ExamplePool_Execute() {
	var members []resilience.PoolMember
	for _, name := range []string{"east", "west"} {
		exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName(name))
		members = append(members, resilience.PoolMember{Name: name, Executor: exec})
	}
	pool, _ := resilience.NewPool("gpt-4o", members, resilience.WithHooks(resilience.Hooks{
		OnPoolSwitch: func(s resilience.PoolSwitch) {
			if s.From != "" {
				fmt.Printf("%s -> %s after %s\n", s.From, s.To, aierrors.CodeOf(s.Err).Name())
			}
		},
	}))
	// east answers 429: the attempt moves to west at once, without
	// waiting for east's Retry-After.
	err := pool.Execute(context.Background(), func(ctx context.Context, member string) error {
		if member == "east" {
			return &aierrors.Error{Code: aierrors.RateLimited, HTTPStatus: 429, RetryAfter: 20e9}
		}
		fmt.Println("answered by", member)
		return nil
	})
	fmt.Println(err)
	// Output:
	// east -> west after rate_limited
	// answered by west
	// <nil>
}

func ExamplePool_Signals() {
	exec, _ := resilience.NewResilientExecutor(resilience.DefaultConfig(), resilience.WithName("org-1"))
	pool, _ := resilience.NewPool("gpt-4o", []resilience.PoolMember{{Name: "org-1", Executor: exec, Weight: 2}})
	s := pool.Signals()
	fmt.Println(s.Pool, s.Ready, s.Available, s.Members[0].Target)
	// Output: gpt-4o 1 1 org-1
}
