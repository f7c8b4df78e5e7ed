package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/sse"
	"github.com/ailib-go/ailib/internal/wire"
	"github.com/ailib-go/ailib/resilience"
)

// ChatStream is a streamed answer. Read it with Next and Delta until Next
// returns false, then check Err; always Close it:
//
//	s, err := c.Stream(ctx, req)
//	if err != nil { ... }
//	defer s.Close()
//	for s.Next() {
//		fmt.Print(s.Delta())
//	}
//	if err := s.Err(); err != nil { ... } // s.Text() holds what arrived
//
// A stream is retried and falls back only before its first content event
// (a piece of text or of a tool call, or of reasoning with
// [ChatRequest.StreamReasoning]) reaches the caller; once Stream has
// returned, a failure ends the stream and is reported by Err, with the
// text received so far still in Text.
// A stream that ends without the provider's terminal event ([DONE],
// message_stop) fails with [ErrStreamTruncated]: a cut answer is never
// passed off as a complete one.
//
// The attempt holds its in-flight permit until the stream ends, is closed,
// or the ctx given to Stream ends (a caller that gives up need not Close
// to give it back), and the target's circuit breaker records the stream's
// outcome then. A stream that was a half_open circuit's single probe (the
// default) answers the probe when it opens: the provider answered, and the
// target's other calls do not wait for the stream's end.
//
// Next, Delta, Text, Err and the metadata methods must be called from one
// goroutine. Close may be called from any goroutine, any number of times:
// it aborts a Next blocked on the network.
type ChatStream struct {
	c    *AiClient
	t    *target
	conn *streamConn

	delta          string
	reasoningDelta string // with ChatRequest.StreamReasoning
	text           strings.Builder
	err            error
	ended          bool
	attempts       int

	idle     *time.Timer // nil when the idle timeout is off
	closed   atomic.Bool
	unwatch  func() bool // stops the watch on the Stream call's ctx (Stream)
	doneOnce sync.Once
	done     func(error) // finishes the executor's attempt (resilience.WithStream)
	used     *int        // the int given to resilience.WithTokens: set from the usage before done, -1 keeps the estimate
}

// streamConn is one open streaming response.
type streamConn struct {
	body    io.ReadCloser
	header  http.Header
	parent  context.Context // the Stream call's ctx
	ctx     context.Context // the request's context, derived from parent
	cancel  context.CancelCauseFunc
	events  *sse.Decoder
	dec     *wire.StreamDecoder
	reader  *idleReader
	pending string // the first content event, read by the attempt
	// reasoning: hand pieces of reasoning to the caller
	// (ChatRequest.StreamReasoning); pendingReasoning is the first one,
	// read by the attempt.
	reasoning        bool
	pendingReasoning string
	finished         bool // the terminal event was read
	requestID        string
	answer           string // the JSON answer tool (wire.AnswerTool)
	maxHeld          int64  // Builder.MaxResponseBytes: bounds what dec holds between content events
	held             int    // dec.HeldBytes() after the last event
	// begun, when set, is called once the provider sends reasoning or
	// thinking before any content: the answer has begun (openStream).
	begun func()
}

// errHeldTooLarge: the decoder holds more than maxHeld bytes of reasoning
// or tool calls, which arrive between content events.
var errHeldTooLarge = errors.New("stream reasoning and tool calls exceed MaxResponseBytes")

// next returns the next chunk that matters: Content, ToolDelta or Done,
// and, when the caller asked for reasoning, any chunk carrying some.
//
// A stream that ends cleanly after the provider said why the answer
// finished (a finish_reason, a stop_reason) but before its terminal event
// ([DONE], message_stop) is complete: some OpenAI-compatible servers never
// send [DONE] and close the connection instead. Only what could follow
// the finish reason (the usage chunk) may be missing. A stream that ends
// without one, or whose connection breaks, is truncated.
func (sc *streamConn) next() (wire.Chunk, error) {
	for {
		ev, err := sc.events.Next()
		if errors.Is(err, io.EOF) && sc.dec.FinishReason() != "" {
			return wire.Chunk{Kind: wire.Done}, nil
		}
		if err != nil {
			return wire.Chunk{}, err
		}
		ch, err := sc.dec.Decode(ev)
		if err != nil {
			return wire.Chunk{}, err
		}
		held := sc.dec.HeldBytes()
		if int64(held) > sc.maxHeld {
			return wire.Chunk{}, errHeldTooLarge
		}
		grew := held > sc.held
		sc.held = held
		if ch.Kind != wire.Skip || (sc.reasoning && ch.Reasoning != "") {
			return ch, nil
		}
		if grew && sc.begun != nil {
			sc.begun()
		}
	}
}

