package credentials_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/credentials/signin"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func TestTokensAnotherProcessStoredAreAdoptedWithoutACall(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Minute)))
	m := newManager(t, path, fake)
	events, stop := m.Subscribe()
	defer stop()

	// Another process (the Node tool, say) rotates and stores the tokens.
	next, ok := fake.RotateOutOfBand(pair.RefreshToken)
	if !ok {
		t.Fatal("rotation failed")
	}
	rewriteAccounts(t, path, seedFrom("acct", next, time.Now().Add(8*time.Hour)))

	tok, err := m.AccessToken(context.Background(), "acct")
	if err != nil || !same(tok, next.AccessToken) {
		t.Fatalf("AccessToken = %s, %v; want the stored rotated token", red(tok), err)
	}
	if n := fake.TokenCalls(); n != 0 {
		t.Errorf("%d token calls; the dead refresh token must not be spent", n)
	}
	waitEvent(t, events, credentials.EventAdopted)
}

// rewriteAccounts replaces the file as another process would (atomically).
func rewriteAccounts(t testing.TB, path string, recs ...seedAccount) {
	t.Helper()
	data, _ := json.Marshal(recs)
	tmp := path + ".other"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// writeClaudeLogin writes Claude Code's credentials file.
func writeClaudeLogin(t testing.TB, path string, p fakeanthropic.TokenPair, exp time.Time, isoExpiry bool) {
	t.Helper()
	var expires any = exp.UnixMilli()
	if isoExpiry {
		expires = exp.UTC().Format(time.RFC3339)
	}
	data, _ := json.Marshal(map[string]any{"claudeAiOauth": map[string]any{
		"accessToken": p.AccessToken, "refreshToken": p.RefreshToken, "expiresAt": expires,
		"scopes": []string{"user:inference", "user:profile"}, "subscriptionType": "max",
	}})
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestImportedAccountAdoptsClaudeCodesNewerLoginAfterInvalidGrant(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	claudeFile := filepath.Join(t.TempDir(), "claude", ".credentials.json")
	pair := fake.IssueTokens("")
	writeClaudeLogin(t, claudeFile, pair, time.Now().Add(-time.Minute), false)

	path := writeAccounts(t)
	m := newManager(t, path, fake)
	res, err := m.Import(context.Background(), credentials.ImportRequest{From: claudeFile})
	if err != nil || !res.Added || res.Source != credentials.SourceFile {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	events, stop := m.Subscribe()
	defer stop()

	// Claude Code refreshes its own login: our refresh token dies.
	next, _ := fake.RotateOutOfBand(pair.RefreshToken)
	writeClaudeLogin(t, claudeFile, next, time.Now().Add(8*time.Hour), true)

	tok, err := m.AccessToken(context.Background(), res.AccountID)
	if err != nil || !same(tok, next.AccessToken) {
		t.Fatalf("AccessToken = %s, %v; want Claude Code's newer token", red(tok), err)
	}
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("%d token calls, want 1 (the rejected refresh)", n)
	}
	e := waitEvent(t, events, credentials.EventAdopted)
	if !strings.Contains(e.Message, "adopted a newer login") {
		t.Errorf("event message %q", e.Message)
	}
	assertNoTokens(t, "the event", e.Message)
	if rec := storedByID(t, path, res.AccountID); !same(rec["refreshToken"].(string), next.RefreshToken) || rec["state"] != nil {
		t.Errorf("stored record after adoption: state %v, refresh %s", rec["state"], red(rec["refreshToken"].(string)))
	}
}

func TestAdoptedLoginThatExpiredIsRefreshedOnce(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	claudeFile := filepath.Join(t.TempDir(), ".credentials.json")
	pair := fake.IssueTokens("")
	writeClaudeLogin(t, claudeFile, pair, time.Now().Add(-2*time.Hour), false)
	m := newManager(t, writeAccounts(t), fake)
	res, err := m.Import(context.Background(), credentials.ImportRequest{From: claudeFile, ID: "cc"})
	if err != nil {
		t.Fatal(err)
	}
	// Claude Code rotated, and its newer token has itself expired by now.
	next, _ := fake.RotateOutOfBand(pair.RefreshToken)
	writeClaudeLogin(t, claudeFile, next, time.Now().Add(-time.Hour), false)

	tok, err := m.AccessToken(context.Background(), res.AccountID)
	if err != nil || !fake.ValidAccessToken(tok) || same(tok, next.AccessToken) {
		t.Fatalf("AccessToken = %s, %v; want a token refreshed from the adopted login", red(tok), err)
	}
	if n := fake.TokenCalls(); n != 2 {
		t.Errorf("%d token calls, want 2 (rejected, then the adopted refresh token)", n)
	}
}

func TestOwnLoginIsNotReplacedByClaudeCodesLogin(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	t.Setenv("CLAUDE_CONFIG_DIR", t.TempDir())
	pair := fake.IssueTokens("me@example.com")
	m := newManager(t, writeAccounts(t), fake)
	info, added, err := m.SaveLogin(credentials.LoginTokens{AccessToken: pair.AccessToken, RefreshToken: pair.RefreshToken,
		ExpiresAt: time.Now().Add(-time.Minute), AccountUUID: pair.AccountUUID, Email: pair.Email}, "")
	if err != nil || !added {
		t.Fatalf("SaveLogin = %+v, %v, %v", info, added, err)
	}
	// A valid Claude Code login sits where an import would look.
	other := fake.IssueTokens("")
	writeClaudeLogin(t, credentials.ClaudeCredentialsPath(), other, time.Now().Add(8*time.Hour), false)
	fake.RotateOutOfBand(pair.RefreshToken) // our chain dies

	if _, err := m.AccessToken(context.Background(), info.ID); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("AccessToken: %v, want ErrNeedsLogin", err)
	}
}

func TestSaveLogin(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	path := writeAccounts(t)
	m := newManager(t, path, fake)
	first := fake.IssueTokens("Alice.Smith@example.com")
	lt := credentials.LoginTokens{AccessToken: first.AccessToken, RefreshToken: first.RefreshToken,
		ExpiresAt: time.Now().Add(time.Hour), AccountUUID: first.AccountUUID, Email: first.Email,
		Scopes: []string{"user:inference"}}
	info, added, err := m.SaveLogin(lt, "")
	if err != nil || !added || info.ID != "alice.smith" || info.Source != credentials.SourceLogin || info.Email != first.Email {
		t.Fatalf("first SaveLogin = %+v, added %v, %v", info, added, err)
	}
	if err := m.SetEnabled(info.ID, false); err != nil {
		t.Fatal(err)
	}
	// The account dies, then its owner signs in again: same id and settings.
	fake.RotateOutOfBand(first.RefreshToken)
	if err := m.Refresh(context.Background(), info.ID); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("Refresh of a dead account: %v", err)
	}
	again, _ := fake.RotateOutOfBand(fake.IssueTokens("").RefreshToken) // any fresh pair
	lt.AccessToken, lt.RefreshToken = again.AccessToken, again.RefreshToken
	info2, added, err := m.SaveLogin(lt, "ignored-for-an-update")
	if err != nil || added || info2.ID != info.ID || info2.Enabled || info2.State != credentials.StateOK {
		t.Fatalf("second SaveLogin = %+v, added %v, %v", info2, added, err)
	}
	if rec := storedByID(t, path, info.ID); !same(rec["accessToken"].(string), again.AccessToken) {
		t.Errorf("tokens were not replaced in place")
	}
	// A different account whose derived id is taken gets a suffix.
	other := fake.IssueTokens("alice.smith@other.example")
	info3, added, err := m.SaveLogin(credentials.LoginTokens{AccessToken: other.AccessToken, RefreshToken: other.RefreshToken,
		AccountUUID: other.AccountUUID, Email: other.Email}, "")
	if err != nil || !added || info3.ID != "alice.smith-2" {
		t.Errorf("third SaveLogin = %+v, added %v, %v", info3, added, err)
	}
	// An explicit id that is taken is refused.
	fourth := fake.IssueTokens("")
	if _, _, err := m.SaveLogin(credentials.LoginTokens{AccessToken: fourth.AccessToken, RefreshToken: fourth.RefreshToken,
		AccountUUID: fourth.AccountUUID}, info.ID); err == nil {
		t.Errorf("SaveLogin under a taken id succeeded")
	}
	if err := m.SetEmail(info3.ID, "new@example.com"); err != nil {
		t.Fatal(err)
	}
	if a, _ := m.Account(info3.ID); a.Email != "new@example.com" {
		t.Errorf("email after SetEmail = %q", a.Email)
	}
	if err := m.SetEmail(info3.ID, "evil\nnewline"); err == nil {
		t.Errorf("SetEmail accepted a control character")
	}
}

