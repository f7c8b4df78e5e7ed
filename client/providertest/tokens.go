package providertest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// SetTokenLimit caps model at tpm tokens (input and output) per minute, a
// token bucket of tpm tokens that starts full and refills continuously,
// read with time.Now (fake time inside a synctest bubble), as OpenAI and
// Anthropic limit tokens. A request is admitted when the bucket holds what
// it may spend: its prompt (one token per word, as in the answers' usage)
// plus its max_tokens (max_completion_tokens when sent, as OpenAI reads
// it; 0 when absent); otherwise it gets a 429 in the
// route's format with Retry-After (the time until it would fit) and
// consumes no scripted answer. An admitted request is charged its answer's
// usage (Answer.Usage, or the estimate the answer reports). Every answer to
// model then carries the bucket's state: x-ratelimit-limit-tokens (tpm),
// x-ratelimit-remaining-tokens and x-ratelimit-reset-tokens (time until
// the bucket is full) on OpenAI routes; anthropic-ratelimit-tokens-limit,
// -remaining and -reset (RFC 3339) on Anthropic routes. The 429s count in
// Stats.Limited and Stats.ByStatus. tpm <= 0 removes the cap. A request
// bigger than the whole bucket always gets the 429 (as providers answer).
func (s *Server) SetTokenLimit(model string, tpm int) {
	s.SetTokenLimitPer(model, tpm, time.Minute)
}

// SetTokenLimitPer is [Server.SetTokenLimit] with a window other than a
// minute: a bucket of tokens tokens that refills tokens every window (for
// scenarios played on a shorter timescale). window <= 0 means a minute.
func (s *Server) SetTokenLimitPer(model string, tokens int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.model(model)
	if tokens <= 0 {
		m.tokens = nil
		return
	}
	if window <= 0 {
		window = time.Minute
	}
	m.tokens = &tokenBucket{limit: float64(tokens), rate: float64(tokens) / window.Seconds()}
}

// tokenBucket is the bucket of SetTokenLimit; guarded by Server.mu.
type tokenBucket struct {
	limit, rate float64
	tokens      float64
	last        time.Time // zero: not used yet (full)
}

func (b *tokenBucket) advance(now time.Time) {
	switch {
	case b.last.IsZero():
		b.tokens = b.limit
	case now.After(b.last):
		b.tokens = math.Min(b.limit, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// admit reports whether need tokens are available, and the wait until they
// are otherwise.
func (b *tokenBucket) admit(now time.Time, need int) (bool, time.Duration) {
	b.advance(now)
	n := float64(need)
	if n <= b.tokens {
		return true, 0
	}
	if n > b.limit {
		return false, time.Minute
	}
	return false, time.Duration(math.Ceil((n - b.tokens) / b.rate * float64(time.Second)))
}

// charge spends used tokens (the bucket may go below zero).
func (b *tokenBucket) charge(now time.Time, used int) {
	b.advance(now)
	b.tokens -= float64(used)
}

// header adds the bucket's state to h.
func (b *tokenBucket) header(h http.Header, now time.Time, format Format) {
	full := time.Duration(math.Ceil((b.limit - b.tokens) / b.rate * float64(time.Second)))
	remaining := strconv.Itoa(max(int(math.Floor(b.tokens)), 0))
	limit := strconv.Itoa(int(b.limit))
	if format == FormatAnthropic {
		h.Set("anthropic-ratelimit-tokens-limit", limit)
		h.Set("anthropic-ratelimit-tokens-remaining", remaining)
		h.Set("anthropic-ratelimit-tokens-reset", formatRFC3339Ceil(now.Add(full)))
		return
	}
	h.Set("x-ratelimit-limit-tokens", limit)
	h.Set("x-ratelimit-remaining-tokens", remaining)
	h.Set("x-ratelimit-reset-tokens", formatResetDuration(full))
}

// tokenCapAnswer is the 429 of the token cap.
func tokenCapAnswer(format Format, wait time.Duration) Answer {
	return capAnswer(format, wait, "tokens", "tokens per minute", "on tokens per min (TPM)")
}

// nextWithTokens is next behind the token cap of x's model. Requires s.mu.
func (s *Server) nextWithTokens(m *modelState, x *exchange, r *Request, now time.Time) (Answer, http.Header) {
	b := m.tokens
	if b == nil {
		return s.next(m, r, now)
	}
	need := x.chat.promptWords()
	switch {
	case x.chat.MaxCompletionTokens != nil:
		need += max(*x.chat.MaxCompletionTokens, 0)
	case x.chat.MaxTokens != nil:
		need += max(*x.chat.MaxTokens, 0)
	}
	if ok, wait := b.admit(now, need); !ok {
		m.stats.Limited++
		h := http.Header{}
		b.header(h, now, r.Format)
		setRetryAfter(h, wait, r.Format != FormatAnthropic)
		return tokenCapAnswer(r.Format, wait), h
	}
	a, extra := s.next(m, r, now)
	if a.Status == 0 || a.Status < 300 {
		u := x.usage(&a, len(a.reasoningChunks())+len(a.chunks()))
		b.charge(now, u.PromptTokens+u.CompletionTokens)
	}
	if extra == nil {
		extra = http.Header{}
	}
	b.header(extra, now, r.Format)
	return a, extra
}
