package resilience

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/sony/gobreaker/v2"
)

// CircuitState is the state of a circuit breaker.
type CircuitState uint8

// Circuit states.
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

func fromGobreaker(s gobreaker.State) CircuitState {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// outcome is what one admitted attempt means for the breaker.
type outcome uint8

const (
	outcomeSuccess outcome = iota // resets the consecutive-failure count
	outcomeFailure                // a provider-health failure: counts toward opening
	outcomeIgnored                // neither (client errors, quota, cancellation, ...)
)

// Errors handed to gobreaker to carry an outcome; never returned to users.
var (
	errCountedFailure = errors.New("resilience: counted failure")
	errIgnoredOutcome = errors.New("resilience: ignored outcome")
)

func (o outcome) gobreakerErr() error {
	switch o {
	case outcomeFailure:
		return errCountedFailure
	case outcomeIgnored:
		return errIgnoredOutcome
	}
	return nil
}

// CircuitBreaker is a per-target circuit breaker built on
// github.com/sony/gobreaker/v2. While closed it opens on its trip rules
// (by default either FailureThreshold consecutive counted failures, or a
// failure rate of at least FailureRateThreshold among at least MinRequests
// counted attempts that ended in the last Window); it rejects calls at once
// while open, turns half_open after Cooldown, admits HalfOpenMaxRequests
// probes and rejects the rest at once, closes after that many consecutive
// successes and opens again on one counted failure. See
// [CircuitBreakerConfig] for what counts.
//
// State is computed from the clock whenever it is read, so [State] is
// always current; no goroutine or timer runs in the background. The
// OnStateChange hook is called after the breaker's lock is released.
//
// A CircuitBreaker is safe for concurrent use. A nil *CircuitBreaker is a
// breaker that is always closed and admits everything.
type CircuitBreaker struct {
	cb               *gobreaker.CircuitBreaker[struct{}]
	cooldown         time.Duration
	maxProbes        uint32
	countRateLimited bool
	target           string
	hooks            Hooks
	logger           *slog.Logger

	// The trip rules. threshold is 0 when the consecutive rule is off; win
	// is nil when the failure-rate rule is off.
	threshold   uint32
	rate        float64 // FailureRateThreshold
	minRequests int
	win         *failureWindow

	// lastAt is when the outcome being recorded ended (window time);
	// written by isSuccessful and read by ReadyToTrip, both under
	// gobreaker's mutex.
	lastAt int64

	// openUntil is the Unix time (ns) at which the current open period
	// ends, 0 when not open. It lets an attempt fail fast (step 1) with one
	// atomic load, without taking gobreaker's lock.
	openUntil atomic.Int64

	// Mirrors of gobreaker's state, written only from its callbacks, which
	// it calls under its mutex, so they are exact whenever that mutex is
	// free. clean is "closed with no consecutive failure": then admission
	// always succeeds and recording a success changes nothing anyone can
	// read, so the success path skips gobreaker (its mutex and two clock
	// reads) entirely. gen counts state changes, like gobreaker's
	// generation, so a late result from an earlier state is dropped.
	clean  atomic.Bool
	gen    atomic.Uint64
	closed atomic.Bool // gobreaker's state is closed

	// gobreaker calls OnStateChange under its own mutex; transitions are
	// queued here and delivered by flush once that mutex is released.
	pendingN atomic.Int32 // len(pending), read without mu on the hot path
	mu       sync.Mutex   // guards pending and firing
	pending  []StateChange
	firing   bool // a goroutine is delivering pending transitions
}

// NewCircuitBreaker returns a closed breaker configured by cfg (zero
// fields take their defaults). Options: [WithName], [WithHooks] (only
// OnStateChange and OnRejection are used), [WithLogger].
func NewCircuitBreaker(cfg CircuitBreakerConfig, opts ...Option) (*CircuitBreaker, error) {
	if err := (ResilientConfig{CircuitBreaker: &cfg}).Validate(); err != nil {
		return nil, err
	}
	return newCircuitBreaker(cfg, buildOptions(opts)), nil
}

func newCircuitBreaker(cfg CircuitBreakerConfig, o options) *CircuitBreaker {
	b := &CircuitBreaker{
		cooldown:         orDuration(cfg.Cooldown, DefaultCooldown),
		maxProbes:        uint32(orInt(cfg.HalfOpenMaxRequests, DefaultHalfOpenMaxRequests)),
		countRateLimited: cfg.CountRateLimited,
		target:           o.name,
		hooks:            o.hooks,
		logger:           o.logger,
	}
	if cfg.Trip.consecutive() {
		b.threshold = uint32(orInt(cfg.FailureThreshold, DefaultFailureThreshold))
	}
	if cfg.Trip.failureRate() {
		b.rate = orFloat(cfg.FailureRateThreshold, DefaultFailureRateThreshold)
		b.minRequests = max(orInt(cfg.MinRequests, DefaultMinRequests), 1)
		b.win = newFailureWindow(orDuration(cfg.Window, DefaultWindow), time.Now())
	}
	// gobreaker turns half_open once now is strictly after
	// openedAt+Timeout; one nanosecond less makes it half_open exactly at
	// openedAt+Cooldown.
	timeout := b.cooldown
	if timeout > 1 {
		timeout--
	}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:          o.name,
		MaxRequests:   b.maxProbes,
		Timeout:       timeout,
		ReadyToTrip:   b.readyToTrip,
		IsSuccessful:  b.isSuccessful,
		IsExcluded:    func(err error) bool { return err == errIgnoredOutcome },
		OnStateChange: b.onGobreakerChange,
	})
	b.clean.Store(true)
	b.closed.Store(true)
	return b
}

