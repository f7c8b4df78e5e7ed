package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxRequestBody bounds the request body the server reads.
const maxRequestBody = 32 << 20

// formatOf returns the format of a route by its path suffix.
func formatOf(path string) Format {
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return FormatOpenAI
	case strings.HasSuffix(path, "/messages"):
		return FormatAnthropic
	}
	return ""
}

// exchange is one request being answered.
type exchange struct {
	s    *Server
	w    http.ResponseWriter
	rc   *http.ResponseController
	ctx  context.Context
	req  *Request
	chat chatRequest
	id   int64
	now  time.Time
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	req := &Request{Path: r.URL.Path, Format: formatOf(r.URL.Path), Header: r.Header.Clone(), Body: body, Time: now}
	x := &exchange{s: s, w: w, rc: http.NewResponseController(w), ctx: r.Context(), req: req, now: now}

	// Requests the provider would reject before looking at the model.
	var reject *Answer
	bodyErr := json.Unmarshal(body, &x.chat)
	if bodyErr == nil {
		req.Model, req.Stream = x.chat.Model, x.chat.Stream
		x.chat.toolsOf(req.Format, req)
	}
	switch {
	case req.Format == "":
		reject = &Answer{Status: http.StatusNotFound,
			Body: openAIErrorJSON(fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), "invalid_request_error", "", "")}
	case r.Method != http.MethodPost:
		a := Status(http.StatusMethodNotAllowed, fmt.Sprintf("Method %s not allowed on %s.", r.Method, r.URL.Path))
		reject = &a
	case s.opts.apiKey != "" && presentedKeyFor(req.Format, r.Header) != s.opts.apiKey:
		reject = keyRejection(req.Format, presentedKeyFor(req.Format, r.Header))
	case req.Format == FormatAnthropic && r.Header.Get("anthropic-version") == "":
		a := Status(http.StatusBadRequest, "anthropic-version: header is required")
		reject = &a
	case bodyErr != nil:
		a := Status(http.StatusBadRequest, "We could not parse the JSON body of your request. "+
			"(HINT: This likely means you aren't using your HTTP library correctly.)")
		if req.Format == FormatAnthropic {
			a.Text = "invalid request: request body is not valid JSON"
		}
		reject = &a
	case req.Model == "":
		a := Status(http.StatusBadRequest, "you must provide a model parameter")
		if req.Format == FormatAnthropic {
			a.Text = "model: Field required"
		}
		reject = &a
	case req.Format == FormatAnthropic && x.chat.MaxTokens == nil:
		a := Status(http.StatusBadRequest, "max_tokens: Field required")
		reject = &a
	case x.chat.toolProblem(req.Format) != "":
		a := Status(http.StatusBadRequest, x.chat.toolProblem(req.Format))
		reject = &a
	}

	s.mu.Lock()
	s.seq++
	x.id = s.seq
	s.received = append(s.received, req.clone())
	m := s.model(req.Model)
	m.stats.Requests++
	var a Answer
	var extra http.Header
	if reject != nil {
		a = *reject
	} else {
		a, extra = s.nextWithTokens(m, x, req, now)
	}
	s.mu.Unlock()

	x.answer(a, extra)
}

// presentedKeyFor returns the key a request presents the way its format
// expects it.
func presentedKeyFor(f Format, h http.Header) string {
	if f == FormatAnthropic {
		return h.Get("x-api-key")
	}
	auth := h.Get("Authorization")
	if k, ok := strings.CutPrefix(auth, "Bearer "); ok {
		return k
	}
	return ""
}

func keyRejection(f Format, presented string) *Answer {
	a := Answer{Status: http.StatusUnauthorized}
	switch {
	case f == FormatAnthropic && presented == "":
		a.Body = anthropicErrorJSON("authentication_error", "x-api-key header is required")
	case f == FormatAnthropic:
		a.Body = anthropicErrorJSON("authentication_error", "invalid x-api-key")
	case presented == "":
		a.Body = openAIErrorJSON("You didn't provide an API key. You need to provide your API key in an "+
			"Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
			"invalid_request_error", "", "")
	default:
		a.Body = openAIErrorJSON("Incorrect API key provided. You can find your API key at "+
			"https://platform.openai.com/account/api-keys.", "invalid_request_error", "", "invalid_api_key")
	}
	return &a
}