func TestImportUpdatesInsteadOfDuplicating(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	dir := t.TempDir()
	m := newManager(t, writeAccounts(t), fake)
	p1 := fake.IssueTokens("")
	file := filepath.Join(dir, "c.json")
	writeClaudeLogin(t, file, p1, time.Now().Add(time.Hour), false)
	r1, err := m.Import(context.Background(), credentials.ImportRequest{From: file})
	if err != nil || r1.AccountID != "account-1" || !r1.Added {
		t.Fatalf("first import %+v %v", r1, err)
	}
	r2, err := m.Import(context.Background(), credentials.ImportRequest{From: file, ID: "other"})
	if err != nil || r2.AccountID != "account-1" || r2.Added {
		t.Fatalf("re-import of the same login %+v %v; want an update of account-1", r2, err)
	}
	// A second login gets the next id.
	p2 := fake.IssueTokens("")
	writeClaudeLogin(t, file, p2, time.Now().Add(time.Hour), false)
	r3, err := m.Import(context.Background(), credentials.ImportRequest{From: file})
	if err != nil || r3.AccountID != "account-2" || !r3.Added {
		t.Fatalf("second login %+v %v", r3, err)
	}
	if n := len(m.Accounts()); n != 2 {
		t.Errorf("%d accounts, want 2", n)
	}
}

