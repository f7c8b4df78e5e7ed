package resilience

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/sony/gobreaker/v2"
)

// CircuitState is the state of a target's circuit.
type CircuitState uint8

// The circuit states.
const (
	StateClosed   CircuitState = iota // calls flow; counted failures accumulate
	StateOpen                         // calls are rejected at once until the cooldown ends
	StateHalfOpen                     // a fixed number of probes are admitted, the rest rejected
)

// String returns "closed", "open" or "half_open".
func (s CircuitState) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half_open"
	}
	return "CircuitState(" + strconv.Itoa(int(s)) + ")"
}

// outcome is what an attempt says about the provider's health.
type outcome uint8

const (
	outcomeSuccess outcome = iota
	outcomeFailure         // a provider-health failure: counts toward opening
	outcomeIgnored         // neither: client errors, quota, cancellation, local rejections
)

var (
	errCounted = errors.New("resilience: counted failure")
	errIgnored = errors.New("resilience: ignored outcome")
)

func (o outcome) err() error {
	switch o {
	case outcomeFailure:
		return errCounted
	case outcomeIgnored:
		return errIgnored
	}
	return nil
}

// CircuitBreaker is a target's circuit: gobreaker v2's two-step breaker
// (state machine, half_open probe slots, rolling counts over the window),
// plus what gobreaker does not do, written here:
//
//   - the open interval grows: gobreaker's Timeout is fixed, so it is the
//     first interval (Cooldown) and the breaker holds the circuit open
//     beyond it, doubling per failed probe up to MaxCooldown;
//   - hooks run after gobreaker's lock is released (its OnStateChange runs
//     under the lock, where a hook calling State would deadlock);
//   - a fast path: while the circuit is closed and its window holds no
//     failure, a success changes nothing gobreaker decides on (the
//     consecutive count is already 0 and the failure rate is 0), so it is
//     not sent through gobreaker's lock; the successes skipped are counted
//     and handed to gobreaker when the first failure arrives, so the
//     failure rate still sees them (TestBreakerFastPathMatchesGobreaker
//     checks the consecutive rule step by step against gobreaker fed every
//     outcome; see maxSkipped for the one approximation of the rate rule).
//
// A CircuitBreaker is safe for concurrent use and starts no goroutine.
// Build it with [NewCircuitBreaker]; a nil *CircuitBreaker is always closed.
type CircuitBreaker struct {
	cb               *gobreaker.TwoStepCircuitBreaker[struct{}]
	target           string
	hooks            Hooks
	logger           *slog.Logger
	cooldown         time.Duration
	waitedGap        time.Duration // min(cooldown, waitedProbeGap): see probeSooner
	maxCooldown      time.Duration
	maxProbes        uint32
	threshold        uint32
	rate             float64
	minRequests      uint32
	countRateLimited bool

	clean        atomic.Bool   // closed, no failure in the window: the fast path is on
	skipped      atomic.Int64  // successes not sent to gobreaker while clean (capped)
	failedProbes atomic.Int32  // failed probes since the circuit last closed
	holdUntil    atomic.Int64  // Unix ns the open interval ends; 0 when not open
	openedAt     atomic.Int64  // Unix ns the circuit last opened
	opens        atomic.Uint64 // times opened: tells open intervals apart (openedAt, wall clock, may repeat)
	opened       atomic.Pointer[chan struct{}]

	mu      sync.Mutex // guards pending, lastTo and firing
	pending []StateChange
	lastTo  CircuitState // the state the last change queued went to
	firing  bool
}

// NewCircuitBreaker returns a breaker usable on its own (the executor
// builds its own). A zero field of cfg takes its default.
func NewCircuitBreaker(cfg CircuitBreakerConfig, opts ...Option) (*CircuitBreaker, error) {
	if err := (ResilientConfig{CircuitBreaker: &cfg}).validate(); err != nil {
		return nil, err
	}
	return newCircuitBreaker(cfg, buildOptions(opts)), nil
}

