package scenarios_test

import (
	"context"
	"fmt"

	"github.com/ailib-go/ailib/benchmarks/scenarios"
)

// Play S4 (quota exhausted on the primary) with three calls through ailib,
// in-process: the first call asks the primary once, then falls back.
func ExampleRun() {
	sc, _ := scenarios.ByID("S4")
	sc = sc.WithCalls(3)
	for _, c := range scenarios.Contenders() {
		if c.Name != "ailib" {
			continue
		}
		r := scenarios.Run(context.Background(), scenarios.InProcess(), sc, c, scenarios.Options{Seed: 1})
		fmt.Printf("%s: %d of %d calls answered; the first call sent %d request(s) to the primary\n",
			r.Contender, r.OK, r.Calls, r.FirstPrimary)
	}
	// Output: ailib: 3 of 3 calls answered; the first call sent 1 request(s) to the primary
}
