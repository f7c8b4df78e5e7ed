package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientDialTimeout is the DialTimeout [Configure] sets (at most).
const ClientDialTimeout = 250 * time.Millisecond

// Configure sets the fields of o that let a failing Redis show as what it
// is within the executor's 50ms budget per operation, and returns o:
//
//   - ContextTimeoutEnabled: the operation's deadline bounds socket
//     reads and writes too (without it a hung Redis holds each operation
//     for the client's ReadTimeout);
//   - MaxRetries -1 and DialerRetries 1: go-redis retries nothing itself
//     (by default it retries a command 3 times and a dial 5 times, 100ms
//     apart, so a refused connection ends as "context deadline exceeded"
//     and reads as a slow Redis); the executor asks again later on its
//     own, 100ms to 2s apart;
//   - DialTimeout at most [ClientDialTimeout].
//
// Use it on the options of the client given to [NewLimiter] and
// [NewState] (or on a client of their own), before redis.NewClient:
//
//	opt, _ := redis.ParseURL("redis://redis:6379/0")
//	rdb := redis.NewClient(redisstore.Configure(opt))
//
// Set the same fields on a redis.UniversalOptions, ClusterOptions or
// FailoverOptions for other kinds of client.
func Configure(o *redis.Options) *redis.Options {
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.DialerRetries = 1
	if o.DialTimeout <= 0 || o.DialTimeout > ClientDialTimeout {
		o.DialTimeout = ClientDialTimeout
	}
	return o
}

// NewClient is redis.NewClient(Configure(opt)) for a redis:// or rediss://
// URL (see redis.ParseURL).
func NewClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return redis.NewClient(Configure(opt)), nil
}

// SetRedisLogger sends go-redis's own log (a line per failed dial, among
// others) to l at Debug level, or nowhere when l is nil. go-redis has one
// logger for the whole process (redis.SetLogger), which logs to stderr by
// default; this package never changes it unless this is called, since that
// changes it for every go-redis client of the process. The causes it logs
// are in the errors of [Limiter] and [State] anyway (see [Error]).
func SetRedisLogger(l *slog.Logger) {
	redis.SetLogger(redisLogger{l})
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if r.l == nil || !r.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	r.l.LogAttrs(ctx, slog.LevelDebug, fmt.Sprintf(format, v...), slog.String("source", "go-redis"))
}