// isSuccessful runs under gobreaker's mutex for every recorded (not
// excluded) outcome of the current state, just before gobreaker applies
// it: a success while closed resets the consecutive failures, a failure
// sets them. While closed, the outcome also goes into the failure-rate
// window.
func (b *CircuitBreaker) isSuccessful(err error) bool {
	closed := b.closed.Load()
	b.clean.Store(err == nil && closed)
	if closed && b.win != nil {
		b.lastAt = b.win.since()
		b.win.add(b.lastAt, err != nil)
	}
	return err == nil
}

// readyToTrip is gobreaker's ReadyToTrip: it runs under gobreaker's mutex
// after each counted failure while closed, that failure already counted.
func (b *CircuitBreaker) readyToTrip(c gobreaker.Counts) bool {
	if b.threshold > 0 && c.ConsecutiveFailures >= b.threshold {
		return true
	}
	return b.win != nil && b.rateTrips(b.lastAt)
}

// rateTrips reports whether the window ending at t (window time) holds at
// least minRequests counted attempts of which at least rate failed.
func (b *CircuitBreaker) rateTrips(t int64) bool {
	s, f := b.win.counts(t)
	n := s + f
	return n >= b.minRequests && float64(f)/float64(n) >= b.rate
}

// onGobreakerChange runs under gobreaker's mutex: it only records.
func (b *CircuitBreaker) onGobreakerChange(_ string, from, to gobreaker.State) {
	b.gen.Add(1)
	if to == gobreaker.StateClosed && b.win != nil {
		b.win.reset() // gobreaker clears its counts on every change; the window starts afresh when the circuit closes
	}
	b.closed.Store(to == gobreaker.StateClosed)
	b.clean.Store(to == gobreaker.StateClosed) // a new state starts with cleared counts
	if to == gobreaker.StateOpen {
		b.openUntil.Store(time.Now().Add(b.cooldown).UnixNano())
	} else {
		b.openUntil.Store(0)
	}
	b.mu.Lock()
	b.pending = append(b.pending, StateChange{Target: b.target, From: fromGobreaker(from), To: fromGobreaker(to)})
	b.pendingN.Store(int32(len(b.pending)))
	b.mu.Unlock()
}

// flush delivers queued transitions, in order, outside every lock. Only
// one goroutine delivers at a time; transitions queued meanwhile are
// delivered by it.
func (b *CircuitBreaker) flush() {
	if b.pendingN.Load() == 0 {
		return
	}
	b.flushSlow()
}