func newCircuitBreaker(cfg CircuitBreakerConfig, o options) *CircuitBreaker {
	b := &CircuitBreaker{
		target:           o.name,
		hooks:            o.hooks,
		logger:           o.logger,
		cooldown:         or(cfg.Cooldown, defaultCooldown),
		maxProbes:        uint32(or(cfg.HalfOpenMaxRequests, defaultHalfOpenMaxRequests)),
		threshold:        uint32(or(cfg.FailureThreshold, defaultFailureThreshold)),
		rate:             or(cfg.FailureRateThreshold, defaultFailureRateThreshold),
		minRequests:      uint32(max(or(cfg.MinRequests, defaultMinRequests), 1)),
		countRateLimited: cfg.CountRateLimited,
	}
	b.maxCooldown = max(or(cfg.MaxCooldown, defaultMaxCooldown), b.cooldown)
	b.waitedGap = min(b.cooldown, waitedProbeGap)
	window := or(cfg.Window, defaultWindow)
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:          o.name,
		MaxRequests:   b.maxProbes,
		Interval:      window,
		BucketPeriod:  window / 10,
		Timeout:       max(b.waitedGap-1, 1), // gobreaker opens on expiry.Before(now): half_open exactly when the hold ends (held longer by holdUntil)
		ReadyToTrip:   b.readyToTrip,
		IsExcluded:    func(err error) bool { return err == errIgnored },
		OnStateChange: b.onStateChange,
	})
	ch := make(chan struct{})
	b.opened.Store(&ch)
	b.clean.Store(true)
	return b
}

func (b *CircuitBreaker) readyToTrip(c gobreaker.Counts) bool {
	if c.ConsecutiveFailures >= b.runToTrip(c) {
		return true
	}
	n := c.TotalSuccesses + c.TotalFailures
	return n >= b.minRequests && float64(c.TotalFailures) >= b.rate*float64(n)
}

// A run of failures opens the circuit when it is too long to be chance at
// the share of attempts that failed before it in the window: noise is told
// from an outage by how often the target failed while it was up. The run
// needed is the shortest whose chance at that share, p^k, is at most
// tripRunChance, with p estimated as (failed + 1) / (attempts + 2) (so
// with little counted it stays near a half, and the threshold holds) and
// taken as tripMinShare at least; never more than FailureThreshold. A
// target that failed 30% of its attempts needs 12 in a row (the default
// threshold, 11, caps it: 0.3^11 over 4 000 attempts is one trip in 140
// plays of issue 20's S1); one that failed a tenth or less, 6. Against a
// primary that went down after answering, 11 consecutive failures put 12
// requests into a 6s outage with its probe, the bound exactly, and
// more with answers that take time (the requests still out when the 11th
// failed); 6 leave room. (gobreaker keeps the window's counts; the rule
// reads them in ReadyToTrip.)
const (
	tripRunChance = 1e-6
	tripMinShare  = 0.1
)

// runToTrip is how many consecutive failures open the circuit, given the
// window's counts c (see tripRunChance).
func (b *CircuitBreaker) runToTrip(c gobreaker.Counts) uint32 {
	failed := c.TotalFailures - c.ConsecutiveFailures
	before := c.TotalSuccesses + failed
	p := max((float64(failed)+1)/(float64(before)+2), tripMinShare)
	k := math.Ceil(math.Log(tripRunChance) / math.Log(p))
	if k >= float64(b.threshold) {
		return b.threshold
	}
	return uint32(max(k, 1))
}

