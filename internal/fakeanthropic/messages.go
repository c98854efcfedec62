package fakeanthropic

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file is the fake's Messages API: POST /v1/messages (JSON and SSE),
// POST /v1/messages/count_tokens and GET /v1/models, with the unified
// rate-limit headers, gzip when the client asks, injectable faults, and a
// record of every request.

// OAuthBeta is the beta the API requires alongside an OAuth token.
const OAuthBeta = "oauth-2025-04-20"

// RevokedMessage is the wording of the 403 a revoked OAuth token gets.
const RevokedMessage = "OAuth token has been revoked. Please obtain a new token."

// APIRequest is what the fake saw of one /v1/ request.
type APIRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	Token    string // the bearer token, "" when none was sent
	Started  time.Time
	Finished time.Time // zero while the reply is still being written
	// Status is the HTTP status the fake answered with.
	Status int
	// Fault names the injected fault that answered, "" for a normal reply.
	Fault string
	// ClientGone: the client went away before the reply was complete.
	ClientGone bool
	// Gzip: the reply was gzip-encoded.
	Gzip bool
}

// RateLimit is what the fake reports in the anthropic-ratelimit-unified-*
// headers for a token.
type RateLimit struct {
	Status   string // allowed, allowed_warning, rejected ("" sends no headers)
	Status5h string // per-window status; "" omits the header
	Status7d string
	Claim    string // representative claim, e.g. five_hour
	Util5h   float64
	Util7d   float64
	Reset    time.Time // zero omits the header
	Reset5h  time.Time
	Reset7d  time.Time
}

// header writes rl into h.
func (rl RateLimit) header(h http.Header) {
	if rl.Status == "" {
		return
	}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	unix := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.Unix(), 10)
	}
	set("anthropic-ratelimit-unified-status", rl.Status)
	set("anthropic-ratelimit-unified-5h-status", rl.Status5h)
	set("anthropic-ratelimit-unified-7d-status", rl.Status7d)
	set("anthropic-ratelimit-unified-representative-claim", rl.Claim)
	set("anthropic-ratelimit-unified-5h-utilization", strconv.FormatFloat(rl.Util5h, 'f', -1, 64))
	set("anthropic-ratelimit-unified-7d-utilization", strconv.FormatFloat(rl.Util7d, 'f', -1, 64))
	set("anthropic-ratelimit-unified-reset", unix(rl.Reset))
	set("anthropic-ratelimit-unified-5h-reset", unix(rl.Reset5h))
	set("anthropic-ratelimit-unified-7d-reset", unix(rl.Reset7d))
}

// Fault is an error the fake answers with instead of a normal reply.
type Fault struct {
	// Token limits the fault to requests with this bearer token; "" hits
	// any token.
	Token string
	// Match, when set, limits the fault to requests whose bearer token it
	// accepts (e.g. every token of one account, across refreshes).
	Match func(token string) bool
	// Path limits the fault to one path; "" means /v1/messages.
	Path string
	// Status is the HTTP status: 401, 403, 429, 500, 529, … With
	// StreamError set, Status is ignored and the reply is a 200 stream.
	Status int
	// Type and Message of the error document; defaults follow Status
	// (403 with Revoked uses RevokedMessage).
	Type    string
	Message string
	// Revoked makes a 403 say the token was revoked.
	Revoked bool
	// RetryAfter is sent as the retry-after header when not "".
	RetryAfter string
	// ShouldRetry sends x-should-retry: true.
	ShouldRetry bool
	// RateLimit, when set, replaces the token's unified headers on this
	// reply (a subscription 429 carries per-window headers).
	RateLimit *RateLimit
	// StreamError makes the reply a 200 SSE stream whose first event is an
	// error of this type (overloaded_error, rate_limit_error, …).
	StreamError string
	// Times is how many requests the fault answers; 0 means all of them
	// until ClearFaults.
	Times int

	firstEventDelay time.Duration // the reply's FirstEventDelay, for StreamError
}

