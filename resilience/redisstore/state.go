package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/resilience/shared"
	"github.com/redis/go-redis/v9"
)

// The state of one target is three keys sharing one hash tag (so the
// scripts work with Redis Cluster), each expiring on its own:
//
//	open   "1" while the circuit is open (PX = the open period)
//	half   the probe slots taken in the half_open phase; it outlives open
//	       by the probe timeout, refreshed at each probe (PX)
//	pause  the pause's reason code while paused (PX = the pause)
//
// Every duration is a key's TTL, counted by Redis: replicas need no
// synchronized clocks.

// admitScript: KEYS open, half, pause; ARGV max probes, probe timeout (ms).
// Returns {kind, ms, code}: kind 0 closed, 1 open for ms, 2 every probe
// slot taken, 3 probe slot taken, 4 paused for ms with code.
var admitScript = redis.NewScript(`
local open = redis.call('PTTL', KEYS[1])
if open > 0 then return {1, open, 0} end
local pause = redis.call('PTTL', KEYS[3])
if pause > 0 then return {4, pause, tonumber(redis.call('GET', KEYS[3])) or 0} end
local n = tonumber(redis.call('GET', KEYS[2]))
if not n then return {0, 0, 0} end
if n >= tonumber(ARGV[1]) then return {2, 0, 0} end
redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {3, 0, 0}
`)

// openScript: KEYS open, half; ARGV open period (ms), probe timeout (ms).
var openScript = redis.NewScript(`
local d = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) >= d then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', d)
redis.call('SET', KEYS[2], '0', 'PX', d + tonumber(ARGV[2]))
return 1
`)

// releaseScript: KEYS half.
var releaseScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]))
if n and n > 0 then redis.call('DECR', KEYS[1]) end
return 0
`)

// pauseScript: KEYS pause; ARGV pause (ms), code.
var pauseScript = redis.NewScript(`
if redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[1])
return 1
`)

// State is circuit and pause state shared through Redis by the replicas of
// each target: a [shared.State] for [resilience.WithSharedState].
// Each method is one Lua script (or DEL) on the target's keys: no lock is
// ever held across a provider call, and a replica that dies holding a
// probe slot delays the others by at most the probe timeout
// ([WithProbeTimeout]), after which the half_open phase ends (closed).
//
// A State is safe for concurrent use. It does not own the client.
type State struct {
	c            redis.UniversalClient
	prefix       string
	probeTimeout time.Duration
}

// NewState returns the shared state kept in Redis through c. Options:
// [WithPrefix], [WithProbeTimeout]. It does no I/O.
func NewState(c redis.UniversalClient, opts ...Option) (*State, error) {
	if c == nil {
		return nil, errors.New("redisstore: nil redis client")
	}
	o := buildOptions(opts)
	return &State{c: c, prefix: o.prefix, probeTimeout: o.probeTimeout}, nil
}

func (s *State) keys(key string) []string {
	return []string{redisKey(s.prefix, key, "open"), redisKey(s.prefix, key, "half"), redisKey(s.prefix, key, "pause")}
}

// Admit implements [shared.State].
func (s *State) Admit(ctx context.Context, key string, maxProbes int) (shared.Admission, error) {
	res, err := admitScript.Run(ctx, s.c, s.keys(key), max(maxProbes, 1), ms(s.probeTimeout)).Int64Slice()
	if err != nil {
		return shared.Admission{}, opError("admit", key, err)
	}
	if len(res) != 3 {
		return shared.Admission{}, fmt.Errorf("redisstore: admit %q: unexpected reply %v", key, res)
	}
	d := time.Duration(res[1]) * time.Millisecond
	switch res[0] {
	case 1:
		return shared.Admission{OpenFor: d}, nil
	case 2:
		return shared.Admission{ProbesFull: true}, nil
	case 3:
		return shared.Admission{Probe: true}, nil
	case 4:
		return shared.Admission{PausedFor: d, PauseCode: aierrors.StandardErrorCode(res[2])}, nil
	}
	return shared.Admission{}, nil
}

// Open implements [shared.State].
func (s *State) Open(ctx context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	k := s.keys(key)
	if err := openScript.Run(ctx, s.c, k[:2], ms(d), ms(s.probeTimeout)).Err(); err != nil {
		return opError("open", key, err)
	}
	return nil
}

// Close implements [shared.State].
func (s *State) Close(ctx context.Context, key string) error {
	k := s.keys(key)
	if err := s.c.Del(ctx, k[0], k[1]).Err(); err != nil {
		return opError("close", key, err)
	}
	return nil
}

// Release implements [shared.State].
func (s *State) Release(ctx context.Context, key string) error {
	if err := releaseScript.Run(ctx, s.c, []string{redisKey(s.prefix, key, "half")}).Err(); err != nil {
		return opError("release", key, err)
	}
	return nil
}

// Pause implements [shared.State].
func (s *State) Pause(ctx context.Context, key string, d time.Duration, code aierrors.StandardErrorCode) error {
	if d <= 0 {
		return nil
	}
	if err := pauseScript.Run(ctx, s.c, []string{redisKey(s.prefix, key, "pause")}, ms(d), int(code)).Err(); err != nil {
		return opError("pause", key, err)
	}
	return nil
}

// ms is d in whole milliseconds, rounded up, at least 1.
func ms(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}

// Join implements [shared.Membership] as [Limiter.Join] does, for the
// replicas sharing group's state: the executor joins each replica about
// once a second, so that each knows its share of a limit the provider
// states for all of them (a key's per-minute limit, read from headers).
func (s *State) Join(ctx context.Context, group, member string, ttl time.Duration) (live, rank int, err error) {
	return join(ctx, s.c, s.prefix, group, member, ttl)
}

var (
	_ shared.State      = (*State)(nil)
	_ shared.Membership = (*State)(nil)
)
