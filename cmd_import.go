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
	"github.com/cc-router/cc-router/internal/humanize"
)

func init() {
	c := &command{
		name:    "import",
		summary: "import Claude Code's login as an account",
		usage: `Usage: cc-router import [--from keychain|claude-code|PATH] [--id NAME]

Reads the login Claude Code stores and adds it to accounts.json, or updates
the stored account it belongs to. Claude Code refreshes its own login, so a
re-import usually brings new tokens; the account they belong to is found by:
  1. the same refresh or access token;
  2. --id naming a stored account (refused, with nothing written, when the
     login is known to be another Claude account);
  3. the same Claude account, by account id (else email) as the profile
     lookup names them (a read-only request with the imported access token);
  4. when the account cannot be learned (the lookup failed, or the access
     token has expired): the one account imported from the same place whose
     refresh token is dead (cc-router tries it at the token endpoint; a live
     one is simply refreshed and is not the same login).
Otherwise the login is added as a new account. Two accounts known to differ
are never merged. An account found by 3 or 4 whose own tokens are newer (or
come from 'cc-router login') keeps them. The output says which happened.

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
		id := fs.String("id", "", "`NAME` of the account: a stored one to update, or a new one (default: the stored account of this login, else account-N)")
		if code, stop := parseOnlyFlags(fs, args, stdout, stderr); stop {
			return code
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
		r, err := newAccountManager("", 0, cliLogger(stderr))
		if err != nil {
			fmt.Fprintf(stderr, "cc-router import: %v\n", err)
			return 1
		}
		mgr := r.mgr
		res, err := mgr.Import(ctx, credentials.ImportRequest{From: *from, ID: *id})
		if err != nil {
			fmt.Fprintf(stderr, "cc-router import: %v\n", err)
			if errors.Is(err, credentials.ErrNoClaudeLogin) {
				fmt.Fprintln(stderr, "Log in with 'claude' first, or give the file with --from PATH.")
			}
			return 1
		}
		info, _ := mgr.Account(res.AccountID)
		fmt.Fprintln(stdout, res.Summary())
		fmt.Fprintf(stdout, "account %s: access token %s\n", res.AccountID, expiryText(info.ExpiresAt, time.Now()))
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
		return "expired " + humanize.Duration(-d) + " ago"
	}
	return "expires in " + humanize.Duration(d)
}
