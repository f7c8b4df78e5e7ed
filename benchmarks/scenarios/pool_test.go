package scenarios

import (
	"bytes"
	"testing"
	"testing/synctest"
)

// TestPoolScenarios plays issue 19's scenarios in synctest bubbles and
// asserts its bounds on ailib's pool, beside the ways users spread one
// model over keys today (logged, not asserted, except where a bound
// compares with them).
func TestPoolScenarios(t *testing.T) {
	for _, sc := range PoolScenarios() {
		t.Run(sc.ID, func(t *testing.T) {
			t.Parallel()
			var rows []PoolResult
			for _, c := range PoolContenders() {
				synctest.Test(t, func(t *testing.T) {
					rows = append(rows, RunPool(t.Context(), InProcess(), sc, c))
				})
			}
			var md bytes.Buffer
			PoolMarkdown(&md, InProcess(), sc, rows)
			t.Logf("\n%s", md.String())
			for _, msg := range PoolViolations(sc, rows[0], rows[1:]) {
				t.Errorf("%s: ailib pool: %s\n\t%s", sc.ID, msg, rows[0].Summary())
			}
		})
	}
}
