// Package egress enforces cc-router's outbound connection policy: the
// router's HTTP clients dial only the hosts it was configured to talk to
// (the upstream, the OAuth token host and the profile host), so no other
// host can be contacted by accident or by a hostile configuration.
package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// Guard permits outbound connections only to a fixed set of host names.
type Guard struct {
	allowed []string // lower-case host names or IP literals, sorted
}

// NewGuard allows the hosts of the given URLs. A URL that does not parse is
// an error naming it. When HTTPS_PROXY or HTTP_PROXY is set, the proxy's
// host is allowed too, since every connection then goes through it.
func NewGuard(urls ...string) (*Guard, error) {
	g := &Guard{}
	for _, u := range urls {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || p.Hostname() == "" {
			return nil, fmt.Errorf("egress: %q is not a URL with a host", u)
		}
		g.allow(p.Hostname())
	}
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		if v := os.Getenv(k); v != "" {
			if pu, err := url.Parse(v); err == nil && pu.Hostname() != "" {
				g.allow(pu.Hostname())
			}
		}
	}
	slices.Sort(g.allowed)
	g.allowed = slices.Compact(g.allowed)
	return g, nil
}

func (g *Guard) allow(host string) { g.allowed = append(g.allowed, strings.ToLower(host)) }

// Allowed returns the permitted host names.
func (g *Guard) Allowed() []string { return slices.Clone(g.allowed) }

// DialFunc is the shape of net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Wrap returns a dial function that refuses hosts outside the policy with
// a *BlockedError naming the host, before any connection is attempted, and
// hands the others to dial (a plain net.Dialer when nil).
func (g *Guard) Wrap(dial DialFunc) DialFunc {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if !g.allows(host) {
			return nil, &BlockedError{Host: host, Allowed: g.Allowed()}
		}
		return dial(ctx, network, addr)
	}
}

// Transport returns a clone of base (http.DefaultTransport when nil) whose
// connections go through the guard. The policy applies to the request's
// host even when an HTTP(S) proxy carries the connection: the guard then
// sees only the proxy's address when dialling, so the host is checked
// before the proxy is chosen.
func (g *Guard) Transport(base *http.Transport) *http.Transport {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	t.DialContext = g.Wrap(base.DialContext)
	proxy := base.Proxy
	t.Proxy = func(req *http.Request) (*url.URL, error) {
		if host := req.URL.Hostname(); !g.allows(host) {
			return nil, &BlockedError{Host: host, Allowed: g.Allowed()}
		}
		if proxy == nil {
			return nil, nil
		}
		return proxy(req)
	}
	return t
}

func (g *Guard) allows(host string) bool { return slices.Contains(g.allowed, strings.ToLower(host)) }

// BlockedError is returned for a connection to a host outside the policy.
type BlockedError struct {
	Host    string   // the host that was refused
	Allowed []string // the hosts the policy allows
}

// Error names the refused host and the allowed ones.
func (e *BlockedError) Error() string {
	return fmt.Sprintf("egress to %q is not allowed: cc-router only connects to %s", e.Host, strings.Join(e.Allowed, ", "))
}
