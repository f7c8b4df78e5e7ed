package resilience

import (
	"context"
	"math"
	"sync"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
)

// MemoryLimiter is a [SharedLimiter] kept in this process: one GCRA
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

// Reserve implements [SharedLimiter]; cost < 1 counts as 1. It never fails.
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

// MemoryState is a [SharedState] kept in this process, with the semantics of
// redisstore.State: it shares circuit and pause state between the
// executors of one process and stands in for Redis in tests.
//
// A MemoryState is safe for concurrent use; use [NewMemoryState].
type MemoryState struct {
	probeTimeout time.Duration

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
// [DefaultProbeTimeout] without a probe's report.
func NewMemoryState() *MemoryState {
	return &MemoryState{probeTimeout: DefaultProbeTimeout, m: map[string]*memTarget{}}
}

func (s *MemoryState) target(key string) *memTarget {
	t := s.m[key]
	if t == nil {
		t = &memTarget{}
		s.m[key] = t
	}
	return t
}

// Admit implements [SharedState].
func (s *MemoryState) Admit(ctx context.Context, key string, maxProbes int) (SharedAdmission, error) {
	if err := ctx.Err(); err != nil {
		return SharedAdmission{}, err
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.m[key]
	if t == nil {
		return SharedAdmission{}, nil
	}
	if d := t.openUntil.Sub(now); d > 0 {
		return SharedAdmission{OpenFor: d}, nil
	}
	if d := t.pausedUntil.Sub(now); d > 0 {
		return SharedAdmission{PausedFor: d, PauseCode: t.pauseCode}, nil
	}
	if !t.halfUntil.After(now) {
		return SharedAdmission{}, nil
	}
	if t.probes >= max(maxProbes, 1) {
		return SharedAdmission{ProbesFull: true}, nil
	}
	t.probes++
	if h := now.Add(s.probeTimeout); h.After(t.halfUntil) {
		t.halfUntil = h
	}
	return SharedAdmission{Probe: true}, nil
}

// Open implements [SharedState].
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

// Close implements [SharedState].
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

// Release implements [SharedState].
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

// Pause implements [SharedState].
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

var (
	_ SharedLimiter = (*MemoryLimiter)(nil)
	_ SharedState   = (*MemoryState)(nil)
)