// Reply shapes the fake's successful replies.
type Reply struct {
	Text       string        // the assistant's text (default "Hello from the fake Anthropic API.")
	Chunks     int           // text_delta events in a stream (default 3)
	EventDelay time.Duration // pause before each SSE event after the first
	// FirstEventDelay is a pause between the response headers and the
	// first SSE event (also before a StreamError fault's event).
	FirstEventDelay time.Duration
	// Usage reported: input, cache read, cache creation, output tokens.
	InputTokens              int
	CacheReadInputTokens     int
	CacheCreationInputTokens int
	OutputTokens             int
	// Thinking adds a thinking block (thinking_delta, signature_delta)
	// before the text; ToolUse adds a tool_use block (input_json_delta).
	Thinking bool
	ToolUse  bool
	// NoGzip answers uncompressed even when the client accepts gzip.
	NoGzip bool
}

func (r Reply) withDefaults() Reply {
	if r.Text == "" {
		r.Text = "Hello from the fake Anthropic API."
	}
	if r.Chunks <= 0 {
		r.Chunks = 3
	}
	if r.InputTokens == 0 {
		r.InputTokens = 12
	}
	if r.CacheReadInputTokens == 0 {
		r.CacheReadInputTokens = 2048
	}
	if r.CacheCreationInputTokens == 0 {
		r.CacheCreationInputTokens = 256
	}
	if r.OutputTokens == 0 {
		r.OutputTokens = 42
	}
	return r
}

// messagesState is the fake's state for this area; guarded by Server.mu.
type messagesState struct {
	reply      Reply
	rateLimits map[string]RateLimit // by token; "" applies to every other token
	faults     []*Fault
	requests   []*APIRequest
	inFlight   int
	// acceptToken, when set, decides whether a bearer token is valid.
	acceptToken func(string) bool
}

func (s *Server) registerMessages(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/messages", s.handleMessages)
	mux.HandleFunc("POST /v1/messages/count_tokens", s.handleCountTokens)
	mux.HandleFunc("GET /v1/models", s.handleModels)
}

// SetReply sets how successful replies look.
func (s *Server) SetReply(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages.reply = r
}

// SetRateLimit sets the unified rate-limit headers sent to requests with
// token ("" sets them for every token without its own).
func (s *Server) SetRateLimit(token string, rl RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.messages.rateLimits == nil {
		s.messages.rateLimits = make(map[string]RateLimit)
	}
	s.messages.rateLimits[token] = rl
}

// InjectFault queues a fault; faults are matched in the order injected.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages.faults = append(s.messages.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages.faults = nil
}

// SetTokenValidator makes the Messages API answer 401 to bearer tokens
// for which accept returns false. By default only access tokens the fake's
// token endpoint issued and that have not expired pass (ValidAccessToken).
func (s *Server) SetTokenValidator(accept func(token string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages.acceptToken = accept
}

// APIRequests returns a copy of every /v1/ request seen so far.
func (s *Server) APIRequests() []APIRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]APIRequest, len(s.messages.requests))
	for i, r := range s.messages.requests {
		out[i] = *r
		out[i].Header = r.Header.Clone()
	}
	return out
}

// ResetAPIRequests forgets the recorded requests.
func (s *Server) ResetAPIRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages.requests = nil
}

// InFlight is the number of /v1/ requests whose reply is still being
// written.
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages.inFlight
}

