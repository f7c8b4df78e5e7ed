package sse

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// readAll decodes every event of input, reading it through wrap.
func readAll(t *testing.T, d *Decoder) ([]Event, error) {
	t.Helper()
	var out []Event
	for {
		ev, err := d.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestDecoder(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Event
	}{
		{"lf", "data: a\n\ndata: b\n\n", []Event{{"message", "a", ""}, {"message", "b", ""}}},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []Event{{"message", "a", ""}, {"message", "b", ""}}},
		{"cr", "data: a\r\rdata: b\r\r", []Event{{"message", "a", ""}, {"message", "b", ""}}},
		{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", []Event{{"message", "a\nb\nc", ""}}},
		{"multi-line data", "data: one\ndata: two\ndata:\n\n", []Event{{"message", "one\ntwo\n", ""}}},
		{"event type", "event: ping\ndata: {}\n\ndata: x\n\n", []Event{{"ping", "{}", ""}, {"message", "x", ""}}},
		{"comments ignored", ": keep-alive\n:\ndata: x\n: mid\n\n", []Event{{"message", "x", ""}}},
		{"only comments", ": a\n\n: b\n\n", nil},
		{"blank lines without data", "\n\n\nevent: x\n\ndata: y\n\n", []Event{{"message", "y", ""}}},
		{"one space stripped", "data:x\n\ndata:  x\n\n", []Event{{"message", "x", ""}, {"message", " x", ""}}},
		{"field without colon", "data\n\n", []Event{{"message", "", ""}}},
		{"unknown field ignored", "foo: bar\ndata: x\n\n", []Event{{"message", "x", ""}}},
		{"id persists", "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", []Event{{"message", "a", "1"}, {"message", "b", "1"}, {"message", "c", ""}}},
		{"id with NUL ignored", "id: 7\ndata: a\n\nid: x\x00y\ndata: b\n\n", []Event{{"message", "a", "7"}, {"message", "b", "7"}}},
		{"bom", "\xEF\xBB\xBFdata: a\n\n", []Event{{"message", "a", ""}}},
		{"unfinished event dropped", "data: a\n\ndata: b\n", []Event{{"message", "a", ""}}},
		{"unterminated line dropped", "data: a\n\ndata: b", []Event{{"message", "a", ""}}},
		{"colon in value", "data: {\"a\":1}\n\n", []Event{{"message", `{"a":1}`, ""}}},
		{"openai done", "data: {\"x\":1}\n\ndata: [DONE]\n\n", []Event{{"message", `{"x":1}`, ""}, {"message", "[DONE]", ""}}},
		{"empty input", "", nil},
		// llama.cpp's server: "error: {...}", then "data: [DONE]".
		{"error field", "data: {\"a\":1}\n\nerror: {\"code\":500,\"message\":\"m\"}\n\ndata: [DONE]\n\n",
			[]Event{{"message", `{"a":1}`, ""}, {"error", `{"code":500,"message":"m"}`, ""}, {"message", "[DONE]", ""}}},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"bytewise", iotest.OneByteReader},
		{"halves", iotest.HalfReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				d := NewDecoder(rd.wrap(strings.NewReader(tt.input)))
				got, err := readAll(t, d)
				if !errors.Is(err, io.EOF) {
					t.Errorf("Next() error = %v; want io.EOF", err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("events of %q = %q; want %q", tt.input, got, tt.want)
				}
			})
		}
	}
}

func TestDecoderRetry(t *testing.T) {
	d := NewDecoder(strings.NewReader("retry: 1500\ndata: a\n\nretry: x\ndata: b\n\n"))
	if _, err := d.Next(); err != nil {
		t.Fatalf("Next() error = %v", err)
	}
	if got, ok := d.Retry(); got != 1500*time.Millisecond || !ok {
		t.Errorf("Retry() = %v, %v; want 1.5s, true", got, ok)
	}
	if _, err := d.Next(); err != nil {
		t.Fatalf("Next() error = %v", err)
	}
	if got, _ := d.Retry(); got != 1500*time.Millisecond {
		t.Errorf("Retry() after invalid retry field = %v; want 1.5s kept", got)
	}
	if got := d.LastEventID(); got != "" {
		t.Errorf("LastEventID() = %q; want empty", got)
	}
}

func TestDecoderTooLong(t *testing.T) {
	tests := []struct {
		name  string
		input string
	}{
		{"line", "data: " + strings.Repeat("x", 100) + "\n\n"},
		{"line without newline", strings.Repeat("x", 1000)},
		{"comment", ":" + strings.Repeat("x", 100) + "\n\n"},
		{"event data over many lines", strings.Repeat("data: 0123456789\n", 10) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoderSize(iotest.HalfReader(strings.NewReader(tt.input)), 64)
			_, err := readAll(t, d)
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("Next() error = %v; want ErrTooLong", err)
			}
			if _, err2 := d.Next(); !errors.Is(err2, ErrTooLong) {
				t.Errorf("Next() after error = %v; want the same error", err2)
			}
		})
	}
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	d := NewDecoder(r)
	ev, err := d.Next()
	if err != nil || ev.Data != "a" {
		t.Fatalf("Next() = %+v, %v; want data a", ev, err)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Errorf("Next() error = %v; want %v", err, boom)
	}
}

// TestDecoderDoesNotWaitForMore checks that an event is returned as soon as
// its blank line arrives, even when that line ends with a lone CR (the
// decoder must not wait for a possible LF).
func TestDecoderDoesNotWaitForMore(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() {
		pw.Write([]byte("data: a\r\r"))
		// The writer then blocks until the reader is closed.
		pw.Write([]byte("\ndata: b\n\n"))
		pw.Close()
	}()
	d := NewDecoder(pr)
	ev, err := d.Next()
	if err != nil || ev.Data != "a" {
		t.Fatalf("Next() = %+v, %v; want data a", ev, err)
	}
	ev, err = d.Next()
	if err != nil || ev.Data != "b" {
		t.Fatalf("Next() = %+v, %v; want data b", ev, err)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add("data: a\r\n\r\nevent: x\ndata: b\rid: 1\r\r: c\n")
	f.Add("\xEF\xBB\xBFretry: 10\ndata\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		d := NewDecoderSize(strings.NewReader(s), 256)
		for range len(s) + 1 {
			ev, err := d.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > 256 {
				t.Fatalf("event data of %d bytes exceeds the bound", len(ev.Data))
			}
		}
		t.Fatalf("more events than input bytes")
	})
}