// onStateChange runs under gobreaker's lock: it only stores and queues.
func (b *CircuitBreaker) onStateChange(_ string, from, to gobreaker.State) {
	now := time.Now()
	switch to {
	case gobreaker.StateOpen:
		k := 0
		if from == gobreaker.StateHalfOpen {
			k = int(b.failedProbes.Add(1))
		}
		d := b.cooldown << min(k, 30)
		if d > b.maxCooldown || d <= 0 {
			d = b.maxCooldown
		}
		b.openedAt.Store(now.UnixNano())
		b.holdUntil.Store(now.Add(d).UnixNano())
		b.opens.Add(1)
		b.clean.Store(false)
		ch := make(chan struct{})
		close(*b.opened.Swap(&ch))
	case gobreaker.StateClosed:
		b.failedProbes.Store(0)
		b.holdUntil.Store(0)
		b.skipped.Store(0)
		b.clean.Store(true)
	case gobreaker.StateHalfOpen:
		if b.cooldownAt(now) > 0 {
			return // still held open: reported when the hold ends (sayHalfOpen)
		}
	}
	b.queue(StateChange{Target: b.target, From: fromGobreaker(from), To: fromGobreaker(to)})
}

// queue adds ev to the changes to report. A change from half_open whose
// open → half_open was held back and not yet reported (see sayHalfOpen)
// has that change reported first: the changes reported always form a
// chain, each from the state the one before went to.
func (b *CircuitBreaker) queue(ev StateChange) {
	b.mu.Lock()
	b.queueLocked(ev)
	b.mu.Unlock()
}

func (b *CircuitBreaker) queueLocked(ev StateChange) {
	if ev.From != b.lastTo {
		b.pending = append(b.pending, StateChange{Target: b.target, From: b.lastTo, To: ev.From})
	}
	b.pending = append(b.pending, ev)
	b.lastTo = ev.To
}