// abort aborts the response: a listening server closes the connection,
// the Transport turns it into a reset or a truncated body.
func abort() { panic(http.ErrAbortHandler) }

// answer sends a. It runs without s.mu.
func (x *exchange) answer(a Answer, extra http.Header) {
	a = a.clone()
	model := x.req.Model
	if a.prepare != nil {
		if a.Header == nil {
			a.Header = http.Header{}
		}
		a.prepare(&a, x.req, x.now)
	}
	if a.Reset {
		x.s.count(model, func(st *Stats) { st.Resets++ })
		x.reset()
		return
	}
	if a.Delay > 0 && !sleep(x.ctx, a.Delay) {
		// No answer at all: returning would make net/http send a 200.
		x.s.count(model, func(st *Stats) { st.Abandoned++ })
		abort()
	}

	h := x.w.Header()
	if x.req.Format == FormatAnthropic {
		h.Set("request-id", fmt.Sprintf("req_providertest%08d", x.id))
	} else {
		h.Set("x-request-id", fmt.Sprintf("req_providertest%08d", x.id))
		h.Set("openai-version", "2020-10-01")
		h.Set("openai-processing-ms", strconv.FormatInt(int64(a.Delay/time.Millisecond), 10))
	}
	for _, src := range []http.Header{extra, a.Header} { // the answer's own headers win
		for k, v := range src {
			h[http.CanonicalHeaderKey(k)] = slices.Clone(v)
		}
	}

	status := a.status()
	body := a.Body
	if body == "" && status < 400 {
		x.obeyForcedTool(&a)
	}
	switch {
	case body != "":
	case status >= 400 && x.req.Format == FormatAnthropic:
		body = anthropicErrorFor(status, a.Text)
	case status >= 400:
		body = openAIErrorFor(status, a.Text)
	case x.req.Stream:
		x.stream(&a)
		return
	case x.req.Format == FormatAnthropic:
		body = x.anthropicMessage(&a)
	default:
		body = x.openAICompletion(&a)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.s.count(model, func(st *Stats) { st.ByStatus[status]++ })
	x.w.WriteHeader(status)
	if a.CutAfter != 0 {
		n := max(a.CutAfter, 0)
		if n < len(body) {
			io.WriteString(x.w, body[:n])
			x.rc.Flush()
			x.s.count(model, func(st *Stats) { st.Cuts++ })
			abort()
		}
	}
	io.WriteString(x.w, body)
}

// reset aborts the connection without an answer. On a real connection it
// resets the TCP connection (SO_LINGER 0); otherwise it aborts the handler.
func (x *exchange) reset() {
	conn, _, err := x.rc.Hijack()
	if err != nil {
		abort()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// at resolves a CutAfter/ErrorAfter value against a stream of n content
// events: the number of events after which to act, CutAtStart, or -2 for
// never. Values past the end act after the last event.
func at(v, n int) int {
	switch {
	case v == 0:
		return -2
	case v < 0:
		return CutAtStart
	}
	return min(v, n)
}

// sleep waits d or until ctx is done, and reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (x *exchange) usage(a *Answer, events int) Usage {
	u := a.Usage
	if u.PromptTokens == 0 {
		u.PromptTokens = max(x.chat.promptWords(), 1)
	}
	if u.CompletionTokens == 0 {
		u.CompletionTokens = events
	}
	if u.ReasoningTokens == 0 && a.Reasoning != "" {
		u.ReasoningTokens = min(len(a.reasoningChunks()), u.CompletionTokens)
	}
	return u
}

// obeyForcedTool turns a JSON-object Text into a call of the tool an
// Anthropic request forces, as a model obeying tool_choice would.
func (x *exchange) obeyForcedTool(a *Answer) {
	if x.req.Format != FormatAnthropic || len(a.ToolCalls) > 0 {
		return
	}
	name := x.chat.forcedTool()
	t := bytes.TrimSpace([]byte(a.Text))
	if name == "" || len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return
	}
	a.ToolCalls = []ToolCall{{Name: name, Arguments: string(t)}}
	a.Text, a.Chunks = "", nil
}

// events is the number of content events of a's stream: its reasoning
// pieces, its text chunks, and for each tool call its start and its
// argument pieces.
func (a *Answer) events() int {
	n := len(a.reasoningChunks()) + len(a.chunks())
	for _, c := range a.ToolCalls {
		n += 1 + len(splitArguments(c.arguments()))
	}
	return n
}

// reasoningChunks returns the pieces of a's reasoning: its words.
func (a *Answer) reasoningChunks() []string { return splitWords(a.Reasoning) }

func (x *exchange) openAICompletion(a *Answer) string {
	u := x.usage(a, a.events())
	stop := "stop"
	msg := &openAIMessage{Role: "assistant", Content: &a.Text, ReasoningContent: strPtr(a.Reasoning)}
	for i, c := range a.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, openAIToolCall{ID: c.callID(FormatOpenAI, x.id, i), Type: "function",
			Function: openAIFunctionCall{Name: c.Name, Arguments: c.arguments()}})
	}
	if len(a.ToolCalls) > 0 {
		stop = "tool_calls"
		if a.Text == "" {
			msg.Content = nil
		}
	}
	return marshal(openAICompletion{
		ID: fmt.Sprintf("chatcmpl-providertest%08d", x.id), Object: "chat.completion", Created: x.now.Unix(),
		Model: x.req.Model, SystemFingerprint: "fp_providertest",
		Choices: []openAIChoice{{Message: msg, FinishReason: &stop}},
		Usage:   openAIUsageOf(u),
	})
}

