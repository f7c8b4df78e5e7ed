package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/wire"
	"github.com/ailib-go/ailib/resilience"
)

// Sentinels found with [errors.Is] in the errors of Chat and Stream. Each
// sits in the Err of an *aierrors.Error that carries the code.
var (
	// ErrAttemptTimeout: one attempt ran past [Builder.AttemptTimeout].
	// Code Timeout, retryable.
	// It is [resilience.ErrAttemptTimeout], so the executor retries it at
	// once, without a backoff delay.
	ErrAttemptTimeout = resilience.ErrAttemptTimeout
	// ErrStreamIdle: a stream sent nothing for [Builder.StreamIdleTimeout].
	// Code Timeout.
	ErrStreamIdle = errors.New("client: stream idle timeout")
	// ErrStreamTruncated: a stream ended (or its connection broke) before
	// the provider's terminal event ([DONE] or message_stop), and before
	// it said why the answer finished (a stream that closes cleanly after
	// its finish_reason or stop_reason is complete: some servers never send
	// [DONE]). Code
	// ServerError: retried when it happens before the first content event,
	// returned by [ChatStream.Err] after.
	ErrStreamTruncated = errors.New("client: stream ended before its terminal event")
	// ErrResponseTooLarge: a successful answer's body, or the text of a
	// stream, exceeded [Builder.MaxResponseBytes]. Code Unknown (not
	// retried).
	ErrResponseTooLarge = errors.New("client: response body too large")
	// ErrInvalidResponse: a provider answered 2xx with a body (or a stream
	// event) that is not valid in its wire format, such as an HTML page from
	// a proxy. Code ServerError (retryable and fallbackable: the next
	// attempt or target may well answer properly), except for a stream line
	// or event longer than its bound (the larger of
	// [Builder.MaxResponseBytes] and [MaxStreamLineBytes]): code Unknown,
	// not retried, like [ErrResponseTooLarge].
	ErrInvalidResponse = errors.New("client: invalid response from provider")
)

// errStreamClosed is the cancel cause of a stream closed by its caller.
var errStreamClosed = errors.New("client: stream closed")

// defaultHTTPClient returns the client used when none is given: a clone of
// http.DefaultTransport with a response-header timeout, and no
// Client.Timeout (which would cut streams off).
func defaultHTTPClient(headerTimeout time.Duration) *http.Client {
	var tr *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = dt.Clone()
	} else {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	tr.ResponseHeaderTimeout = headerTimeout
	return &http.Client{Transport: tr}
}

// directTransport is the transport Chat's requests can go to without
// http.Client: hc's, when hc adds nothing on the way there (no cookie
// Jar, no Timeout); nil otherwise. Redirects it adds on the way back, and
// send hands those to hc.
func directTransport(hc *http.Client) http.RoundTripper {
	if hc.Jar != nil || hc.Timeout != 0 {
		return nil
	}
	if hc.Transport == nil {
		return http.DefaultTransport
	}
	return hc.Transport
}

