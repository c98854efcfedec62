package credentials_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

const (
	goodAccess  = "sk-ant-oat01-parserTestAccessAAAAAAAAAAAA"
	goodRefresh = "sk-ant-ort01-parserTestRefreshBBBBBBBBBBB"
)

func TestParseClaudeCredentials(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pair := `"accessToken":"` + goodAccess + `","refreshToken":"` + goodRefresh + `"`
	cases := []struct {
		name, body string
		wantExp    time.Time
		wantErr    string
	}{
		{"the wrapped shape with milliseconds", `{"claudeAiOauth":{` + pair + `,"expiresAt":1767323045000,"scopes":["user:inference"]}}`, exp, ""},
		{"the bare shape with an ISO time", `{` + pair + `,"expiresAt":"2026-01-02T03:04:05Z"}`, exp, ""},
		{"an ISO time with a fraction and offset", `{` + pair + `,"expiresAt":"2026-01-02T04:04:05.000+01:00"}`, exp, ""},
		{"milliseconds as a string", `{` + pair + `,"expiresAt":"1767323045000"}`, exp, ""},
		{"seconds instead of milliseconds", `{` + pair + `,"expiresAt":1767323045}`, exp, ""},
		{"no expiry at all", `{` + pair + `}`, time.Time{}, ""},
		{"an API key", `{"accessToken":"sk-ant-api03-aaaaaaaaaaaaaaaaaaaa","refreshToken":"` + goodRefresh + `"}`, time.Time{}, "API key"},
		{"tokens swapped", `{"accessToken":"` + goodRefresh + `","refreshToken":"` + goodAccess + `"}`, time.Time{}, "want sk-ant-oat"},
		{"a token with a newline", `{"accessToken":"sk-ant-oat01-abc\ndefghijkl","refreshToken":"` + goodRefresh + `"}`, time.Time{}, "character"},
		{"a token with a quote", `{"accessToken":"sk-ant-oat01-abc\"defghijkl","refreshToken":"` + goodRefresh + `"}`, time.Time{}, "character"},
		{"a missing refresh token", `{"claudeAiOauth":{"accessToken":"` + goodAccess + `"}}`, time.Time{}, "claudeAiOauth.refreshToken is missing"},
		{"a nonsense expiry", `{` + pair + `,"expiresAt":"next tuesday"}`, time.Time{}, "ISO-8601"},
		{"claudeAiOauth that is not an object", `{"claudeAiOauth":"x"}`, time.Time{}, "must be a JSON object"},
		{"an array", `[]`, time.Time{}, "expected a JSON object"},
		{"trailing data", `{` + pair + `} {}`, time.Time{}, "after the JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := credentials.ParseClaudeCredentials("creds.json", []byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "creds.json:") {
					t.Errorf("error %q does not name the file", err)
				}
				assertNoTokens(t, "the error", err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.AccessToken != goodAccess || l.RefreshToken != goodRefresh || !l.ExpiresAt.Equal(tc.wantExp) {
				t.Errorf("parsed %s %s %v, want expiry %v", red(l.AccessToken), red(l.RefreshToken), l.ExpiresAt, tc.wantExp)
			}
		})
	}
}

func TestClaudeCodeSourceFollowsClaudeConfigDirLiterally(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	for _, name := range []string{`$(touch pwned)`, "; rm -rf pwned", `"q" 'q'`, "new\nline", "..", "-rf"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			t.Setenv("CLAUDE_CONFIG_DIR", dir)
			t.Chdir(t.TempDir())
			pair := fake.IssueTokens("")
			writeClaudeLogin(t, filepath.Join(dir, ".credentials.json"), pair, time.Now().Add(time.Hour), false)
			m := newManager(t, writeAccounts(t), fake)
			res, err := m.Import(context.Background(), credentials.ImportRequest{From: credentials.SourceClaudeCode})
			if err != nil || !res.Added {
				t.Fatalf("Import = %+v, %v", res, err)
			}
			if _, err := os.Stat("pwned"); err == nil {
				t.Errorf("a shell ran the value")
			}
			sum := sha256.Sum256([]byte(dir))
			if want := "Claude Code-credentials-" + hex.EncodeToString(sum[:])[:8]; credentials.KeychainService() != want {
				t.Errorf("KeychainService() = %q, want %q", credentials.KeychainService(), want)
			}
		})
	}
}

func TestKeychainIsRefusedOutsideMacOS(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("macOS has a Keychain; keychain_darwin_test.go covers it")
	}
	fake := fakeanthropic.New()
	defer fake.Close()
	m := newManager(t, writeAccounts(t), fake)
	_, err := m.Import(context.Background(), credentials.ImportRequest{From: "keychain"})
	if err == nil || !strings.Contains(err.Error(), "only") && !strings.Contains(err.Error(), "not available") {
		t.Errorf("err = %v, want one saying the Keychain is not available", err)
	}
}

func TestImportOfAMissingLoginSaysSo(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	t.Setenv("CLAUDE_CONFIG_DIR", t.TempDir())
	path := writeAccounts(t)
	m := newManager(t, path, fake)
	_, err := m.Import(context.Background(), credentials.ImportRequest{From: credentials.SourceClaudeCode})
	if !errors.Is(err, credentials.ErrNoClaudeLogin) {
		t.Errorf("err = %v, want ErrNoClaudeLogin", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "[]" {
		t.Errorf("the store changed after a failed import: %q", got)
	}
}
