package client

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBounded holds readBounded to what io.ReadAll of an
// io.LimitReader(r, limit+1) gives, cut to limit, for bodies around the
// limit and around the sizes of the pooled buffers, read whole or a byte
// at a time.
func TestReadBounded(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 8 << 10, 8<<10 + 1, 70 << 10} {
		body := strings.Repeat("abcdefghij", size/10+1)[:size]
		for _, limit := range []int64{0, 1, int64(size) - 1, int64(size), int64(size) + 1, 1 << 20, math.MaxInt64} {
			if limit < 0 {
				continue
			}
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(body)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, more, err := readBounded(r, limit)
				want := body
				if int64(len(want)) > limit {
					want = want[:limit]
				}
				if string(got) != want || more != (int64(size) > limit) || err != nil {
					t.Errorf("readBounded(%d bytes, %d) = %d bytes, %v, %v; want %d bytes, %v, nil",
						size, limit, len(got), more, err, len(want), int64(size) > limit)
				}
			}
		}
	}
}

// TestReadBoundedError checks that a read error is returned with the bytes
// read before it, and that the buffer handed back is the caller's own.
func TestReadBoundedError(t *testing.T) {
	boom := errors.New("boom")
	got, more, err := readBounded(io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom)), 100)
	if string(got) != "partial" || more || !errors.Is(err, boom) {
		t.Errorf("readBounded() = %q, %v, %v; want %q, false, boom", got, more, err, "partial")
	}
	a, _, _ := readBounded(strings.NewReader("first"), 100)
	b, _, _ := readBounded(strings.NewReader("other"), 100)
	if !bytes.Equal(a, []byte("first")) || !bytes.Equal(b, []byte("other")) {
		t.Errorf("readBounded() results share memory: %q, %q", a, b)
	}
}
