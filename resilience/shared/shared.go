// Package shared holds what replicas of a target share: the [Limiter] and
// [State] interfaces that resilience's executor talks to (through
// resilience.WithSharedLimiter and resilience.WithSharedState), and their
// in-process implementations, [MemoryLimiter] and [MemoryState]. The
// Redis implementations live in the nested module resilience/redisstore;
// package resilience/sharedtest is the conformance suite every
// implementation must pass.
package shared

import (
	"context"
	"math"
	"sync"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// ProbeTimeout is how long a half_open phase waits for a probe to report
// before it ends on its own (closed), in the implementations here.
const ProbeTimeout = 60 * time.Second

// Limiter is a rate limit shared by every executor that uses it with
// the same key, in one process or many (the limit itself is the
// limiter's: its rate and burst). Implementations: [MemoryLimiter] in
// process, redisstore.Limiter (a GCRA in Redis) across processes.
//
// An implementation must be safe for concurrent use.
type Limiter interface {
	// Reserve takes cost units of the limit named key, possibly ahead of
	// time, and returns how long the caller must wait before it goes (0:
	// at once). When that wait would be longer than maxWait, it takes
	// nothing and returns ok false with the wait needed. An error means
	// the limit could not be read; the caller goes on without it.
	Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (wait time.Duration, ok bool, err error)
}

// State is circuit and pause state shared by the replicas of a
// target (the key), so that one replica's findings protect the others:
//
//   - "open for d": a replica whose breaker opened publishes it with Open;
//     every replica then rejects the target at its next attempt, without
//     reaching the provider, until d has passed;
//   - half_open: when the open period ends, at most maxProbes attempts
//     across all replicas (Admit's Probe) may go; the first probe's report
//     closes the circuit everywhere (Close, on success) or opens it again
//     (Open, on a counted failure); Release gives back the slot of an
//     attempt that says nothing about the provider. The half_open phase
//     ends on its own (closed) when no probe reports for a while
//     (60s in the implementations here);
//   - "paused for d": after a provider's 429 with Retry-After,
//     quota_exhausted, or an answer that starts a cooldown (a revoked key,
//     a long Retry-After), no replica calls the target until d has passed
//     (Pause).
//
// Durations are relative to the store's clock, so replicas need no
// synchronized clocks. Nothing is held across a provider call: every
// method is one short operation. Implementations: [MemoryState] in
// process, redisstore.State across processes.
//
// An implementation must be safe for concurrent use.
type State interface {
	// Admit reads key's state for an attempt about to start. When the
	// circuit is half_open it takes one of maxProbes probe slots (Probe),
	// or reports them all taken (ProbesFull). When the circuit is open or
	// the target paused, it takes nothing.
	Admit(ctx context.Context, key string, maxProbes int) (Admission, error)
	// Open opens key's circuit for d (never shortening a longer open
	// period) and starts a new half_open phase after it, with every probe
	// slot free.
	Open(ctx context.Context, key string, d time.Duration) error
	// Close closes key's circuit: no open period, no half_open phase.
	Close(ctx context.Context, key string) error
	// Release gives back a probe slot taken by Admit.
	Release(ctx context.Context, key string) error
	// Pause stops every replica from calling key for d (never shortening
	// a longer pause), for the reason code: RateLimited (a wait),
	// QuotaExhausted, Authentication or another code of a cooldown.
	Pause(ctx context.Context, key string, d time.Duration, code aierrors.StandardErrorCode) error
}

// Admission is what [State.Admit] found.
type Admission struct {
	OpenFor    time.Duration              // > 0: the circuit is open for this long; the attempt is rejected
	ProbesFull bool                       // half_open with every probe slot taken; the attempt is rejected
	Probe      bool                       // the attempt took a probe slot: report its outcome (Close, Open or Release)
	PausedFor  time.Duration              // > 0: the target is paused for this long; nothing was taken
	PauseCode  aierrors.StandardErrorCode // why it is paused: the code given to Pause
}

// MemoryLimiter is a [Limiter] kept in this process: one GCRA
// (generic cell rate algorithm, a token bucket kept as a single "theoretical
// arrival time") per key, the algorithm of redisstore.Limiter. It shares a
// budget between the executors of one process (several clients of the same
// API key, say) and stands in for Redis in tests.
//
// Reservations are fair: each one is served in order, possibly ahead of
// time (the caller waits the returned duration). A unit of cost c waits
// c/rate after the previous one, beyond the burst.
//
// A MemoryLimiter is safe for concurrent use; its zero value is not usable
// (use [NewMemoryLimiter]). Keys are kept until the limiter is dropped.
type MemoryLimiter struct {
	interval float64 // seconds per unit; 0 = no limit
	burst    int

	mu  sync.Mutex           // guards tat
	tat map[string]time.Time // theoretical arrival time per key
}

// NewMemoryLimiter returns a limiter allowing rate units a second per key,
// with bursts of burst units (burst < 1 means 1). A rate that is not a
// positive finite number means no limit.
func NewMemoryLimiter(rate float64, burst int) *MemoryLimiter {
	l := &MemoryLimiter{burst: max(burst, 1), tat: map[string]time.Time{}}
	if rate > 0 && !math.IsInf(rate, 1) {
		l.interval = 1 / rate
	}
	return l
}

// Reserve implements [Limiter]; cost < 1 counts as 1. It never fails.
func (l *MemoryLimiter) Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (time.Duration, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if l.interval == 0 {
		return 0, true, nil
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(secondsDuration(float64(max(cost, 1)) * l.interval))
	wait := newTAT.Add(-secondsDuration(float64(l.burst) * l.interval)).Sub(now)
	if wait > maxWait {
		return wait, false, nil
	}
	l.tat[key] = newTAT
	return max(wait, 0), true, nil
}

func secondsDuration(s float64) time.Duration {
	return time.Duration(math.Round(s * float64(time.Second)))
}

// MemoryState is a [State] kept in this process, with the semantics of
// redisstore.State: it shares circuit and pause state between the
// executors of one process and stands in for Redis in tests.
//
// A MemoryState is safe for concurrent use; use [NewMemoryState].
type MemoryState struct {
	probeTimeout time.Duration
	members      MemoryMembership

	mu sync.Mutex // guards m
	m  map[string]*memTarget
}

// memTarget is one key's state; zero times mean "not".
type memTarget struct {
	openUntil   time.Time // circuit open before this
	halfUntil   time.Time // half_open phase (after openUntil) ends, closed, at this time
	probes      int       // probe slots taken in the half_open phase
	pausedUntil time.Time
	pauseCode   aierrors.StandardErrorCode
}

// NewMemoryState returns an empty state (every circuit closed, nothing
// paused) whose half_open phases end on their own after
// [ProbeTimeout] without a probe's report.
func NewMemoryState() *MemoryState {
	return &MemoryState{probeTimeout: ProbeTimeout, m: map[string]*memTarget{}}
}

func (s *MemoryState) target(key string) *memTarget {
	t := s.m[key]
	if t == nil {
		t = &memTarget{}
		s.m[key] = t
	}
	return t
}

// Admit implements [State].
func (s *MemoryState) Admit(ctx context.Context, key string, maxProbes int) (Admission, error) {
	if err := ctx.Err(); err != nil {
		return Admission{}, err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.m[key]
	if t == nil {
		return Admission{}, nil
	}
	if d := t.openUntil.Sub(now); d > 0 {
		return Admission{OpenFor: d}, nil
	}
	if d := t.pausedUntil.Sub(now); d > 0 {
		return Admission{PausedFor: d, PauseCode: t.pauseCode}, nil
	}
	if !t.halfUntil.After(now) {
		return Admission{}, nil
	}
	if t.probes >= max(maxProbes, 1) {
		return Admission{ProbesFull: true}, nil
	}
	t.probes++
	if h := now.Add(s.probeTimeout); h.After(t.halfUntil) {
		t.halfUntil = h
	}
	return Admission{Probe: true}, nil
}

// Open implements [State].
func (s *MemoryState) Open(ctx context.Context, key string, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.target(key)
	if until := now.Add(d); d > 0 && until.After(t.openUntil) {
		t.openUntil, t.halfUntil, t.probes = until, until.Add(s.probeTimeout), 0
	}
	return nil
}

// Close implements [State].
func (s *MemoryState) Close(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.m[key]; t != nil {
		t.openUntil, t.halfUntil, t.probes = time.Time{}, time.Time{}, 0
	}
	return nil
}

// Release implements [State].
func (s *MemoryState) Release(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.m[key]; t != nil && t.probes > 0 {
		t.probes--
	}
	return nil
}

// Pause implements [State].
func (s *MemoryState) Pause(ctx context.Context, key string, d time.Duration, code aierrors.StandardErrorCode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.target(key)
	if until := now.Add(d); d > 0 && until.After(t.pausedUntil) {
		t.pausedUntil, t.pauseCode = until, code
	}
	return nil
}

// Join implements [Membership]: the replicas sharing key's state, so that
// each knows its share of a limit the provider states for all of them.
func (s *MemoryState) Join(ctx context.Context, group, member string, ttl time.Duration) (live, rank int, err error) {
	return s.members.Join(ctx, group, member, ttl)
}

var (
	_ Limiter    = (*MemoryLimiter)(nil)
	_ State      = (*MemoryState)(nil)
	_ Membership = (*MemoryState)(nil)
)
