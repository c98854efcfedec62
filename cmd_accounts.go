package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// accountJSON is one account in `accounts --json`. It never holds a token.
type accountJSON struct {
	ID               string    `json:"id"`
	Email            string    `json:"email,omitempty"`
	Source           string    `json:"source,omitempty"`
	Enabled          bool      `json:"enabled"`
	State            string    `json:"state"`
	StateReason      string    `json:"stateReason,omitempty"`
	ExpiresAt        time.Time `json:"expiresAt,omitzero"`
	ExpiresInSeconds int64     `json:"expiresInSeconds"`
	LastRefresh      time.Time `json:"lastRefresh,omitzero"`
	LastRefreshError string    `json:"lastRefreshError,omitempty"`
}

func init() {
	c := &command{
		name:    "accounts",
		summary: "list, enable, disable or remove accounts",
		usage: `Usage: cc-router accounts [--json]
       cc-router accounts remove ID
       cc-router accounts enable ID
       cc-router accounts disable ID

Lists the accounts in accounts.json: id, state (ok or needs_login), source,
email and the time until the access token expires. Tokens are never shown.
'remove' deletes an account from the file; 'disable' keeps it but stops the
router from using it.

Environment:
  CC_ROUTER_HOME  directory of accounts.json (default ~/.cc-router)
  ACCOUNTS_PATH   the accounts file itself

Examples:
  cc-router accounts
  cc-router accounts --json
  cc-router accounts remove account-2`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		if len(args) > 0 {
			switch args[0] {
			case "remove", "enable", "disable":
				return accountsChange(c, args[0], args[1:], stdout, stderr)
			}
		}
		fs := newFlagSet(c, stderr)
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		if code, stop := parseFlags(fs, args, stdout); stop {
			return code
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "cc-router accounts: unknown subcommand %q (want remove, enable or disable)\n", fs.Arg(0))
			return 2
		}
		mgr, err := credentials.NewManager(credentials.Config{Logger: cliLogger(stderr)})
		if err != nil {
			fmt.Fprintf(stderr, "cc-router accounts: %v\n", err)
			return 1
		}
		now := time.Now()
		list := mgr.Accounts()
		if *asJSON {
			out := make([]accountJSON, 0, len(list))
			for _, a := range list {
				j := accountJSON{ID: a.ID, Email: a.Email, Source: a.Source, Enabled: a.Enabled,
					State: string(a.State), StateReason: a.StateReason, ExpiresAt: a.ExpiresAt,
					LastRefresh: a.LastRefresh, LastRefreshError: a.LastRefreshError}
				if !a.ExpiresAt.IsZero() {
					j.ExpiresInSeconds = int64(a.ExpiresAt.Sub(now).Seconds())
				}
				out = append(out, j)
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				fmt.Fprintf(stderr, "cc-router accounts: %v\n", err)
				return 1
			}
			return 0
		}
		if len(list) == 0 {
			fmt.Fprintf(stdout, "no accounts yet: run `cc-router import` or `cc-router login` (%s)\n", mgr.Path())
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tSOURCE\tEMAIL\tTOKEN")
		for _, a := range list {
			state := string(a.State)
			if !a.Enabled {
				state += " (disabled)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, state, dash(a.Source), dash(a.Email), expiryText(a.ExpiresAt, now))
		}
		tw.Flush()
		for _, a := range list {
			if a.State == credentials.StateNeedsLogin && a.StateReason != "" {
				fmt.Fprintf(stdout, "%s: %s\n", a.ID, a.StateReason)
			}
		}
		return 0
	}
	register(c)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// accountsChange runs `accounts remove|enable|disable ID`.
func accountsChange(c *command, verb string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(c, stderr)
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "cc-router accounts %s: want exactly one account id\n", verb)
		return 2
	}
	id := fs.Arg(0)
	mgr, err := credentials.NewManager(credentials.Config{Logger: cliLogger(stderr)})
	if err != nil {
		fmt.Fprintf(stderr, "cc-router accounts %s: %v\n", verb, err)
		return 1
	}
	switch verb {
	case "remove":
		err = mgr.Remove(id)
	case "enable":
		err = mgr.SetEnabled(id, true)
	case "disable":
		err = mgr.SetEnabled(id, false)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cc-router accounts %s: %v\n", verb, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s account %s\n", map[string]string{"remove": "removed", "enable": "enabled", "disable": "disabled"}[verb], id)
	return 0
}