// idleReader resets the idle timer on every read that returns data, so that
// any bytes (keep-alive comments and pings included) show the stream alive.
type idleReader struct {
	r     io.Reader
	timer *time.Timer // nil until the stream is handed to the caller
	d     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 && r.timer != nil {
		r.timer.Reset(r.d)
	}
	return n, err
}

// Stream sends req as a streaming request and returns once the first
// content event has arrived: a piece of text or of a tool call (or the
// answer turned out to be empty). A stream of tool calls only is a normal
// stream: read it to the end, then take [ChatStream.ToolCalls].
// Before that point, failures are retried and fall back exactly as in
// [AiClient.Chat]; keep-alives, pings, role-only chunks and reasoning do
// not count as content (but reasoning shows the answer begun, see
// [Builder.AttemptTimeout]), unless the request sets
// [ChatRequest.StreamReasoning]: Stream then returns at the first piece of
// reasoning. ctx governs the whole stream: cancelling it ends a stream
// being read with a Cancelled error.
//
// A server that answers with one document instead of an event stream is
// read as Chat would read it: an error object gives its classified error,
// a complete answer (from a server that ignores "stream") gives a stream
// of one piece holding the whole text, and anything else (a proxy's HTML
// page) an error wrapping [ErrInvalidResponse]. A stream that closes after
// its finish reason without the terminal event ([DONE], message_stop) is
// complete; one that closes before it ends with [ErrStreamTruncated]. The
// stream's text is bounded by [Builder.MaxResponseBytes].
//
// The caller must Close the returned stream.
func (c *AiClient) Stream(ctx context.Context, req ChatRequest) (*ChatStream, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	var (
		attempts atomic.Int64
		conn     *streamConn
		done     func(error)
		winner   *target
		used     = new(int) // settled at the stream's end; -1 until then (keep the estimate)
	)
	encoded := make(map[string]*outgoing, 1)
	err := c.chain.Execute(ctx, func(opCtx context.Context, name string) error {
		*used = -1
		var finish func(error)
		err := c.execute(opCtx, name, func(attemptCtx context.Context, t *target) error {
			o, ok := encoded[t.name]
			if !ok || !o.current(t) {
				var err error
				if o, err = c.encode(&req, t, true); err != nil {
					return err
				}
				encoded[t.name] = o
			}
			attempts.Add(1)
			sc, err := c.openStream(ctx, attemptCtx, t, o, req.StreamReasoning)
			if err != nil {
				return err
			}
			conn, winner = sc, t
			return nil
		}, resilience.WithStream(&finish), resilience.WithTokens(estimateTokens(&req, c.first(name)), used), c.retryCap(name), c.lastResort(name))
		if err != nil {
			return err
		}
		done = finish
		return nil
	}, c.chainOpt)
	n := int(attempts.Load())
	if err != nil {
		if conn != nil { // not expected: a chain error after a success
			conn.body.Close()
			conn.cancel(errStreamClosed)
			done(nil)
		}
		return nil, &callError{err: err, attempts: n, secrets: c.secrets}
	}
	s := &ChatStream{c: c, t: winner, conn: conn, done: done, attempts: n, used: used}
	// A caller that gives up (its ctx ends) and never reads or closes the
	// stream again must not keep the target's in-flight permit for ever:
	// the attempt is finished when ctx ends, as Close would. A Next still
	// reading sees the connection end and reports the cancellation.
	s.unwatch = context.AfterFunc(ctx, func() {
		conn.cancel(context.Cause(ctx))
		s.doneOnce.Do(func() { s.done(ctx.Err()) }) // the caller's cancel or deadline: nothing learned
	})
	if d := c.idleTimeout; d > 0 {
		cancel := conn.cancel
		s.idle = time.AfterFunc(d, func() { cancel(ErrStreamIdle) })
		s.idle.Stop() // armed only while Next waits for data
		conn.reader.timer, conn.reader.d = s.idle, d
	}
	return s, nil
}

