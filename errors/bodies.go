package errors

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxBodyBytes is how much of a response body [ClassifyResponse] reads.
// Only this prefix is decoded, scanned or searched, so classifying costs
// bounded time and memory whatever the body's size. Every provider's error
// document fits easily; a longer body is an HTML page or a dump, whose
// start is what matters.
const MaxBodyBytes = 64 << 10

// maxNesting bounds how deep a JSON document embedded in a message string
// (a gateway quoting the upstream answer) is followed.
const maxNesting = 2

// bodyInfo is what a response body said, whatever its shape.
type bodyInfo struct {
	// codes are the provider's own codes and types, most specific first
	// (e.g. an Anthropic details.error_code, then a Google ErrorInfo
	// reason, then error.code, error.type, error.status, and top-level
	// code/type).
	codes      []string
	message    string
	statusHint int // an HTTP status written in the body (Gemini error.code, OpenRouter code, "429")
	requestID  string

	retryDelay    time.Duration // Gemini RetryInfo
	hasRetryDelay bool
	violations    []string    // Gemini/Vertex QuotaFailure violations, as text
	extraHeader   http.Header // rate-limit headers quoted in the body (OpenRouter metadata.headers)
	html          bool        // the body is an HTML page
	structured    bool        // some field was recognised
}

// parseBody reads the first [MaxBodyBytes] of body. It never fails: a body
// it cannot read leaves bodyInfo empty or with the raw text as message.
func parseBody(body []byte) bodyInfo {
	var info bodyInfo
	if len(body) > MaxBodyBytes {
		body = body[:MaxBodyBytes]
	}
	b := bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return info
	}
	b = ssePayload(b)
	switch {
	case b[0] == '{' || b[0] == '[' || b[0] == '"':
		info.fromJSONBytes(b, 0)
		if !info.structured && info.message == "" {
			info.message = string(b)
		}
	case looksHTML(b):
		info.html = true
		info.message = htmlSummary(b)
	default:
		info.message = string(b)
	}
	return info
}

// ssePayload returns the data of the first "data:" line when b is a
// server-sent event ("event: error\ndata: {...}"), as an error met in a
// stream is; otherwise b.
func ssePayload(b []byte) []byte {
	if !bytes.HasPrefix(b, []byte("event:")) && !bytes.HasPrefix(b, []byte("data:")) {
		return b
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if rest = bytes.TrimSpace(rest); len(rest) > 0 {
				return rest
			}
		}
	}
	return b
}

// fromJSONBytes decodes b and reads it; when b is not valid JSON (cut
// short by the provider, a proxy or [MaxBodyBytes]) it scans for the
// fields it knows instead.
func (info *bodyInfo) fromJSONBytes(b []byte, depth int) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		info.scan(b)
		return
	}
	info.fromValue(v, depth)
}

func (info *bodyInfo) fromValue(v any, depth int) {
	switch x := v.(type) {
	case map[string]any:
		info.fromObject(x, depth)
	case []any:
		// Vertex AI sometimes wraps the Google error in an array:
		// [{"error": {...}}].
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				info.fromObject(m, depth)
				return
			}
		}
	case string:
		// A body that is a bare JSON string: "Internal Server Error".
		info.setMessage(x, depth)
	}
}

// fromObject reads a top-level object: an {"error": ...} envelope
// (OpenAI, Anthropic, Gemini, OpenRouter, Azure, xAI, Ollama, gateways) or
// a flat error (Mistral, Bedrock, FastAPI, RFC 9457 problem details).
func (info *bodyInfo) fromObject(m map[string]any, depth int) {
	switch e := m["error"].(type) {
	case map[string]any:
		info.fromErrorObject(e, depth)
	case []any:
		for _, el := range e {
			if em, ok := el.(map[string]any); ok {
				info.fromErrorObject(em, depth)
				break
			}
		}
	case string:
		// xAI {"code": "...", "error": "..."}, Ollama {"error": "..."}.
		info.structured = true
		info.setMessage(e, depth)
	}
	// AWS JSON protocols: "__type": "com.amazon.coral.service#ThrottlingException".
	if t, ok := m["__type"].(string); ok {
		if i := strings.LastIndexByte(t, '#'); i >= 0 {
			t = t[i+1:]
		}
		info.addCode(t)
	}
	info.codeOrStatus(m["code"])
	if t, ok := m["type"].(string); ok && t != "error" && !strings.Contains(t, ":") {
		// Anthropic's top-level "type": "error" says nothing; an RFC 9457
		// "type" is a URI.
		info.addCode(t)
	}
	if t, ok := m["error_type"].(string); ok {
		// text-generation-inference: {"error": "...", "error_type": "validation"}.
		info.addCode(t)
	}
	info.codeOrStatus(m["error_code"])
	info.codeOrStatus(m["status"])
	info.codeOrStatus(m["statusCode"])
	info.codeOrStatus(m["raw_status_code"]) // Mistral
	for _, k := range []string{"message", "Message", "detail", "error_description", "errorMessage", "title", "msg"} {
		if info.message != "" {
			break
		}
		if v, ok := m[k]; ok {
			info.setMessageValue(v, depth)
		}
	}
	if info.message == "" {
		// {"errors": [{"message": "..."}]}
		if errs, ok := m["errors"].([]any); ok && len(errs) > 0 {
			if em, ok := errs[0].(map[string]any); ok {
				info.fromErrorObject(em, depth)
			}
		}
	}
	for _, k := range []string{"request_id", "requestId", "request-id"} {
		if s, ok := m[k].(string); ok && info.requestID == "" {
			info.requestID = s
		}
	}
}