func (x *exchange) anthropicMessage(a *Answer) string {
	u := x.usage(a, a.events())
	stop := "end_turn"
	var content []anthropicContent
	if a.Reasoning != "" {
		sig := fakeSignature(a.Reasoning)
		content = append(content, anthropicContent{Type: "thinking", Thinking: &a.Reasoning, Signature: &sig})
	}
	if a.Text != "" || len(a.ToolCalls) == 0 {
		content = append(content, textBlock("text", a.Text))
	}
	for i, c := range a.ToolCalls {
		content = append(content, anthropicContent{Type: "tool_use", ID: c.callID(FormatAnthropic, x.id, i), Name: c.Name, Input: c.input()})
	}
	if len(a.ToolCalls) > 0 {
		stop = "tool_use"
	}
	return marshal(anthropicMessage{
		ID: fmt.Sprintf("msg_providertest%08d", x.id), Type: "message", Role: "assistant", Model: x.req.Model,
		Content: content, StopReason: &stop, Usage: anthropicUsageOf(u),
	})
}

// sse writes server-sent events, flushing after each; it remembers the first
// write error.
type sse struct {
	x      *exchange
	err    error
	events int // content events sent
}

func (e *sse) write(s string) {
	if e.err != nil {
		return
	}
	if _, err := io.WriteString(e.x.w, s); err != nil {
		e.err = err
		return
	}
	e.err = e.x.rc.Flush()
}

// event writes one event; name "" writes a data-only event.
func (e *sse) event(name, data string) {
	if name != "" {
		e.write("event: " + name + "\ndata: " + data + "\n\n")
		return
	}
	e.write("data: " + data + "\n\n")
}

func (e *sse) comment() { e.write(": ping\n\n") }

// step is one event of a stream; content events are the ones CutAfter,
// ErrorAfter, ChunkDelay and keep-alives count.
type step struct {
	content bool
	end     bool   // no event: the point right after the last content event
	name    string // SSE event name ("" for a data-only event)
	data    string
}

// endOfContent marks where a cut or error "after the last content event"
// goes.
var endOfContent = step{end: true}