func fromGobreaker(s gobreaker.State) CircuitState {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// flush reports queued state changes, outside gobreaker's lock, in order,
// from one goroutine at a time.
func (b *CircuitBreaker) flush() {
	b.mu.Lock()
	if b.firing || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	b.firing = true
	for len(b.pending) > 0 {
		batch := b.pending
		b.pending = nil
		b.mu.Unlock()
		for _, ev := range batch {
			if b.logger != nil {
				b.logger.LogAttrs(context.Background(), slog.LevelWarn, "resilience: circuit state change",
					slog.String("target", ev.Target), slog.String("from", ev.From.String()), slog.String("to", ev.To.String()))
			}
			if b.hooks.OnStateChange != nil {
				b.hooks.OnStateChange(ev)
			}
		}
		b.mu.Lock()
	}
	b.firing = false
	b.mu.Unlock()
}

// State returns the circuit's state now: open while the (grown) open
// interval lasts, even after gobreaker's own Timeout.
func (b *CircuitBreaker) State() CircuitState {
	if b == nil {
		return StateClosed
	}
	s := b.stateAt(time.Now())
	b.flush()
	return s
}

func (b *CircuitBreaker) stateAt(now time.Time) CircuitState {
	if b.clean.Load() {
		return StateClosed
	}
	opens := b.opens.Load()
	s := fromGobreaker(b.cb.State())
	if s != StateClosed && b.cooldownAt(now) > 0 {
		return StateOpen
	}
	if s == StateHalfOpen {
		b.sayHalfOpen(opens) // what State returns, the hooks have been told
	}
	return s
}

// sayHalfOpen reports open → half_open when the change becomes real
// after the grown interval held it back (gobreaker turned half_open at its
// fixed Timeout, unreported; see onStateChange), unless it was reported.
// opens is b.opens as read before gobreaker's state was: a circuit that
// has opened again since (its probe failed) is open, and the stale
// half_open is not reported (if that circuit's next half_open is missed
// here, queue reports it before the change that leaves it).
func (b *CircuitBreaker) sayHalfOpen(opens uint64) {
	b.mu.Lock()
	if b.opens.Load() == opens && b.lastTo == StateOpen {
		b.queueLocked(StateChange{Target: b.target, From: StateOpen, To: StateHalfOpen})
	}
	b.mu.Unlock()
}

// cooldownAt is what is left of the open interval at now.
func (b *CircuitBreaker) cooldownAt(now time.Time) time.Duration {
	if u := b.holdUntil.Load(); u > now.UnixNano() {
		return time.Duration(u - now.UnixNano())
	}
	return 0
}

// openCh is closed when the circuit next opens: a backoff sleep selects on
// it so that a call does not sleep toward an open circuit.
func (b *CircuitBreaker) openCh() <-chan struct{} {
	if b == nil {
		return nil
	}
	return *b.opened.Load()
}

// check is step 1 of an attempt: a rejection while the circuit is open,
// without waiting for anything. Probe slots are taken later, by allow.
func (b *CircuitBreaker) check(clk *clock) *aierrors.Error {
	if b == nil || b.clean.Load() {
		return nil
	}
	if d := b.cooldownAt(clk.now()); d > 0 {
		return b.openError(d)
	}
	if b.cb.State() == gobreaker.StateOpen {
		return b.openError(0)
	}
	return nil
}

// waitedProbeGap is how soon after the circuit opened a call with
// nowhere else to go brings its next probe (probeSooner), when the
// configured Cooldown is longer.
const waitedProbeGap = time.Second

// probeSooner is asked by a call that has nowhere else to go and waits
// for the circuit's next probe ([WithNoFallback]). The open interval is
// long, and grows, to spare the provider probes nobody needs: with a
// fallback serving meanwhile, a probe buys only an earlier return. A call
// that waits needs one: every second between the recovery and the next
// probe fails the calls whose deadline falls in it. So the probe is
// brought forward to waitedProbeGap (or Cooldown, when shorter) after
// the circuit opened: one request per second while such calls wait,
// against a retry loop's every call. It returns what is left of the open
// interval then.
func (b *CircuitBreaker) probeSooner(now time.Time) time.Duration {
	if b == nil {
		return 0
	}
	soonest := max(b.openedAt.Load()+int64(b.waitedGap), now.UnixNano())
	for {
		u := b.holdUntil.Load()
		if u <= soonest || b.holdUntil.CompareAndSwap(u, soonest) {
			break
		}
	}
	return b.cooldownAt(now)
}

func (b *CircuitBreaker) openError(left time.Duration) *aierrors.Error {
	msg := "circuit open"
	if left == 0 {
		msg = "circuit half_open: every probe slot taken"
	}
	return rejection(b.target, aierrors.Overloaded, ErrCircuitOpen, left, msg)
}

// ticket is a breaker admission: gobreaker's done func, or the fast path.
type ticket struct {
	done  func(error) // nil on the fast path
	probe bool        // admitted half_open: the attempt is the circuit's probe
}

// allow is step 4: gobreaker's admission (a half_open probe slot is taken
// here), or the fast path while clean.
func (b *CircuitBreaker) allow(clk *clock) (ticket, *aierrors.Error) {
	if b == nil || b.clean.Load() {
		return ticket{}, nil
	}
	now := clk.now()
	if d := b.cooldownAt(now); d > 0 {
		return ticket{}, b.openError(d)
	}
	opens := b.opens.Load()
	done, err := b.cb.Allow()
	probe := err == nil && b.cb.State() == gobreaker.StateHalfOpen
	if probe {
		b.sayHalfOpen(opens)
	}
	b.flush()
	if err != nil {
		return ticket{}, b.openError(b.cooldownAt(now))
	}
	return ticket{done: done, probe: probe}, nil
}

// maxSkipped caps the successes remembered on the fast path. They are
// handed to gobreaker when the first failure arrives, all in the current
// bucket: they then leave the window up to one Window later than they
// would have, so the failure rate can only read lower than gobreaker's own
// for that long (the consecutive rule is exact). Past the cap the rate
// could no more reach a threshold before the consecutive rule decides.
func (b *CircuitBreaker) maxSkipped() int64 { return 16 * int64(b.minRequests) }

// record is step 8: the outcome of an admitted attempt.
func (b *CircuitBreaker) record(t ticket, o outcome) {
	if b == nil {
		return
	}
	if t.done != nil {
		t.done(o.err())
		if o == outcomeSuccess {
			b.maybeClean()
		}
		b.flush()
		return
	}
	switch o {
	case outcomeSuccess:
		if b.clean.Load() {
			if b.skipped.Load() < b.maxSkipped() {
				b.skipped.Add(1)
			}
			return
		}
		// The circuit left the fast path while this attempt ran.
		if b.cb.State() == gobreaker.StateClosed {
			if done, err := b.cb.Allow(); err == nil {
				done(nil)
			}
			b.maybeClean()
		}
	case outcomeFailure:
		if b.clean.CompareAndSwap(true, false) {
			for n := b.skipped.Swap(0); n > 0; n-- {
				if done, err := b.cb.Allow(); err == nil {
					done(nil)
				}
			}
		}
		// An attempt admitted while the circuit was clean belongs to the
		// closed circuit, as gobreaker's generations make its own
		// attempts belong to theirs: failing after the circuit opened,
		// it says nothing of the provider now, and counted in half_open
		// it would be taken for a failed probe (and grow the interval).
		if b.cb.State() == gobreaker.StateClosed {
			if done, err := b.cb.Allow(); err == nil {
				done(errCounted)
			}
		}
	}
	b.flush()
}

// maybeClean turns the fast path back on once the window holds no failure.
func (b *CircuitBreaker) maybeClean() {
	if b.cb.State() != gobreaker.StateClosed {
		return
	}
	if c := b.cb.Counts(); c.TotalFailures == 0 && c.ConsecutiveFailures == 0 {
		b.clean.Store(true)
	}
}

// outcomeOf is what an attempt that ended with ae (nil: success) says
// about the provider. Once the caller's ctx is done, nothing.
func (b *CircuitBreaker) outcomeOf(ctx context.Context, ae *aierrors.Error) outcome {
	if ctx.Err() != nil {
		return outcomeIgnored
	}
	if ae == nil {
		return outcomeSuccess
	}
	switch ae.Code {
	case aierrors.ServerError, aierrors.Overloaded, aierrors.Timeout:
		if localRejection(ae) {
			return outcomeIgnored
		}
		return outcomeFailure
	case aierrors.RateLimited:
		if b != nil && b.countRateLimited && !localRejection(ae) {
			return outcomeFailure
		}
	case aierrors.Unknown:
		if _, ok := errors.AsType[net.Error](ae.Err); ok && ae.HTTPStatus == 0 {
			return outcomeFailure
		}
	}
	return outcomeIgnored
}

// Execute runs op once if the circuit admits it and records its outcome.
// A rejection is an *aierrors.Error wrapping [ErrCircuitOpen].
func (b *CircuitBreaker) Execute(ctx context.Context, op func(ctx context.Context) error) error {
	if ctx.Err() != nil {
		return doneError(ctx, b.name(), nil)
	}
	var clk clock
	if ae := b.check(&clk); ae != nil {
		return ae
	}
	t, ae := b.allow(&clk)
	if ae != nil {
		return ae
	}
	o := outcomeIgnored
	defer func() { b.record(t, o) }() // a panic in op records nothing
	cae, err := classify(op(ctx), b.name())
	o = b.outcomeOf(ctx, cae)
	return err
}

func (b *CircuitBreaker) name() string {
	if b == nil {
		return ""
	}
	return b.target
}

// preflight reports whether an attempt would be rejected now, without
// taking a probe slot.
func (b *CircuitBreaker) preflight() *aierrors.Error {
	if b == nil || b.clean.Load() {
		return nil
	}
	if ae := b.check(&clock{}); ae != nil {
		return ae
	}
	if b.cb.State() == gobreaker.StateHalfOpen {
		c := b.cb.Counts()
		if c.Requests-min(c.Requests, c.TotalExclusions) >= b.maxProbes {
			return b.openError(0)
		}
	}
	return nil
}
