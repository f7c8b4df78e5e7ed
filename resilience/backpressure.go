package resilience

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
	"unsafe"

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
	// the admitted total tells the limiter the rate actually sent; striped
	// so that callers on different cores seldom write the same cache line
	// (an atomic add on a shared line was most of the parallel success
	// path). No library keeps a striped counter; each stripe is one line.
	_       [64]byte
	stripes [inflightStripes]counterStripe
}

const inflightStripes = 8

type counterStripe struct {
	admitted atomic.Int64
	released atomic.Int64
	_        [48]byte
}

// stripeOf picks a stripe for a caller from an address on its stack:
// goroutines have stacks of their own, so concurrent callers mostly land
// on different stripes.
func stripeOf(p unsafe.Pointer) uint8 {
	return uint8(uintptr(p)>>12) % inflightStripes
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
	if ae := b.acquire(ctx, 0); ae != nil {
		return ae
	}
	return nil
}

// Release gives a permit back.
func (b *Backpressure) Release() { b.release(0) }

func (b *Backpressure) name() string {
	if b == nil {
		return ""
	}
	return b.target
}

func (b *Backpressure) acquire(ctx context.Context, stripe uint8) *aierrors.Error {
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
	b.stripes[stripe].admitted.Add(1)
	return nil
}

func (b *Backpressure) release(stripe uint8) {
	if b == nil {
		return
	}
	b.stripes[stripe].released.Add(1)
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

// inflightNow is the attempts holding a permit now (each stripe's
// released count is read first, so a concurrent acquire cannot make it
// negative).
func (b *Backpressure) inflightNow() int64 {
	var n int64
	for i := range b.stripes {
		r := b.stripes[i].released.Load()
		n += b.stripes[i].admitted.Load() - r
	}
	return max(n, 0)
}

// admittedTotal is the attempts admitted since the limit was built.
func (b *Backpressure) admittedTotal() int64 {
	var n int64
	for i := range b.stripes {
		n += b.stripes[i].admitted.Load()
	}
	return n
}