// begin records a request and returns its record; end must follow.
func (s *Server) begin(r *http.Request, body []byte) *APIRequest {
	rec := &APIRequest{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		Token:    bearer(r),
		Started:  time.Now(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages.requests = append(s.messages.requests, rec)
	s.messages.inFlight++
	return rec
}

func (s *Server) end(rec *APIRequest, status int, clientGone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Finished, rec.Status, rec.ClientGone = time.Now(), status, clientGone
	s.messages.inFlight--
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// takeFault returns the first fault matching the request, using it up.
func (s *Server) takeFault(path, token string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.messages.faults {
		fp := f.Path
		if fp == "" {
			fp = "/v1/messages"
		}
		if fp != path || (f.Token != "" && f.Token != token) || (f.Match != nil && !f.Match(token)) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.messages.faults = append(s.messages.faults[:i:i], s.messages.faults[i+1:]...)
			}
		}
		c := *f
		return &c
	}
	return nil
}

func (s *Server) rateLimitFor(token string) RateLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rl, ok := s.messages.rateLimits[token]; ok {
		return rl
	}
	return s.messages.rateLimits[""]
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// writeError answers in Anthropic's error shape.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(map[string]any{
		"type":       "error",
		"error":      map[string]string{"type": typ, "message": msg},
		"request_id": newID("req_"),
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// checkAuth answers 401 the way the API does when the credentials are
// missing or not acceptable, and reports whether the request may go on.
func (s *Server) checkAuth(w http.ResponseWriter, r *http.Request, token string) (int, bool) {
	if token == "" {
		if r.Header.Get("X-Api-Key") != "" {
			writeError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		} else {
			writeError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		}
		return http.StatusUnauthorized, false
	}
	if strings.HasPrefix(token, "sk-ant-oat") && !hasBeta(r.Header, OAuthBeta) {
		writeError(w, http.StatusUnauthorized, "authentication_error", "OAuth authentication is currently not supported.")
		return http.StatusUnauthorized, false
	}
	s.mu.Lock()
	accept := s.messages.acceptToken
	s.mu.Unlock()
	var ok bool
	if accept != nil {
		ok = accept(token)
	} else {
		ok = s.ValidAccessToken(token)
	}
	if !ok {
		writeError(w, http.StatusUnauthorized, "authentication_error", "Invalid bearer token")
		return http.StatusUnauthorized, false
	}
	return 0, true
}

func hasBeta(h http.Header, beta string) bool {
	for _, v := range h.Values("Anthropic-Beta") {
		for b := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(b) == beta {
				return true
			}
		}
	}
	return false
}

// writeFault answers with f, reporting the status sent.
func (s *Server) writeFault(w http.ResponseWriter, f *Fault, rl RateLimit) int {
	if f.RateLimit != nil {
		rl = *f.RateLimit
	}
	rl.header(w.Header())
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.ShouldRetry {
		w.Header().Set("X-Should-Retry", "true")
	}
	w.Header().Set("Request-Id", newID("req_"))
	if f.StreamError != "" {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if f.firstEventDelay > 0 {
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			time.Sleep(f.firstEventDelay)
		}
		msg := f.Message
		if msg == "" {
			msg = map[string]string{"overloaded_error": "Overloaded", "rate_limit_error": "Rate limited"}[f.StreamError]
		}
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": f.StreamError, "message": msg}})
		fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
		return http.StatusOK
	}
	typ, msg := f.Type, f.Message
	defType, defMsg := errorDefaults(f.Status, f.Revoked)
	if typ == "" {
		typ = defType
	}
	if msg == "" {
		msg = defMsg
	}
	writeError(w, f.Status, typ, msg)
	return f.Status
}

func errorDefaults(status int, revoked bool) (string, string) {
	switch status {
	case 400:
		return "invalid_request_error", "Invalid request"
	case 401:
		return "authentication_error", "Invalid bearer token"
	case 403:
		if revoked {
			return "permission_error", RevokedMessage
		}
		return "permission_error", "Your account does not have permission to use this resource"
	case 404:
		return "not_found_error", "Not found"
	case 413:
		return "request_too_large", "Request exceeds the maximum allowed size"
	case 429:
		return "rate_limit_error", "This request would exceed your account's rate limit. Please try again later."
	case 529:
		return "overloaded_error", "Overloaded"
	}
	return "api_error", "Internal server error"
}

// prelude records the request and handles auth and faults; it returns
// the record and false when the request was already answered.
func (s *Server) prelude(w http.ResponseWriter, r *http.Request) (*APIRequest, []byte, bool) {
	body, _ := io.ReadAll(r.Body)
	rec := s.begin(r, body)
	if status, ok := s.checkAuth(w, r, rec.Token); !ok {
		s.end(rec, status, false)
		return rec, body, false
	}
	if f := s.takeFault(r.URL.Path, rec.Token); f != nil {
		s.mu.Lock()
		f.firstEventDelay = s.messages.reply.FirstEventDelay
		s.mu.Unlock()
		status := s.writeFault(w, f, s.rateLimitFor(rec.Token))
		s.mu.Lock()
		rec.Fault = faultName(f)
		s.mu.Unlock()
		s.end(rec, status, false)
		return rec, body, false
	}
	return rec, body, true
}

