package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

func init() {
	c := &command{
		name:    "import",
		summary: "import Claude Code's login as an account",
		usage: `Usage: cc-router import [--from keychain|claude-code|PATH] [--id NAME]

Reads the login Claude Code stores and adds it to accounts.json, or updates
the stored account that already holds it (same refresh or access token, or
the account named by --id). Nothing is sent anywhere.

Sources:
  keychain     the macOS Keychain item "Claude Code-credentials" (with
               CLAUDE_CONFIG_DIR set, the item named after that directory)
  claude-code  $CLAUDE_CONFIG_DIR/.credentials.json or ~/.claude/.credentials.json
  PATH         any credentials file in Claude Code's format
The default is the platform's own: the Keychain on macOS (falling back to
the credentials file), the credentials file on Linux.

An imported account shares its refresh chain with Claude Code's login:
whichever side refreshes second is logged out. cc-router notices when Claude
Code has a newer login and takes it over; 'cc-router login' gives an account
a chain of its own instead.

Environment:
  CC_ROUTER_HOME     directory of accounts.json (default ~/.cc-router)
  ACCOUNTS_PATH      the accounts file itself
  CLAUDE_CONFIG_DIR  Claude Code's configuration directory

Examples:
  cc-router import
  cc-router import --id work
  cc-router import --from ~/backup/.credentials.json --id personal`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		from := fs.String("from", "", "`SOURCE`: keychain, claude-code or a file path (default: the platform's own)")
		id := fs.String("id", "", "`NAME` of a new account (default: account-N)")
		if code, stop := parseFlags(fs, args, stdout); stop {
			return code
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "cc-router import: unexpected argument %q\n", fs.Arg(0))
			return 2
		}
		if *id != "" {
			if err := credentials.ValidateID(*id); err != nil {
				fmt.Fprintf(stderr, "cc-router import: --id: %v\n", err)
				return 2
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		mgr, err := credentials.NewManager(credentials.Config{Logger: cliLogger(stderr)})
		if err != nil {
			fmt.Fprintf(stderr, "cc-router import: %v\n", err)
			return 1
		}
		res, err := mgr.Import(ctx, credentials.ImportRequest{From: *from, ID: *id})
		if err != nil {
			fmt.Fprintf(stderr, "cc-router import: %v\n", err)
			if errors.Is(err, credentials.ErrNoClaudeLogin) {
				fmt.Fprintln(stderr, "Log in with 'claude' first, or give the file with --from PATH.")
			}
			return 1
		}
		verb := "updated"
		if res.Added {
			verb = "added"
		}
		info, _ := mgr.Account(res.AccountID)
		fmt.Fprintf(stdout, "%s account %s from %s (%s)\n", verb, res.AccountID, res.Source, expiryText(info.ExpiresAt, time.Now()))
		fmt.Fprintf(stdout, "accounts file: %s\n", mgr.Path())
		return 0
	}
	register(c)
}

// cliLogger logs warnings (e.g. a tightened file mode) to stderr, without
// timestamps.
func cliLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// expiryText says when an access token expires, relative to now.
func expiryText(exp, now time.Time) string {
	if exp.IsZero() {
		return "expiry unknown"
	}
	d := exp.Sub(now)
	if d <= 0 {
		return "expired " + shortDuration(-d) + " ago"
	}
	return "expires in " + shortDuration(d)
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
