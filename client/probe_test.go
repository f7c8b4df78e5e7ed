package client_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// halfOpen returns a client of one target whose circuit three 503s opened
// and whose cooldown has passed: the next call is its probe.
func halfOpen(t *testing.T, srv *providertest.Server) *client.AiClient {
	t.Helper()
	srv.Script("gpt-4o", providertest.Unavailable(), providertest.Unavailable(), providertest.Unavailable())
	c := build(t, inProcess(srv).Model("openai/gpt-4o").Resilience(only(resilience.ResilientConfig{
		CircuitBreaker: &resilience.CircuitBreakerConfig{FailureThreshold: 3, Cooldown: time.Second},
	})))
	for range 3 {
		c.Chat(t.Context(), hi())
	}
	time.Sleep(2 * time.Second)
	return c
}

// slowChunks is a stream of four pieces, a second apart.
func slowChunks() providertest.Answer {
	a := providertest.OKChunks("a ", "b ", "c ", "d")
	a.ChunkDelay = time.Second
	return a
}

// TestAStreamProbeDoesNotHoldTheTarget: a stream that is the circuit's
// probe answers it when it opens. Before, it held the probe slot until it
// ended: a caller reading it that called the same target (to moderate each
// piece, say) waited for itself for ever, as did every other call without
// a deadline.
func TestAStreamProbeDoesNotHoldTheTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		c := halfOpen(t, srv)
		srv.SetDefault("gpt-4o", providertest.OKChunks("a ", "b ", "c"))
		s, err := c.Stream(t.Context(), hi()) // the probe; the provider answers
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for s.Next() {
			if _, err := c.Chat(t.Context(), hi()); err != nil {
				t.Fatalf("Chat while the probe's stream is read = %v; want an answer", err)
			}
		}
		if s.Err() != nil {
			t.Errorf("stream error = %v", s.Err())
		}
	})
}

// TestCancelledStreamGivesBackItsPermit: a caller that cancels the ctx of
// a stream it never closes gives back the stream's in-flight permit (and
// anything else the attempt held); before, the permit was held for ever.
func TestCancelledStreamGivesBackItsPermit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", slowChunks())
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Resilience(only(resilience.ResilientConfig{
			Backpressure: &resilience.BackpressureConfig{MaxInflight: 1},
		})))
		ctx, cancel := context.WithCancel(t.Context())
		s, err := c.Stream(ctx, hi())
		if err != nil {
			t.Fatal(err)
		}
		s.Next()
		if n := c.SignalsSnapshot().CurrentInflight; n != 1 {
			t.Fatalf("in flight while the stream is open = %d; want 1", n)
		}
		cancel() // the caller gives up; Close is never called
		synctest.Wait()
		if n := c.SignalsSnapshot().CurrentInflight; n != 0 {
			t.Errorf("in flight once the stream's ctx ended = %d; want 0", n)
		}
		srv.SetDefault("gpt-4o", providertest.OK("fine"))
		if _, err := c.Chat(t.Context(), hi()); err != nil {
			t.Errorf("Chat after the abandoned stream = %v; want an answer", err)
		}
		if s.Next() || s.Err() == nil {
			t.Errorf("Next after the ctx ended = true or no error (%v); want the cancellation", s.Err())
		}
	})
}

// TestCancelledStreamAttemptSaysCancelled: the attempt of a stream whose
// ctx ends while Next waits ends as the stream does, cancelled: not as a
// success (which would feed the rate learning and the retry budget, and
// keep the tokens estimated). The ctx's watch finishes it first.
func TestCancelledStreamAttemptSaysCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := providertest.New()
		srv.SetDefault("gpt-4o", slowChunks())
		var ends []error
		c := build(t, inProcess(srv).Model("openai/gpt-4o").Resilience(only(resilience.ResilientConfig{})).
			Hooks(resilience.Hooks{OnAttemptEnd: func(e resilience.AttemptEnd) { ends = append(ends, e.Err) }}))
		ctx, cancel := context.WithCancelCause(t.Context())
		s, err := c.Stream(ctx, hi())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Next()
		time.AfterFunc(500*time.Millisecond, func() { cancel(errCallerGaveUp) })
		for s.Next() {
		}
		if !errors.Is(s.Err(), aierrors.Cancelled) {
			t.Fatalf("stream Err = %v; want Cancelled", s.Err())
		}
		synctest.Wait()
		if len(ends) != 1 || !errors.Is(ends[0], aierrors.Cancelled) {
			t.Errorf("OnAttemptEnd errors = %v; want one Cancelled", ends)
		}
	})
}