func faultName(f *Fault) string {
	if f.StreamError != "" {
		return "stream " + f.StreamError
	}
	if f.Revoked {
		return "403 revoked"
	}
	return strconv.Itoa(f.Status)
}

// messagesRequest is the part of a Messages request the fake reads.
type messagesRequest struct {
	Model    string            `json:"model"`
	Stream   bool              `json:"stream"`
	Messages []json.RawMessage `json:"messages"`
	Thinking *struct {
		Type string `json:"type"`
	} `json:"thinking"`
	Tools []json.RawMessage `json:"tools"`
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	rec, body, ok := s.prelude(w, r)
	if !ok {
		return
	}
	var req messagesRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" || len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages: a model and at least one message are required")
		s.end(rec, http.StatusBadRequest, false)
		return
	}
	s.mu.Lock()
	reply := s.messages.reply.withDefaults()
	s.mu.Unlock()
	if req.Thinking != nil && req.Thinking.Type == "enabled" {
		reply.Thinking = true
	}
	h := w.Header()
	s.rateLimitFor(rec.Token).header(h)
	h.Set("Request-Id", newID("req_"))
	h.Set("Anthropic-Organization-Id", "00000000-0000-4000-8000-000000000000")

	out := io.Writer(w)
	var gz *gzip.Writer
	if acceptsGzip(r) && !reply.NoGzip {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		gz = gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer gzipWriters.Put(gz)
		out = gz
		s.mu.Lock()
		rec.Gzip = true
		s.mu.Unlock()
	}
	msgID := newID("msg_")
	if !req.Stream {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = out.Write(jsonMessage(msgID, req.Model, reply))
		if gz != nil {
			_ = gz.Close()
		}
		s.end(rec, http.StatusOK, r.Context().Err() != nil)
		return
	}
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for i, ev := range streamEvents(msgID, req.Model, reply) {
		delay := reply.EventDelay
		if i == 0 {
			delay = reply.FirstEventDelay
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				s.end(rec, http.StatusOK, true)
				return
			case <-t.C:
			}
		}
		if _, err := fmt.Fprintf(out, "event: %s\ndata: %s\n\n", ev.name, ev.data); err != nil {
			s.end(rec, http.StatusOK, true)
			return
		}
		if gz != nil {
			_ = gz.Flush()
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	if gz != nil {
		_ = gz.Close()
	}
	s.end(rec, http.StatusOK, r.Context().Err() != nil)
}

// gzipWriters reuses compressors: each holds several hundred KiB, which
// would otherwise dominate a benchmark's allocations.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for e := range strings.SplitSeq(v, ",") {
			if name, _, _ := strings.Cut(strings.TrimSpace(e), ";"); strings.EqualFold(name, "gzip") {
				return true
			}
		}
	}
	return false
}

func usageDoc(r Reply, output int) map[string]any {
	return map[string]any{
		"input_tokens":                r.InputTokens,
		"cache_creation_input_tokens": r.CacheCreationInputTokens,
		"cache_read_input_tokens":     r.CacheReadInputTokens,
		"output_tokens":               output,
		"service_tier":                "standard",
	}
}

// jsonMessage is a non-streamed reply, fields in the API's order.
func jsonMessage(id, model string, r Reply) []byte {
	type block map[string]any
	var content []block
	if r.Thinking {
		content = append(content, block{"type": "thinking", "thinking": "Let me think.", "signature": "sig_fake"})
	}
	content = append(content, block{"type": "text", "text": r.Text})
	stop := "end_turn"
	if r.ToolUse {
		content = append(content, block{"type": "tool_use", "id": "toolu_fake", "name": "get_weather", "input": map[string]string{"city": "Paris"}})
		stop = "tool_use"
	}
	// A struct keeps the field order: usage comes last, as the API sends it.
	b, _ := json.Marshal(struct {
		ID           string         `json:"id"`
		Type         string         `json:"type"`
		Role         string         `json:"role"`
		Model        string         `json:"model"`
		Content      []block        `json:"content"`
		StopReason   string         `json:"stop_reason"`
		StopSequence *string        `json:"stop_sequence"`
		Usage        map[string]any `json:"usage"`
	}{id, "message", "assistant", model, content, stop, nil, usageDoc(r, r.OutputTokens)})
	return b
}