// fromErrorObject reads the object under "error".
func (info *bodyInfo) fromErrorObject(e map[string]any, depth int) {
	info.structured = true
	switch d := e["details"].(type) {
	case map[string]any:
		// Anthropic: "details": {"error_code": "enforced_spend_limit_reached"}.
		if s, ok := d["error_code"].(string); ok {
			info.addCode(s)
		}
	case []any:
		info.googleDetails(d)
	}
	info.codeOrStatus(e["code"])
	if t, ok := e["type"].(string); ok {
		info.addCode(t)
	}
	info.codeOrStatus(e["status"])
	if inner, ok := e["innererror"].(map[string]any); ok {
		// Azure OpenAI content filter: "innererror": {"code": "ResponsibleAIPolicyViolation"}.
		info.codeOrStatus(inner["code"])
	}
	if v, ok := e["message"]; ok {
		info.setMessageValue(v, depth)
	}
	if meta, ok := e["metadata"].(map[string]any); ok {
		info.openRouterMetadata(meta, depth)
	}
	for _, k := range []string{"request_id", "requestId"} {
		if s, ok := e[k].(string); ok && info.requestID == "" {
			info.requestID = s
		}
	}
}

// googleDetails reads google.rpc status details: RetryInfo, QuotaFailure
// and ErrorInfo.
func (info *bodyInfo) googleDetails(details []any) {
	var reasons []string
	for _, el := range details {
		d, ok := el.(map[string]any)
		if !ok {
			continue
		}
		typ, _ := d["@type"].(string)
		switch {
		case strings.HasSuffix(typ, "google.rpc.RetryInfo"):
			if delay, ok := googleDuration(d["retryDelay"]); ok {
				info.retryDelay, info.hasRetryDelay = delay, true
			}
		case strings.HasSuffix(typ, "google.rpc.QuotaFailure"):
			vs, _ := d["violations"].([]any)
			for _, v := range vs {
				vm, ok := v.(map[string]any)
				if !ok {
					continue
				}
				var parts []string
				for _, k := range []string{"quotaId", "quotaMetric", "subject", "description"} {
					if s, ok := vm[k].(string); ok && s != "" {
						parts = append(parts, s)
					}
				}
				if qv := scalarString(vm["quotaValue"]); qv != "" {
					parts = append(parts, "limit: "+qv)
				}
				info.violations = append(info.violations, strings.Join(parts, " "))
			}
		case strings.HasSuffix(typ, "google.rpc.ErrorInfo"):
			if s, ok := d["reason"].(string); ok {
				reasons = append(reasons, s)
			}
		}
	}
	// An ErrorInfo reason (API_KEY_INVALID, SERVICE_DISABLED) is more
	// specific than the status (INVALID_ARGUMENT, PERMISSION_DENIED).
	for _, r := range reasons {
		info.addCode(r)
	}
}