func TestRunRefreshesExpiredTokensAtStartAndLeavesFreshOnes(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	expired := fake.IssueTokens("")
	fresh := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("expired", expired, time.Now().Add(-time.Hour)),
		seedFrom("fresh", fresh, time.Now().Add(8*time.Hour)))
	m := newManager(t, path, fake)
	events, stop := m.Subscribe()
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()

	e := waitEvent(t, events, credentials.EventRefreshed)
	if e.AccountID != "expired" {
		t.Errorf("refreshed %q first, want the expired account", e.AccountID)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	if n := fake.TokenCalls(); n != 1 {
		t.Errorf("%d token calls, want 1: only the expired account", n)
	}
	if rec := storedByID(t, path, "fresh"); !same(rec["refreshToken"].(string), fresh.RefreshToken) {
		t.Errorf("the fresh account was refreshed")
	}
}

func TestRunRefreshesBeforeExpiryUsingTheSwappableClock(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	exp := time.Now().Add(8 * time.Hour)
	path := writeAccounts(t, seedFrom("acct", pair, exp))
	var clock atomicTime
	clock.Store(time.Now())
	m := newManager(t, path, fake, func(c *credentials.Config) { c.Now = clock.Load })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)

	time.Sleep(150 * time.Millisecond)
	if fake.TokenCalls() != 0 {
		t.Fatalf("refreshed hours before expiry")
	}
	// Jump to 16 minutes before expiry: inside buffer+jitter (10m + up to 5m)? Not yet.
	clock.Store(exp.Add(-16 * time.Minute))
	m.Reload() // wakes the loop
	time.Sleep(250 * time.Millisecond)
	if fake.TokenCalls() != 0 {
		t.Fatalf("refreshed 16 minutes before expiry; the lead is at most 15")
	}
	clock.Store(exp.Add(-10 * time.Minute))
	m.Reload()
	deadline := time.Now().Add(5 * time.Second)
	for fake.TokenCalls() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if fake.TokenCalls() != 1 {
		t.Fatalf("%d token calls at 10 minutes before expiry, want 1", fake.TokenCalls())
	}
}

func TestTransientErrorsAreTypedAndBackedOff(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(-time.Minute)))
	m := newManager(t, path, fake)
	fake.FailTokenCalls(1, fakeanthropic.TokenFailure{Status: 429})
	_, err := m.AccessToken(context.Background(), "acct")
	var re *credentials.RefreshError
	if !errors.As(err, &re) || re.StatusCode != 429 || re.Terminal() || credentials.IsTerminal(err) {
		t.Fatalf("err = %v, want a transient RefreshError with status 429", err)
	}
	// Within the backoff an expired account fails fast without a call.
	if _, err := m.AccessToken(context.Background(), "acct"); err == nil || fake.TokenCalls() != 1 {
		t.Fatalf("second call: %v after %d calls; want a fast failure", err, fake.TokenCalls())
	}
	fake.FailTokenCalls(1, fakeanthropic.TokenFailure{Status: 400, Error: "invalid_request"})
	time.Sleep(250 * time.Millisecond)
	_, err = m.AccessToken(context.Background(), "acct")
	if !errors.As(err, &re) || re.Code != "invalid_request" || !re.Terminal() || !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("err = %v, want a terminal RefreshError invalid_request", err)
	}
}

func TestReloadPublishesChangesFromOtherProcesses(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	a, b := fake.IssueTokens(""), fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("a", a, time.Now().Add(time.Hour)))
	m := newManager(t, path, fake)
	events, stop := m.Subscribe()
	defer stop()
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-events:
		t.Fatalf("an unchanged file published %v", e.Kind)
	default:
	}
	rewriteAccounts(t, path, seedFrom("a", a, time.Now().Add(time.Hour)), seedFrom("b", b, time.Now().Add(time.Hour)))
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, credentials.EventAccountsChanged)
	if n := len(m.Accounts()); n != 2 {
		t.Errorf("%d accounts after reload, want 2", n)
	}
	stop()
	stop() // a second call is harmless
	if _, open := <-events; open {
		t.Errorf("the channel is still open after the subscription ended")
	}
}

