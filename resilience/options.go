package resilience

import "log/slog"

// Option configures a [ResilientExecutor] or one of the standalone parts
// ([NewCircuitBreaker], [NewRateLimiter], [NewBackpressure]).
type Option interface {
	apply(*options)
}

type options struct {
	name   string
	hooks  Hooks
	logger *slog.Logger
	shared *sharedOptions // WithSharedLimiter, WithSharedState, WithSharedTimeout; nil: none
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithName names the target, such as "openai/gpt-4o". The name appears in
// hooks and logs, and local rejections (open circuit, rate wait, full
// queue) carry it as their Provider and Model (split at the first "/").
func WithName(target string) Option {
	return optionFunc(func(o *options) { o.name = target })
}

// WithHooks sets the functions called on each decision. See [Hooks].
func WithHooks(h Hooks) Option {
	return optionFunc(func(o *options) { o.hooks = h })
}

// WithLogger logs decisions to l: attempts and limiter waits at Debug,
// retries and rejections at Info, circuit state changes at Warn. Attributes
// include target, attempt and code; never credentials. nil (the default)
// logs nothing.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) { o.logger = l })
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	return o
}
