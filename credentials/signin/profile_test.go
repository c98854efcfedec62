package signin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func TestMissingEmailsAreLookedUpOnceAndNeverCauseARefresh(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	dir := t.TempDir()
	mgr, err := credentials.NewManager(credentials.Config{
		Path: filepath.Join(dir, "accounts.json"), TokenURL: fake.TokenURL(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Imported accounts: the store knows no email for any of them.
	imported := func(id, email string, expiresIn time.Duration) {
		t.Helper()
		pair := fake.IssueTokens(email)
		fake.RegisterProfile(pair)
		path := filepath.Join(dir, id+".json")
		body := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%d}}`,
			pair.AccessToken, pair.RefreshToken, time.Now().Add(expiresIn).UnixMilli())
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := mgr.Import(context.Background(), credentials.ImportRequest{From: path, ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	imported("fresh", "fresh@example.com", 8*time.Hour)
	imported("expiring", "expiring@example.com", 5*time.Minute)
	imported("off", "off@example.com", 8*time.Hour)
	if err := mgr.SetEnabled("off", false); err != nil {
		t.Fatal(err)
	}
	calls := fake.TokenCalls()

	filled, err := FillMissingEmails(context.Background(), mgr, nil, fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(filled) != 1 || filled[0] != (FilledEmail{AccountID: "fresh", Email: "fresh@example.com"}) {
		t.Errorf("filled = %+v, want only the enabled account whose token stays valid", filled)
	}
	if a, _ := mgr.Account("fresh"); a.Email != "fresh@example.com" {
		t.Errorf("stored email %q", a.Email)
	}
	if fake.TokenCalls() != calls {
		t.Errorf("the lookup refreshed a token (%d token calls, want %d)", fake.TokenCalls(), calls)
	}

	if filled, err := FillMissingEmails(context.Background(), mgr, nil, fake.URL); err != nil || len(filled) != 0 {
		t.Errorf("second pass filled %+v (%v), want nothing", filled, err)
	}
	if fake.ProfileLookups() != 1 {
		t.Errorf("%d profile lookups, want 1: a known email is not looked up again", fake.ProfileLookups())
	}
}
