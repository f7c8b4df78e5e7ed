package redisstore

import (
	"strings"
	"time"

	"github.com/ailib-go/ailib/resilience/shared"
)

// DefaultPrefix starts every key this package writes.
const DefaultPrefix = "ailib:"

// Option configures a [Limiter] or a [State].
type Option interface {
	apply(*options)
}

type options struct {
	prefix       string
	probeTimeout time.Duration
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithPrefix starts every key with prefix instead of [DefaultPrefix], for
// example to keep two applications (or two limits: requests and tokens)
// apart in one Redis database.
func WithPrefix(prefix string) Option {
	return optionFunc(func(o *options) { o.prefix = prefix })
}

// WithProbeTimeout sets how long a half_open phase waits for the report of
// a probe before it ends on its own (the circuit is then closed); 0 or less
// means [shared.ProbeTimeout]. Make it longer than an attempt
// may take. Used by [State] only.
func WithProbeTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.probeTimeout = d })
}

func buildOptions(opts []Option) options {
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if o.probeTimeout <= 0 {
		o.probeTimeout = shared.ProbeTimeout
	}
	return o
}

// redisKey is prefix{key}:suffix: the braces make the keys of one target
// share a Redis Cluster hash slot, as a Lua script on several keys needs.
func redisKey(prefix, key, suffix string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(key) + len(suffix) + 3)
	b.WriteString(prefix)
	b.WriteByte('{')
	b.WriteString(key)
	b.WriteString("}:")
	b.WriteString(suffix)
	return b.String()
}