// openRouterMetadata reads OpenRouter's "metadata": the upstream answer
// in "raw" and the rate-limit headers in "headers".
func (info *bodyInfo) openRouterMetadata(meta map[string]any, depth int) {
	if hs, ok := meta["headers"].(map[string]any); ok {
		for k, v := range hs {
			if s := scalarString(v); s != "" {
				if info.extraHeader == nil {
					info.extraHeader = http.Header{}
				}
				info.extraHeader.Set(k, s)
			}
		}
	}
	// The upstream's wait, also when its headers are not quoted; a short
	// one only (maxUpstreamWait).
	if n, ok := meta["retry_after_seconds"].(json.Number); ok && !info.hasRetryDelay {
		if secs, err := n.Float64(); err == nil && secs >= 0 && secs <= maxUpstreamWait.Seconds() {
			info.retryDelay, info.hasRetryDelay = time.Duration(secs*float64(time.Second)), true
		}
	}
	var raw string
	switch r := meta["raw"].(type) {
	case string:
		raw = r
	case map[string]any:
		// Some upstreams' answers come as an object whose "data" holds
		// the body ({"__kind": "OK", "data": "{\"error\": ...}"}).
		if d, ok := r["data"].(string); ok {
			raw = d
		} else if b, err := json.Marshal(r); err == nil {
			raw = string(b)
		}
	}
	if raw == "" || depth >= maxNesting {
		return
	}
	raw = strings.TrimSpace(raw)
	var inner bodyInfo
	if strings.HasPrefix(raw, "{") || strings.HasPrefix(raw, "[") {
		inner.fromJSONBytes([]byte(raw), depth+1)
	} else {
		inner.message = raw
	}
	info.codes = append(info.codes, inner.codes...)
	if inner.message != "" && !strings.Contains(info.message, inner.message) {
		if info.message == "" {
			info.message = inner.message
		} else {
			info.message += ": " + inner.message
		}
	}
	info.mergeDetails(inner)
}

// mergeDetails copies what a nested document said that info lacks.
func (info *bodyInfo) mergeDetails(inner bodyInfo) {
	if info.statusHint == 0 {
		info.statusHint = inner.statusHint
	}
	if !info.hasRetryDelay && inner.hasRetryDelay {
		info.retryDelay, info.hasRetryDelay = inner.retryDelay, true
	}
	info.violations = append(info.violations, inner.violations...)
	if info.requestID == "" {
		info.requestID = inner.requestID
	}
}

// setMessageValue sets the message from a JSON value that may be a string,
// a number, an object ({"detail": ...} in old Mistral answers) or a list
// (FastAPI validation errors).
func (info *bodyInfo) setMessageValue(v any, depth int) {
	switch x := v.(type) {
	case string:
		info.setMessage(x, depth)
	case json.Number:
		info.setMessage(x.String(), depth)
	case []any:
		info.setMessage(validationSummary(x), depth)
	case map[string]any:
		for _, k := range []string{"message", "detail", "msg"} {
			if inner, ok := x[k]; ok {
				info.setMessageValue(inner, depth)
				return
			}
		}
		if b, err := json.Marshal(x); err == nil {
			info.setMessage(string(b), depth)
		}
	}
}

// setMessage sets the message. A message that is itself a JSON error
// document (a gateway quoting the upstream body) is read as one, up to
// maxNesting levels, and its codes join the outer ones.
func (info *bodyInfo) setMessage(s string, depth int) {
	t := strings.TrimSpace(s)
	if depth < maxNesting && len(t) > 1 && (t[0] == '{' || t[0] == '[') {
		var inner bodyInfo
		inner.fromJSONBytes([]byte(t), depth+1)
		if inner.structured {
			info.structured = true
			info.codes = append(info.codes, inner.codes...)
			info.mergeDetails(inner)
			if inner.message != "" {
				t = inner.message
			}
		}
	}
	if info.message == "" {
		info.message = t
	}
}

// validationSummary turns a FastAPI/pydantic "detail" list into one line:
// "body.messages: field required; ...".
func validationSummary(items []any) string {
	var parts []string
	for _, it := range items {
		if len(parts) == 3 {
			parts = append(parts, "...")
			break
		}
		switch x := it.(type) {
		case string:
			parts = append(parts, x)
		case map[string]any:
			msg := scalarString(x["msg"])
			if msg == "" {
				msg = scalarString(x["message"])
			}
			if loc, ok := x["loc"].([]any); ok && len(loc) > 0 {
				var ls []string
				for _, l := range loc {
					ls = append(ls, scalarString(l))
				}
				msg = strings.Join(ls, ".") + ": " + msg
			}
			if msg != "" {
				parts = append(parts, msg)
			}
		}
	}
	return strings.Join(parts, "; ")
}

// codeOrStatus records a "code" or "status" value: a number or numeric
// string between 400 and 599 is an HTTP status written in the body;
// anything else is a provider code.
func (info *bodyInfo) codeOrStatus(v any) {
	s := scalarString(v)
	if s == "" {
		return
	}
	info.structured = true
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 400 && n <= 599 {
			if info.statusHint == 0 {
				info.statusHint = n
			}
			return
		}
	}
	info.addCode(s)
}

func (info *bodyInfo) addCode(s string) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "null") || strings.EqualFold(s, "none") {
		return
	}
	info.structured = true
	info.codes = append(info.codes, s)
}

