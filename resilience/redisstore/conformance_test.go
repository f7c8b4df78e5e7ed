package redisstore_test

import (
	"testing"
	"time"

	"github.com/ailib-go/ailib/resilience/redisstore"
	"github.com/ailib-go/ailib/resilience/shared"
	"github.com/ailib-go/ailib/resilience/sharedtest"
)

// The Redis limiter and state pass the same conformance suite as the
// in-process ones, so the executor sees one behaviour.

func TestLimiterConformance(t *testing.T) {
	c := testClient(t)
	sharedtest.TestLimiter(t, func(t *testing.T, rate, burst int) shared.Limiter {
		l, err := redisstore.NewLimiter(c, redisstore.Limit{Rate: rate, Period: time.Second, Burst: burst}, redisstore.WithPrefix(uniquePrefix(t)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}, sharedtest.Options{})
}

func TestStateConformance(t *testing.T) {
	c := testClient(t)
	sharedtest.TestState(t, func(t *testing.T) shared.State {
		s, err := redisstore.NewState(c, redisstore.WithPrefix(uniquePrefix(t)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, sharedtest.Options{})
}
