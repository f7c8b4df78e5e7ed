// Command pool shows one model served by several deployments (keys,
// accounts, regions) behind one name: how calls are spread by the capacity
// each deployment shows, how a 429 or a revoked key moves a call to another
// deployment at once, and when the call falls back to another model.
//
//	go run ./examples/pool
//
// It runs offline against three embedded fault-injection providers
// (client/providertest), one per "region", each with a rate cap of its own
// that nobody tells the client. With real providers the code is the same
// with the real base URLs, and keys read from variables you name with
// Deployment.APIKeyEnv.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

const model = "gpt-4o"

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// regions are the deployments' names, in the order declared.
var regions = []string{"east", "west", "eu"}

// lesson is one client over three fresh embedded providers, plus an
// Anthropic fallback on a fourth.
type lesson struct {
	out      io.Writer
	srvs     map[string]*providertest.Server
	fallback *providertest.Server
	c        *client.AiClient
}

func newLesson(out io.Writer, title string, weights []float64) (*lesson, error) {
	fmt.Fprintln(out, title)
	l := &lesson{out: out, srvs: map[string]*providertest.Server{}, fallback: providertest.NewServer()}
	var deps []client.Deployment
	for i, r := range regions {
		srv := providertest.NewServer()
		srv.SetDefault(model, providertest.Answer{Status: http.StatusOK, Text: "Hi from " + r, Delay: 5 * time.Millisecond})
		l.srvs[r] = srv
		d := client.Deployment{Name: r, Model: "openai/" + model, BaseURL: srv.URL() + "/v1", APIKey: "sk-demo-" + r + "-000000000000"}
		if weights != nil {
			d.Weight = weights[i]
		}
		deps = append(deps, d)
	}
	l.fallback.SetDefault("claude-haiku-4-5", providertest.OK("Hi from Claude"))
	c, err := client.NewBuilder().
		IgnoreEnvironment().
		Pool("gpt", deps...).
		Model("gpt").
		Fallback("anthropic/claude-haiku-4-5").
		Provider("anthropic", client.ProviderConfig{BaseURL: l.fallback.URL() + "/v1", APIKey: "sk-ant-demo-0000000000"}).
		Hooks(resilience.Hooks{
			OnPoolSwitch: func(s resilience.PoolSwitch) {
				if s.From != "" {
					fmt.Fprintf(out, "    %s -> %s after %s\n", s.From, s.To, aierrors.CodeOf(s.Err).Name())
				}
			},
			OnFallback: func(h resilience.FallbackHop) {
				if h.From != "" && h.To != "" {
					fmt.Fprintf(out, "    fallback %s -> %s\n", h.From, h.To)
				}
			},
		}).
		Build()
	if err != nil {
		l.close()
		return nil, err
	}
	l.c = c
	return l, nil
}

func (l *lesson) close() {
	for _, s := range l.srvs {
		s.Close()
	}
	l.fallback.Close()
	fmt.Fprintln(l.out)
}

// ask makes one call and prints who answered.
func (l *lesson) ask(ctx context.Context) {
	resp, err := l.c.Chat(ctx, client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	if err != nil {
		fmt.Fprintf(l.out, "  error after %d requests: %v\n", client.AttemptsOf(err), err)
		return
	}
	fmt.Fprintf(l.out, "  %q after %d request(s)\n", resp.Content, resp.Attempts)
}

// load makes n calls at rate a second, all at once in flight as they come,
// and returns how many succeeded.
func (l *lesson) load(ctx context.Context, n int, rate float64) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for range n {
		<-tick.C
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if _, err := l.c.Chat(cctx, client.ChatRequest{Messages: []client.Message{client.User("Hi")}}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok
}

// served prints what each deployment answered.
func (l *lesson) served() {
	var parts []string
	limited := 0
	for _, r := range regions {
		st := l.srvs[r].Stats(model)
		parts = append(parts, fmt.Sprintf("%s %d", r, st.ByStatus[http.StatusOK]))
		limited += st.ByStatus[http.StatusTooManyRequests]
	}
	fmt.Fprintf(l.out, "  answered: %s; 429s: %d\n", strings.Join(parts, ", "), limited)
}

func run(out io.Writer) error {
	ctx := context.Background()

	// 1. Capacity: east takes 12 requests a second, west 6, eu 3; nobody
	// says so. 60 calls at 18 a second: the pool learns each cap from
	// the first 429s and spreads the calls to fit.
	l, err := newLesson(out, "1. Three deployments with unequal, unstated caps (12/6/3 rps), 18 calls/s", nil)
	if err != nil {
		return err
	}
	caps := map[string]float64{"east": 12, "west": 6, "eu": 3}
	for _, r := range regions {
		l.srvs[r].SetRateLimitStyle(model, caps[r], 2, providertest.RateLimitBare)
	}
	ok := l.load(ctx, 60, 18)
	fmt.Fprintf(out, "  %d of 60 calls succeeded\n", ok)
	l.served()
	l.close()

	// 2. A 429 on one deployment: the attempt goes to the next at once.
	l, err = newLesson(out, "2. A 429 moves the call to another deployment at once", nil)
	if err != nil {
		return err
	}
	l.srvs["east"].Script(model, providertest.RateLimited(2*time.Second))
	start := time.Now()
	l.ask(ctx)
	fmt.Fprintf(out, "  no Retry-After sleep: the call took %v\n", time.Since(start).Round(100*time.Millisecond))
	l.close()

	// 3. west's key is revoked: one 401, then the pool keeps away from it.
	l, err = newLesson(out, "3. A revoked key cools its deployment only", nil)
	if err != nil {
		return err
	}
	l.srvs["west"].SetDefault(model, providertest.InvalidAPIKey())
	for range 6 {
		l.ask(ctx)
	}
	s, _ := l.c.Signals("openai/gpt-4o#west")
	fmt.Fprintf(out, "  west answered 401 %d time(s); cooling down for %v (%s)\n",
		l.srvs["west"].Stats(model).ByStatus[http.StatusUnauthorized], s.Circuit.CooldownFor.Round(time.Minute), s.Circuit.CooldownReason.Name())
	l.close()

	// 4. Every deployment is out of quota: then, and only then, the
	// fallback model.
	l, err = newLesson(out, "4. Every deployment out of quota: the fallback", nil)
	if err != nil {
		return err
	}
	for _, r := range regions {
		l.srvs[r].SetDefault(model, providertest.InsufficientQuota())
	}
	l.ask(ctx)
	l.ask(ctx)
	ps, _ := l.c.PoolSignals("gpt")
	fmt.Fprintf(out, "  pool: %d of %d deployments available\n", ps.Available, len(ps.Members))
	l.close()

	// 5. Weights, with capacity to spare.
	l, err = newLesson(out, "5. Weights 3:1:1", []float64{3, 1, 1})
	if err != nil {
		return err
	}
	for range 50 {
		if _, err := l.c.Chat(ctx, client.ChatRequest{Messages: []client.Message{client.User("Hi")}}); err != nil {
			return err
		}
	}
	l.served()
	l.close()
	return nil
}
