// Package fakeanthropic is a faithful loopback fake of Anthropic's servers,
// built from the project's facts about them: the OAuth token endpoint with
// rotating refresh tokens, the sign-in endpoints, and the Messages API with
// JSON and SSE replies and rate-limit headers. Tests (and benchmarks) run it
// on 127.0.0.1; nothing in the repository talks to a real Anthropic host.
//
// Each area lives in its own file and registers its routes from New:
// token.go (refresh grant), messages.go (/v1/…), signin.go (authorize,
// authorization_code grant, profile).
package fakeanthropic

import (
	"net/http"
	"net/http/httptest"
	"sync"
)

// Server is a running fake. Its zero value is not usable; call New.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	srv *httptest.Server
	mux *http.ServeMux

	mu       sync.Mutex // guards the state of every area
	token    tokenState
	messages messagesState
	signin   signinState

	conns connCounter // accepted connections, for keep-alive checks
	bench benchState  // benchmark knobs (bench.go)
}

// New starts a fake on 127.0.0.1 with a free port.
func New() *Server {
	s := &Server{mux: http.NewServeMux()}
	s.registerToken(s.mux)
	s.registerMessages(s.mux)
	s.registerSignin(s.mux)
	s.srv = httptest.NewUnstartedServer(s.mux)
	s.srv.Config.ConnState = s.conns.track
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close stops the fake and closes its connections.
func (s *Server) Close() { s.srv.Close() }

// TokenURL is the fake's token endpoint, for CC_ROUTER_TOKEN_URL.
func (s *Server) TokenURL() string { return s.URL + "/v1/oauth/token" }
