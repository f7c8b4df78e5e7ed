package resilience

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// Defaults of hedging (see [HedgeConfig]).
const (
	// DefaultMaxHedges is the number of hedges per attempt.
	DefaultMaxHedges = 1
	// hedgeSamples is the size of the ring of recent successful attempt
	// durations the percentile is read from; hedgeMinSamples the number it
	// must hold before the percentile replaces Delay.
	hedgeSamples    = 128
	hedgeMinSamples = 20
)

// HedgeConfig turns on hedging for [Do] and [ResilientExecutor.Execute]:
// when an attempt has not answered after a delay, a second one (a hedge)
// is sent to the same target, and the first answer to succeed is kept; the
// others are cancelled (their ctx ends, so their op must return and close
// what it opened; the breaker ignores them as cancelled) and waited for, so
// no goroutine outlives the call. Each hedge goes through admission like
// any attempt (circuit, rate token, permit) and counts against the retry
// budget (RetryConfig.BudgetPercent): when the budget is spent, no hedge
// is sent. An attempt that fails before its hedge is sent is retried as
// usual; one that fails while a hedge runs waits for the hedge.
//
// Hedging applies to calls whose op may run more than once at the same
// time: Execute and Do run op concurrently with itself. [DoStream] never
// hedges (a stream's first answer is only its headers).
type HedgeConfig struct {
	// Delay is how long an attempt runs before a hedge is sent, and the
	// delay used until Percentile has enough samples; > 0.
	Delay time.Duration
	// Percentile, in (0, 1), makes the delay the given percentile of the
	// target's recent successful attempt durations (the last 128; once 20
	// are known), such as 0.95: a hedge then goes for the slowest 5% of
	// attempts, whatever the target's usual latency. 0 = always Delay.
	Percentile float64
	// MaxHedges is the number of hedges per attempt, each sent a delay
	// after the previous one; 0 = DefaultMaxHedges.
	MaxHedges int
}

// hedger is the resolved HedgeConfig and its latency ring.
type hedger struct {
	delay      time.Duration
	percentile float64
	maxHedges  int

	mu   sync.Mutex // guards ring and n
	ring [hedgeSamples]time.Duration
	n    int // samples recorded, total
}

func newHedger(c *HedgeConfig) *hedger {
	if c == nil {
		return nil
	}
	return &hedger{delay: c.Delay, percentile: c.Percentile, maxHedges: orInt(c.MaxHedges, DefaultMaxHedges)}
}

func (h *hedger) record(d time.Duration) {
	h.mu.Lock()
	h.ring[h.n%hedgeSamples] = d
	h.n++
	h.mu.Unlock()
}

// currentDelay is the hedge delay now.
func (h *hedger) currentDelay() time.Duration {
	if h.percentile <= 0 {
		return h.delay
	}
	h.mu.Lock()
	n := min(h.n, hedgeSamples)
	if n < hedgeMinSamples {
		h.mu.Unlock()
		return h.delay
	}
	s := slices.Clone(h.ring[:n])
	h.mu.Unlock()
	slices.Sort(s)
	i := int(math.Ceil(h.percentile*float64(n))) - 1
	return max(s[min(max(i, 0), n-1)], time.Millisecond)
}

// hedgeResult is what one of the concurrent attempts did.
type hedgeResult struct {
	slot int
	ae   *aierrors.Error
	err  error
	d    time.Duration
}

// hedgedAttempt runs attempt n with hedges: op(ctx, slot) for slot 0, and
// for slots 1..MaxHedges after each delay. It returns the winning slot, or
// the error to retry on (the first attempt's, unless only a hedge failed
// last). Every attempt started has returned when it returns.
func (e *ResilientExecutor) hedgedAttempt(ctx context.Context, n int, op func(ctx context.Context, slot int) error, cost int) (int, *aierrors.Error, error) {
	h := e.hedge
	results := make(chan hedgeResult, 1+h.maxHedges)
	cancels := make([]context.CancelFunc, 0, 1+h.maxHedges)
	launch := func(slot int, hedge bool) {
		actx, cancel := context.WithCancel(ctx)
		cancels = append(cancels, cancel)
		go func() {
			start := time.Now()
			if hedge {
				defer e.budget.releaseRetry()
			}
			ae, err := e.attemptCost(actx, n, func(ctx context.Context) error { return op(ctx, slot) }, cost)
			results <- hedgeResult{slot: slot, ae: ae, err: err, d: time.Since(start)}
		}()
	}
	cancelAll := func() {
		for _, c := range cancels {
			c()
		}
	}
	defer cancelAll()
	launch(0, false)
	pending, sent := 1, 0
	timer := time.NewTimer(h.currentDelay())
	defer timer.Stop()
	var last hedgeResult
	for pending > 0 {
		select {
		case r := <-results:
			pending--
			if r.err == nil {
				h.record(r.d)
				cancelAll()
				for ; pending > 0; pending-- {
					<-results // the losers: cancelled, their outcome ignored
				}
				return r.slot, nil, nil
			}
			if r.slot == 0 || last.err == nil {
				last = r
			}
		case <-timer.C:
			if sent >= h.maxHedges || ctx.Err() != nil {
				continue
			}
			if !e.budget.acquire() {
				e.reportBudget(ctx, n, true)
				sent = h.maxHedges // the budget is spent: no more hedges for this attempt
				continue
			}
			sent++
			pending++
			launch(sent, true)
			timer.Reset(h.currentDelay())
		}
	}
	return last.slot, last.ae, last.err
}