// openStream is one attempt of a Stream call: it sends the request, checks
// the status and reads up to the first content (or terminal) event.
// streamCtx is the Stream call's ctx: the response outlives the attempt, so
// its request context derives from streamCtx and follows attemptCtx only
// until the attempt returns.
//
// With reasoning (ChatRequest.StreamReasoning), a piece of reasoning ends
// the attempt as content does: the caller sees it at once.
func (c *AiClient) openStream(streamCtx, attemptCtx context.Context, t *target, o *outgoing, reasoning bool) (*streamConn, error) {
	reqCtx, cancel := context.WithCancelCause(streamCtx)
	stopFollow := context.AfterFunc(attemptCtx, func() { cancel(context.Cause(attemptCtx)) })
	var timer *time.Timer
	if d := c.attemptTimeout; d > 0 {
		if dl, ok := attemptCtx.Deadline(); !ok || time.Until(dl) > d {
			timer = time.AfterFunc(d, func() { cancel(ErrAttemptTimeout) })
		}
	}
	var resp *http.Response
	var idle *time.Timer // armed once reasoning has begun (begun below)
	fail := func(e *aierrors.Error) (*streamConn, error) {
		if timer != nil {
			timer.Stop()
		}
		if idle != nil {
			idle.Stop()
		}
		stopFollow()
		if resp != nil {
			resp.Body.Close()
		}
		cancel(errStreamClosed)
		return nil, e
	}

	req, err := c.newRequest(reqCtx, t, o, true)
	if err != nil {
		return fail(c.buildError(t, err))
	}
	start := time.Now()
	resp, err = c.streamHTTP.Do(req)
	if err != nil {
		e := c.requestError(attemptCtx, reqCtx, t, err)
		c.logRequest(attemptCtx, t, 0, start, nil, e)
		return fail(e)
	}
	t.exec.ObserveHeader(resp.Header)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := c.statusError(t, o, resp)
		c.logRequest(attemptCtx, t, resp.StatusCode, start, resp.Header, e)
		return fail(e)
	}
	reader := &idleReader{r: resp.Body}
	br := bufio.NewReaderSize(reader, 4096)
	sc := &streamConn{
		body:      resp.Body,
		header:    resp.Header,
		parent:    streamCtx,
		ctx:       reqCtx,
		cancel:    cancel,
		events:    sse.NewDecoderSize(br, c.streamLineBytes()),
		dec:       wire.NewStreamDecoder(t.format, o.answerTool),
		answer:    o.answerTool,
		maxHeld:   c.maxResponseBytes,
		reader:    reader,
		requestID: c.scrub(requestID(resp.Header)),
		reasoning: reasoning,
	}
	// Reasoning or thinking before the first content shows the provider
	// answering: a model may think for minutes before it writes (DeepSeek's
	// reasoner counts up to 64K tokens of it), and the attempt timeout,
	// meant for a provider that does not answer, would cut it and pay for
	// the reasoning again. From the first piece of it, the stream's idle
	// timeout bounds the silence instead; a failure before content is still
	// retried, as the caller has seen nothing.
	sc.begun = func() {
		sc.begun = nil
		if timer != nil {
			timer.Stop()
		}
		if d := c.idleTimeout; d > 0 {
			idle = time.AfterFunc(d, func() { cancel(ErrStreamIdle) })
			reader.timer, reader.d = idle, d
		}
	}
	if isDocument(br) {
		// The server answered with one document (an error object, a
		// complete answer from a server that ignores "stream", a proxy's
		// HTML page): decode it as Chat would, rather than report a stream
		// without events.
		if e := c.readDocument(attemptCtx, sc, t, br, o.answerTool); e != nil {
			c.logRequest(attemptCtx, t, resp.StatusCode, start, resp.Header, e)
			return fail(e)
		}
	} else {
		ch, err := sc.next()
		if err != nil {
			e := c.streamError(attemptCtx, sc, t, err)
			c.logRequest(attemptCtx, t, resp.StatusCode, start, resp.Header, e)
			return fail(e)
		}
		switch ch.Kind {
		case wire.Content:
			sc.pending = ch.Text
		case wire.Done:
			sc.finished = true
		}
		if reasoning {
			sc.pendingReasoning = ch.Reasoning
		}
	}
	if timer != nil {
		timer.Stop()
	}
	if idle != nil {
		idle.Stop()
		reader.timer = nil // Stream arms its own
	}
	sc.begun = nil
	stopFollow()
	c.logRequest(attemptCtx, t, resp.StatusCode, start, resp.Header, nil)
	return sc, nil
}

