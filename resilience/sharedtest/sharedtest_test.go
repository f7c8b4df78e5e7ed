package sharedtest_test

import (
	"testing"

	"github.com/ailib-go/ailib/resilience/shared"
	"github.com/ailib-go/ailib/resilience/sharedtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryLimiter(t *testing.T) {
	sharedtest.TestLimiter(t, func(_ *testing.T, rate, burst int) shared.Limiter {
		return shared.NewMemoryLimiter(float64(rate), burst)
	}, sharedtest.Options{Synctest: true})
}

func TestMemoryState(t *testing.T) {
	sharedtest.TestState(t, func(*testing.T) shared.State {
		return shared.NewMemoryState()
	}, sharedtest.Options{Synctest: true})
}
