package credentials_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// loginOf turns tokens the fake issued into a sign-in's result.
func loginOf(p fakeanthropic.TokenPair) credentials.LoginTokens {
	return credentials.LoginTokens{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
		ExpiresAt: time.Now().Add(8 * time.Hour), AccountUUID: p.AccountUUID, Email: p.Email,
		OrgUUID: "org-" + p.AccountUUID, OrgName: p.Email + "'s Organization"}
}

func TestReplaceLoginKeepsTheIDAndSettingsOfAnAccountThatKnowsNoIdentity(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	old := fake.IssueTokens("")
	limit := 40.0
	rec := seedFrom("imported", old, time.Now().Add(time.Hour))
	rec.Source = credentials.SourceClaudeCode
	path := writeAccounts(t, struct {
		seedAccount
		Enabled             bool     `json:"enabled"`
		SessionLimitPercent *float64 `json:"sessionLimitPercent"`
		State               string   `json:"state"`
		Extra               string   `json:"someOtherToolsField"`
	}{rec, false, &limit, "needs_login", "kept"})
	m := newManager(t, path, fake)
	events, stop := m.Subscribe()
	defer stop()

	signedIn := fake.IssueTokens("carol@example.com")
	info, err := m.ReplaceLogin("imported", loginOf(signedIn))
	if err != nil {
		t.Fatalf("ReplaceLogin: %v", err)
	}
	// The proxy lifts a bench for a rejected token on new tokens.
	if e := waitEvent(t, events, credentials.EventRefreshed); e.AccountID != "imported" {
		t.Errorf("new-tokens event for %q, want imported", e.AccountID)
	}
	if info.ID != "imported" || info.Enabled || info.SessionLimitPercent != 40 || info.State != credentials.StateOK ||
		info.Source != credentials.SourceLogin || info.Email != "carol@example.com" || len(m.Accounts()) != 1 {
		t.Errorf("after ReplaceLogin: %+v (%d accounts); want imported, disabled, cap 40, ok, login, carol", info, len(m.Accounts()))
	}
	r := storedByID(t, path, "imported")
	if !same(r["refreshToken"].(string), signedIn.RefreshToken) || r["accountUuid"] != signedIn.AccountUUID ||
		r["organizationUuid"] != "org-"+signedIn.AccountUUID || r["someOtherToolsField"] != "kept" {
		t.Errorf("stored record: uuid %v, org %v, other field %v; want the sign-in's tokens, uuid and organization, and the unknown field kept",
			r["accountUuid"], r["organizationUuid"], r["someOtherToolsField"])
	}
	if tok, err := m.AccessToken(context.Background(), "imported"); err != nil || !same(tok, signedIn.AccessToken) {
		t.Errorf("AccessToken after ReplaceLogin: %s, %v", red(tok), err)
	}
}

func TestReplaceLoginRefusesAnotherAccountAndWritesNothing(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	bob := fake.IssueTokens("bob@example.com")
	carol := fake.IssueTokens("carol@example.com")
	tests := []struct {
		name   string
		target string
		login  credentials.LoginTokens
		want   error
	}{
		{name: "a sign-in with another uuid than the stored one is refused", target: "bob",
			login: loginOf(carol), want: credentials.ErrOtherAccount},
		{name: "a sign-in with another email is refused when a uuid is missing", target: "bob-no-uuid",
			login: func() credentials.LoginTokens { l := loginOf(carol); l.AccountUUID = ""; return l }(), want: credentials.ErrOtherAccount},
		{name: "a sign-in whose uuid is stored under another id is refused", target: "blank",
			login: loginOf(bob), want: credentials.ErrOtherAccount},
		{name: "an id the store does not hold is refused", target: "nobody",
			login: loginOf(carol), want: credentials.ErrUnknownAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type identified struct {
				seedAccount
				Email string `json:"email,omitempty"`
				UUID  string `json:"accountUuid,omitempty"`
			}
			exp := time.Now().Add(time.Hour)
			path := writeAccounts(t,
				identified{seedFrom("bob", fake.IssueTokens(""), exp), bob.Email, bob.AccountUUID},
				identified{seedFrom("bob-no-uuid", fake.IssueTokens(""), exp), bob.Email, ""},
				identified{seedFrom("blank", fake.IssueTokens(""), exp), "", ""})
			before, _ := os.ReadFile(path)
			m := newManager(t, path, fake)
			_, err := m.ReplaceLogin(tt.target, tt.login)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReplaceLogin(%s) = %v, want %v", tt.target, err, tt.want)
			}
			assertNoTokens(t, "the error", err.Error())
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Errorf("accounts.json changed after a refused ReplaceLogin")
			}
		})
	}
}
