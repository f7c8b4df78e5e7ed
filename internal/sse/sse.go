package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
)

// DefaultMaxBytes bounds one line, and the data of one event, when the
// Decoder is made with [NewDecoder]: 1 MiB.
const DefaultMaxBytes = 1 << 20

// ErrTooLong is returned by [Decoder.Next] when a line or an event's data
// exceeds the decoder's bound. The decoder cannot continue after it.
var ErrTooLong = errors.New("sse: line or event data too long")

// Event is one dispatched event.
type Event struct {
	// Type is the value of the last "event" field, or "message" when the
	// event had none (the standard's default type).
	Type string
	// Data is the event's data fields joined with "\n".
	Data string
	// ID is the last event ID in force when the event was dispatched: set
	// by an "id" field of this event or of an earlier one.
	ID string
}

// Decoder reads events from a stream. The zero value is not usable; make
// one with [NewDecoder] or [NewDecoderSize].
type Decoder struct {
	r   *bufio.Reader
	max int

	line     []byte // the line being read; reused
	data     []byte // data buffer of the event being built
	hasData  bool   // a data field was seen (the data may be empty)
	typ      string // event type buffer
	lastID   string
	retry    time.Duration
	retrySet bool

	skipLF  bool // the previous line ended with CR: a following LF belongs to it
	started bool // the BOM check has been done
	err     error
}

// NewDecoder returns a Decoder reading from r with [DefaultMaxBytes].
func NewDecoder(r io.Reader) *Decoder { return NewDecoderSize(r, DefaultMaxBytes) }

// NewDecoderSize returns a Decoder reading from r that fails with
// [ErrTooLong] when a line, or the data of one event, exceeds max bytes.
// A max below 1 means [DefaultMaxBytes].
func NewDecoderSize(r io.Reader, max int) *Decoder {
	if max < 1 {
		max = DefaultMaxBytes
	}
	return &Decoder{r: bufio.NewReaderSize(r, 4096), max: max}
}

// Retry returns the reconnection time the stream asked for with its last
// valid "retry" field, and whether it sent one.
func (d *Decoder) Retry() (time.Duration, bool) { return d.retry, d.retrySet }

// LastEventID returns the last event ID set by the stream ("" if none).
func (d *Decoder) LastEventID() string { return d.lastID }

// Next returns the next event. At the end of the input it returns io.EOF
// (an unfinished event is dropped); a read error is returned as is. After
// an error every later call returns the same error.
func (d *Decoder) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	for {
		line, err := d.readLine()
		if err != nil {
			d.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			if ev, ok := d.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := d.field(line); err != nil {
			d.err = err
			return Event{}, err
		}
	}
}

// dispatch ends the event being built. It reports false when there is
// nothing to dispatch (no data field), as the standard says.
func (d *Decoder) dispatch() (Event, bool) {
	if !d.hasData {
		d.typ = ""
		return Event{}, false
	}
	data := d.data
	if n := len(data); n > 0 && data[n-1] == '\n' {
		data = data[:n-1]
	}
	ev := Event{Type: d.typ, Data: string(data), ID: d.lastID}
	if ev.Type == "" {
		ev.Type = "message"
	}
	d.data = d.data[:0]
	d.hasData = false
	d.typ = ""
	return ev, true
}

// field processes one non-empty line.
func (d *Decoder) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		d.typ = string(value)
	case "error":
		// Not a field of the standard, which says to ignore it: llama.cpp's
		// server wrote a stream's error as "error: {...}" (its
		// server_sent_event(sink, "error", ...)), then "data: [DONE]".
		// Ignored, the error was lost and the cut answer read as whole;
		// read as the data of an event of type "error", it is an error.
		d.typ = "error"
		return d.appendData(value)
	case "data":
		return d.appendData(value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.lastID = string(value)
		}
	case "retry":
		if ms, ok := digits(value); ok {
			d.retry = time.Duration(ms) * time.Millisecond
			d.retrySet = true
		}
	}
	return nil
}

// appendData adds one data line to the event being built.
func (d *Decoder) appendData(value []byte) error {
	if len(d.data)+len(value)+1 > d.max {
		return ErrTooLong
	}
	d.data = append(d.data, value...)
	d.data = append(d.data, '\n')
	d.hasData = true
	return nil
}

// digits parses a non-empty string of ASCII digits.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// readLine returns the next line without its terminator. The slice is
// valid until the next call.
func (d *Decoder) readLine() ([]byte, error) {
	d.line = d.line[:0]
	if d.skipLF {
		d.skipLF = false
		b, err := d.r.Peek(1)
		if err != nil {
			return nil, err
		}
		if b[0] == '\n' {
			d.r.Discard(1)
		}
	}
	if !d.started {
		d.started = true
		// Wait for three bytes only when the first one can start a BOM, so
		// that a short first line is not held back.
		if b, err := d.r.Peek(1); err == nil && b[0] == 0xEF {
			if b, err := d.r.Peek(3); err == nil && bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
				d.r.Discard(3)
			}
		}
	}
	for {
		n := d.r.Buffered()
		if n == 0 {
			n = 1
		}
		buf, err := d.r.Peek(n)
		if len(buf) == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return nil, err
		}
		if i := bytes.IndexAny(buf, "\r\n"); i >= 0 {
			if len(d.line)+i > d.max {
				return nil, ErrTooLong
			}
			d.line = append(d.line, buf[:i]...)
			d.skipLF = buf[i] == '\r'
			d.r.Discard(i + 1)
			return d.line, nil
		}
		if len(d.line)+len(buf) > d.max {
			return nil, ErrTooLong
		}
		d.line = append(d.line, buf...)
		d.r.Discard(len(buf))
	}
}
