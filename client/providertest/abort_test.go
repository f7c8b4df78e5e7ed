package providertest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestStreamCutAndErrorAfter(t *testing.T) {
	tests := []struct {
		name       string
		anthropic  bool
		a          Answer
		wantEvents []string // event names ("" for data-only), "d:TEXT" for a data-only event's data prefix
		wantCut    bool     // the body ends with io.ErrUnexpectedEOF
		cuts, errs int
	}{
		{"openai cut after 2", false, Answer{Chunks: []string{"a", "b", "c"}, CutAfter: 2},
			[]string{"d:{", "d:{", "d:{"}, true, 1, 0},
		{"openai cut at start", false, Answer{Chunks: []string{"a", "b"}, CutAfter: CutAtStart},
			nil, true, 1, 0},
		{"openai cut past the end", false, Answer{Chunks: []string{"a", "b"}, CutAfter: 99},
			[]string{"d:{", "d:{", "d:{"}, true, 1, 0},
		{"openai error after 1", false, Answer{Chunks: []string{"a", "b"}, ErrorAfter: 1},
			[]string{"d:{", "d:{", `d:{"error":{`}, false, 0, 1},
		{"openai custom error body", false, Answer{Chunks: []string{"a"}, ErrorAfter: CutAtStart, ErrorBody: `{"error":{"message":"boom"}}`},
			[]string{`d:{"error":{"message":"boom"}}`}, false, 0, 1},
		{"anthropic cut after 1", true, Answer{Chunks: []string{"a", "b"}, CutAfter: 1},
			[]string{"message_start", "content_block_start", "ping", "content_block_delta"}, true, 1, 0},
		{"anthropic cut at start", true, Answer{Text: "a b", CutAfter: CutAtStart},
			nil, true, 1, 0},
		{"anthropic error after 2", true, Answer{Chunks: []string{"a", "b", "c"}, ErrorAfter: 2},
			[]string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "error"}, false, 0, 1},
		{"anthropic error first", true, Answer{Text: "a", ErrorAfter: CutAtStart},
			[]string{"error"}, false, 0, 1},
	}
	for _, tg := range targets(t) {
		for _, tt := range tests {
			t.Run(tg.name+"/"+tt.name, func(t *testing.T) {
				tg.srv.Clear()
				tg.srv.Script("m", tt.a)
				path, body := "/v1/chat/completions", openAIBody("m", true)
				if tt.anthropic {
					path, body = "/v1/messages", anthropicBody("m", true)
				}
				resp, err := post(t.Context(), t, tg.client, tg.srv.URL()+path, body)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status = %d; want 200", resp.StatusCode)
				}
				events, _, err := readSSE(resp.Body)
				if cut := errors.Is(err, io.ErrUnexpectedEOF); cut != tt.wantCut || (!tt.wantCut && err != nil) {
					t.Errorf("stream ended with %v; want cut=%v", err, tt.wantCut)
				}
				var got []string
				for _, e := range events {
					if e.Name != "" {
						got = append(got, e.Name)
						continue
					}
					got = append(got, "d:"+e.Data)
				}
				if len(got) != len(tt.wantEvents) {
					t.Fatalf("events = %q; want %q", got, tt.wantEvents)
				}
				for i := range got {
					if !strings.HasPrefix(got[i], tt.wantEvents[i]) {
						t.Errorf("event %d = %q; want prefix %q", i, got[i], tt.wantEvents[i])
					}
				}
				if tt.anthropic && len(events) > 0 && events[len(events)-1].Name == "error" {
					if typ := errorType(t, events[len(events)-1].Data, true); typ != "overloaded_error" {
						t.Errorf("error event type = %q; want overloaded_error", typ)
					}
				}
				resp.Body.Close()
				tg.srv.Close() // waits for the listening server's handlers, so the counts are final
				st := tg.srv.Stats("m")
				if st.Cuts != tt.cuts || st.StreamErrors != tt.errs || st.Streams != 1 || st.ByStatus[200] != 1 {
					t.Errorf("Stats = %+v; want Cuts %d, StreamErrors %d, Streams 1, one 200", st, tt.cuts, tt.errs)
				}
			})
			// Close above stopped this target; start a fresh one for the next case.
			tg = renew(t, tg)
		}
	}
}

