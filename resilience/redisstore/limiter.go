package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience"
	"github.com/ailib-go/ailib/resilience/shared"
	"github.com/redis/go-redis/v9"
)

// Limit is a rate: Rate units every Period, with bursts of up to Burst
// units. A unit is whatever the caller spends: a request (the executor
// spends one per attempt) or, with a weighted cost, a token.
type Limit struct {
	Rate   int           // units per Period, at least 1
	Period time.Duration // at least 1µs
	Burst  int           // units that may go at once; 0 means Rate
}

// PerSecond is a limit of rate units a second, with bursts of rate.
func PerSecond(rate int) Limit { return Limit{Rate: rate, Period: time.Second, Burst: rate} }

// PerMinute is a limit of rate units a minute, with bursts of rate, like a
// provider's tokens-per-minute limit.
func PerMinute(rate int) Limit { return Limit{Rate: rate, Period: time.Minute, Burst: rate} }

func (l Limit) String() string {
	return fmt.Sprintf("%d per %v (burst %d)", l.Rate, l.Period, l.burst())
}

func (l Limit) burst() int {
	if l.Burst == 0 {
		return l.Rate
	}
	return l.Burst
}

func (l Limit) validate() error {
	var errs []error
	if l.Rate < 1 {
		errs = append(errs, fmt.Errorf("redisstore: Limit.Rate %d: must be at least 1", l.Rate))
	}
	if l.Period < time.Microsecond {
		errs = append(errs, fmt.Errorf("redisstore: Limit.Period %v: must be at least 1µs", l.Period))
	}
	if l.Burst < 0 {
		errs = append(errs, fmt.Errorf("redisstore: Limit.Burst %d: must not be negative (0 means Rate)", l.Burst))
	}
	return errors.Join(errs...)
}

