package providertest

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sseEvent is one server-sent event as a client sees it.
type sseEvent struct {
	Name, Data string
}

// readSSE reads events until the body ends; err is the read error that
// ended it (nil at a clean EOF). Comment lines are counted, not returned.
func readSSE(r io.Reader) (events []sseEvent, comments int, err error) {
	sc := bufio.NewScanner(r)
	var cur sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				cur.Data = strings.Join(data, "\n")
				events = append(events, cur)
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			comments++
		case strings.HasPrefix(line, "event:"):
			cur.Name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return events, comments, sc.Err()
}

// target is a way to reach a server: listening, or in-process.
type target struct {
	name   string
	srv    *Server
	client *http.Client
}

// targets returns a listening and an in-process server with the same
// options; both are closed when the test ends.
func targets(t *testing.T, opts ...Option) []target {
	t.Helper()
	ls := NewServer(opts...)
	t.Cleanup(ls.Close)
	ps := New(opts...)
	t.Cleanup(ps.Close)
	return []target{
		{"listening", ls, ls.Client()},
		{"transport", ps, &http.Client{Transport: ps.Transport()}},
	}
}

// post sends body to srv's path with the headers a provider expects.
func post(ctx context.Context, t *testing.T, c *http.Client, url, body string, hdr ...string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasSuffix(url, "/messages") {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return c.Do(req)
}

// mustPost is post that fails the test on a transport error and returns the
// status, headers and whole body.
func mustPost(t *testing.T, c *http.Client, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	resp, err := post(context.Background(), t, c, url, body, hdr...)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func openAIBody(model string, stream bool) string {
	s := `{"model":"` + model + `","messages":[{"role":"user","content":"Say hello to the tests"}]`
	if stream {
		s += `,"stream":true`
	}
	return s + "}"
}

func anthropicBody(model string, stream bool) string {
	s := `{"model":"` + model + `","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Say hello"}]}]`
	if stream {
		s += `,"stream":true`
	}
	return s + "}"
}
