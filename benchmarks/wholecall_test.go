package benchmarks

import (
	"context"
	"testing"
)

// The bodies live in wholecall.go, next to the success-path ones, so that a
// command can run them with testing.Benchmark.
//
//	go test -run='^$' -bench=WholeCall -benchmem -count=5

func BenchmarkWholeCall(b *testing.B) {
	for _, name := range WholeCallContenders {
		b.Run(name, func(b *testing.B) { WholeCall(b, name) })
	}
}

func BenchmarkWholeCallDeadline(b *testing.B) {
	for _, name := range WholeCallContenders {
		b.Run(name, func(b *testing.B) { WholeCallDeadline(b, name) })
	}
}

func BenchmarkWholeCallParallel(b *testing.B) {
	for _, name := range WholeCallContenders {
		b.Run(name, func(b *testing.B) { WholeCallParallel(b, name) })
	}
}

func BenchmarkWholeCallNoNetwork(b *testing.B) {
	for _, name := range WholeCallContenders {
		b.Run(name, func(b *testing.B) { WholeCallNoNetwork(b, name) })
	}
}

// BenchmarkWholeCallInflight reports heap bytes and goroutines per call
// held in flight, 2 000 at once; run it once: -benchtime=1x.
func BenchmarkWholeCallInflight(b *testing.B) {
	for _, name := range WholeCallContenders {
		b.Run(name, func(b *testing.B) { WholeCallInflight(b, name, 2000) })
	}
}

// TestWholeCallContenders checks that every contender gets a proper
// answer from the stub, and that the stub sends the headers it should.
func TestWholeCallContenders(t *testing.T) {
	s := newStubOpenAI()
	defer s.srv.Close()
	tr := baseTransport()
	for _, name := range WholeCallContenders {
		c, err := newWholeCaller(name, s.srv.URL, tr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.call(context.Background()); err != nil {
			t.Errorf("%s: call error = %v", name, err)
		}
		c.closeIdle()
	}
	if n := len(OpenAIAnswerHeader()); n != 19 {
		t.Errorf("OpenAIAnswerHeader() has %d headers; want 13 ordinary and 6 x-ratelimit-*", n)
	}
}