// isDocument reports whether the body in br is a document rather than an
// event stream: it starts, after white space, with '{' or '[' (a JSON
// document: an error object, or a whole answer) or with any byte that no
// line of an event stream starts with (an HTML page from a proxy, a text
// error). A stream's lines start with a field name (data, event, id,
// retry; llama.cpp's error), ':' for a comment, or a byte order mark. It
// reads ahead only as far as that first character; an empty body is left
// to the stream reader, which reports it cut.
func isDocument(br *bufio.Reader) bool {
	for i := 1; i <= br.Size(); i++ {
		b, _ := br.Peek(i)
		if len(b) < i {
			return false
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
		case 'd', 'e', 'i', 'r', ':', 0xEF:
			return false
		default:
			return true
		}
	}
	return false
}

// readDocument reads a document sent in answer to a streaming request
// and makes sc a finished stream holding its text. An error object becomes
// its classified error, anything else that is not an answer (not JSON at
// all, say) an error wrapping ErrInvalidResponse.
func (c *AiClient) readDocument(attemptCtx context.Context, sc *streamConn, t *target, br *bufio.Reader, answerTool string) *aierrors.Error {
	data, tooLarge, err := readBounded(br, c.maxResponseBytes)
	switch {
	case err != nil:
		return c.streamError(attemptCtx, sc, t, err)
	case tooLarge:
		return c.tag(&aierrors.Error{
			Code:       aierrors.Unknown,
			HTTPStatus: http.StatusOK,
			Message:    fmt.Sprintf("answer body exceeds MaxResponseBytes (%d bytes)", c.maxResponseBytes),
			Err:        ErrResponseTooLarge,
		}, t)
	}
	wr, err := wire.Decode(t.format, data, answerTool)
	if err != nil {
		return c.decodeError(t, sc.header, err)
	}
	sc.dec.SetResponse(wr)
	sc.pending, sc.finished = wr.Content, true
	if sc.reasoning {
		sc.pendingReasoning = wr.Reasoning
	}
	return nil
}

// streamLineBytes bounds one line, and one event's data, of a stream: as
// much as the whole answer may hold (MaxResponseBytes), and never less than
// MaxStreamLineBytes. A server may send a whole tool call, or an image, in
// one event of megabytes (Ollama sends every call whole); the official
// SDKs read lines of up to 32 MiB.
func (c *AiClient) streamLineBytes() int {
	return int(max(min(c.maxResponseBytes, math.MaxInt32), MaxStreamLineBytes))
}

// tooLarge is the error of a stream whose text, tool calls and reasoning
// exceed MaxResponseBytes.
func (c *AiClient) tooLarge(t *target) *aierrors.Error {
	return c.tag(&aierrors.Error{
		Code:       aierrors.Unknown,
		HTTPStatus: http.StatusOK,
		Message:    fmt.Sprintf("stream text exceeds MaxResponseBytes (%d bytes)", c.maxResponseBytes),
		Err:        ErrResponseTooLarge,
	}, t)
}

