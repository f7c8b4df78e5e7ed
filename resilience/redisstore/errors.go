package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Cause is why a Redis operation failed, as [Error] names it.
type Cause int

const (
	CauseOther          Cause = iota // any other error (the Redis error's text is in Error.Err)
	CauseRefused                     // no server listens: the connection was refused
	CauseTimeout                     // no answer within the operation's deadline (a dead or slow server, a lost network)
	CauseConnectionLost              // the connection was closed or reset while in use (a server that died or restarted)
	CauseAuth                        // authentication or permission: NOAUTH, WRONGPASS, NOPERM
	CauseOOM                         // the server is out of memory (OOM command not allowed when used memory > 'maxmemory')
)

func (c Cause) String() string {
	switch c {
	case CauseRefused:
		return "connection refused"
	case CauseTimeout:
		return "timeout"
	case CauseConnectionLost:
		return "connection lost"
	case CauseAuth:
		return "authentication failed"
	case CauseOOM:
		return "out of memory"
	}
	return "error"
}

// Error is the error of a [Limiter] or [State] operation: which operation,
// on which key, and why, in one line, for example
//
//	redisstore: reserve "openai/gpt-4o": connection refused: dial tcp 127.0.0.1:6379: connect: connection refused
//
// The executor passes it on in Hooks.OnSharedState (SharedStateChange.Err)
// and SignalsSnapshot.Shared.Error. errors.Is and errors.As see the
// go-redis or network error in Err.
type Error struct {
	Op    string // "reserve", "join", "admit", "open", "close", "release", "pause"
	Key   string // the limit's or target's key (without prefix)
	Cause Cause
	Err   error
}

func (e *Error) Error() string {
	msg := strings.Join(strings.Fields(e.Err.Error()), " ") // one line
	if e.Cause == CauseOther {
		return fmt.Sprintf("redisstore: %s %q: %s", e.Op, e.Key, msg)
	}
	return fmt.Sprintf("redisstore: %s %q: %s: %s", e.Op, e.Key, e.Cause, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// opError wraps err, the failure of op on key, with its cause.
func opError(op, key string, err error) error {
	return &Error{Op: op, Key: key, Cause: causeOf(err), Err: err}
}

func causeOf(err error) Cause {
	var re redis.Error
	if errors.As(err, &re) {
		s := re.Error()
		switch {
		case strings.HasPrefix(s, "NOAUTH"), strings.HasPrefix(s, "WRONGPASS"), strings.HasPrefix(s, "NOPERM"):
			return CauseAuth
		case strings.HasPrefix(s, "OOM"):
			return CauseOOM
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return CauseTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return CauseConnectionLost
	}
	return CauseOther
}
