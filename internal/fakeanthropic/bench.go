package fakeanthropic

import (
	"net/http"
	"time"
)

// benchState holds the knobs benchmarks use; guarded by Server.mu.
type benchState struct {
	noRecord bool                                          // do not keep APIRequests (bodies of 500 KB add up)
	onEvent  func(session string, index int, at time.Time) // called after each SSE event is flushed
}

// SetRecording turns the record of /v1/ requests (APIRequests) on or off.
// Benchmarks turn it off so that request bodies are not kept.
func (s *Server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bench.noRecord = !on
}

// OnEventSent makes the fake call f after it has written and flushed each
// SSE event of a stream: the request's X-Claude-Code-Session-Id, the
// event's index (0 is message_start) and the time. The streaming-latency
// benchmark compares it with the arrival time at the client. nil removes
// the hook.
func (s *Server) OnEventSent(f func(session string, index int, at time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bench.onEvent = f
}

// eventSent runs the OnEventSent hook, if any.
func (s *Server) eventSent(r *http.Request, index int) {
	s.mu.Lock()
	f := s.bench.onEvent
	s.mu.Unlock()
	if f != nil {
		f(r.Header.Get("X-Claude-Code-Session-Id"), index, time.Now())
	}
}
