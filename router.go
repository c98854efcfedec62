package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/credentials/signin"
	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/egress"
	"github.com/cc-router/cc-router/proxy"
)

// router is what serve and the tray both run: the credentials manager and
// the proxy, with every outbound connection held to the egress policy.
// Commands that only manage accounts use it without the proxy.
type router struct {
	mgr   *credentials.Manager
	proxy *proxy.Proxy // nil for account commands (see newAccountManager)
	// client reaches only the token and profile hosts (refresh, sign-in,
	// profile lookups).
	client *http.Client
	guard  *egress.Guard
}

// newRouter builds the router from cfg. The egress guard allows the
// upstream, the OAuth token host and the profile host, nothing else.
func newRouter(cfg config.Config, logger *slog.Logger) (*router, error) {
	r, err := newAccountManager(cfg.Upstream, time.Duration(cfg.RefreshBuffer), logger)
	if err != nil {
		return nil, err
	}
	r.proxy, err = proxy.New(proxy.Config{
		Upstream:              cfg.Upstream,
		Strategy:              cfg.Strategy,
		Secret:                cfg.ProxySecret,
		MaxBodyBytes:          cfg.BodyLimit,
		Cooldown429:           time.Duration(cfg.Cooldown429),
		Cooldown529:           time.Duration(cfg.Cooldown529),
		DialTimeout:           time.Duration(cfg.DialTimeout),
		TLSHandshakeTimeout:   time.Duration(cfg.TLSTimeout),
		ResponseHeaderTimeout: time.Duration(cfg.HeaderTimeout),
		WrapDial:              r.guard.Wrap,
		Logger:                logger,
	}, r.mgr)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// newAccountManager opens the accounts store the way every command does:
// token and profile calls through the egress guard (which also allows
// upstream, when given), accounts identified by their profile. A zero
// refreshBuffer takes the manager's default.
func newAccountManager(upstream string, refreshBuffer time.Duration, logger *slog.Logger) (*router, error) {
	guard, err := newEgressGuard(upstream)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: guard.Transport(nil)}
	mgr, err := credentials.NewManager(credentials.Config{
		RefreshBuffer: refreshBuffer,
		HTTPClient:    client,
		Logger:        logger,
		IdentifyToken: identifyByProfile(client),
	})
	if err != nil {
		return nil, err
	}
	return &router{mgr: mgr, client: client, guard: guard}, nil
}

// identifyByProfile is the credentials.Config.IdentifyToken hook: the
// profile lookup, through client.
func identifyByProfile(client *http.Client) func(ctx context.Context, accessToken string) (string, string, error) {
	return func(ctx context.Context, accessToken string) (string, string, error) {
		p, err := signin.FetchProfile(ctx, client, "", accessToken)
		return p.AccountUUID, p.Email, err
	}
}

// newEgressGuard allows the hosts cc-router has reason to reach: the
// upstream (when given), the token endpoint and the profile host.
func newEgressGuard(upstream string) (*egress.Guard, error) {
	g, err := egress.NewGuard(upstream, credentials.TokenURL(), signin.APIURL())
	if err != nil {
		return nil, fmt.Errorf("outbound policy: %w", err)
	}
	return g, nil
}
