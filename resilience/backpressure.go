package resilience

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"golang.org/x/sync/semaphore"
)

// Backpressure caps the attempts in flight on one target
// (golang.org/x/sync/semaphore, FIFO). A caller waits for a permit as long
// as its ctx allows, or at most QueueTimeout; then it fails with an
// Overloaded *aierrors.Error wrapping [ErrQueueFull] (retryable and
// fallbackable: the executor retries it after a backoff, holding nothing).
//
// A Backpressure is safe for concurrent use. A nil *Backpressure, or one
// with MaxInflight 0, admits everything (it still counts what is in
// flight).
type Backpressure struct {
	sem          *semaphore.Weighted // nil: no cap
	max          int
	queueTimeout time.Duration
	target       string
	hooks        Hooks
	logger       *slog.Logger

	// inflight is written by every attempt; the padding keeps it off the
	// cache line of the read-only fields above, which every core reads.
	_        [64]byte
	inflight atomic.Int64
	_        [56]byte
}

// NewBackpressure returns a Backpressure configured by cfg. Options:
// [WithName], [WithHooks] (OnRejection is used), [WithLogger].
func NewBackpressure(cfg BackpressureConfig, opts ...Option) (*Backpressure, error) {
	if err := (ResilientConfig{Backpressure: &cfg}).Validate(); err != nil {
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

// Acquire takes a permit, waiting as long as ctx (and QueueTimeout)
// allows. It returns nil, an Overloaded *aierrors.Error wrapping
// [ErrQueueFull] when QueueTimeout expired, or a Cancelled/Timeout
// *aierrors.Error when ctx ended. Every nil return must be paired with one
// [Backpressure.Release].
func (b *Backpressure) Acquire(ctx context.Context) error {
	if ctx.Err() != nil {
		var target string
		if b != nil {
			target = b.target
		}
		return ctxError(ctx, target)
	}
	if ae := b.acquire(ctx); ae != nil {
		return ae
	}
	return nil
}

// Release gives back a permit taken by Acquire.
func (b *Backpressure) Release() { b.release() }

func (b *Backpressure) acquire(ctx context.Context) *aierrors.Error {
	if b == nil {
		return nil
	}
	if b.sem != nil && !b.sem.TryAcquire(1) {
		if ae := b.acquireSlow(ctx); ae != nil {
			return ae
		}
	}
	b.inflight.Add(1)
	return nil
}

func (b *Backpressure) acquireSlow(ctx context.Context) *aierrors.Error {
	wctx := ctx
	if b.queueTimeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, b.queueTimeout)
		defer cancel()
	}
	if err := b.sem.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return ctxError(ctx, b.target)
		}
		ae := rejection(b.target, aierrors.Overloaded, ErrQueueFull, 0,
			"no in-flight permit within the queue timeout ("+b.queueTimeout.String()+")")
		reportRejection(b.hooks, b.logger, b.target, ae)
		return ae
	}
	return nil
}

func (b *Backpressure) release() {
	if b == nil {
		return
	}
	b.inflight.Add(-1)
	if b.sem != nil {
		b.sem.Release(1)
	}
}

// Inflight returns the permits currently held.
func (b *Backpressure) Inflight() int {
	if b == nil {
		return 0
	}
	return int(b.inflight.Load())
}

// MaxInflight returns the cap; 0 when unlimited.
func (b *Backpressure) MaxInflight() int {
	if b == nil {
		return 0
	}
	return b.max
}

// Preflight reports whether a permit is free now, without taking it: nil,
// or an Overloaded *aierrors.Error wrapping [ErrQueueFull] (no
// RetryAfter: when a permit frees up is not known).
func (b *Backpressure) Preflight() *aierrors.Error {
	if b == nil || b.sem == nil || b.inflight.Load() < int64(b.max) {
		return nil
	}
	return rejection(b.target, aierrors.Overloaded, ErrQueueFull, 0, "no in-flight permit free now")
}
