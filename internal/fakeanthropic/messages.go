package fakeanthropic

import "net/http"

// messagesState is the fake's state for this area; guarded by Server.mu.
type messagesState struct{}

func (s *Server) registerMessages(mux *http.ServeMux) {}