// gcraScript is the limiter: one GCRA step on one key, on Redis's clock.
// The key holds the theoretical arrival time (TAT, µs on Redis's clock) of
// the next unit; the bucket is full when the TAT is in the past, and the
// key then expires. A reservation of cost c moves the TAT c intervals
// forward and must wait until TAT - burst·interval.
//
// KEYS[1] the limit's key. ARGV: interval (µs per unit, fractional),
// burst (units), cost (units), longest acceptable wait (µs). Returns
// {1 = taken or 0 = refused (nothing taken), wait in µs}.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local maxwait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local newtat = tat + cost * interval
local wait = newtat - burst * interval - now
if wait > maxwait then return {0, math.ceil(wait)} end
redis.call('SET', KEYS[1], string.format('%.17g', newtat), 'PX', math.ceil((newtat - now) / 1000) + 1)
if wait < 0 then wait = 0 end
return {1, math.ceil(wait)}
`)

// Limiter is a rate limit shared through Redis by every process that uses
// it with the same key: a [shared.Limiter] for
// [resilience.WithSharedLimiter], also usable on its own ([Limiter.Wait]).
//
// Each reservation is one Lua script on one key (so it works with Redis
// Cluster), timed by Redis's own clock: replicas need no synchronized
// clocks, and nothing is locked across a provider call. Reservations are
// served in arrival order, possibly ahead of time: the caller waits the
// returned duration. A weighted cost lets one Limiter count tokens (a
// tokens-per-minute limit) as well as requests; use a separate Limiter (or
// prefix) per kind of unit, since a key's state is only meaningful for one
// Limit.
//
// A Limiter is safe for concurrent use. It does not own the client:
// closing the client is the caller's job.
type Limiter struct {
	c        redis.UniversalClient
	limit    Limit
	prefix   string
	interval float64 // µs per unit
	burst    int
}

// NewLimiter returns a limiter of l in Redis through c. Options:
// [WithPrefix]. It does no I/O.
func NewLimiter(c redis.UniversalClient, l Limit, opts ...Option) (*Limiter, error) {
	var errs []error
	if c == nil {
		errs = append(errs, errors.New("redisstore: nil redis client"))
	}
	if err := l.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o := buildOptions(opts)
	return &Limiter{
		c:        c,
		limit:    l,
		prefix:   o.prefix,
		interval: float64(l.Period.Microseconds()) / float64(l.Rate),
		burst:    l.burst(),
	}, nil
}

// Limit returns the limiter's limit.
func (l *Limiter) Limit() Limit { return l.limit }

// Rate implements [shared.RateReporter]: the limit's rate, units a
// second, and its burst. The executor paces a replica at its share of it
// while Redis is unreachable.
func (l *Limiter) Rate() (perSecond float64, burst int) {
	return float64(l.limit.Rate) / l.limit.Period.Seconds(), l.burst
}

// Key returns the Redis key holding the state of the limit named key.
func (l *Limiter) Key(key string) string { return redisKey(l.prefix, key, "gcra") }

// Reserve implements [shared.Limiter]: it takes cost units
// (cost < 1 counts as 1) of the limit named key and returns how long to
// wait before going; when the wait would exceed maxWait it takes nothing
// and returns ok false with the wait needed. It is one round trip to
// Redis, bounded by ctx.
func (l *Limiter) Reserve(ctx context.Context, key string, cost int, maxWait time.Duration) (wait time.Duration, ok bool, err error) {
	res, err := gcraScript.Run(ctx, l.c, []string{l.Key(key)}, l.interval, l.burst, max(cost, 1), maxWait.Microseconds()).Int64Slice()
	if err != nil {
		return 0, false, opError("reserve", key, err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("redisstore: reserve %q: unexpected reply %v", key, res)
	}
	return time.Duration(res[1]) * time.Microsecond, res[0] == 1, nil
}

// Wait takes cost units of the limit named key, waiting for them as long
// as ctx allows: for example the tokens a request is expected to use,
// against a tokens-per-minute limit. A wait that cannot end before the
// ctx deadline is not started: Wait returns at once a RateLimited
// *aierrors.Error wrapping [resilience.ErrRateLimitWait], RetryAfter the
// wait needed. When ctx ends while waiting, the units are not given back.
// A Redis error is returned as is (wrapped).
func (l *Limiter) Wait(ctx context.Context, key string, cost int) error {
	maxWait := time.Duration(math.MaxInt64)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(dl)-1, 0)
	}
	wait, ok, err := l.Reserve(ctx, key, cost, maxWait)
	if err != nil {
		return err
	}
	if !ok {
		return &aierrors.Error{Code: aierrors.RateLimited, RetryAfter: wait,
			Message: "shared rate limit wait exceeds the deadline", Err: resilience.ErrRateLimitWait}
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// joinScript: KEYS the group's sorted set (member → expiry, ms on Redis's
// clock); ARGV member, ttl (ms). Returns {live members, member's rank by
// id}.
var joinScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local rank = 0
for _, id in ipairs(ids) do
  if id < ARGV[1] then rank = rank + 1 end
end
return {#ids, rank}
`)

// Join implements [shared.Membership]: the replicas sharing the limit
// named group, kept in Redis as a sorted set of member ids scored by
// expiry (the key expires ttl after the last join). The executor joins
// each replica (about once a second, while Redis answers) to know its
// share of the limit when Redis is lost.
func (l *Limiter) Join(ctx context.Context, group, member string, ttl time.Duration) (live, rank int, err error) {
	return join(ctx, l.c, l.prefix, group, member, ttl)
}

// join runs joinScript for member of group, for Limiter.Join and
// State.Join.
func join(ctx context.Context, c redis.UniversalClient, prefix, group, member string, ttl time.Duration) (live, rank int, err error) {
	res, err := joinScript.Run(ctx, c, []string{redisKey(prefix, group, "members")}, member, ms(ttl)).Int64Slice()
	if err != nil {
		return 0, 0, opError("join", group, err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redisstore: join %q: unexpected reply %v", group, res)
	}
	return int(res[0]), int(res[1]), nil
}

var (
	_ shared.Limiter      = (*Limiter)(nil)
	_ shared.RateReporter = (*Limiter)(nil)
	_ shared.Membership   = (*Limiter)(nil)
)
