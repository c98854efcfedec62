package credentials_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/credentials/signin"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// identifyAtFake is the IdentifyToken hook cc-router uses (the profile
// lookup), pointed at the fake. A token the fake has no profile for is
// refused, so the lookup fails.
func identifyAtFake(fake *fakeanthropic.Server) func(*credentials.Config) {
	return func(c *credentials.Config) {
		c.IdentifyToken = func(ctx context.Context, tok string) (string, string, error) {
			p, err := signin.FetchProfile(ctx, nil, fake.URL, tok)
			return p.AccountUUID, p.Email, err
		}
	}
}

// importWorld is a store, a Claude Code credentials file and the fake.
type importWorld struct {
	fake   *fakeanthropic.Server
	path   string // accounts.json
	claude string // Claude Code's credentials file
	m      *credentials.Manager
}

func newImportWorld(t *testing.T, identify bool, recs ...any) *importWorld {
	t.Helper()
	fake := fakeanthropic.New()
	t.Cleanup(fake.Close)
	w := &importWorld{fake: fake, path: writeAccounts(t, recs...),
		claude: filepath.Join(t.TempDir(), "claude", ".credentials.json")}
	var adjust []func(*credentials.Config)
	if identify {
		adjust = append(adjust, identifyAtFake(fake))
	}
	w.m = newManager(t, w.path, fake, adjust...)
	return w
}

// claudeHas writes p as Claude Code's login, its access token expiring in d.
func (w *importWorld) claudeHas(t *testing.T, p fakeanthropic.TokenPair, d time.Duration) {
	t.Helper()
	writeClaudeLogin(t, w.claude, p, time.Now().Add(d), false)
}

func (w *importWorld) importAs(t *testing.T, id string) credentials.ImportResult {
	t.Helper()
	res, err := w.m.Import(context.Background(), credentials.ImportRequest{From: w.claude, ID: id})
	if err != nil {
		t.Fatalf("Import(--id %q): %v", id, err)
	}
	assertNoTokens(t, "the import summary", res.Summary())
	return res
}

func (w *importWorld) storedRefresh(t *testing.T, id string) string {
	t.Helper()
	return storedByID(t, w.path, id)["refreshToken"].(string)
}

func TestReimportAfterClaudeCodeRefreshedUpdatesTheSameAccount(t *testing.T) {
	for _, tc := range []struct {
		name      string
		emailOnly bool // the stored record knows its email but not its uuid
		want      credentials.ImportMatch
	}{
		{"the stored account is found by its account uuid", false, credentials.MatchAccount},
		{"a stored account that knows only its email is found by it", true, credentials.MatchEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newImportWorld(t, true)
			p1 := w.fake.IssueTokens("alice@example.com")
			w.fake.RegisterProfile(p1)
			w.claudeHas(t, p1, time.Hour)
			first := w.importAs(t, "")
			if !first.Added || first.AccountID != "account-1" || first.Email != "alice@example.com" || first.IdentityUnknown != "" {
				t.Fatalf("first import = %+v", first)
			}
			if rec := storedByID(t, w.path, "account-1"); rec["accountUuid"] != p1.AccountUUID || rec["email"] != "alice@example.com" {
				t.Fatalf("the import did not store what it learned: uuid %v email %v", rec["accountUuid"], rec["email"])
			}
			if tc.emailOnly {
				clearStoredField(t, w.path, "accountUuid")
				if err := w.m.Reload(); err != nil {
					t.Fatal(err)
				}
			}

			// Claude Code refreshes its own login: no token of ours matches.
			p2, ok := w.fake.RotateOutOfBand(p1.RefreshToken)
			if !ok {
				t.Fatal("the fake did not rotate")
			}
			w.fake.RegisterProfile(p2)
			w.claudeHas(t, p2, 8*time.Hour)
			again := w.importAs(t, "")

			if again.Added || again.AccountID != "account-1" || again.Match != tc.want || again.Kept {
				t.Fatalf("re-import = %+v; want account-1 updated by %s", again, tc.want)
			}
			if n := len(w.m.Accounts()); n != 1 {
				t.Errorf("%d accounts after the re-import, want 1", n)
			}
			if !same(w.storedRefresh(t, "account-1"), p2.RefreshToken) {
				t.Errorf("account-1 holds refresh token %s, want Claude Code's newest", red(w.storedRefresh(t, "account-1")))
			}
			if rec := storedByID(t, w.path, "account-1"); rec["accountUuid"] != p1.AccountUUID {
				t.Errorf("account-1's uuid after the re-import = %v, want %s", rec["accountUuid"], p1.AccountUUID)
			}
			if n := w.fake.TokenCalls(); n != 0 {
				t.Errorf("%d token calls; identifying the account must spend nothing", n)
			}
			if s := again.Summary(); !strings.Contains(s, "updated account account-1 (alice@example.com)") || !strings.Contains(s, "same Claude account") {
				t.Errorf("summary %q does not say which account was updated and why", s)
			}
		})
	}
}