// streamError classifies an error met while reading a stream.
func (c *AiClient) streamError(callerCtx context.Context, sc *streamConn, t *target, err error) *aierrors.Error {
	var apiErr *wire.APIError
	switch {
	case errors.As(err, &apiErr), errors.Is(err, wire.ErrMalformed):
		return c.decodeError(t, sc.header, err)
	case errors.Is(err, errHeldTooLarge):
		return c.tooLarge(t)
	case errors.Is(err, sse.ErrTooLong):
		return c.tag(&aierrors.Error{
			Code:    aierrors.Unknown,
			Message: fmt.Sprintf("stream line or event longer than %d bytes", c.streamLineBytes()),
			Err:     fmt.Errorf("%w: %w", ErrInvalidResponse, err),
		}, t)
	}
	if callerCtx.Err() == nil && sc.ctx.Err() == nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		msg := "stream ended before its terminal event"
		if !errors.Is(err, io.EOF) {
			msg = "connection closed mid-stream"
		}
		return c.tag(&aierrors.Error{Code: aierrors.ServerError, Message: msg, Err: fmt.Errorf("%w: %w", ErrStreamTruncated, err)}, t)
	}
	return c.requestError(callerCtx, sc.ctx, t, err)
}

// Next advances to the next piece of text, blocking until it arrives. It
// returns false at the end of the answer or on error (see Err). Pieces of
// tool calls are read and assembled on the way, without stopping: read
// the calls with ToolCalls. When the request set
// [ChatRequest.StreamReasoning], Next also stops at each piece of
// reasoning (see ReasoningDelta); Delta is then "" unless the provider
// sent text in the same event.
func (s *ChatStream) Next() bool {
	s.delta, s.reasoningDelta = "", ""
	if s.ended {
		return false
	}
	if s.closed.Load() {
		s.finish(s.c.tag(&aierrors.Error{Code: aierrors.Cancelled, Message: "stream closed by the caller", Err: context.Canceled}, s.t))
		return false
	}
	sc := s.conn
	if sc.pending != "" || sc.pendingReasoning != "" {
		s.delta, sc.pending = sc.pending, ""
		s.reasoningDelta, sc.pendingReasoning = sc.pendingReasoning, ""
		s.text.WriteString(s.delta)
		return true
	}
	if sc.finished {
		s.finish(nil)
		return false
	}
	for {
		if s.idle != nil {
			s.idle.Reset(s.conn.reader.d)
		}
		ch, err := sc.next()
		if s.idle != nil {
			s.idle.Stop()
		}
		if err != nil {
			s.finish(s.c.streamError(sc.parent, sc, s.t, err))
			return false
		}
		if ch.Kind == wire.Done {
			sc.finished = true
			s.finish(nil)
			return false
		}
		if int64(s.text.Len())+int64(len(ch.Text))+int64(sc.dec.HeldBytes()) > s.c.maxResponseBytes {
			// Text, tool calls and reasoning keep the whole answer: a
			// stream that never ends must not grow them without bound.
			s.finish(s.c.tooLarge(s.t))
			return false
		}
		if sc.reasoning && ch.Reasoning != "" {
			s.reasoningDelta = ch.Reasoning
		}
		if ch.Kind == wire.Content {
			s.delta = ch.Text
			s.text.WriteString(ch.Text)
			return true
		}
		if s.reasoningDelta != "" {
			return true
		}
		// A piece of a tool call: the decoder assembles it; read on.
	}
}