type sseEvent struct {
	name string
	data []byte
}

// streamEvents is the SSE sequence of a streamed reply: message_start,
// ping, the content blocks with their deltas, message_delta, message_stop.
func streamEvents(id, model string, r Reply) []sseEvent {
	var evs []sseEvent
	add := func(name string, v any) {
		b, _ := json.Marshal(v)
		evs = append(evs, sseEvent{name, b})
	}
	type m = map[string]any
	add("message_start", m{"type": "message_start", "message": m{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": usageDoc(r, 1),
	}})
	add("ping", m{"type": "ping"})
	index := 0
	if r.Thinking {
		add("content_block_start", m{"type": "content_block_start", "index": index, "content_block": m{"type": "thinking", "thinking": "", "signature": ""}})
		add("content_block_delta", m{"type": "content_block_delta", "index": index, "delta": m{"type": "thinking_delta", "thinking": "Let me "}})
		add("content_block_delta", m{"type": "content_block_delta", "index": index, "delta": m{"type": "thinking_delta", "thinking": "think."}})
		add("content_block_delta", m{"type": "content_block_delta", "index": index, "delta": m{"type": "signature_delta", "signature": "sig_fake"}})
		add("content_block_stop", m{"type": "content_block_stop", "index": index})
		index++
	}
	add("content_block_start", m{"type": "content_block_start", "index": index, "content_block": m{"type": "text", "text": ""}})
	for _, piece := range split(r.Text, r.Chunks) {
		add("content_block_delta", m{"type": "content_block_delta", "index": index, "delta": m{"type": "text_delta", "text": piece}})
	}
	add("content_block_stop", m{"type": "content_block_stop", "index": index})
	index++
	stop := "end_turn"
	if r.ToolUse {
		add("content_block_start", m{"type": "content_block_start", "index": index, "content_block": m{"type": "tool_use", "id": "toolu_fake", "name": "get_weather", "input": m{}}})
		add("content_block_delta", m{"type": "content_block_delta", "index": index, "delta": m{"type": "input_json_delta", "partial_json": `{"city":`}})
		add("content_block_delta", m{"type": "content_block_delta", "index": index, "delta": m{"type": "input_json_delta", "partial_json": ` "Paris"}`}})
		add("content_block_stop", m{"type": "content_block_stop", "index": index})
		stop = "tool_use"
	}
	add("message_delta", m{"type": "message_delta", "delta": m{"stop_reason": stop, "stop_sequence": nil},
		"usage": m{"output_tokens": r.OutputTokens}})
	add("message_stop", m{"type": "message_stop"})
	return evs
}

// split cuts s into n pieces of nearly equal length (fewer if s is short).
func split(s string, n int) []string {
	runes := []rune(s)
	if n > len(runes) {
		n = max(len(runes), 1)
	}
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, string(runes[i*len(runes)/n:(i+1)*len(runes)/n]))
	}
	return out
}

func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request) {
	rec, body, ok := s.prelude(w, r)
	if !ok {
		return
	}
	var req messagesRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "count_tokens: a model and messages are required")
		s.end(rec, http.StatusBadRequest, false)
		return
	}
	s.rateLimitFor(rec.Token).header(w.Header())
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"input_tokens":%d}`, max(1, len(body)/4))
	s.end(rec, http.StatusOK, false)
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	rec, _, ok := s.prelude(w, r)
	if !ok {
		return
	}
	models := []map[string]string{
		{"type": "model", "id": "claude-opus-4-5-20251101", "display_name": "Claude Opus 4.5", "created_at": "2025-11-01T00:00:00Z"},
		{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"},
		{"type": "model", "id": "claude-haiku-4-5-20251001", "display_name": "Claude Haiku 4.5", "created_at": "2025-10-01T00:00:00Z"},
	}
	b, _ := json.Marshal(map[string]any{"data": models, "has_more": false,
		"first_id": models[0]["id"], "last_id": models[len(models)-1]["id"]})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	s.end(rec, http.StatusOK, false)
}