func (b *CircuitBreaker) flushSlow() {
	b.mu.Lock()
	if b.firing {
		b.mu.Unlock()
		return
	}
	b.firing = true
	defer func() {
		b.mu.Lock()
		b.firing = false
		b.mu.Unlock()
	}()
	for len(b.pending) > 0 {
		batch := b.pending
		b.pending = nil
		b.pendingN.Store(0)
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
	b.mu.Unlock()
}

// State returns the current state, computed from the clock.
func (b *CircuitBreaker) State() CircuitState {
	if b == nil {
		return StateClosed
	}
	s := fromGobreaker(b.cb.State())
	b.flush()
	return s
}

// ConsecutiveFailures returns the counted failures since the last success
// or state change.
func (b *CircuitBreaker) ConsecutiveFailures() int {
	if b == nil {
		return 0
	}
	return int(b.cb.Counts().ConsecutiveFailures)
}

// FailureRate returns the share of counted failures among the counted
// attempts that ended in the last Window while the circuit was closed, and
// the number of those attempts; 0, 0 when there were none or the
// failure-rate rule is off. The counts start empty each time the circuit
// closes.
func (b *CircuitBreaker) FailureRate() (rate float64, attempts int) {
	return b.failureRateAt(time.Now())
}

func (b *CircuitBreaker) failureRateAt(now time.Time) (float64, int) {
	if b == nil || b.win == nil {
		return 0, 0
	}
	s, f := b.win.counts(b.win.at(now))
	if s+f == 0 {
		return 0, 0
	}
	return float64(f) / float64(s+f), s + f
}

// CooldownRemaining returns how long the circuit stays open; 0 when it is
// not open.
func (b *CircuitBreaker) CooldownRemaining() time.Duration {
	if b == nil || b.State() != StateOpen {
		return 0
	}
	return b.cooldownAt(time.Now())
}

func (b *CircuitBreaker) cooldownAt(now time.Time) time.Duration {
	if u := b.openUntil.Load(); u > now.UnixNano() {
		return time.Duration(u - now.UnixNano())
	}
	return 0
}

// Preflight reports whether a call would be admitted now, without taking a
// probe slot or changing any count: nil, or an Overloaded *aierrors.Error
// wrapping [ErrCircuitOpen] with RetryAfter = cooldown remaining (0 when
// half_open with every probe slot taken).
func (b *CircuitBreaker) Preflight() *aierrors.Error {
	if b == nil {
		return nil
	}
	now := time.Now()
	switch b.State() {
	case StateOpen:
		return b.openError(now)
	case StateHalfOpen:
		c := b.cb.Counts()
		if c.Requests-min(c.Requests, c.TotalExclusions) >= b.maxProbes {
			return b.openError(now)
		}
	}
	return nil
}

// openError is the local rejection for an open circuit.
func (b *CircuitBreaker) openError(now time.Time) *aierrors.Error {
	ra := b.cooldownAt(now)
	msg := "circuit open"
	if ra == 0 {
		msg = "circuit half_open: every probe slot taken"
	}
	return rejection(b.target, aierrors.Overloaded, ErrCircuitOpen, ra, msg)
}

// mayBeOpen reports whether the circuit opened and has not closed since:
// only then does step 1 need the clock.
func (b *CircuitBreaker) mayBeOpen() bool {
	return b != nil && b.openUntil.Load() != 0
}

// rejectIfOpen is step 1: fail fast, without gobreaker's lock, while the
// circuit is known to be open.
func (b *CircuitBreaker) rejectIfOpen(now time.Time) *aierrors.Error {
	if b == nil {
		return nil
	}
	if u := b.openUntil.Load(); u != 0 && now.UnixNano() < u {
		return b.openError(now)
	}
	return nil
}

// execute is steps 4 and 8: it takes the breaker's admission (a half_open
// probe slot is taken only now), runs fn and records its outcome. It
// reports false when the breaker refused, in which case fn did not run.
func (b *CircuitBreaker) execute(fn func() outcome) (admitted bool) {
	if b.clean.Load() {
		return b.executeClean(fn)
	}
	_, _ = b.cb.Execute(func() (struct{}, error) {
		admitted = true
		return struct{}{}, fn().gobreakerErr()
	})
	b.flush()
	return admitted
}

// executeClean is execute while closed with no consecutive failure:
// gobreaker would admit, and a success that finds the breaker still clean
// would change nothing in gobreaker's counts, so only other outcomes go to
// gobreaker. That is the order gobreaker itself could have seen: the
// success recorded at the moment clean was read. Such a success still
// counts in the failure-rate window, lock-free.
func (b *CircuitBreaker) executeClean(fn func() outcome) bool {
	gen := b.gen.Load()
	o := outcomeFailure // if fn panics: gobreaker counts a panic as a failure
	defer func() {
		switch {
		case o == outcomeFailure || (o == outcomeSuccess && !b.clean.Load()):
			b.recordLate(gen, o)
		case o == outcomeSuccess && b.win != nil && b.gen.Load() == gen:
			b.win.add(b.win.since(), false)
		}
	}()
	o = fn()
	return true
}

// recordLate records o for an attempt admitted in generation gen without
// gobreaker's admission, unless the state changed since (as gobreaker
// drops results from an earlier generation).
func (b *CircuitBreaker) recordLate(gen uint64, o outcome) {
	if b.gen.Load() == gen {
		_, _ = b.cb.Execute(func() (struct{}, error) {
			if b.gen.Load() != gen {
				return struct{}{}, errIgnoredOutcome
			}
			return struct{}{}, o.gobreakerErr()
		})
	}
	b.flush()
}

// outcomeOf says how an attempt's result counts. Nothing counts once the
// caller's ctx is done: a caller cancelling must not poison a provider.
func (b *CircuitBreaker) outcomeOf(ctx context.Context, ae *aierrors.Error) outcome {
	if b == nil || ctx.Err() != nil {
		return outcomeIgnored
	}
	if ae == nil {
		return outcomeSuccess
	}
	return b.failureOutcome(ae)
}

func (b *CircuitBreaker) failureOutcome(ae *aierrors.Error) outcome {
	switch ae.Code {
	case aierrors.ServerError, aierrors.Overloaded, aierrors.Timeout:
		if errors.Is(ae.Err, ErrCircuitOpen) || errors.Is(ae.Err, ErrQueueFull) {
			return outcomeIgnored // a local rejection (of a nested executor) says nothing of the provider
		}
		return outcomeFailure
	case aierrors.RateLimited:
		if b.countRateLimited && !errors.Is(ae.Err, ErrRateLimitWait) {
			return outcomeFailure
		}
	case aierrors.Unknown:
		// A transport failure the classifier could not name (DNS, an
		// unusual dial error) is still a provider-health failure.
		if _, ok := errors.AsType[net.Error](ae.Err); ok && ae.HTTPStatus == 0 {
			return outcomeFailure
		}
	}
	return outcomeIgnored
}

// Execute runs op if the breaker admits it and records the outcome. A
// refusal is an Overloaded *aierrors.Error wrapping [ErrCircuitOpen]; an
// error from op that is not an *aierrors.Error is classified with
// [aierrors.ClassifyTransport]. A nil breaker just runs op.
func (b *CircuitBreaker) Execute(ctx context.Context, op func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return ctxError(ctx, b.targetName())
	}
	if b.mayBeOpen() {
		if rej := b.rejectIfOpen(time.Now()); rej != nil {
			reportRejection(b.hooks, b.logger, b.target, rej)
			return rej
		}
	}
	var res error
	run := func() outcome {
		var ae *aierrors.Error
		ae, res = classify(op(ctx), b.targetName())
		return b.outcomeOf(ctx, ae)
	}
	if b == nil {
		run()
		return res
	}
	if !b.execute(run) {
		rej := b.openError(time.Now())
		reportRejection(b.hooks, b.logger, b.target, rej)
		return rej
	}
	return res
}

