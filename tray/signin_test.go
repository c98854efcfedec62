package tray

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/proxy"
)

// signInApp is an app (not running its loop) over a real manager and
// proxy, with the fake Anthropic as every endpoint. browse says whether
// the "browser" visits the sign-in page or leaves it unanswered.
func signInApp(t *testing.T, browse bool) (*app, *fakeanthropic.Server, *noteLog) {
	t.Helper()
	fake := fakeanthropic.New()
	t.Cleanup(fake.Close)
	t.Setenv("CC_ROUTER_AUTHORIZE_URL", fake.AuthorizeURL())
	t.Setenv("CC_ROUTER_TOKEN_URL", fake.TokenURL())
	t.Setenv("CC_ROUTER_API_URL", fake.URL)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := credentials.NewManager(credentials.Config{Path: filepath.Join(t.TempDir(), "accounts.json"), TokenURL: fake.TokenURL(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Config{Upstream: fake.URL}, mgr)
	if err != nil {
		t.Fatal(err)
	}
	notes := &noteLog{}
	n := &Notifier{Send: notes.send, Logger: log}
	t.Cleanup(n.Wait)
	a := &app{
		cfg: Config{Manager: mgr, Proxy: p, Notifier: n, Logger: log, OpenBrowser: func(ctx context.Context, u string) error {
			if browse {
				go fakeanthropic.Browse(u, nil)
			}
			return nil
		}},
		log: log, actions: make(chan Action, 16), kick: make(chan struct{}, 1),
	}
	return a, fake, notes
}

// menuLabel returns the label of the item with key in the app's menu now.
func menuLabel(a *app, key string) string {
	var find func([]Item) string
	find = func(items []Item) string {
		for _, it := range items {
			if it.Key == key {
				return it.Label
			}
			if l := find(it.Children); l != "" {
				return l
			}
		}
		return ""
	}
	return find(BuildMenu(a.snapshot()).Items)
}

func TestAddAccountSignsInAndNotifies(t *testing.T) {
	a, fake, notes := signInApp(t, true)
	a.do(context.Background(), Action{Kind: ActionAddAccount})
	acc := a.cfg.Manager.Accounts()
	if len(acc) != 1 || acc[0].Email != "alice@example.com" || acc[0].Source != credentials.SourceLogin {
		t.Fatalf("accounts = %+v, want alice signed in", acc)
	}
	tok, err := a.cfg.Manager.AccessToken(context.Background(), acc[0].ID)
	if err != nil || !fake.ValidAccessToken(tok) {
		t.Errorf("the new account's token is not usable: %v", err)
	}
	a.cfg.Notifier.Wait()
	if got := notes.all(); len(got) != 1 || !strings.HasPrefix(got[0], "cc-router: added alice@example.com") {
		t.Errorf("notifications = %q, want one saying alice was added", got)
	}
	if l := menuLabel(a, "sign-in"); l != "Add account…" {
		t.Errorf("after the sign-in the item reads %q", l)
	}
}

func TestCancelEndsTheWaitingSignInAndWritesNothing(t *testing.T) {
	a, _, notes := signInApp(t, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.do(context.Background(), Action{Kind: ActionAddAccount})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for menuLabel(a, "sign-in") != "Waiting for sign-in… (cancel)" {
		if time.Now().After(deadline) {
			t.Fatal("the menu never showed the waiting sign-in")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.do(context.Background(), Action{Kind: ActionCancelSignIn})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sign-in did not end on cancel")
	}
	if n := len(a.cfg.Manager.Accounts()); n != 0 {
		t.Errorf("%d accounts after a cancelled sign-in", n)
	}
	a.cfg.Notifier.Wait()
	if got := notes.all(); len(got) != 0 {
		t.Errorf("a cancelled sign-in notified: %q", got)
	}
	if l := menuLabel(a, "sign-in"); l != "Add account…" {
		t.Errorf("after cancel the item reads %q", l)
	}
}

func TestSignInAgainBringsBackAnAccountThatNeedsLogin(t *testing.T) {
	a, fake, notes := signInApp(t, true)
	fake.SetSigninEmail("bob@example.com")
	a.do(context.Background(), Action{Kind: ActionAddAccount})
	m := a.cfg.Manager
	acc := m.Accounts()
	if len(acc) != 1 {
		t.Fatalf("accounts = %+v", acc)
	}
	id := acc[0].ID
	// Spend the account's chain elsewhere: its next refresh is refused.
	for _, rt := range fake.IssuedRefreshTokens() {
		fake.RotateOutOfBand(rt)
	}
	if err := m.Refresh(context.Background(), id); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("refresh of a spent chain: %v", err)
	}
	if l := menuLabel(a, "account/"+id+"/sign-in"); l != "Sign in again…" {
		t.Fatalf("the needs-login account offers %q, want Sign in again…", l)
	}

	fake.SetSigninEmail("someone-else@example.com") // the login_hint decides
	a.do(context.Background(), Action{Kind: ActionSignInAgain, AccountID: id})
	info, err := m.Account(id)
	if err != nil || info.State != credentials.StateOK || len(m.Accounts()) != 1 {
		t.Fatalf("after Sign in again: %+v %v (%d accounts), want %s usable in place", info, err, len(m.Accounts()), id)
	}
	if err := m.Refresh(context.Background(), id); err != nil {
		t.Errorf("refresh after signing in again: %v", err)
	}
	a.cfg.Notifier.Wait()
	got := notes.all()
	if len(got) != 2 || !strings.HasPrefix(got[1], "cc-router: signed in again as bob@example.com") {
		t.Errorf("notifications = %q, want the second saying bob signed in again", got)
	}
}

func TestSignInAgainReplacesAnImportedAccountThatKnowsNoUUIDOrEmailInPlace(t *testing.T) {
	a, fake, notes := signInApp(t, true)
	m := a.cfg.Manager
	// An import from a credentials file: the store learns neither the
	// account's uuid nor its email.
	pair := fake.IssueTokens("carol@example.com")
	creds := filepath.Join(t.TempDir(), ".credentials.json")
	body := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%d}}`,
		pair.AccessToken, pair.RefreshToken, time.Now().Add(8*time.Hour).UnixMilli())
	if err := os.WriteFile(creds, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := m.Import(context.Background(), credentials.ImportRequest{From: creds, ID: "imported"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetEnabled(res.AccountID, false); err != nil { // a setting that must survive
		t.Fatal(err)
	}
	fake.RotateOutOfBand(pair.RefreshToken) // Claude Code spent the shared chain
	if err := m.Refresh(context.Background(), res.AccountID); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("refresh of a spent chain: %v", err)
	}
	if info, _ := m.Account(res.AccountID); info.Email != "" || info.State != credentials.StateNeedsLogin {
		t.Fatalf("before signing in again: %+v, want needs_login without email", info)
	}

	fake.SetSigninEmail("carol@example.com")
	a.do(context.Background(), Action{Kind: ActionSignInAgain, AccountID: res.AccountID})
	acc := m.Accounts()
	if len(acc) != 1 {
		t.Fatalf("accounts after Sign in again = %+v, want the one account replaced in place", acc)
	}
	info := acc[0]
	if info.ID != "imported" || info.State != credentials.StateOK || info.Enabled ||
		info.Source != credentials.SourceLogin || info.Email != "carol@example.com" {
		t.Errorf("after Sign in again: %+v, want id imported, ok, still disabled, source login, carol's email", info)
	}
	if err := m.Refresh(context.Background(), info.ID); err != nil {
		t.Errorf("refresh after signing in again: %v", err)
	}
	a.cfg.Notifier.Wait()
	if got := notes.all(); len(got) != 1 || !strings.HasPrefix(got[0], "cc-router: signed in again as carol@example.com") {
		t.Errorf("notifications = %q, want one saying carol signed in again", got)
	}
}