// scalarString returns a JSON string, number or bool as a string, and ""
// for anything else (null, objects, lists).
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// googleDuration reads a google.protobuf.Duration in its JSON form ("17s",
// "0.5s") or as {"seconds": 17, "nanos": 0}.
func googleDuration(v any) (time.Duration, bool) {
	switch x := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil || d < 0 {
			return 0, false
		}
		return d, true
	case map[string]any:
		secs, err1 := strconv.ParseFloat(scalarString(x["seconds"]), 64)
		if err1 != nil || secs < 0 || secs > MaxRetryAfter.Seconds() {
			return 0, false
		}
		nanos, _ := strconv.ParseFloat(scalarString(x["nanos"]), 64)
		if nanos < 0 || nanos >= 1e9 {
			nanos = 0
		}
		return time.Duration(secs)*time.Second + time.Duration(nanos), true
	}
	return 0, false
}

// Fallback scanning of JSON that does not decode (cut short).
var (
	scanField = regexp.MustCompile(`"(message|Message|detail|error|type|code|status|reason|__type)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d{1,6})\b)`)
	scanDelay = regexp.MustCompile(`"retryDelay"\s*:\s*"([0-9.]{1,20}s)"`)
	scanQuota = regexp.MustCompile(`"(?:quotaId|quotaMetric)"\s*:\s*"([^"\\]{1,200})"`)
	scanReqID = regexp.MustCompile(`"request_id"\s*:\s*"([^"\\]{1,200})"`)
)

// scan reads the fields it knows from JSON text that does not decode.
func (info *bodyInfo) scan(b []byte) {
	for _, m := range scanField.FindAllSubmatch(b, 64) {
		key := string(m[1])
		if m[3] != nil {
			if key == "code" || key == "status" {
				info.codeOrStatus(string(m[3]))
			}
			continue
		}
		val := unquoteJSON(m[2])
		switch key {
		case "message", "Message", "detail", "error":
			if info.message == "" && val != "" {
				info.structured = true
				info.message = val
			}
		case "type":
			if val != "error" && !strings.Contains(val, ":") {
				info.addCode(val)
			}
		case "__type":
			if i := strings.LastIndexByte(val, '#'); i >= 0 {
				val = val[i+1:]
			}
			info.addCode(val)
		case "reason":
			info.addCode(val)
		default:
			info.codeOrStatus(val)
		}
	}
	if m := scanDelay.FindSubmatch(b); m != nil {
		if d, err := time.ParseDuration(string(m[1])); err == nil {
			info.retryDelay, info.hasRetryDelay = d, true
		}
	}
	for _, m := range scanQuota.FindAllSubmatch(b, 16) {
		info.violations = append(info.violations, string(m[1]))
	}
	if m := scanReqID.FindSubmatch(b); m != nil && info.requestID == "" {
		info.requestID = string(m[1])
	}
}

// unquoteJSON decodes the escapes of a JSON string body (without quotes),
// returning the raw text when it cannot.
func unquoteJSON(raw []byte) string {
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s); err != nil {
		return string(raw)
	}
	return s
}

var (
	htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	htmlH1    = regexp.MustCompile(`(?is)<h1[^>]*>(.*?)</h1>`)
	htmlDrop  = regexp.MustCompile(`(?is)<(script|style)[^>]*>.*?</(?:script|style)>`)
	htmlTag   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// htmlTextLen bounds the text kept from an HTML page that has neither a
// title nor a heading.
const htmlTextLen = 200

// looksHTML reports whether b is an HTML page (a proxy's or CDN's error
// page).
func looksHTML(b []byte) bool {
	head := b[:min(len(b), 512)]
	lower := bytes.ToLower(head)
	return bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html")) ||
		bytes.Contains(lower, []byte("<html")) || bytes.Contains(lower, []byte("<head")) ||
		bytes.Contains(lower, []byte("<title")) || (len(lower) > 0 && lower[0] == '<' && bytes.Contains(lower, []byte("<body")))
}

// htmlSummary reduces an HTML page to its title, else its first heading,
// else the start of its text.
func htmlSummary(b []byte) string {
	for _, re := range []*regexp.Regexp{htmlTitle, htmlH1} {
		if m := re.FindSubmatch(b); m != nil {
			if t := htmlText(m[1]); t != "" {
				return t
			}
		}
	}
	t := htmlText(htmlDrop.ReplaceAll(b, nil))
	if len(t) > htmlTextLen {
		t = oneLine(t, htmlTextLen)
	}
	return t
}

func htmlText(b []byte) string {
	s := string(htmlTag.ReplaceAll(b, []byte(" ")))
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}
