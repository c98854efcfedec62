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
	"github.com/cc-router/cc-router/internal/config"
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
stops routing, signs in new accounts, refreshes, enables, disables and removes
accounts, imports Claude Code's login, and points Claude Code at the router.

Only one runs per user: a second one says where the first runs and exits.
Without a tray host (no DBUS_SESSION_BUS_ADDRESS, an SSH session, a server)
it says so and keeps running headless with the same proxy.

The router's settings come from ~/.cc-router/config.json, the environment and
the flags below, as for every command (see cc-router config).

Environment:
` + config.Env + `

Examples:
  cc-router
  cc-router tray --headless
  cc-router tray --listen 127.0.0.1:4000`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		headless := fs.Bool("headless", false, "run without a tray icon even when a tray host is available")
		cfg, code, done := parseRouterFlags(fs, args, stdout, stderr, 1)
		if done {
			return code
		}
		return runTray(cfg, *headless, stdout, stderr)
	}
	register(c)
}

func runTray(cfg config.Config, headless bool, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "cc-router:", err)
		return 1
	}
	lock, err := tray.AcquireInstance(instanceLockPath())
	var running *tray.AlreadyRunningError
	if errors.As(err, &running) {
		fmt.Fprintln(stdout, running.Error())
		return 0
	}
	if err != nil {
		return fail(err)
	}
	defer lock.Release()

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	r, err := newRouter(cfg, logger)
	if err != nil {
		return fail(err)
	}
	claude, err := claudeSettings("")
	if err != nil {
		return fail(err)
	}
	listen := cfg.Listen
	err = tray.Run(tray.Config{
		Manager:     r.mgr,
		Proxy:       r.proxy,
		HTTPClient:  r.client,
		Listen:      listen,
		ProxySecret: cfg.ProxySecret,
		AccountsDir: filepath.Dir(credentials.DefaultAccountsPath()),
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

// instanceLockPath is the single-instance lock: in the user's runtime
// directory ($XDG_RUNTIME_DIR, /run/user/UID; on macOS Application Support)
// when there is one, else in cc-router's own directory.
func instanceLockPath() string {
	if st, err := os.Stat(xdg.RuntimeDir); err == nil && st.IsDir() {
		return filepath.Join(xdg.RuntimeDir, "cc-router", "tray.lock")
	}
	if dir, err := config.Dir(); err == nil {
		return filepath.Join(dir, "tray.lock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("cc-router-%d", os.Getuid()), "tray.lock")
}