// stream sends a successful answer as SSE in the request's format.
func (x *exchange) stream(a *Answer) {
	model := x.req.Model
	h := x.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	x.s.count(model, func(st *Stats) { st.ByStatus[http.StatusOK]++; st.Streams++ })
	x.w.WriteHeader(http.StatusOK)
	e := &sse{x: x}
	e.write("") // flush the headers
	keepAlive := x.s.opts.keepAliveEvery
	if keepAlive > 0 {
		e.comment()
	}

	anthropic := x.req.Format == FormatAnthropic
	var steps []step
	if anthropic {
		steps = x.anthropicSteps(a)
	} else {
		steps = x.openAISteps(a)
	}
	total := 0
	for _, st := range steps {
		if st.content {
			total++
		}
	}

	// cutOrError ends the stream early if the answer says so after n content
	// events; it reports whether it did.
	cutOrError := func(n int) bool {
		if e.err != nil {
			return true
		}
		if at(a.CutAfter, total) == n {
			x.s.count(model, func(st *Stats) { st.Cuts++ })
			abort()
		}
		if at(a.ErrorAfter, total) == n {
			x.s.count(model, func(st *Stats) { st.StreamErrors++ })
			data := a.ErrorBody
			switch {
			case data != "":
			case anthropic:
				data = anthropicErrorJSON("overloaded_error", "Overloaded")
			default:
				data = openAIErrorJSON("The server had an error while processing your request. Sorry about that!",
					"server_error", "", "")
			}
			if anthropic {
				e.event("error", data)
			} else {
				e.event("", data)
			}
			return true
		}
		return false
	}

	if cutOrError(CutAtStart) {
		return
	}
	n := 0
	for _, st := range steps {
		if st.end {
			if cutOrError(n) {
				return
			}
			continue
		}
		if !st.content {
			e.event(st.name, st.data)
			continue
		}
		if cutOrError(n) {
			return
		}
		if a.ChunkDelay > 0 && !sleep(x.ctx, a.ChunkDelay) {
			abort() // not a clean end of the body
		}
		e.event(st.name, st.data)
		n++
		e.events++
		if keepAlive > 0 && e.events%keepAlive == 0 {
			e.comment()
		}
	}
	if anthropic {
		e.event("message_stop", `{"type":"message_stop"}`)
		return
	}
	e.event("", "[DONE]")
}

// openAISteps are the chunks of an OpenAI stream: the role, the reasoning
// pieces (DeepSeek's delta.reasoning_content), the text, then
// each tool call's first fragment (index, id, type, name) and its argument
// pieces, the finish reason, and the usage chunk when the request asked for
// it.
func (x *exchange) openAISteps(a *Answer) []step {
	model := x.req.Model
	id := fmt.Sprintf("chatcmpl-providertest%08d", x.id)
	includeUsage := x.chat.StreamOptions != nil && x.chat.StreamOptions.IncludeUsage
	chunk := func(d *openAIDelta, finish *string) string {
		c := openAICompletion{ID: id, Object: "chat.completion.chunk", Created: x.now.Unix(), Model: model,
			SystemFingerprint: "fp_providertest", Choices: []openAIChoice{{Delta: d, FinishReason: finish}}}
		if includeUsage {
			c.Usage = json.RawMessage("null")
		}
		return marshal(c)
	}
	chunks := a.chunks()
	role := &openAIDelta{Role: "assistant"}
	if len(chunks) > 0 || len(a.ToolCalls) == 0 {
		empty := ""
		role.Content = &empty
	}
	steps := []step{{data: chunk(role, nil)}}
	for _, p := range a.reasoningChunks() {
		steps = append(steps, step{content: true, data: chunk(&openAIDelta{ReasoningContent: &p}, nil)})
	}
	for _, c := range chunks {
		steps = append(steps, step{content: true, data: chunk(&openAIDelta{Content: &c}, nil)})
	}
	for i, c := range a.ToolCalls {
		index := i
		steps = append(steps, step{content: true, data: chunk(&openAIDelta{ToolCalls: []openAIToolCall{{Index: &index,
			ID: c.callID(FormatOpenAI, x.id, i), Type: "function", Function: openAIFunctionCall{Name: c.Name}}}}, nil)})
		for _, p := range splitArguments(c.arguments()) {
			steps = append(steps, step{content: true, data: chunk(&openAIDelta{ToolCalls: []openAIToolCall{{Index: &index,
				Function: openAIFunctionCall{Arguments: p}}}}, nil)})
		}
	}
	stop := "stop"
	if len(a.ToolCalls) > 0 {
		stop = "tool_calls"
	}
	steps = append(steps, endOfContent, step{data: chunk(&openAIDelta{}, &stop)})
	if includeUsage {
		u := x.usage(a, a.events())
		steps = append(steps, step{data: marshal(openAICompletion{ID: id, Object: "chat.completion.chunk", Created: x.now.Unix(),
			Model: model, SystemFingerprint: "fp_providertest", Choices: []openAIChoice{}, Usage: openAIUsageOf(u)})})
	}
	return steps
}

