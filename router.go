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
type router struct {
	mgr   *credentials.Manager
	proxy *proxy.Proxy
	// client reaches only the token and profile hosts (sign-in, profile).
	client *http.Client
}

// newRouter builds the router from cfg. The egress guard allows the
// upstream, the OAuth token host and the profile host, nothing else.
func newRouter(cfg config.Config, logger *slog.Logger) (*router, error) {
	guard, err := newEgressGuard(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: guard.Transport(nil)}
	mgr, err := credentials.NewManager(credentials.Config{
		RefreshBuffer: time.Duration(cfg.RefreshBuffer),
		HTTPClient:    client,
		Logger:        logger,
		IdentifyToken: identifyByProfile(client),
	})
	if err != nil {
		return nil, err
	}
	p, err := proxy.New(proxy.Config{
		Upstream:              cfg.Upstream,
		Strategy:              cfg.Strategy,
		Secret:                cfg.ProxySecret,
		MaxBodyBytes:          cfg.BodyLimit,
		Cooldown429:           time.Duration(cfg.Cooldown429),
		Cooldown529:           time.Duration(cfg.Cooldown529),
		DialTimeout:           time.Duration(cfg.DialTimeout),
		TLSHandshakeTimeout:   time.Duration(cfg.TLSTimeout),
		ResponseHeaderTimeout: time.Duration(cfg.HeaderTimeout),
		WrapDial:              guard.Wrap,
		Logger:                logger,
	}, mgr)
	if err != nil {
		return nil, err
	}
	return &router{mgr: mgr, proxy: p, client: client}, nil
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