// finish ends the stream with err (nil = complete): it releases the
// connection and reports the outcome to the executor.
func (s *ChatStream) finish(err error) {
	s.ended = true
	if err != nil {
		// As Chat's and Stream's errors: AttemptsOf reads the requests the
		// call made, and the client's secrets are masked in the text.
		s.err = &callError{err: err, attempts: s.attempts, secrets: s.c.secrets}
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	s.unwatch()
	// No drain: a server that keeps the connection open after its terminal
	// event would block the caller. Closing early costs at most the reuse
	// of one connection.
	s.conn.cancel(errStreamClosed)
	_ = s.conn.body.Close()
	s.doneOnce.Do(func() {
		*s.used = usedTokens(s.Usage(), s.t.format) // read by done
		s.done(err)
	})
}

// Delta returns the text of the event Next advanced to.
func (s *ChatStream) Delta() string { return s.delta }

// Text returns all the text received so far: the whole answer after a
// successful end, the partial answer after an error.
func (s *ChatStream) Text() string { return s.text.String() }

// Err returns the error that ended the stream, nil if it ended normally
// (or is not over). It is, or wraps, an *aierrors.Error with HTTPStatus 200
// when the provider sent an error event mid-stream. [AttemptsOf] tells how
// many provider requests the call made, as [ChatStream.Attempts] does.
func (s *ChatStream) Err() error { return s.err }

// Close ends the stream: it closes the connection, cancels the request and
// reports the outcome to the executor (releasing the in-flight permit). It
// is idempotent, safe to call from another goroutine, and returns nil.
// Closing before the end is not a provider failure.
func (s *ChatStream) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	s.unwatch()
	s.conn.cancel(errStreamClosed)
	_ = s.conn.body.Close()
	s.doneOnce.Do(func() { s.done(nil) })
	return nil
}

// Provider returns the provider of the target that is answering.
func (s *ChatStream) Provider() string { return s.t.provider }

// Model returns the model of the target that is answering, as configured.
func (s *ChatStream) Model() string { return s.t.model }

// FinishReason returns why the answer ended, in OpenAI's vocabulary (see
// [ChatResponse.FinishReason]), once the provider has said it.
func (s *ChatStream) FinishReason() string { return s.conn.dec.FinishReason() }

// Usage returns the token usage reported by the stream so far: Anthropic
// reports it, OpenAI when asked (ailib asks openai, deepseek and ollama,
// which document stream_options.include_usage), Groq, Mistral and Gemini
// unasked; other OpenAI-compatible servers often do not.
func (s *ChatStream) Usage() Usage { return Usage(s.conn.dec.Usage()) }

// Attempts returns the number of provider requests made before the stream
// started, over all targets.
func (s *ChatStream) Attempts() int { return s.attempts }

// ToolCalls returns the tool calls assembled from the stream, in order:
// complete once Next has returned false with Err nil (FinishReason is then
// "tool_calls"); before that, the calls received so far, the last one
// possibly partial. A stream may carry tool calls and no text at all: Next
// then returns false at once, and ToolCalls holds the calls. In JSON mode
// over Anthropic (see [ResponseFormat]) the answer streams as text, not as
// a call. nil when there are none.
func (s *ChatStream) ToolCalls() []ToolCall { return toolCalls(s.conn.dec.ToolCalls()) }

// Message returns the streamed answer as an assistant message (the text
// so far and [ChatStream.ToolCalls]), to append to the conversation once
// the stream has ended.
func (s *ChatStream) Message() Message {
	return Message{Role: RoleAssistant, Content: s.Text(), ToolCalls: s.ToolCalls(), Reasoning: s.Reasoning(),
		ThinkingBlocks: s.conn.dec.ThinkingBlocks(), ReasoningDetails: s.conn.dec.ReasoningDetails()}
}

// ReasoningDelta returns the piece of reasoning of the event Next advanced
// to: "" for an event without any, and always "" unless the request set
// [ChatRequest.StreamReasoning]. The pieces make up Reasoning.
func (s *ChatStream) ReasoningDelta() string { return s.reasoningDelta }

// Reasoning returns the model's reasoning received so far, when the
// provider streams it apart from the answer (DeepSeek's
// reasoning_content, the reasoning of vLLM, OpenRouter and Ollama,
// Mistral's thinking chunks, Anthropic's thinking); "" when it does not.
// It is not part of Text.
func (s *ChatStream) Reasoning() string { return s.conn.dec.Reasoning() }

// RequestID returns the provider's request ID header, when sent.
func (s *ChatStream) RequestID() string { return s.conn.requestID }
