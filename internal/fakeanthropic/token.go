package fakeanthropic

import "net/http"

// tokenState is the fake's state for this area; guarded by Server.mu.
type tokenState struct{}

func (s *Server) registerToken(mux *http.ServeMux) {}
