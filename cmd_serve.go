package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cc-router/cc-router/credentials/signin"
	"github.com/cc-router/cc-router/internal/config"
)

// shutdownGrace is how long serve lets in-flight requests finish after
// SIGINT or SIGTERM before cutting them.
const shutdownGrace = 30 * time.Second

func init() {
	c := &command{
		name:    "serve",
		summary: "run the proxy headless (servers, Docker), without the tray",
		usage: `Usage: cc-router serve [flags]

Runs the proxy in the foreground: Claude Code points ANTHROPIC_BASE_URL at
it, and each request goes upstream with the token of one of your accounts
(~/.cc-router/accounts.json, or $CC_ROUTER_HOME/accounts.json). Tokens are
refreshed in the background. GET /cc-router/health shows the accounts.
SIGINT or SIGTERM stops it, letting requests in flight finish for up to 30s.

Listening on anything but a loopback address requires a proxy secret
(proxySecret in config.json, CC_ROUTER_PROXY_SECRET, or --secret-file);
clients then send it as ANTHROPIC_AUTH_TOKEN (Authorization: Bearer) or as
x-api-key.

Environment:
` + config.Env + `

Examples:
  cc-router serve
  PORT=4000 cc-router serve
  cc-router serve --strategy round-robin
  cc-router serve --listen 0.0.0.0:3456 --secret-file /run/secrets/cc-router
  cc-router serve --upstream http://localhost:4000     # LiteLLM in front`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		cfg, code, done := parseRouterFlags(fs, args, stdout, stderr, 1)
		if done {
			return code
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, cfg, stderr, nil)
	}
	register(c)
}

// serve runs the credentials manager and the proxy until ctx ends;
// ready, when not nil, is told the address once the proxy listens.
func serve(ctx context.Context, cfg config.Config, stderr io.Writer, ready func(addr string)) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	r, err := newRouter(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "cc-router serve: %v\n", err)
		return 1
	}
	mgr, p := r.mgr, r.proxy
	runCtx, cancelRun := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		mgr.Run(runCtx)
	}()
	go func() { // learn the emails of imported accounts once, for status and logs
		filled, err := signin.FillMissingEmails(runCtx, mgr, r.client, "")
		for _, f := range filled {
			logger.Info("learned account email", "account", f.AccountID, "email", f.Email)
		}
		if err != nil {
			logger.Warn("could not look up some account emails", "err", err)
		}
	}()
	defer func() {
		cancelRun()
		<-runDone
	}()
	if err := p.Start(cfg.Listen); err != nil {
		fmt.Fprintf(stderr, "cc-router serve: %v\n", err)
		return 1
	}
	h := p.Health()
	logger.Info("serving", "addr", "http://"+p.Addr(), "upstream", h.Upstream, "mode", h.Mode,
		"strategy", h.Strategy, "accounts", len(h.Accounts), "usable", h.UsableAccounts)
	if len(h.Accounts) == 0 {
		logger.Warn("no accounts yet: add one with `cc-router login` or `cc-router import`; requests get 503 until then")
	}
	if ready != nil {
		ready(p.Addr())
	}
	<-ctx.Done()
	logger.Info("shutting down", "grace", shutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := p.Stop(sctx); err != nil {
		logger.Warn("requests were cut at shutdown", "err", err)
	}
	return 0
}
