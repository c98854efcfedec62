package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// testBrowserEnv makes the test binary, run as the BROWSER program, act as
// a browser: "visit" follows the URL, "wrong-state" edits the callback's
// state on the way, "idle" exits without visiting (a browser the user
// never uses).
const testBrowserEnv = "CC_ROUTER_TEST_BROWSER"

func init() {
	mode := os.Getenv(testBrowserEnv)
	if mode == "" {
		return
	}
	if len(os.Args) != 2 { // the URL must arrive as the one argument
		os.Exit(2)
	}
	var tamper func(*url.URL)
	switch mode {
	case "idle":
		os.Exit(0)
	case "wrong-state":
		tamper = func(u *url.URL) { q := u.Query(); q.Set("state", "not-this-sign-in"); u.RawQuery = q.Encode() }
	}
	fakeanthropic.Browse(os.Args[1], tamper)
	os.Exit(0)
}

// loginWorld is a fake Anthropic and a CC_ROUTER_HOME for login tests.
type loginWorld struct {
	fake     *fakeanthropic.Server
	accounts string // accounts.json
}

func newLoginWorld(t *testing.T, browser string) *loginWorld {
	t.Helper()
	fake := fakeanthropic.New()
	t.Cleanup(fake.Close)
	home := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CC_ROUTER_HOME", home)
	t.Setenv("ACCOUNTS_PATH", "")
	t.Setenv("CC_ROUTER_AUTHORIZE_URL", fake.AuthorizeURL())
	t.Setenv("CC_ROUTER_TOKEN_URL", fake.TokenURL())
	t.Setenv("CC_ROUTER_API_URL", fake.URL)
	t.Setenv("BROWSER", exe)
	t.Setenv(testBrowserEnv, browser)
	old := loginInput
	loginInput = strings.NewReader("")
	t.Cleanup(func() { loginInput = old })
	return &loginWorld{fake: fake, accounts: filepath.Join(home, "accounts.json")}
}

// login runs `cc-router login args…` and returns its exit code and output.
func (w *loginWorld) login(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"login"}, args...), &out, &errb)
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, "sk-ant-") {
			t.Errorf("login printed a token: %.60q…", s)
		}
	}
	return code, out.String(), errb.String()
}