// clearStoredField removes key from every record of accounts.json.
func clearStoredField(t *testing.T, path, key string) {
	t.Helper()
	recs := storedAccounts(t, path)
	out := make([]any, len(recs))
	for i, r := range recs {
		delete(r, key)
		out[i] = r
	}
	data := writeAccounts(t, out...)
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestImportOfAnotherAccountFromTheSamePlaceAddsIt(t *testing.T) {
	w := newImportWorld(t, true)
	alice := w.fake.IssueTokens("alice@example.com")
	w.fake.RegisterProfile(alice)
	w.claudeHas(t, alice, time.Hour)
	w.importAs(t, "")

	// Claude Code is now logged in as bob.
	bob := w.fake.IssueTokens("bob@example.com")
	w.fake.RegisterProfile(bob)
	w.claudeHas(t, bob, 8*time.Hour)
	res := w.importAs(t, "")
	if !res.Added || res.AccountID != "account-2" || res.Email != "bob@example.com" {
		t.Fatalf("import of bob = %+v; want account-2 added", res)
	}
	if !same(w.storedRefresh(t, "account-1"), alice.RefreshToken) || !w.fake.RefreshTokenLive(alice.RefreshToken) {
		t.Errorf("alice's account was changed or its chain spent by importing bob")
	}
	if n := w.fake.TokenCalls(); n != 0 {
		t.Errorf("%d token calls; a known other account must not be tried", n)
	}
	if s := res.Summary(); !strings.Contains(s, "added account account-2 (bob@example.com)") {
		t.Errorf("summary %q", s)
	}
}

func TestImportWithoutTheAccountsIdentityFollowsTheSameSourceRule(t *testing.T) {
	for _, identify := range []bool{true, false} {
		name := "the profile lookup fails"
		if !identify {
			name = "no profile lookup is configured"
		}
		t.Run(name, func(t *testing.T) {
			t.Run("a dead record from the same place is updated", func(t *testing.T) {
				w := newImportWorld(t, identify) // the fake knows no profile: lookups fail
				p1 := w.fake.IssueTokens("")
				w.claudeHas(t, p1, time.Hour)
				first := w.importAs(t, "")
				if !first.Added || first.IdentityUnknown == "" {
					t.Fatalf("first import = %+v; want added, account unknown", first)
				}
				p2, _ := w.fake.RotateOutOfBand(p1.RefreshToken)
				w.claudeHas(t, p2, 8*time.Hour)
				res := w.importAs(t, "")
				if res.Added || res.AccountID != "account-1" || res.Match != credentials.MatchSource {
					t.Fatalf("re-import = %+v; want account-1 updated by the same-source rule", res)
				}
				if n := len(w.m.Accounts()); n != 1 {
					t.Errorf("%d accounts, want 1", n)
				}
				if !same(w.storedRefresh(t, "account-1"), p2.RefreshToken) {
					t.Errorf("account-1 does not hold Claude Code's newest login")
				}
				if a, _ := w.m.Account("account-1"); a.State != credentials.StateOK {
					t.Errorf("account-1 is %s after the re-import, want ok", a.State)
				}
				if n := w.fake.TokenCalls(); n != 1 {
					t.Errorf("%d token calls, want 1 (trying the stored, dead refresh token)", n)
				}
				if s := res.Summary(); !strings.Contains(s, "updated account account-1") || !strings.Contains(s, "refresh token is dead") {
					t.Errorf("summary %q does not say why account-1 was updated", s)
				}
			})
			t.Run("a live record from the same place is another login: added, and the record kept refreshed", func(t *testing.T) {
				w := newImportWorld(t, identify)
				p1 := w.fake.IssueTokens("")
				w.claudeHas(t, p1, time.Hour)
				w.importAs(t, "")
				other := w.fake.IssueTokens("")
				w.claudeHas(t, other, 8*time.Hour)
				res := w.importAs(t, "")
				if !res.Added || res.AccountID != "account-2" {
					t.Fatalf("import = %+v; want account-2 added", res)
				}
				if rt := w.storedRefresh(t, "account-1"); !w.fake.RefreshTokenLive(rt) || same(rt, p1.RefreshToken) {
					t.Errorf("account-1 holds %s; want the live token its check refreshed to", red(rt))
				}
				if s := res.Summary(); !strings.Contains(s, "could not tell which Claude account") {
					t.Errorf("summary %q does not say the account was unknown", s)
				}
			})
			t.Run("two dead records from the same place: cannot choose, so added", func(t *testing.T) {
				a, b := w2dead(t)
				w := newImportWorld(t, identify, a, b)
				p := w.fake.IssueTokens("")
				w.claudeHas(t, p, 8*time.Hour)
				sourceRefTo(t, w.path, w.claude)
				if err := w.m.Reload(); err != nil {
					t.Fatal(err)
				}
				res := w.importAs(t, "")
				if !res.Added || res.AccountID != "account-1" {
					t.Fatalf("import = %+v; want a new account", res)
				}
				if n := len(w.m.Accounts()); n != 3 {
					t.Errorf("%d accounts, want 3", n)
				}
			})
			t.Run("a dead record from another place is not touched", func(t *testing.T) {
				a, _ := w2dead(t)
				w := newImportWorld(t, identify, a)
				p := w.fake.IssueTokens("")
				w.claudeHas(t, p, 8*time.Hour)
				res := w.importAs(t, "")
				if !res.Added {
					t.Fatalf("import = %+v; want added", res)
				}
				if n := w.fake.TokenCalls(); n != 0 {
					t.Errorf("%d token calls; a record from elsewhere must not be tried", n)
				}
			})
			t.Run("an older login than the one stored from the same place changes nothing", func(t *testing.T) {
				w := newImportWorld(t, identify)
				p1 := w.fake.IssueTokens("")
				w.claudeHas(t, p1, -time.Minute) // Claude Code has not run since
				w.importAs(t, "")
				// cc-router refreshes the shared chain: Claude Code's copy is dead.
				if err := w.m.Refresh(context.Background(), "account-1"); err != nil {
					t.Fatal(err)
				}
				before, _ := os.ReadFile(w.path)
				res := w.importAs(t, "")
				if res.Added || !res.Kept || res.AccountID != "account-1" || res.Match != credentials.MatchSource {
					t.Fatalf("import of the stale login = %+v; want account-1 kept", res)
				}
				if after, _ := os.ReadFile(w.path); string(after) != string(before) {
					t.Errorf("accounts.json changed on a stale import")
				}
				if s := res.Summary(); !strings.HasPrefix(s, "nothing imported") {
					t.Errorf("summary %q", s)
				}
			})
		})
	}
}

// w2dead returns two records in needs_login imported from a place other
// than any test's Claude Code file.
func w2dead(t *testing.T) (a, b any) {
	t.Helper()
	type rec struct {
		seedAccount
		State string `json:"state"`
	}
	mk := func(id string, n byte) any {
		s := seedAccount{ID: id, AccessToken: "sk-ant-oat01-deadAccess" + strings.Repeat(string('A'+n), 20),
			RefreshToken: "sk-ant-ort01-deadRefresh" + strings.Repeat(string('A'+n), 20),
			ExpiresAt:    time.Now().Add(-time.Hour).UnixMilli(), Source: credentials.SourceFile, SourceRef: "/elsewhere/.credentials.json"}
		return rec{s, string(credentials.StateNeedsLogin)}
	}
	return mk("dead-a", 0), mk("dead-b", 1)
}

// sourceRefTo points every record of accounts.json at ref.
func sourceRefTo(t *testing.T, path, ref string) {
	t.Helper()
	recs := storedAccounts(t, path)
	out := make([]any, len(recs))
	for i, r := range recs {
		r["sourceRef"] = ref
		out[i] = r
	}
	b, err := os.ReadFile(writeAccounts(t, out...))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestImportWithIDRefusesAnotherAccountAndWritesNothing(t *testing.T) {
	type world struct {
		*importWorld
		alice, bob fakeanthropic.TokenPair
	}
	// alice is account-1 (identified); "blank" is a record nobody knows
	// the account of; Claude Code holds bob's login unless a case says.
	setup := func(t *testing.T) world {
		w := newImportWorld(t, true)
		alice := w.fake.IssueTokens("alice@example.com")
		w.fake.RegisterProfile(alice)
		w.claudeHas(t, alice, time.Hour)
		w.importAs(t, "")
		blank := w.fake.IssueTokens("")
		w.claudeHas(t, blank, time.Hour) // no profile: imported unidentified
		w.importAs(t, "blank")
		bob := w.fake.IssueTokens("bob@example.com")
		w.fake.RegisterProfile(bob)
		w.claudeHas(t, bob, 8*time.Hour)
		return world{w, alice, bob}
	}
	for _, tc := range []struct {
		name    string
		id      string
		prepare func(t *testing.T, w world)
		wantErr string
		other   bool // the error wraps ErrOtherAccount
	}{
		{"--id naming alice's account with bob's login", "account-1", nil, "bob@example.com, not account \"account-1\"", true},
		{"--id naming an unidentified account with a login stored as another account", "blank", func(t *testing.T, w world) {
			next, _ := w.fake.RotateOutOfBand(w.alice.RefreshToken)
			w.fake.RegisterProfile(next)
			w.claudeHas(t, next, 8*time.Hour)
		}, "stored as account \"account-1\", not \"blank\"", true},
		{"--id naming one account with tokens another one holds", "blank", func(t *testing.T, w world) {
			w.claudeHas(t, w.alice, time.Hour)
		}, "already stored as account \"account-1\", not \"blank\"", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := setup(t)
			if tc.prepare != nil {
				tc.prepare(t, w)
			}
			before, _ := os.ReadFile(w.path)
			calls := w.fake.TokenCalls()
			_, err := w.m.Import(context.Background(), credentials.ImportRequest{From: w.claude, ID: tc.id})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "nothing was written") {
				t.Fatalf("err = %v; want a refusal saying %q", err, tc.wantErr)
			}
			if errors.Is(err, credentials.ErrOtherAccount) != tc.other {
				t.Errorf("errors.Is(err, ErrOtherAccount) = %v, want %v", !tc.other, tc.other)
			}
			assertNoTokens(t, "the error", err.Error())
			if after, _ := os.ReadFile(w.path); string(after) != string(before) {
				t.Errorf("accounts.json changed on a refused import")
			}
			if n := w.fake.TokenCalls(); n != calls {
				t.Errorf("a refused import made %d token calls", n-calls)
			}
		})
	}
}

