// Command fallback shows how an AiClient moves across providers: which
// failures make it move on, which do not, and how an open circuit keeps
// calls away from a provider that is down.
//
//	go run ./examples/fallback
//
// It runs offline against an embedded fault-injection provider
// (client/providertest) serving three targets in two wire formats. With
// real providers the code is the same without BaseURL and the keys in code:
// the keys then come from OPENAI_API_KEY, GROQ_API_KEY and
// ANTHROPIC_API_KEY.
//
// Each lesson gets a fresh client (and a fresh embedded provider), because
// a client remembers: after step 1 the primary cools down for 60s (quota
// exhausted), and a later step on the same client would never reach it.
// Steps 4 and 5 share one client on purpose: step 5 is what step 4 leaves.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

const (
	primary  = "gpt-4o"
	groq     = "llama-3.3-70b-versatile"
	fallback = "claude-haiku-4-5"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// lesson is one client on one embedded provider whose other targets answer.
type lesson struct {
	out io.Writer
	srv *providertest.Server
	c   *client.AiClient
}

// newLesson starts a provider and builds a client on it: openai/gpt-4o,
// then groq, then anthropic.
func newLesson(out io.Writer, title string) (*lesson, error) {
	fmt.Fprintln(out, title)
	srv := providertest.NewServer()
	srv.SetDefault(groq, providertest.OK("Hi from Llama on Groq"))
	srv.SetDefault(fallback, providertest.OK("Hi from Claude"))

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay, cfg.Retry.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	cfg.CircuitBreaker.FailureThreshold = 2 // the primary gets one retry (a fallback follows): its two failures open it

	c, err := client.NewBuilder().
		Model("openai/"+primary).
		Fallback("groq/"+groq, "anthropic/"+fallback).
		IgnoreEnvironment().
		Provider("openai", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-demo-openai-0000000000"}).
		Provider("groq", client.ProviderConfig{BaseURL: srv.URL() + "/openai/v1", APIKey: "gsk_demo000000000000000000"}).
		Provider("anthropic", client.ProviderConfig{BaseURL: srv.URL() + "/v1", APIKey: "sk-ant-demo-0000000000"}).
		Resilience(cfg).
		Hooks(resilience.Hooks{
			OnFallback: func(h resilience.FallbackHop) {
				if h.From == "" || h.To == "" {
					return
				}
				why := aierrors.CodeOf(h.Err).Name()
				switch {
				case errors.Is(h.Err, resilience.ErrCircuitOpen):
					why = "circuit open"
				case errors.Is(h.Err, resilience.ErrTargetPaused):
					why += ", cooling down"
				case errors.Is(h.Err, aierrors.Authentication):
					why += "; the error reads: " + h.Err.Error()
				}
				fmt.Fprintf(out, "    fallback %s -> %s (%s)\n", h.From, h.To, why)
			},
			OnRetry: func(r resilience.RetryScheduled) {
				fmt.Fprintf(out, "    retry %s after %s\n", r.Target, aierrors.CodeOf(r.Err).Name())
			},
			OnStateChange: func(s resilience.StateChange) {
				fmt.Fprintf(out, "    circuit of %s: %s -> %s\n", s.Target, s.From, s.To)
			},
		}).
		Build()
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &lesson{out: out, srv: srv, c: c}, nil
}

func (l *lesson) close() {
	l.c.CloseIdleConnections()
	l.srv.Close()
}

// call makes one chat call and prints how it ended and how many requests
// reached the primary.
func (l *lesson) call(label string) {
	before := l.srv.Requests(primary)
	resp, err := l.c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hello")}})
	toPrimary := l.srv.Requests(primary) - before
	if err != nil {
		var ae *aierrors.Error
		errors.As(err, &ae)
		fmt.Fprintf(l.out, "  %serror after %s: %s from %s/%s\n    %v\n", label, requests(client.AttemptsOf(err)), ae.Code, ae.Provider, ae.Model, err)
		return
	}
	fmt.Fprintf(l.out, "  %s%q from %s/%s after %s (%s to the primary)\n", label, resp.Content, resp.Provider, resp.Model,
		requests(resp.Attempts), requests(toPrimary))
}

// run tells the lessons, each on its own client.
func run(out io.Writer) error {
	l, err := newLesson(out, "1. The primary is out of quota: no retry (it would not help), straight to the next target.")
	if err != nil {
		return err
	}
	l.srv.Script(primary, providertest.InsufficientQuota())
	l.call("")
	fmt.Fprintln(out, "   The primary now cools down (60s after quota_exhausted): the next call does not ask it.")
	l.call("")
	cool := l.c.SignalsSnapshot().Circuit
	fmt.Fprintf(out, "   primary cooling down for %v more, because of %v\n", cool.CooldownFor.Round(time.Second), cool.CooldownReason)
	l.close()

	if l, err = newLesson(out, "\n2. A 503 on the primary is retried on the same target first (a fresh client)."); err != nil {
		return err
	}
	l.srv.Script(primary, providertest.Unavailable(), providertest.OK("Hi from GPT-4o"))
	l.call("")
	l.close()

	if l, err = newLesson(out, "\n3. A request that is too large fails at once: another provider would refuse it too."); err != nil {
		return err
	}
	l.srv.Script(primary, providertest.ContextLengthExceeded())
	l.call("")
	l.close()

	if l, err = newLesson(out, "\n4. The primary goes down (its circuit opens after 2 failures) and Groq rejects the key\n   (it echoes the key back; ailib masks it):"); err != nil {
		return err
	}
	l.srv.SetDefault(primary, providertest.Unavailable())
	l.srv.Script(groq, providertest.InvalidAPIKey())
	l.call("")

	fmt.Fprintln(out, "\n5. The primary stays down: while its circuit is open, calls skip it without sending it anything")
	fmt.Fprintln(out, "   (the same client; Groq is skipped too: it cools down for 5m after the authentication failure).")
	for i := range 3 {
		l.call(fmt.Sprintf("call %d: ", i+1))
		fmt.Fprintf(out, "    primary's circuit: %s\n", l.c.SignalsSnapshot().CircuitState)
	}
	l.close()

	if l, err = newLesson(out, "\n6. Every target fails: the error names each target, and the last target's error decides\n   (errors.Is and aierrors.CodeOf answer for it)."); err != nil {
		return err
	}
	l.srv.SetDefault(primary, providertest.InsufficientQuota())
	l.srv.SetDefault(groq, providertest.Unavailable())
	l.srv.SetDefault(fallback, providertest.AnthropicOverloaded())
	_, err = l.c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hello")}})
	fmt.Fprintf(out, "  error after %s: %v\n", requests(client.AttemptsOf(err)), err)
	fmt.Fprintf(out, "  aierrors.CodeOf(err) = %v; errors.Is(err, aierrors.QuotaExhausted) = %v (only the primary was out of quota)\n",
		aierrors.CodeOf(err), errors.Is(err, aierrors.QuotaExhausted))
	l.close()
	return nil
}

func requests(n int) string {
	if n == 1 {
		return "1 request"
	}
	return fmt.Sprintf("%d requests", n)
}
