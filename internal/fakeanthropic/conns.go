package fakeanthropic

import (
	"net"
	"net/http"
	"sync/atomic"
)

// connCounter counts the TCP connections the fake accepts, so benchmarks
// and tests can check that a client (the router) reuses its upstream
// connections instead of dialing one per request.
type connCounter struct {
	opened atomic.Int64 // connections accepted since start
	open   atomic.Int64 // connections not yet closed or hijacked
}

// track is an http.Server.ConnState hook.
func (c *connCounter) track(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		c.opened.Add(1)
		c.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		c.open.Add(-1)
	}
}

// ConnsOpened is the number of TCP connections the fake has accepted since
// it started.
func (s *Server) ConnsOpened() int64 { return s.conns.opened.Load() }

// ConnsOpen is the number of the fake's connections that are open now.
func (s *Server) ConnsOpen() int64 { return s.conns.open.Load() }