// anthropicSteps are the events of an Anthropic stream up to message_stop:
// message_start, the thinking block when the answer has reasoning (start,
// ping, thinking_delta events, signature_delta, stop), the text block
// (start, ping unless sent already, text_delta events, stop),
// each tool_use block (start with input {}, an empty input_json_delta,
// the argument pieces, stop), and message_delta with the stop reason and
// usage.
func (x *exchange) anthropicSteps(a *Answer) []step {
	u := x.usage(a, a.events())
	start := anthropicUsageOf(u)
	start.OutputTokens = 1
	steps := []step{{name: "message_start", data: marshal(anthropicMessageStart{Type: "message_start", Message: anthropicMessage{
		ID: fmt.Sprintf("msg_providertest%08d", x.id), Type: "message", Role: "assistant", Model: x.req.Model,
		Content: []anthropicContent{}, Usage: start}})}}
	index := 0
	ping := step{name: "ping", data: `{"type": "ping"}`}
	if a.Reasoning != "" {
		steps = append(steps,
			step{name: "content_block_start", data: `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`},
			ping)
		for _, p := range a.reasoningChunks() {
			steps = append(steps, step{content: true, name: "content_block_delta", data: marshal(anthropicBlockDelta{Type: "content_block_delta",
				Delta: anthropicContent{Type: "thinking_delta", Thinking: &p}})})
		}
		sig := fakeSignature(a.Reasoning)
		steps = append(steps,
			step{name: "content_block_delta", data: marshal(anthropicBlockDelta{Type: "content_block_delta",
				Delta: anthropicContent{Type: "signature_delta", Signature: &sig}})},
			step{name: "content_block_stop", data: `{"type":"content_block_stop","index":0}`})
		index++
	}
	if chunks := a.chunks(); len(chunks) > 0 || len(a.ToolCalls) == 0 {
		steps = append(steps, step{name: "content_block_start",
			data: fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"text","text":""}}`, index)})
		if index == 0 {
			steps = append(steps, ping)
		}
		for _, c := range chunks {
			steps = append(steps, step{content: true, name: "content_block_delta", data: marshal(anthropicBlockDelta{Type: "content_block_delta",
				Index: index, Delta: textBlock("text_delta", c)})})
		}
		if len(a.ToolCalls) == 0 {
			steps = append(steps, endOfContent)
		}
		steps = append(steps, step{name: "content_block_stop", data: fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, index)})
		index++
	} else if index == 0 {
		steps = append(steps, ping)
	}
	for i, c := range a.ToolCalls {
		steps = append(steps, step{content: true, name: "content_block_start", data: marshal(struct {
			Type         string           `json:"type"`
			Index        int              `json:"index"`
			ContentBlock anthropicContent `json:"content_block"`
		}{"content_block_start", index, anthropicContent{Type: "tool_use", ID: c.callID(FormatAnthropic, x.id, i), Name: c.Name, Input: json.RawMessage("{}")}})})
		pieces := append([]string{""}, splitArguments(string(c.input()))...)
		for j, p := range pieces {
			steps = append(steps, step{content: j > 0, name: "content_block_delta", data: marshal(anthropicBlockDelta{Type: "content_block_delta",
				Index: index, Delta: anthropicContent{Type: "input_json_delta", PartialJSON: &p}})})
		}
		if i == len(a.ToolCalls)-1 {
			steps = append(steps, endOfContent)
		}
		steps = append(steps, step{name: "content_block_stop", data: fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, index)})
		index++
	}
	stop := "end_turn"
	if len(a.ToolCalls) > 0 {
		stop = "tool_use"
	}
	steps = append(steps, step{name: "message_delta", data: fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,`+
		`"stop_sequence":null},"usage":{"output_tokens":%d}}`, stop, u.CompletionTokens)})
	return steps
}