func TestRefreshNowAdoptsWhatAnotherProcessJustStored(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Hour)))
	m := newManager(t, path, fake)
	next, _ := fake.RotateOutOfBand(pair.RefreshToken)
	rewriteAccounts(t, path, seedFrom("acct", next, time.Now().Add(8*time.Hour)))
	if err := m.Refresh(context.Background(), "acct"); err != nil {
		t.Fatal(err)
	}
	if fake.TokenCalls() != 0 {
		t.Errorf("Refresh spent a token although another process had just refreshed")
	}
	if tok, _ := m.AccessToken(context.Background(), "acct"); !same(tok, next.AccessToken) {
		t.Errorf("AccessToken = %s, want the adopted token", red(tok))
	}
	// Asked again, it refreshes for real.
	if err := m.Refresh(context.Background(), "acct"); err != nil || fake.TokenCalls() != 1 {
		t.Errorf("second Refresh: %v with %d calls", err, fake.TokenCalls())
	}
}

func TestTokenEndpointRedirectsAreNotFollowed(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fake.TokenURL(), http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(-time.Minute)))
	m := newManager(t, path, fake, func(c *credentials.Config) { c.TokenURL = redirect.URL; c.HTTPClient = &http.Client{} })
	_, err := m.AccessToken(context.Background(), "acct")
	var re *credentials.RefreshError
	if !errors.As(err, &re) || re.StatusCode != http.StatusTemporaryRedirect || re.Terminal() {
		t.Errorf("err = %v, want a transient RefreshError with the redirect status", err)
	}
	if fake.TokenCalls() != 0 {
		t.Errorf("the refresh token followed the redirect")
	}
}

func TestAnImportedAccountAdoptsOnlyItsOwnAccountsLogin(t *testing.T) {
	tests := []struct {
		name      string
		sourceFor func(fake *fakeanthropic.Server, bob fakeanthropic.TokenPair) fakeanthropic.TokenPair
		adopted   bool
	}{
		{name: "Claude Code's rotated login of the same account is adopted", adopted: true,
			sourceFor: func(fake *fakeanthropic.Server, bob fakeanthropic.TokenPair) fakeanthropic.TokenPair {
				next, _ := fake.RotateOutOfBand(bob.RefreshToken)
				return next
			}},
		{name: "another account's login in Claude Code's file is not adopted",
			sourceFor: func(fake *fakeanthropic.Server, bob fakeanthropic.TokenPair) fakeanthropic.TokenPair {
				fake.RotateOutOfBand(bob.RefreshToken)
				return fake.IssueTokens("carol@example.com")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeanthropic.New()
			defer fake.Close()
			bob := fake.IssueTokens("bob@example.com")
			claudeFile := filepath.Join(t.TempDir(), ".credentials.json")
			rec := seedFrom("bob", bob, time.Now().Add(-time.Minute))
			rec.Source, rec.SourceRef = credentials.SourceClaudeCode, claudeFile
			path := writeAccounts(t, struct {
				seedAccount
				UUID string `json:"accountUuid"`
			}{rec, bob.AccountUUID})
			m := newManager(t, path, fake, func(c *credentials.Config) {
				c.IdentifyToken = func(ctx context.Context, tok string) (string, string, error) {
					p, err := signin.FetchProfile(ctx, nil, fake.URL, tok)
					return p.AccountUUID, p.Email, err
				}
			})
			src := tt.sourceFor(fake, bob)
			fake.RegisterProfile(src)
			writeClaudeLogin(t, claudeFile, src, time.Now().Add(8*time.Hour), false)

			tok, err := m.AccessToken(context.Background(), "bob")
			stored := storedByID(t, path, "bob")
			if tt.adopted {
				if err != nil || !same(tok, src.AccessToken) || !same(stored["refreshToken"].(string), src.RefreshToken) {
					t.Fatalf("AccessToken = %s, %v; want the same account's newer login adopted", red(tok), err)
				}
				return
			}
			if !errors.Is(err, credentials.ErrNeedsLogin) {
				t.Fatalf("AccessToken = %s, %v; want ErrNeedsLogin, not another account's token", red(tok), err)
			}
			if same(stored["refreshToken"].(string), src.RefreshToken) || stored["accountUuid"] != bob.AccountUUID {
				t.Errorf("the stored record took another account's login")
			}
		})
	}
}