// renew returns a fresh server of the same kind as tg.
func renew(t *testing.T, tg target) target {
	if tg.name == "listening" {
		s := NewServer()
		t.Cleanup(s.Close)
		return target{tg.name, s, s.Client()}
	}
	s := New()
	return target{tg.name, s, s.Client()}
}

func TestNonStreamCut(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", Answer{Text: "a long enough answer", CutAfter: 10})
			resp, err := post(t.Context(), t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("m", false))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) || string(b) != `{"id":"cha` {
				t.Errorf("ReadAll = %q, %v; want the first 10 bytes and io.ErrUnexpectedEOF", b, err)
			}
		})
	}
}

func TestReset(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			tg.srv.Script("m", Reset(), OK("after"))
			_, err := post(t.Context(), t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("m", false))
			if err == nil {
				t.Fatal("POST after Reset() succeeded; want an error")
			}
			// A loopback reset may surface as EOF if the read races the RST.
			if !errors.Is(err, syscall.ECONNRESET) && !(tg.name == "listening" && errors.Is(err, io.EOF)) {
				t.Errorf("POST error = %v; want connection reset", err)
			}
			if st, _, body := mustPost(t, tg.client, tg.srv.URL()+"/v1/chat/completions", openAIBody("m", false)); st != 200 ||
				!strings.Contains(body, "after") {
				t.Errorf("next POST = %d %s; want 200 after", st, body)
			}
			st := tg.srv.Stats("m")
			if st.Resets != 1 || st.Requests != 2 || st.ByStatus[200] != 1 || len(st.ByStatus) != 1 {
				t.Errorf("Stats = %+v; want 1 reset, 2 requests, one 200", st)
			}
		})
	}
}

func TestTransportAfterClose(t *testing.T) {
	srv := New()
	srv.Close()
	_, err := post(t.Context(), t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("POST after Close = %v; want connection refused", err)
	}
}

func TestTransportDelayHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.Script("m", Slow(time.Hour, "late"))
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := post(ctx, t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("POST = %v after %v; want context.DeadlineExceeded after 3s", err, time.Since(start))
		}
		synctest.Wait() // the handler goroutine has ended (synctest.Test also checks)
		if st := srv.Stats("m"); st.Abandoned != 1 || len(st.ByStatus) != 0 {
			t.Errorf("Stats = %+v; want 1 abandoned, no status sent", st)
		}
	})
}

func TestTransportDelayElapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.Script("m", Slow(90*time.Second, "late"))
		start := time.Now()
		st, _, body := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		if st != 200 || !strings.Contains(body, "late") || time.Since(start) != 90*time.Second {
			t.Errorf("POST = %d %s after %v; want 200 late after 1m30s", st, body, time.Since(start))
		}
	})
}

func TestTransportStreamCancel(t *testing.T) {
	tests := []struct {
		name    string
		stop    func(cancel context.CancelFunc, body io.Closer) // how the client gives up
		wantErr error
	}{
		{"cancel ctx", func(cancel context.CancelFunc, _ io.Closer) { cancel() }, context.Canceled},
		{"close body", func(_ context.CancelFunc, b io.Closer) { b.Close() }, nil},
	}
	for _, tt := range tests {
		for _, anthropic := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "/openai", true: "/anthropic"}[anthropic], func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := New()
					srv.Script("m", Answer{Chunks: []string{"a", "b", "c", "d"}, ChunkDelay: time.Minute})
					path, body := "/v1/chat/completions", openAIBody("m", true)
					if anthropic {
						path, body = "/v1/messages", anthropicBody("m", true)
					}
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					resp, err := post(ctx, t, srv.Client(), srv.URL()+path, body)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					br := bufio.NewReader(resp.Body)
					// Read up to the first content delta.
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							t.Fatalf("reading stream: %v", err)
						}
						if strings.Contains(line, `"a"`) {
							break
						}
					}
					tt.stop(cancel, resp.Body)
					synctest.Wait() // the handler has ended without waiting a minute
					_, err = io.ReadAll(br)
					if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
						t.Errorf("read after %s = %v; want %v", tt.name, err, tt.wantErr)
					}
					if err == nil {
						t.Errorf("read after %s succeeded; want an error", tt.name)
					}
				})
			})
		}
	}
}

func TestTransportUnreadBodyCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := New()
		srv.Script("m", OK(strings.Repeat("word ", 200)))
		ctx, cancel := context.WithCancel(t.Context())
		resp, err := post(ctx, t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", true))
		if err != nil {
			t.Fatal(err)
		}
		// The handler is blocked writing to a reader that never reads.
		cancel()
		synctest.Wait()
		if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
			t.Errorf("Read after cancel = %v; want context.Canceled", err)
		}
		resp.Body.Close()
	})
}

func TestListeningDelayHonoursContext(t *testing.T) {
	srv := NewServer()
	srv.Script("m", Slow(time.Hour, "late"))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := post(ctx, t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("POST = %v; want context.DeadlineExceeded", err)
	}
	srv.Close() // waits for the handler
	if st := srv.Stats("m"); st.Abandoned != 1 {
		t.Errorf("Stats = %+v; want 1 abandoned", st)
	}
}

func TestListeningCloseEndsDelay(t *testing.T) {
	srv := NewServer()
	srv.Script("m", Slow(time.Hour, "late"))
	errc := make(chan error, 1)
	go func() {
		_, err := post(context.Background(), t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
		errc <- err
	}()
	for srv.Requests("m") == 0 {
		runtime.Gosched()
	}
	srv.Close() // returns although the answer's Delay is an hour
	if err := <-errc; err == nil {
		t.Errorf("POST to a closed server succeeded; want an error")
	}
}

func TestListeningStreamCancel(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	srv.Script("m", Answer{Chunks: []string{"a", "b"}, ChunkDelay: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	resp, err := post(ctx, t, srv.Client(), srv.URL()+"/v1/messages", anthropicBody("m", true))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(br); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel = %v; want context.Canceled", err)
	}
	// goleak in TestMain checks that the handler, stuck in ChunkDelay, ended.
}

func TestHandlerInOwnServer(t *testing.T) {
	srv := New()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	srv.Script("m", Reset(), OK("mounted"))
	c := ts.Client()
	if _, err := post(t.Context(), t, c, ts.URL+"/v1/chat/completions", openAIBody("m", false)); err == nil {
		t.Errorf("Reset() through Handler() in an httptest server: no error; want a reset")
	}
	if st, _, body := mustPost(t, c, ts.URL+"/v1/chat/completions", openAIBody("m", false)); st != 200 || !strings.Contains(body, "mounted") {
		t.Errorf("POST = %d %s; want 200 mounted", st, body)
	}
}

func TestServerSharedAcrossBubbles(t *testing.T) {
	// A server made outside any bubble, with a rate cap first used on the
	// real clock, then used from two bubbles in turn.
	srv := New()
	srv.SetRateLimit("m", 1, 1)
	if st, _, _ := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false)); st != 200 {
		t.Fatalf("outside a bubble: %d; want 200", st)
	}
	for i := range 2 {
		synctest.Test(t, func(t *testing.T) {
			srv.Script("m", Slow(time.Minute, "in bubble"))
			// The bubble's clock is earlier than the real one: the bucket
			// restarts from it, empty, so the first request waits a second.
			st, h, _ := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
			if st != 429 || h.Get("Retry-After") != "1" {
				t.Errorf("bubble %d, first request: %d Retry-After %q; want 429 Retry-After 1", i, st, h.Get("Retry-After"))
			}
			time.Sleep(time.Second)
			start := time.Now()
			st, _, body := mustPost(t, srv.Client(), srv.URL()+"/v1/chat/completions", openAIBody("m", false))
			if st != 200 || !strings.Contains(body, "in bubble") || time.Since(start) != time.Minute {
				t.Errorf("bubble %d: %d %s after %v; want 200 in bubble after 1m", i, st, body, time.Since(start))
			}
		})
	}
}
