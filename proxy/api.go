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
	"log/slog"
	"net/http"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/egress"
)

// DefaultUpstream is where requests go unless Config.Upstream says
// otherwise.
const DefaultUpstream = "https://api.anthropic.com"

// Config configures a Proxy. Zero fields take the documented defaults.
type Config struct {
	Upstream string // default https://api.anthropic.com
	Strategy string // "headroom" (default) or "round-robin"
	Secret   string // proxy secret; required for a non-loopback listener

	// Mode is reported by the health endpoint: default "standalone" when
	// Upstream is Anthropic's API, else "full" (LiteLLM in front).
	Mode string
	// MaxBodyBytes bounds a request body (default 32 MiB); a larger one is
	// answered 413.
	MaxBodyBytes int64
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound the
	// upstream connection (defaults 10s, 10s, 10m). A response body has no
	// time limit: extended thinking can stream for many minutes.
	DialTimeout           time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	// Cooldown429 and Cooldown529 bench an account after a 429 or 529 that
	// names no retry-after or reset time (defaults 60s and 30s).
	Cooldown429 time.Duration
	Cooldown529 time.Duration
	// AuthCooldown benches an account whose token was rejected and could
	// not be replaced by a working one (default 5m); new tokens for the
	// account (a refresh, login or import) lift it early.
	AuthCooldown time.Duration
	// AffinityTTL forgets a session idle this long (default 1h);
	// AffinityMaxSessions bounds the table (default 10000).
	AffinityTTL         time.Duration
	AffinityMaxSessions int
	// WrapDial, when set, wraps the default transport's dialer; cc-router
	// passes its egress guard so that only the configured upstream can be
	// reached.
	WrapDial func(egress.DialFunc) egress.DialFunc
	// Transport sends upstream requests (default: an http.Transport built
	// from the timeouts above and WrapDial). Tests may wrap it; it must not add
	// Accept-Encoding itself if usage tracking is to see gzipped bodies.
	Transport http.RoundTripper
	// Logger receives one line per request (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests swap it.
	Now func() time.Time
}

// Proxy is the router. It is an http.Handler and can own a listener.
// Create it with New.
type Proxy struct {
	cfg      Config
	tokens   credentials.TokenProvider
	track    *tracker
	aff      *affinity
	handler  http.Handler // the reverse proxy
	log      *slog.Logger
	now      func() time.Time
	started  time.Time
	upstream string
	subs     notifier
	poke     chan struct{} // wakes the usability watcher

	srv   srvState   // the listener between Start and Stop
	watch watchState // the usability watcher between Start and Stop
}

// New returns a proxy that takes tokens from tokens.
func New(cfg Config, tokens credentials.TokenProvider) (*Proxy, error) {
	return newProxy(cfg, tokens)
}

// Start binds addr and serves until Stop. A port in use is an error
// matching syscall.EADDRINUSE. A non-loopback addr needs Config.Secret.
func (p *Proxy) Start(addr string) error { return p.start(addr) }

// Stop closes the listener, lets in-flight requests finish until ctx ends,
// then cuts them.
func (p *Proxy) Stop(ctx context.Context) error { return p.stop(ctx) }

// Addr is the address being served, or "" when not listening.
func (p *Proxy) Addr() string { return p.addr() }

// Health is the /cc-router/health document. It never holds a token.
type Health struct {
	Status         string          `json:"status"` // "ok" when some account is usable, else "degraded"
	Mode           string          `json:"mode"`
	Upstream       string          `json:"upstream"`
	Strategy       string          `json:"strategy"`
	Listen         string          `json:"listen,omitempty"`
	UptimeSeconds  int64           `json:"uptimeSeconds"`
	TotalRequests  int64           `json:"totalRequests"`
	TotalErrors    int64           `json:"totalErrors"`
	TotalFailovers int64           `json:"totalFailovers"`
	UsableAccounts int             `json:"usableAccounts"`
	Sessions       int             `json:"sessions"` // sessions in the affinity table
	Accounts       []AccountHealth `json:"accounts"`
}

// AccountHealth is one account's entry in Health.
type AccountHealth struct {
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
	State string `json:"state"` // ok, needs_login, cooling_down, rate_limited, over_cap, disabled
	// StateReason is the credentials store's reason when the account
	// needs a new login.
	StateReason string `json:"stateReason,omitempty"`
	// UsableAt is when a cooling, rate-limited or over-cap account becomes
	// usable again by waiting (zero when usable now or waiting won't help).
	UsableAt         time.Time `json:"usableAt,omitzero"`
	Usable           bool      `json:"usable"`
	Enabled          bool      `json:"enabled"`
	ExpiresAt        time.Time `json:"expiresAt"`
	ExpiresInSeconds int64     `json:"expiresInSeconds"` // negative once expired
	CoolingUntil     time.Time `json:"coolingUntil,omitzero"`
	CoolingReason    string    `json:"coolingReason,omitempty"`
	// RateLimitStatus is the last unified status header: allowed,
	// allowed_warning or rejected ("" before the first response).
	RateLimitStatus     string           `json:"rateLimitStatus,omitempty"`
	Status5h            string           `json:"status5h,omitempty"` // per-window status, e.g. rejected
	Status7d            string           `json:"status7d,omitempty"`
	RepresentativeClaim string           `json:"representativeClaim,omitempty"`
	Utilization5h       float64          `json:"utilization5h"` // 0..1 as last reported
	Utilization7d       float64          `json:"utilization7d"`
	Reset5h             time.Time        `json:"reset5h,omitzero"`
	Reset7d             time.Time        `json:"reset7d,omitzero"`
	SessionLimitPercent float64          `json:"sessionLimitPercent,omitempty"`
	WeeklyLimitPercent  float64          `json:"weeklyLimitPercent,omitempty"`
	Requests            int64            `json:"requestCount"` // the Node tool's name
	Errors              int64            `json:"errorCount"`
	ErrorsByStatus      map[string]int64 `json:"errorsByStatus,omitempty"`
	Failovers           int64            `json:"failovers"`
	Tokens              Usage            `json:"tokens"`
	Sessions            int              `json:"sessions"`
	LastUsed            time.Time        `json:"lastUsed,omitzero"`
}

// Health returns the current health snapshot.
func (p *Proxy) Health() Health { return p.health() }

// Subscribe returns a channel that receives a value whenever the proxy's
// view of account usability changes (limited, cooled down, recovered), and
// a function that ends the subscription. The channel holds one pending
// value; a slow reader sees changes merged, never blocks the proxy.
func (p *Proxy) Subscribe() (<-chan struct{}, func()) { return p.subs.subscribe() }
