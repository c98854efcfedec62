package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/adrg/xdg"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/proxy"
	"github.com/cc-router/cc-router/tray"
)

func init() {
	c := &command{
		name:    "tray",
		summary: "run the menu-bar/tray app (the default)",
		usage: `Usage: cc-router [tray] [--headless]

Runs cc-router as a menu-bar app (macOS) or tray icon (Linux
StatusNotifierItem), with the proxy and the token refresh loop inside. The
menu shows whether routing is on and how each account is doing, and starts or
stops routing, refreshes, enables, disables and removes accounts, imports
Claude Code's login, and points Claude Code at the router.

Only one runs per user: a second one says where the first runs and exits.
Without a tray host (no DBUS_SESSION_BUS_ADDRESS, an SSH session, a server)
it says so and keeps running headless with the same proxy.

Environment: CC_ROUTER_HOME (default ~/.cc-router), CC_ROUTER_LISTEN
(default 127.0.0.1:3456), CC_ROUTER_UPSTREAM, CC_ROUTER_PROXY_SECRET.

Examples:
  cc-router
  cc-router tray --headless`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		headless := fs.Bool("headless", false, "run without a tray icon even when a tray host is available")
		if code, stop := parseFlags(fs, args, stdout); stop {
			return code
		}
		return runTray(*headless, stdout, stderr)
	}
	register(c)
}

func runTray(headless bool, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "cc-router:", err)
		return 1
	}
	lock, err := tray.AcquireInstance(filepath.Join(xdg.RuntimeDir, "cc-router", "tray.lock"))
	var running *tray.AlreadyRunningError
	if errors.As(err, &running) {
		fmt.Fprintln(stdout, running.Error())
		return 0
	}
	if err != nil {
		return fail(err)
	}
	defer lock.Release()

	dir, err := routerDir()
	if err != nil {
		return fail(err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	mgr, err := credentials.NewManager(credentials.Config{Path: filepath.Join(dir, "accounts.json"), Logger: logger})
	if err != nil {
		return fail(err)
	}
	secret := os.Getenv("CC_ROUTER_PROXY_SECRET")
	p, err := proxy.New(proxy.Config{Upstream: os.Getenv("CC_ROUTER_UPSTREAM"), Secret: secret}, mgr)
	if err != nil {
		return fail(err)
	}
	claude, err := claudeSettings("")
	if err != nil {
		return fail(err)
	}
	listen := listenAddr()
	err = tray.Run(tray.Config{
		Manager:     mgr,
		Proxy:       p,
		Listen:      listen,
		ProxySecret: secret,
		AccountsDir: dir,
		Claude:      claude,
		Autostart:   tray.DefaultAutostart(),
		Logger:      logger,
		Out:         stdout,
		Headless:    headless,
		OnRouting: func(addr string) {
			info := fmt.Sprintf("pid %d, routing off (would listen on %s)", os.Getpid(), listen)
			if addr != "" {
				info = fmt.Sprintf("pid %d, routing on %s", os.Getpid(), addr)
			}
			if err := lock.SetInfo(info); err != nil {
				logger.Warn("could not record the instance's address", "err", err)
			}
		},
	})
	if err != nil {
		return fail(err)
	}
	return 0
}
