package resilience

import "log/slog"

// Option configures a [ResilientExecutor] or a standalone part at
// construction: [WithName], [WithHooks], [WithLogger], [WithSharedLimiter],
// [WithSharedState].
type Option interface{ apply(*options) }

type options struct {
	name   string
	hooks  Hooks
	logger *slog.Logger
	shared sharedOptions
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithName names the target ("openai/gpt-4o") in errors, hooks and logs.
func WithName(target string) Option {
	return optionFunc(func(o *options) { o.name = target })
}

// WithHooks sets the functions called on each decision (see [Hooks]).
func WithHooks(h Hooks) Option { return hooksOption(h) }

// hooksOption is a type of its own so that FallbackChain.Execute, which
// reads only the hooks, finds them by a type switch: building the options
// through apply would move them to the heap on every call.
type hooksOption Hooks

func (h hooksOption) apply(o *options) { o.hooks = Hooks(h) }

// WithLogger logs each decision to l: retries and state changes at Info
// and Warn, attempts at Debug. Records carry the target, the code and the
// provider's request id; never a credential or a prompt. nil: no logging.
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
