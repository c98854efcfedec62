package fakeanthropic

import "net/http"

// signinState is the fake's state for this area; guarded by Server.mu.
type signinState struct{}

func (s *Server) registerSignin(mux *http.ServeMux) {}