func TestImportWithIDUpdatesTheNamedAccountUnlessContradicted(t *testing.T) {
	t.Run("the same account, rotated", func(t *testing.T) {
		w := newImportWorld(t, true)
		p1 := w.fake.IssueTokens("alice@example.com")
		w.fake.RegisterProfile(p1)
		w.claudeHas(t, p1, time.Hour)
		w.importAs(t, "work")
		p2, _ := w.fake.RotateOutOfBand(p1.RefreshToken)
		w.fake.RegisterProfile(p2)
		w.claudeHas(t, p2, 8*time.Hour)
		res := w.importAs(t, "work")
		if res.Added || res.AccountID != "work" || res.Match != credentials.MatchID {
			t.Fatalf("import --id work = %+v", res)
		}
		if !same(w.storedRefresh(t, "work"), p2.RefreshToken) {
			t.Errorf("work does not hold the newest login")
		}
	})
	t.Run("an account nobody can identify, as the user says", func(t *testing.T) {
		w := newImportWorld(t, false)
		p1 := w.fake.IssueTokens("")
		w.claudeHas(t, p1, time.Hour)
		w.importAs(t, "mine")
		other := w.fake.IssueTokens("")
		w.claudeHas(t, other, 8*time.Hour)
		res := w.importAs(t, "mine")
		if res.Added || res.AccountID != "mine" || res.Match != credentials.MatchID || len(w.m.Accounts()) != 1 {
			t.Fatalf("import --id mine = %+v, %d accounts", res, len(w.m.Accounts()))
		}
	})
	t.Run("a new id for a login stored already updates the stored account and says the id was not used", func(t *testing.T) {
		w := newImportWorld(t, true)
		p1 := w.fake.IssueTokens("alice@example.com")
		w.fake.RegisterProfile(p1)
		w.claudeHas(t, p1, time.Hour)
		w.importAs(t, "")
		p2, _ := w.fake.RotateOutOfBand(p1.RefreshToken)
		w.fake.RegisterProfile(p2)
		w.claudeHas(t, p2, 8*time.Hour)
		res := w.importAs(t, "fresh-name")
		if res.Added || res.AccountID != "account-1" || !res.IDNotUsed || len(w.m.Accounts()) != 1 {
			t.Fatalf("import --id fresh-name = %+v", res)
		}
		if s := res.Summary(); !strings.Contains(s, "--id was not used") {
			t.Errorf("summary %q does not say --id was not used", s)
		}
	})
}