// manager opens the store as the rest of cc-router would.
func (w *loginWorld) manager(t *testing.T) *credentials.Manager {
	t.Helper()
	m, err := credentials.NewManager(credentials.Config{Path: w.accounts, TokenURL: w.fake.TokenURL()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// importLogin imports pair as Claude Code's credentials file holds it
// (which names no account), as account id ("" for account-N).
func (w *loginWorld) importLogin(t *testing.T, pair fakeanthropic.TokenPair, id string) credentials.ImportResult {
	t.Helper()
	creds := filepath.Join(t.TempDir(), "credentials.json")
	body := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%d,"scopes":["user:inference","user:profile"]}}`,
		pair.AccessToken, pair.RefreshToken, time.Now().Add(8*time.Hour).UnixMilli())
	if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := w.manager(t).Import(context.Background(), credentials.ImportRequest{From: creds, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// records reads accounts.json as plain JSON.
func (w *loginWorld) records(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(w.accounts)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatalf("accounts.json: %v", err)
	}
	return recs
}

func TestLoginAddsTheSignedInAccount(t *testing.T) {
	w := newLoginWorld(t, "visit")
	code, out, errOut := w.login(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if first, _, _ := strings.Cut(errOut, "\n"); first != signInHint {
		t.Errorf("first line %q, want the sign-in hint", first)
	}
	if !strings.Contains(errOut, w.fake.AuthorizeURL()+"?code=true&client_id=") {
		t.Errorf("the authorize URL was not printed:\n%s", errOut)
	}
	if want := `added alice@example.com as account "alice"`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}

	fi, err := os.Stat(w.accounts)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("accounts.json mode %v, want 0600", fi.Mode().Perm())
	}
	recs := w.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	wantFields := map[string]any{
		"id": "alice", "email": "alice@example.com", "source": "login",
		"accountUuid": w.fake.SigninAccountUUID("alice@example.com"),
	}
	for k, v := range wantFields {
		if r[k] != v {
			t.Errorf("record %s = %v, want %v", k, r[k], v)
		}
	}
	if rt, _ := r["refreshToken"].(string); !w.fake.RefreshTokenLive(rt) {
		t.Errorf("the stored refresh token is not live at the fake")
	}
	if exp, _ := r["expiresAt"].(float64); time.Until(time.UnixMilli(int64(exp))) < 7*time.Hour {
		t.Errorf("expiresAt %v is not about 8h away", exp)
	}

	m := w.manager(t)
	acc := m.Accounts()
	if len(acc) != 1 || acc[0].State != credentials.StateOK || !acc[0].Enabled || acc[0].Source != credentials.SourceLogin {
		t.Fatalf("accounts = %+v, want one usable login account", acc)
	}
	tok, err := m.AccessToken(context.Background(), "alice")
	if err != nil || !w.fake.ValidAccessToken(tok) {
		t.Errorf("the account's access token is not usable: %v", err)
	}
}

func TestSigningInAgainAsAStoredAccountReplacesItsTokensInPlace(t *testing.T) {
	w := newLoginWorld(t, "visit")
	if code, _, errOut := w.login(t, "--id", "work"); code != 0 {
		t.Fatalf("first login: %s", errOut)
	}
	before := w.records(t)[0]
	code, out, errOut := w.login(t, "--id", "other")
	if code != 0 {
		t.Fatalf("second login: %s", errOut)
	}
	if want := `updated stored account "work" (alice@example.com)`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if !strings.Contains(errOut, `--id "other" was not used`) {
		t.Errorf("stderr does not say --id was not used:\n%s", errOut)
	}
	recs := w.records(t)
	if len(recs) != 1 || recs[0]["id"] != "work" {
		t.Fatalf("records after the second login: %d, id %v; want the one account, still \"work\"", len(recs), recs[0]["id"])
	}
	if recs[0]["refreshToken"] == before["refreshToken"] || recs[0]["accessToken"] == before["accessToken"] {
		t.Errorf("the tokens were not replaced")
	}
	if !w.fake.RefreshTokenLive(recs[0]["refreshToken"].(string)) {
		t.Errorf("the new refresh token is not live")
	}
}

func TestANeedsLoginAccountSignedInAgainBecomesUsable(t *testing.T) {
	w := newLoginWorld(t, "visit")
	w.fake.SetSigninEmail("bob@example.com")
	if code, _, errOut := w.login(t); code != 0 {
		t.Fatalf("first login: %s", errOut)
	}
	// Another client spends the chain: the next refresh is refused.
	if _, ok := w.fake.RotateOutOfBand(w.records(t)[0]["refreshToken"].(string)); !ok {
		t.Fatal("the stored refresh token was not live")
	}
	m := w.manager(t)
	if err := m.Refresh(context.Background(), "bob"); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("refresh of a spent chain: %v, want ErrNeedsLogin", err)
	}
	if a, _ := m.Account("bob"); a.State != credentials.StateNeedsLogin {
		t.Fatalf("state %q, want needs_login", a.State)
	}

	w.fake.SetSigninEmail("someone-else@example.com") // the hint decides
	code, out, errOut := w.login(t, "--email", "bob@example.com")
	if code != 0 {
		t.Fatalf("sign-in again: %s", errOut)
	}
	if !strings.Contains(out, `updated stored account "bob"`) {
		t.Errorf("stdout %q, want the update of bob", out)
	}
	ar := w.fake.AuthorizeRequests()
	if ar[len(ar)-1].LoginHint != "bob@example.com" {
		t.Errorf("login_hint = %q", ar[len(ar)-1].LoginHint)
	}
	m = w.manager(t)
	a, err := m.Account("bob")
	if err != nil || a.State != credentials.StateOK {
		t.Fatalf("after signing in again: %+v %v, want state ok", a, err)
	}
	if err := m.Refresh(context.Background(), "bob"); err != nil {
		t.Errorf("refresh after signing in again: %v", err)
	}
	tok, err := m.AccessToken(context.Background(), "bob")
	if err != nil || !w.fake.ValidAccessToken(tok) {
		t.Errorf("the account is not usable again: %v", err)
	}
}

// pastingWriter is a terminal for the manual flow: when the authorize URL
// is printed, it fetches the code as a browser on another device would and
// "pastes" CODE#STATE into the input pipe.
type pastingWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	paste io.Writer
	text  func(code, state string) string
}

func (p *pastingWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for _, line := range strings.Split(string(b), "\n") {
		if u := strings.TrimSpace(line); strings.HasPrefix(u, "http") && strings.Contains(u, "/oauth/authorize?") {
			go func() {
				v := fakeanthropic.Browse(u, nil)
				if v.Final == nil {
					fmt.Fprintln(p.paste, "no redirect")
					return
				}
				q := v.Final.Query()
				fmt.Fprintln(p.paste, p.text(q.Get("code"), q.Get("state")))
			}()
		}
	}
	return len(b), nil
}

func (p *pastingWriter) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

func TestLoginWithoutABrowserReadsThePastedCode(t *testing.T) {
	tests := []struct {
		name    string
		text    func(code, state string) string
		wantOK  bool
		mention string
	}{
		{name: "CODE#STATE as the page shows it signs in", text: func(c, s string) string { return c + "#" + s }, wantOK: true},
		{name: "another sign-in's state is refused", text: func(c, s string) string { return c + "#wrong" }, mention: "state mismatch"},
		{name: "text without a hash is refused", text: func(c, s string) string { return c }, mention: "CODE#STATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLoginWorld(t, "idle")
			pr, pw := io.Pipe()
			defer pw.Close()
			loginInput = pr
			term := &pastingWriter{paste: pw, text: tt.text}
			var out bytes.Buffer
			code := run([]string{"login", "--no-browser", "--timeout", "20s"}, &out, term)
			if strings.Contains(out.String()+term.String(), "sk-ant-") {
				t.Errorf("a token was printed")
			}
			if !tt.wantOK {
				if code != 1 || !strings.Contains(term.String(), tt.mention) {
					t.Fatalf("exit %d, stderr:\n%s\nwant a failure mentioning %q", code, term.String(), tt.mention)
				}
				if _, err := os.Stat(w.accounts); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("accounts.json was written after a failed sign-in")
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, term.String())
			}
			if !strings.Contains(out.String(), "added alice@example.com") {
				t.Errorf("stdout %q", out.String())
			}
			if !strings.Contains(term.String(), "paste the code") {
				t.Errorf("the prompt does not ask for the code:\n%s", term.String())
			}
			ar := w.fake.AuthorizeRequests()
			if len(ar) != 1 {
				t.Fatalf("%d authorize calls", len(ar))
			}
			for _, p := range ar[0].Params {
				if p[0] == "redirect_uri" && p[1] != "https://platform.claude.com/oauth/code/callback" {
					t.Errorf("redirect_uri %q, want the manual one", p[1])
				}
			}
		})
	}
}

func TestFailedSignInsWriteNothingAndSayWhy(t *testing.T) {
	tests := []struct {
		name    string
		browser string
		setup   func(*fakeanthropic.Server)
		args    []string
		mention string
	}{
		{name: "a callback with the wrong state", browser: "wrong-state", mention: "state mismatch"},
		{name: "access denied in the browser", browser: "visit", setup: func(f *fakeanthropic.Server) { f.DenyNextAuthorize(1) }, mention: "access was denied"},
		{name: "no sign-in before the timeout", browser: "idle", args: []string{"--timeout", "500ms"}, mention: "timed out"},
		{name: "a Cloudflare challenge from the token endpoint", browser: "visit",
			setup:   func(f *fakeanthropic.Server) { f.FailCodeExchanges(1, fakeanthropic.CodeExchangeFailure{HTML: true}) },
			mention: "Cloudflare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLoginWorld(t, tt.browser)
			if tt.setup != nil {
				tt.setup(w.fake)
			}
			code, _, errOut := w.login(t, tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.mention) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 mentioning %q", code, errOut, tt.mention)
			}
			if _, err := os.Stat(w.accounts); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("accounts.json exists after a failed sign-in")
			}
		})
	}
}

func TestLoginLearnsTheMissingEmailsOfStoredAccountsOnce(t *testing.T) {
	w := newLoginWorld(t, "visit")
	// An account imported from a credentials file: cc-router knows no email.
	pair := w.fake.IssueTokens("carol@example.com")
	w.fake.RegisterProfile(pair)
	res := w.importLogin(t, pair, "")

	code, out, errOut := w.login(t)
	if code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	if want := fmt.Sprintf("learned the email of account %q: carol@example.com", res.AccountID); !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if a, _ := w.manager(t).Account(res.AccountID); a.Email != "carol@example.com" {
		t.Errorf("stored email %q", a.Email)
	}
	lookups := w.fake.ProfileLookups()
	w.fake.SetSigninEmail("dave@example.com")
	if code, out, errOut := w.login(t); code != 0 || strings.Contains(out, "learned") {
		t.Fatalf("second login: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if w.fake.ProfileLookups() != lookups {
		t.Errorf("the email was looked up again")
	}
}

func TestLoginHelpShowsExamplesAndBadFlagsAreRefused(t *testing.T) {
	w := newLoginWorld(t, "visit")
	var out, errb bytes.Buffer
	if code := run([]string{"login", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "cc-router login --no-browser") || !strings.Contains(out.String(), "-timeout") {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
	for _, args := range [][]string{{"--id", " padded "}, {"stray-argument"}} {
		errb.Reset()
		if code := run(append([]string{"login"}, args...), &out, &errb); code != 2 || strings.Contains(errb.String(), signInHint) {
			t.Errorf("login %q: exit %d, stderr %q; want exit 2 before any sign-in", args, code, errb.String())
		}
	}
	if len(w.fake.AuthorizeRequests()) != 0 {
		t.Errorf("a sign-in started despite the bad arguments")
	}
}

func TestLoginWithTheIDOfAStoredAccountReplacesItsTokensInPlace(t *testing.T) {
	w := newLoginWorld(t, "visit")
	// An import from a credentials file: no uuid, no email. Claude Code
	// then spends the shared chain and the account needs login.
	pair := w.fake.IssueTokens("carol@example.com")
	w.importLogin(t, pair, "work")
	m := w.manager(t)
	if err := m.SetEnabled("work", false); err != nil {
		t.Fatal(err)
	}
	w.fake.RotateOutOfBand(pair.RefreshToken)
	if err := m.Refresh(context.Background(), "work"); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("refresh of a spent chain: %v", err)
	}

	w.fake.SetSigninEmail("carol@example.com")
	code, out, errOut := w.login(t, "--id", "work")
	if code != 0 {
		t.Fatalf("login --id work: exit %d\n%s", code, errOut)
	}
	if want := `updated stored account "work" (carol@example.com)`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	recs := w.records(t)
	if len(recs) != 1 || recs[0]["id"] != "work" || recs[0]["enabled"] != false || recs[0]["source"] != "login" ||
		recs[0]["email"] != "carol@example.com" || recs[0]["state"] != nil {
		t.Fatalf("records after login --id work: %d, first id %v enabled %v source %v email %v state %v; want work replaced in place",
			len(recs), recs[0]["id"], recs[0]["enabled"], recs[0]["source"], recs[0]["email"], recs[0]["state"])
	}
	m = w.manager(t)
	if err := m.Refresh(context.Background(), "work"); err != nil {
		t.Errorf("refresh after signing in again: %v", err)
	}

	// Now that work knows its email, it is proposed, and a sign-in as
	// someone else is refused without writing.
	before, _ := os.ReadFile(w.accounts)
	code, _, errOut = w.login(t, "--id", "work", "--email", "dave@example.com")
	if code != 1 || !strings.Contains(errOut, "another Claude account") {
		t.Fatalf("login --id work as dave: exit %d\n%s\nwant a refusal", code, errOut)
	}
	if after, _ := os.ReadFile(w.accounts); !bytes.Equal(before, after) {
		t.Errorf("accounts.json changed after a refused sign-in")
	}
	w.login(t, "--id", "work")
	ar := w.fake.AuthorizeRequests()
	if hint := ar[len(ar)-1].LoginHint; hint != "carol@example.com" {
		t.Errorf("login_hint for work = %q, want its stored email", hint)
	}
}
