package resilience

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"golang.org/x/sync/semaphore"
)

// Backpressure caps a target's attempts in flight with a
// [semaphore.Weighted] (FIFO: a waiter is not overtaken). With no cap there
// is no semaphore at all (semaphore.NewWeighted(0) would block forever),
// only a count. A permit is taken per attempt and given back before any
// backoff sleep.
//
// A Backpressure is safe for concurrent use. Build it with
// [NewBackpressure]; a nil *Backpressure admits everything.
type Backpressure struct {
	sem          *semaphore.Weighted // nil: no cap
	max          int
	queueTimeout time.Duration
	target       string
	hooks        Hooks
	logger       *slog.Logger

	// In flight = admitted − released, two counts rather than one so that
	// the admitted total tells the limiter the rate actually sent. Kept off
	// the read-only fields' cache line.
	_        [64]byte
	admitted atomic.Int64
	released atomic.Int64
	_        [48]byte
}

// NewBackpressure returns an in-flight limit usable on its own (the
// executor builds its own).
func NewBackpressure(cfg BackpressureConfig, opts ...Option) (*Backpressure, error) {
	if err := (ResilientConfig{Backpressure: &cfg}).validate(); err != nil {
		return nil, err
	}
	return newBackpressure(cfg, buildOptions(opts)), nil
}

func newBackpressure(cfg BackpressureConfig, o options) *Backpressure {
	b := &Backpressure{max: cfg.MaxInflight, queueTimeout: cfg.QueueTimeout, target: o.name, hooks: o.hooks, logger: o.logger}
	if cfg.MaxInflight > 0 {
		b.sem = semaphore.NewWeighted(int64(cfg.MaxInflight))
	}
	return b
}

// Acquire takes a permit, waiting at most QueueTimeout (and never past
// ctx). The error is an *aierrors.Error: [ErrQueueFull] when the queue
// timeout expired, Cancelled or Timeout when ctx ended.
func (b *Backpressure) Acquire(ctx context.Context) error {
	if ctx.Err() != nil {
		return doneError(ctx, b.name(), nil)
	}
	if ae := b.acquire(ctx); ae != nil {
		return ae
	}
	return nil
}

// Release gives a permit back.
func (b *Backpressure) Release() { b.release() }

func (b *Backpressure) name() string {
	if b == nil {
		return ""
	}
	return b.target
}

func (b *Backpressure) acquire(ctx context.Context) *aierrors.Error {
	if b == nil {
		return nil
	}
	if b.sem != nil && !b.sem.TryAcquire(1) {
		wctx := ctx
		if b.queueTimeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, b.queueTimeout)
			defer cancel()
		}
		if err := b.sem.Acquire(wctx, 1); err != nil {
			if ctx.Err() != nil {
				return doneError(ctx, b.target, nil)
			}
			ae := rejection(b.target, aierrors.Overloaded, ErrQueueFull, 0,
				"no in-flight permit within the queue timeout ("+b.queueTimeout.String()+")")
			reportRejection(b.hooks, b.logger, b.target, ae)
			return ae
		}
	}
	b.admitted.Add(1)
	return nil
}

func (b *Backpressure) release() {
	if b == nil {
		return
	}
	b.released.Add(1)
	if b.sem != nil {
		b.sem.Release(1)
	}
}

// preflight reports whether an attempt would have to queue now.
func (b *Backpressure) preflight() *aierrors.Error {
	if b == nil || b.sem == nil || b.inflightNow() < int64(b.max) {
		return nil
	}
	return rejection(b.target, aierrors.Overloaded, ErrQueueFull, 0, "every in-flight permit is taken")
}

// inflightNow is the attempts holding a permit now (released is read
// first, so a concurrent acquire cannot make it negative).
func (b *Backpressure) inflightNow() int64 {
	r := b.released.Load()
	return b.admitted.Load() - r
}
