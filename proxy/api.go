// Package proxy is cc-router's HTTP proxy: it chooses an account for each
// request, forwards it upstream with that account's token, fails over when
// an account is limited, tracks rate limits and usage, and serves
// /cc-router/health.
//
// This file is the package's public contract with main and tray/; the
// implementation lives in the other files of the package.
package proxy

import (
	"context"
	"errors"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

var errNotImplemented = errors.New("proxy: not implemented yet")

// Config configures a Proxy. Zero fields take the documented defaults.
type Config struct {
	Upstream string // default https://api.anthropic.com
	Strategy string // "headroom" (default) or "round-robin"
	Secret   string // proxy secret; required for a non-loopback listener
}

// Proxy is the router. It is an http.Handler and can own a listener.
type Proxy struct{}

// New returns a proxy that takes tokens from tokens.
func New(cfg Config, tokens credentials.TokenProvider) (*Proxy, error) {
	return nil, errNotImplemented
}

// Start binds addr and serves until Stop. A port in use is an error
// matching syscall.EADDRINUSE.
func (p *Proxy) Start(addr string) error { return errNotImplemented }

// Stop closes the listener, lets in-flight requests finish until ctx ends,
// then cuts them.
func (p *Proxy) Stop(ctx context.Context) error { return errNotImplemented }

// Addr is the address being served, or "" when not listening.
func (p *Proxy) Addr() string { return "" }

// Health is the /cc-router/health document. It never holds a token.
type Health struct {
	Status        string          `json:"status"` // "ok" when some account is usable, else "degraded"
	Mode          string          `json:"mode"`
	Upstream      string          `json:"upstream"`
	UptimeSeconds int64           `json:"uptimeSeconds"`
	TotalRequests int64           `json:"totalRequests"`
	Accounts      []AccountHealth `json:"accounts"`
}

// AccountHealth is one account's entry in Health.
type AccountHealth struct {
	ID            string    `json:"id"`
	Email         string    `json:"email,omitempty"`
	State         string    `json:"state"` // ok, needs_login, cooling_down, rate_limited, over_cap, disabled
	Usable        bool      `json:"usable"`
	Enabled       bool      `json:"enabled"`
	ExpiresAt     time.Time `json:"expiresAt"`
	CoolingUntil  time.Time `json:"coolingUntil,omitzero"`
	Utilization5h float64   `json:"utilization5h"` // 0..1 as last reported
	Utilization7d float64   `json:"utilization7d"`
	Reset5h       time.Time `json:"reset5h,omitzero"`
	Reset7d       time.Time `json:"reset7d,omitzero"`
	Requests      int64     `json:"requests"`
	Errors        int64     `json:"errors"`
}

// Health returns the current health snapshot.
func (p *Proxy) Health() Health { return Health{} }

// Subscribe returns a channel that receives a value whenever the proxy's
// view of account usability changes (limited, cooled down, recovered), and
// a function that ends the subscription.
func (p *Proxy) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{})
	return ch, func() {}
}