func (b *CircuitBreaker) targetName() string {
	if b == nil {
		return ""
	}
	return b.target
}

// heldAdmission is a breaker admission kept open after op returned (a
// stream), recorded later. gobreaker only records what its Execute
// returns, so a goroutine sits inside Execute until the outcome is known
// or ctx ends (then the outcome is ignored). TwoStepCircuitBreaker would
// avoid the goroutine but cannot share state with Execute, whose success
// path does not allocate.
type heldAdmission struct {
	b        *CircuitBreaker
	outcome  chan outcome
	finished chan struct{}
}

// hold takes an admission for a stream; nil and the rejection when refused.
func (b *CircuitBreaker) hold(ctx context.Context) (*heldAdmission, *aierrors.Error) {
	h := &heldAdmission{b: b, outcome: make(chan outcome, 1), finished: make(chan struct{})}
	admitted := make(chan bool, 1)
	go func() {
		defer close(h.finished)
		ran := false
		_, _ = b.cb.Execute(func() (struct{}, error) {
			ran = true
			admitted <- true
			var o outcome
			select {
			case o = <-h.outcome:
			case <-ctx.Done():
				o = outcomeIgnored
			}
			return struct{}{}, o.gobreakerErr()
		})
		if !ran {
			admitted <- false
		}
	}()
	if !<-admitted {
		<-h.finished
		b.flush()
		return nil, b.openError(time.Now())
	}
	b.flush()
	return h, nil
}

// record reports the held attempt's outcome; call once.
func (h *heldAdmission) record(o outcome) {
	h.outcome <- o
	<-h.finished
	h.b.flush()
}
