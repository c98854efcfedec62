package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/credentials/signin"
)

// loginInput is where `login` reads a pasted CODE#STATE; tests replace it.
var loginInput io.Reader = os.Stdin

// signInHint is said before the browser opens: the browser's claude.ai
// session decides which account is authorized.
const signInHint = "sign in as the account you want to add; use a private window if you are signed in as another"

func init() {
	c := &command{
		name:    "login",
		summary: "add an account by signing in with Claude in the browser",
		usage: `Usage: cc-router login [--id NAME] [--email ADDRESS] [--no-browser] [--timeout 5m]

Signs in with Claude the way 'claude login' does and stores the account in
accounts.json. The account gets a refresh chain of its own, so cc-router and
Claude Code never log each other out. Signing in again as an account that is
already stored replaces its tokens in place (same id, same settings), which
also brings back an account that needs login.

--id NAME of a new account names it. --id naming a stored account signs in
again as that account: its tokens are replaced in place, even when it knows
neither its email nor its Claude account (an import), and its email is
proposed on the sign-in page. This brings back an account that needs login,
or gives an imported account a chain of its own. If the browser signs in as
another Claude account than the stored one, nothing is saved.

The browser's claude.ai session decides which account is signed in: sign in
as the account you want to add, in a private window if the browser is signed
in as another, or name it with --email.

The browser is the program named by BROWSER, else open (macOS) or xdg-open
(Linux). Without one (e.g. over SSH), or with --no-browser, open the printed
URL on any device and paste the CODE#STATE the page shows.

Environment:
  CC_ROUTER_AUTHORIZE_URL  authorize endpoint (default https://claude.ai/oauth/authorize)
  CC_ROUTER_TOKEN_URL      token endpoint (default https://platform.claude.com/v1/oauth/token)
  CC_ROUTER_API_URL        profile host (default https://api.anthropic.com)
  CC_ROUTER_HOME           directory of accounts.json (default ~/.cc-router)

Examples:
  cc-router login
  cc-router login --email alice@example.com --id work
  cc-router login --id account-1        # sign in again as a stored account
  cc-router login --no-browser          # over SSH: paste the code by hand`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		id := fs.String("id", "", "`NAME` of a new account (default: from its email), or of a stored account to sign in again")
		email := fs.String("email", "", "propose the account `ADDRESS` on the sign-in page (login_hint)")
		noBrowser := fs.Bool("no-browser", false, "do not open a browser: paste CODE#STATE instead")
		timeout := fs.Duration("timeout", signin.DefaultTimeout, "give up after this long")
		if code, stop := parseOnlyFlags(fs, args, stdout, stderr); stop {
			return code
		}
		if *id != "" {
			if err := credentials.ValidateID(*id); err != nil {
				fmt.Fprintf(stderr, "cc-router login: --id: %v\n", err)
				return 2
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runLogin(ctx, loginRequest{id: *id, email: *email, noBrowser: *noBrowser, timeout: *timeout}, stdout, stderr)
	}
	register(c)
}

// loginRequest is what the login command was asked to do.
type loginRequest struct {
	id, email string
	noBrowser bool
	timeout   time.Duration
}

func runLogin(ctx context.Context, req loginRequest, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "cc-router login: "+format+"\n", args...)
		return 1
	}
	tokenURL, apiURL := credentials.TokenURL(), signin.APIURL()
	r, err := newAccountManager("", 0, cliLogger(stderr))
	if err != nil {
		return fail("%v", err)
	}
	mgr, client := r.mgr, r.client

	// --id naming a stored account: sign in again as it, in place.
	replace := false
	if req.id != "" {
		if info, err := mgr.Account(req.id); err == nil {
			replace = true
			if req.email == "" {
				req.email = info.Email
			}
			fmt.Fprintf(stderr, "signing in again as stored account %q: its tokens will be replaced in place\n", req.id)
		}
	}
	fmt.Fprintln(stderr, signInHint)
	res, err := signin.Run(ctx, signin.Options{
		LoginHint:  req.email,
		NoBrowser:  req.noBrowser,
		Timeout:    req.timeout,
		Input:      loginInput,
		Progress:   func(p signin.Progress) { printProgress(stderr, p) },
		TokenURL:   tokenURL,
		APIURL:     apiURL,
		HTTPClient: client,
	})
	if err != nil {
		return fail("%v", err)
	}
	var info credentials.AccountInfo
	added := false
	if replace {
		info, err = mgr.ReplaceLogin(req.id, res.Tokens)
	} else {
		info, added, err = mgr.SaveLogin(res.Tokens, req.id)
	}
	if err != nil {
		return fail("signed in, but the account could not be saved: %v", err)
	}
	who := info.Email
	if who == "" {
		who = "the account"
	}
	switch {
	case added:
		fmt.Fprintf(stdout, "added %s as account %q\n", who, info.ID)
	default:
		fmt.Fprintf(stdout, "updated stored account %q (%s): its tokens are now from this sign-in\n", info.ID, who)
		if req.id != "" && req.id != info.ID {
			fmt.Fprintf(stderr, "note: --id %q was not used: this account is stored as %q\n", req.id, info.ID)
		}
	}

	// Learn, once, the emails of accounts stored without one (imports).
	filled, err := signin.FillMissingEmails(ctx, mgr, client, apiURL)
	for _, f := range filled {
		fmt.Fprintf(stdout, "learned the email of account %q: %s\n", f.AccountID, f.Email)
	}
	if err != nil {
		fmt.Fprintf(stderr, "note: could not look up every stored account's email: %v\n", err)
	}
	return 0
}

// printProgress tells the user what the sign-in is doing.
func printProgress(w io.Writer, p signin.Progress) {
	switch p.Stage {
	case signin.StageOpeningBrowser:
		fmt.Fprintf(w, "Opening your browser. If it does not open, visit:\n\n  %s\n\n", p.URL)
	case signin.StageWaitingForBrowser:
		fmt.Fprintln(w, "Waiting for the sign-in in your browser (Ctrl-C to cancel)…")
	case signin.StageNoBrowser:
		fmt.Fprintf(w, "Could not open a browser (%v).\n", p.Err)
	case signin.StageWaitingForCode:
		fmt.Fprintf(w, "Open this URL in a browser on any device and sign in:\n\n  %s\n\nThen paste the code the page shows (CODE#STATE) and press Enter:\n", p.URL)
	case signin.StageExchanging:
		fmt.Fprintln(w, "Signing in…")
	case signin.StageRateLimited:
		fmt.Fprintf(w, "The token endpoint asked us to slow down (429); retrying in %v…\n", p.Delay.Round(time.Second))
	case signin.StageProfileUnavailable:
		fmt.Fprintf(w, "note: could not look up the account's email: %v\n", p.Err)
	}
}
