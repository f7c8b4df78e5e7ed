package resilience_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
)

// A Transport gives any HTTP client, such as an official SDK's, the
// executor's retries, breaker and limiter. Here the provider answers 503
// twice; the caller sees one successful response.
func ExampleNewTransport() {
	srv := providertest.NewServer() // a fault-injection provider on loopback
	defer srv.Close()
	srv.Script("gpt-4o", providertest.Unavailable(), providertest.Unavailable(), providertest.OK("Hello!"))

	cfg := resilience.DefaultConfig()
	cfg.Retry.InitialDelay = time.Millisecond // keep the example fast
	cfg.Retry.Jitter = 0
	exec, err := resilience.NewResilientExecutor(cfg,
		resilience.WithName("openai/gpt-4o"),
		resilience.WithHooks(resilience.Hooks{
			OnAttemptEnd: func(a resilience.AttemptEnd) {
				outcome := "ok"
				if a.Err != nil {
					outcome = aierrors.CodeOf(a.Err).Name()
				}
				fmt.Printf("attempt %d: %s\n", a.Attempt, outcome)
			},
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	// With an SDK: option.WithHTTPClient(hc) and its own retries off.
	hc := &http.Client{Transport: resilience.NewTransport(exec, nil)}
	defer hc.CloseIdleConnections()

	resp, err := hc.Post(srv.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, out.Choices[0].Message.Content)
	fmt.Println("provider requests:", srv.Requests("gpt-4o"))
	// Output:
	// attempt 1: overloaded
	// attempt 2: overloaded
	// attempt 3: ok
	// 200 Hello!
	// provider requests: 3
}