func TestImportKeepsTheOwnChainOfASignIn(t *testing.T) {
	w := newImportWorld(t, true)
	// cc-router's own sign-in of alice: a chain of its own.
	own := w.fake.IssueTokens("alice@example.com")
	if _, _, err := w.m.SaveLogin(credentials.LoginTokens{AccessToken: own.AccessToken, RefreshToken: own.RefreshToken,
		ExpiresAt: time.Now().Add(time.Hour), AccountUUID: own.AccountUUID, Email: own.Email}, "alice"); err != nil {
		t.Fatal(err)
	}
	w.fake.RegisterProfile(own)
	cc := w.fake.IssueTokens("alice@example.com") // Claude Code's login of alice
	w.fake.RegisterProfile(cc)                    // the profile names the same account
	w.claudeHas(t, cc, 8*time.Hour)
	before, _ := os.ReadFile(w.path)
	res := w.importAs(t, "")
	if !res.Kept || res.AccountID != "alice" || res.Added {
		t.Fatalf("import = %+v; want alice kept", res)
	}
	if after, _ := os.ReadFile(w.path); string(after) != string(before) {
		t.Errorf("accounts.json changed")
	}
	// Asked by name, the import replaces it.
	res = w.importAs(t, "alice")
	if res.Kept || res.Match != credentials.MatchID || !same(w.storedRefresh(t, "alice"), cc.RefreshToken) {
		t.Fatalf("import --id alice = %+v", res)
	}
}