// send sends a Chat attempt's request as c.chatHTTP.Do does, and returns
// the same answer and errors (a *url.Error around the transport's). It
// calls the transport itself when the client adds nothing but redirects:
// http.Client's frames (1.2 KB) would otherwise sit on the stack of every
// request waiting for its answer, which is what decides a call's stack
// size class. An answer that redirects, which http.Client would follow, is
// closed and the request sent again through c.chatHTTP, which follows it
// under the client's redirect policy: the rare redirect costs one request
// more, and no redirect rule is written here.
func (c *AiClient) send(req *http.Request) (*http.Response, error) {
	if c.chatRT == nil {
		return c.chatHTTP.Do(req)
	}
	resp, err := c.chatRT.RoundTrip(req)
	if err == nil && resp == nil {
		err = fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", c.chatRT)
	}
	if err != nil {
		return nil, sendFailed(req, err)
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if !redirected(resp) {
		return resp, nil
	}
	closeBody(resp.Body)
	again := req.Clone(req.Context())
	if again.Body, err = req.GetBody(); err != nil {
		return nil, sendFailed(req, err)
	}
	return c.chatHTTP.Do(again)
}

// sendFailed is err as http.Client reports a failed request.
func sendFailed(req *http.Request, err error) error {
	return &url.Error{Op: "Post", URL: req.URL.Redacted(), Err: err}
}

// redirected reports whether http.Client would follow resp.
func redirected(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// redirectPolicy wraps next (nil = net/http's default of 10 redirects) so
// that the credential headers are removed from a request redirected to
// another scheme or host (port included). net/http already drops
// Authorization and Cookie for other domains, but not x-api-key or custom
// key headers.
func redirectPolicy(next func(*http.Request, []*http.Request) error, sensitive []string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 {
			orig := via[0].URL
			if !strings.EqualFold(req.URL.Scheme, orig.Scheme) || !strings.EqualFold(req.URL.Host, orig.Host) {
				for _, h := range sensitive {
					req.Header.Del(h)
				}
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("client: stopped after 10 redirects")
		}
		return nil
	}
}

// maxProviderCode bounds a provider's error type kept in ProviderCode, as
// aierrors.ClassifyResponse does.
const maxProviderCode = 64

// clip cuts s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// sensitiveHeader reports whether a header's value should be treated as a
// secret.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "cookie", "signature", "password"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// readBufs holds the buffers readBounded reads into, so that a body costs
// one allocation of its own size instead of io.ReadAll's growing series.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// maxPooledRead bounds the buffers kept in readBufs.
const maxPooledRead = 64 << 10

// readBounded reads at most limit bytes of r. It reports whether more
// followed. Like io.ReadAll, it stops without error at io.EOF.
func readBounded(r io.Reader, limit int64) ([]byte, bool, error) {
	bp := readBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	var err error
	for int64(len(buf)) <= limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		free := buf[len(buf):cap(buf)]
		// Read up to limit+1 bytes, written so as not to overflow.
		if rest := limit - int64(len(buf)); rest < int64(len(free))-1 {
			free = free[:rest+1]
		}
		var n int
		n, err = r.Read(free)
		buf = buf[:len(buf)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			break
		}
	}
	more := int64(len(buf)) > limit
	if more {
		buf = buf[:limit]
	}
	if cap(buf) > maxPooledRead {
		return buf, more, err // too big to keep: hand it over
	}
	data := bytes.Clone(buf)
	*bp = buf[:0]
	readBufs.Put(bp)
	return data, more, err
}

// closeBody drains a little of body, so that the connection can be
// reused, and closes it.
func closeBody(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
	_ = body.Close()
}

// The values of the headers newRequest sets itself. Like the target's
// header values, they are shared by every request and never written
// through: a slice's capacity is its length, so an Add on a request's
// header copies it, and Set and Del replace it.
var (
	acceptJSON   = []string{"application/json"}
	acceptEvents = []string{"text/event-stream"}
	noCache      = []string{"no-cache"}
)

// newRequest builds a provider request for t: the target's headers, then
// the call's own (ChatRequest.Header), which never replace credentials or
// the headers the protocol needs.
//
// It copies t.request, made once by http.NewRequest at Build, instead of
// parsing the endpoint again per attempt. The request gets a URL and a
// header map of its own, since a RoundTripper or a cookie jar may write to
// them, but the header's value slices are shared with t.header, which is
// never written after Build: this saves copying every value per attempt.
func (c *AiClient) newRequest(ctx context.Context, t *target, o *outgoing, stream bool) (*http.Request, error) {
	if ctx == nil {
		return nil, errors.New("nil Context")
	}
	req := t.request.WithContext(ctx)
	u := *req.URL
	req.URL = &u
	req.Body, req.GetBody, req.ContentLength = o.newBody(), o.getBody, int64(len(o.body))
	h := make(http.Header, len(t.header)+len(o.header)+2)
	for k, vs := range t.header {
		h[k] = vs[:len(vs):len(vs)]
	}
	for k, vs := range o.header {
		if len(vs) == 0 || protectedHeader(t, k) {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
	}
	if stream {
		h["Accept"], h["Cache-Control"] = acceptEvents, noCache
	} else {
		h["Accept"] = acceptJSON
	}
	req.Header = h
	return req, nil
}

// newBody returns a reader of the encoded request, as http.NewRequest
// makes for a []byte; http.NoBody when it is empty. It must stay an
// io.NopCloser around a *bytes.Reader: net/http sends the headers and a
// body it knows to be in memory in one write, and any other body in two.
func (o *outgoing) newBody() io.ReadCloser {
	if len(o.body) == 0 {
		return http.NoBody
	}
	return io.NopCloser(bytes.NewReader(o.body))
}

// protectedHeader reports whether a call's own header k must not replace
// the target's: the headers the client sets itself, credentials of any
// name, and any credential-like header the target already sends.
func protectedHeader(t *target, k string) bool {
	switch ck := http.CanonicalHeaderKey(k); ck {
	case "Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key", "Cookie",
		"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding",
		"Accept", "Accept-Encoding", "Host", "Connection", "Te", "Trailer", "Upgrade":
		return true
	default:
		_, sent := t.header[ck]
		return sent && sensitiveHeader(ck)
	}
}

// tag returns a copy of e attributed to t, with every configured secret
// masked in the text fields and in the text of the cause: a transport
// error quotes the request URL, and a base URL may carry a key in its path.
func (c *AiClient) tag(e *aierrors.Error, t *target) *aierrors.Error {
	out := *e
	out.Provider, out.Model = t.provider, t.model
	if clean := redactAIError(&out, c.secrets); clean != &out {
		return clean
	}
	return &out
}

// scrubbedError is a cause whose text held a secret: Error returns the
// text with the secrets masked, while errors.Is and errors.As still reach
// the cause (whose own text is the caller's to guard).
type scrubbedError struct {
	err  error
	text string
}

func (e *scrubbedError) Error() string { return e.text }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub masks the client's secrets, in any encoding, then anything that
// looks like a key: the one redaction every text the client outputs goes
// through (see [redact.Secrets]).
func (c *AiClient) scrub(s string) string {
	if s == "" {
		return s
	}
	return c.secrets.String(s)
}

// maskAnswer returns the header and body of a provider's error answer with
// the client's secrets masked, before anything is taken from them. The
// classifier masks key-like strings by pattern and cuts messages and
// request IDs to a length: masking by value afterwards would find neither
// a key whose first part the pattern has already replaced nor one cut in
// two, and would leave the rest of it.
func (c *AiClient) maskAnswer(h http.Header, body []byte) (http.Header, []byte) {
	body = c.secrets.MaskBytes(body)
	var out http.Header
	for k, vs := range h {
		for i, v := range vs {
			m := c.secrets.Mask(v)
			if m == v {
				continue
			}
			if out == nil {
				out = h.Clone()
			}
			out[k][i] = m
		}
	}
	if out == nil {
		return h, body
	}
	return out, body
}

// requestError classifies an error of http.Client.Do or of reading a body.
// callerCtx is the context of the attempt as the executor gave it; reqCtx
// the one the request was sent with (it may carry a cancel cause of ours).
func (c *AiClient) requestError(callerCtx, reqCtx context.Context, t *target, err error) *aierrors.Error {
	if cerr := callerCtx.Err(); cerr != nil {
		// The caller's ctx ended: cancellation, or the caller's deadline.
		// Its cause (context.WithCancelCause) stays reachable, as in the
		// executor's own waits.
		e := aierrors.ClassifyTransport(ctxErr(callerCtx))
		if e.Message == "" {
			e.Message = "call " + strings.TrimPrefix(cerr.Error(), "context ")
		}
		return c.tag(e, t)
	}
	switch cause := context.Cause(reqCtx); {
	case errors.Is(cause, ErrAttemptTimeout):
		return c.tag(&aierrors.Error{Code: aierrors.Timeout, Message: fmt.Sprintf("attempt timed out after %v", c.attemptTimeout), Err: ErrAttemptTimeout}, t)
	case errors.Is(cause, ErrStreamIdle):
		return c.tag(&aierrors.Error{Code: aierrors.Timeout, Message: fmt.Sprintf("stream sent nothing for %v", c.idleTimeout), Err: ErrStreamIdle}, t)
	case errors.Is(cause, errStreamClosed):
		return c.tag(&aierrors.Error{Code: aierrors.Cancelled, Message: "stream closed by the caller", Err: context.Canceled}, t)
	}
	return c.tag(aierrors.ClassifyTransport(err), t)
}

// ctxErr returns ctx.Err(), joined with its cause when that differs, so
// that errors.Is matches both. ctx must be done.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// statusError classifies a non-2xx answer to o, reading at most
// MaxErrorBodyBytes of its body.
func (c *AiClient) statusError(t *target, o *outgoing, resp *http.Response) *aierrors.Error {
	body, _, _ := readBounded(resp.Body, MaxErrorBodyBytes)
	if resp.StatusCode < 400 {
		return c.tag(&aierrors.Error{
			Code:       aierrors.Unknown,
			HTTPStatus: resp.StatusCode,
			Message:    fmt.Sprintf("unexpected HTTP status %d", resp.StatusCode),
		}, t)
	}
	refused := refusedParameter(resp.StatusCode, body) & o.sent
	header, body := c.maskAnswer(resp.Header, body)
	e := aierrors.ClassifyResponse(resp.StatusCode, header, body)
	if e == nil {
		e = &aierrors.Error{Code: aierrors.FromHTTPStatus(resp.StatusCode), HTTPStatus: resp.StatusCode}
	}
	if refused != 0 && t.refused.Or(refused)&refused == 0 {
		// The model does not take a sampling parameter the request set
		// (OpenAI's reasoning models: temperature, top_p, stop), its
		// max_tokens (sent as max_completion_tokens instead) or its
		// json_schema (JSON mode instead): the request without it is
		// worth a retry, and every later one goes so. Once per parameter and
		// target, so a refusal that was not about the parameter cannot
		// loop.
		retry := true
		e.ShouldRetry = &retry
	}
	return c.tag(e, t)
}

// decodeError classifies an error of wire decoding: an error object inside
// a 2xx answer or a stream, or a body that is not an answer.
func (c *AiClient) decodeError(t *target, header http.Header, err error) *aierrors.Error {
	var apiErr *wire.APIError
	if errors.As(err, &apiErr) {
		header, body := c.maskAnswer(header, apiErr.Body)
		e := aierrors.ClassifyResponse(apiErr.Status, header, body)
		if e == nil {
			e = &aierrors.Error{Code: aierrors.FromHTTPStatus(apiErr.Status)}
		}
		out := c.tag(e, t)
		out.HTTPStatus = http.StatusOK
		if out.ProviderCode == "" {
			out.ProviderCode = c.scrub(clip(apiErr.Type, maxProviderCode))
		}
		return out
	}
	return c.tag(&aierrors.Error{
		Code:    aierrors.ServerError,
		Message: strings.TrimPrefix(err.Error(), wire.ErrMalformed.Error()+": "),
		Err:     fmt.Errorf("%w: %w", ErrInvalidResponse, err),
	}, t)
}

// The sampling parameters a model may refuse (target.refused), and
// refusedJSONSchema: a response_format of type json_schema.
const (
	refusedTemperature uint32 = 1 << iota
	refusedTopP
	refusedStop
	refusedJSONSchema
	refusedMaxTokens // max_tokens: send max_completion_tokens instead
)

// refusedParameter reads a 400 that refuses a parameter the request could
// go without, and returns its refused* bit, or 0. The refusals read:
//   - OpenAI's: code unsupported_value or unsupported_parameter (or a
//     null code with a message "Unsupported parameter: ..."), whose param
//     is temperature, top_p, stop, or max_tokens (its reasoning models
//     behind another base URL: "Use 'max_completion_tokens' instead");
//   - Anthropic's: the parameter "is deprecated for this model" (Claude
//     Opus 4.7 and later, which take no sampling parameters), also quoted
//     by proxies after words of their own;
//   - xAI's: an error string "Model grok-4.3 does not support parameter
//     stop";
//   - a refusal of json_schema output ("This model does not support
//     response format `json_schema`", Groq's models but a few; "invalid
//     schema for response format: ...: minItems is not supported"; "This
//     response_format type is unavailable now", DeepSeek): the request is
//     sent again as JSON mode with the schema in a system message
//     (wire.Request.SchemaInPrompt);
//   - any of these as the upstream's answer OpenRouter quotes in
//     error.metadata.raw.
func refusedParameter(status int, body []byte) uint32 {
	if status != http.StatusBadRequest {
		return 0
	}
	var top struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &top) != nil {
		return 0
	}
	// The error object; a string is its message (xAI: {"code": "Client
	// specified an invalid argument", "error": "Model grok-4.3 does not
	// support parameter stop"}). Fields of another type (OpenRouter's
	// numeric code) read as empty rather than failing the whole.
	var e struct {
		Param, Code, Message string
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(top.Error, &e.Message) != nil && json.Unmarshal(top.Error, &fields) == nil {
		_ = json.Unmarshal(fields["param"], &e.Param)
		_ = json.Unmarshal(fields["code"], &e.Code)
		_ = json.Unmarshal(fields["message"], &e.Message)
		// OpenRouter: "Provider returned error", the upstream's own
		// answer in metadata.raw (a string, or an object whose "data"
		// holds it), read as that answer.
		var meta struct {
			Raw json.RawMessage `json:"raw"`
		}
		if json.Unmarshal(fields["metadata"], &meta) == nil && len(meta.Raw) > 0 {
			var raw string
			var obj struct {
				Data string `json:"data"`
			}
			if json.Unmarshal(meta.Raw, &raw) != nil && json.Unmarshal(meta.Raw, &obj) == nil {
				raw = obj.Data
			}
			// raw was decoded from a string inside body, so it is
			// shorter: the recursion ends.
			if raw != "" {
				if inner := refusedParameter(status, []byte(raw)); inner != 0 {
					return inner
				}
			}
		}
	}
	if refusesJSONSchema(e.Param, e.Message) {
		return refusedJSONSchema
	}
	param := ""
	lower := strings.ToLower(e.Message)
	switch {
	case e.Code == "unsupported_value", e.Code == "unsupported_parameter",
		// The same refusal with a null code (OpenAI's older answers, and
		// as OpenRouter passes them on).
		e.Code == "" && (strings.HasPrefix(lower, "unsupported parameter") || strings.HasPrefix(lower, "unsupported value")):
		param = e.Param
	default:
		// The parameter is the word before "is deprecated for this
		// model", which proxies (LiteLLM, Bedrock) quote after words of
		// their own, or the word after "does not support parameter".
		if i := strings.Index(lower, " is deprecated for this model"); i > 0 {
			if words := strings.Fields(lower[:i]); len(words) > 0 {
				param = strings.Trim(words[len(words)-1], "`'\"")
			}
		} else if _, after, ok := strings.Cut(lower, "does not support parameter "); ok {
			if words := strings.Fields(after); len(words) > 0 {
				param = strings.Trim(words[0], "`'\".,")
			}
		}
	}
	switch param {
	case "temperature":
		return refusedTemperature
	case "top_p":
		return refusedTopP
	case "stop", "stop_sequences":
		return refusedStop
	case "max_tokens":
		// OpenAI's reasoning models behind another base URL (a gateway):
		// "Unsupported parameter: 'max_tokens' is not supported with this
		// model. Use 'max_completion_tokens' instead."
		return refusedMaxTokens
	}
	return 0
}

// refusesJSONSchema reports whether an error's param and message say the
// model does not take json_schema output, or not this schema.
func refusesJSONSchema(param, message string) bool {
	msg := strings.ToLower(message)
	about := param == "response_format" || strings.Contains(msg, "json_schema") ||
		strings.Contains(msg, "response format") || strings.Contains(msg, "response_format")
	// A refusal of the format together with something else (Groq's
	// "response_format` does not support streaming"; tools) is not one
	// JSON mode would answer.
	return about && containsAny(msg, "does not support", "not supported", "unsupported", "unavailable") &&
		!containsAny(msg, "stream", "tool")
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// withoutRefused returns the sampling parameters with those in refused
// left out.
func withoutRefused(refused uint32, temperature, topP *float64, stop []string) (*float64, *float64, []string) {
	if refused&refusedTemperature != 0 {
		temperature = nil
	}
	if refused&refusedTopP != 0 {
		topP = nil
	}
	if refused&refusedStop != 0 {
		stop = nil
	}
	return temperature, topP, stop
}
