package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

const (
	tokA = "sk-ant-oat01-storeTestAccessAAAAAAAAAAAAAAAAAAAAAAAA"
	tokR = "sk-ant-ort01-storeTestRefreshRRRRRRRRRRRRRRRRRRRRRRRR"
)

func TestMalformedFilesAreReportedAndNeverTouched(t *testing.T) {
	rec := `{"id":"a","accessToken":"` + tokA + `","refreshToken":"` + tokR + `","expiresAt":1}`
	cases := []struct {
		name, body string
		pos        string // line:column
		msg        string
	}{
		{"an empty file", "", "1:1", "empty"},
		{"only whitespace", "  \n\n", "1:1", "empty"},
		{"an object instead of an array", "\n {\"id\":\"a\"}", "2:2", "must be a JSON array"},
		{"null at the top", "null", "1:1", "must be a JSON array"},
		{"a missing comma between records", "[\n" + rec + "\n" + rec + "\n]", "3:1", "invalid character"},
		{"a truncated file", "[\n" + rec[:40], "2:41", "unexpected end"},
		{"trailing garbage", "[" + rec + "]\nxyz", "2:1", ""},
		{"a record that is not an object", "[\n  42\n]", "2:3", "must be a JSON object"},
		{"duplicate ids", "[\n" + rec + ",\n" + strings.Replace(rec, tokA, tokA+"x", 1) + "\n]", "3:1", "duplicate account id"},
		{"a missing access token", "[\n{\"id\":\"a\",\"refreshToken\":\"r\",\"expiresAt\":1}]", "2:1", `missing "accessToken"`},
		{"a missing refresh token", "[\n{\"id\":\"a\",\"accessToken\":\"x\",\"expiresAt\":1}]", "2:1", `missing "refreshToken"`},
		{"an empty access token", "[{\"id\":\"a\",\"accessToken\":\"\",\"refreshToken\":\"r\"}]", "1:26", "empty accessToken"},
		{"a null refresh token", "[{\"id\":\"a\",\"accessToken\":\"x\",\"refreshToken\":null}]", "1:45", "must be a string"},
		{"a numeric id", "[\n  {\"id\": 7, \"accessToken\":\"x\",\"refreshToken\":\"r\"}]", "2:10", `"id" must be a string`},
		{"an empty id", "[{\"id\":\"  \",\"accessToken\":\"x\",\"refreshToken\":\"r\"}]", "1:8", "id is empty"},
		{"expiresAt as a string", "[{\"id\":\"a\",\"accessToken\":\"x\",\"refreshToken\":\"r\",\"expiresAt\":\"soon\"}]", "1:61", "must be a number"},
		{"enabled as a string", "[{\"id\":\"a\",\"accessToken\":\"x\",\"refreshToken\":\"r\",\"enabled\":\"yes\"}]", "1:59", "true or false"},
		{"an unknown state", "[{\"id\":\"a\",\"accessToken\":\"x\",\"refreshToken\":\"r\",\"state\":\"zombie\"}]", "1:57", "unknown account state"},
		{"a repeated key", "[{\"id\":\"a\",\"id\":\"b\",\"accessToken\":\"x\",\"refreshToken\":\"r\"}]", "1:12", "appears twice"},
		{"an id that is not UTF-8", "[{\"id\":\"\xff\",\"accessToken\":\"x\",\"refreshToken\":\"r\"}]", "1:8", "UTF-8"},
		{"a byte order mark", "\xef\xbb\xbf[]", "1:1", "invalid character"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeAccounts(t)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := credentials.NewManager(credentials.Config{Path: path, TokenURL: "http://127.0.0.1:1/never"})
			var fe *credentials.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("NewManager error = %v, want a FileError", err)
			}
			if want := path + ":" + tc.pos + ":"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			assertNoTokens(t, "the error", err.Error())
			got, _ := os.ReadFile(path)
			if string(got) != tc.body {
				t.Errorf("the file was changed")
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
				t.Errorf("the unparsable file's mode was changed to %v", fi.Mode().Perm())
			}
		})
	}
}

func TestFileBrokenWhileRunningIsNeverOverwritten(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Minute)))
	m := newManager(t, path, fake)
	broken := []byte(`[{"id":"acct", "accessToken": "` + pair.AccessToken[:20])
	if err := os.WriteFile(path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.SetEnabled("acct", false); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Errorf("SetEnabled on a broken file: %v", err)
	}
	if err := m.Refresh(context.Background(), "acct"); err == nil {
		t.Errorf("Refresh on a broken file succeeded")
	}
	if err := m.Reload(); err == nil {
		t.Errorf("Reload of a broken file succeeded")
	}
	if fake.TokenCalls() != 0 {
		t.Errorf("a refresh token was spent although the file could not be read")
	}
	if got, _ := os.ReadFile(path); string(got) != string(broken) {
		t.Errorf("the broken file was rewritten")
	}
	// The accounts in memory stay usable while the token is valid.
	if tok, err := m.AccessToken(context.Background(), "acct"); err != nil || !same(tok, pair.AccessToken) {
		t.Errorf("AccessToken = %s, %v; want the token in memory", red(tok), err)
	}
}

func TestRewritesKeepUnknownFieldsAndRecordsByteForByte(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	foreign := `{ "id": "gpt",  "provider": "openai",
      "apiKey": "sk-proj-keep-me", "weird": [1, 2.50, {"x": null}] }`
	odd := `{"deep": {"b": 1, "a": [true, "\u00e9"]}, "n": 1.0e3}`
	body := fmt.Sprintf(`[
  {
    "id": "acct",
    "nodeOnlyField": %s,
    "accessToken": %q,
    "refreshToken": %q,
    "expiresAt": %d,
    "scopes": ["user:inference"],
    "enabled": true,
    "sessionLimitPercent": 80,
    "weeklyLimitPercent": 90.5,
    "provider": "anthropic",
    "z-last": "kept"
  },
  %s
]`, odd, pair.AccessToken, pair.RefreshToken, time.Now().Add(time.Minute).UnixMilli(), foreign)
	path := writeAccounts(t)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, path, fake)
	if err := m.SetEnabled("acct", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AccessToken(context.Background(), "acct"); err != nil { // a refresh rewrites too
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{foreign, `"nodeOnlyField": ` + odd, `"z-last": "kept"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the rewritten file lost %q:\n%s", want, got)
		}
	}
	rec := storedByID(t, path, "acct")
	if rec["enabled"] != false || rec["sessionLimitPercent"] != 80.0 || rec["weeklyLimitPercent"] != 90.5 || rec["provider"] != "anthropic" {
		t.Errorf("the Node tool's fields changed: %v", rec)
	}
	if same(rec["refreshToken"].(string), pair.RefreshToken) {
		t.Errorf("the refresh was not saved")
	}
	// The foreign record is not one of our accounts.
	if list := m.Accounts(); len(list) != 1 || list[0].ID != "acct" || list[0].Enabled || list[0].SessionLimitPercent != 80 {
		t.Errorf("Accounts() = %+v", list)
	}
}

func TestPermissions(t *testing.T) {
	t.Run("a new file is 0600 in a 0700 directory", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		path := filepath.Join(t.TempDir(), "new-home", "accounts.json")
		m := newManager(t, path, fake)
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("NewManager created the file before there was anything to store")
		}
		pair := fake.IssueTokens("new@example.com")
		if _, _, err := m.SaveLogin(credentials.LoginTokens{AccessToken: pair.AccessToken, RefreshToken: pair.RefreshToken,
			ExpiresAt: time.Now().Add(time.Hour), AccountUUID: pair.AccountUUID, Email: pair.Email}, ""); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
		}
		di, _ := os.Stat(filepath.Dir(path))
		if di.Mode().Perm() != 0o700 {
			t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("a temp file was left behind: %s", e.Name())
			}
		}
	})
	t.Run("a 0644 file is tightened with a warning", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		path := writeAccounts(t, seedFrom("acct", fake.IssueTokens(""), time.Now().Add(time.Hour)))
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path)
		logs := &logBuffer{}
		if _, err := credentials.NewManager(credentials.Config{Path: path, Logger: slogTo(logs)}); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v after load, want 0600", fi.Mode().Perm())
		}
		if !strings.Contains(logs.String(), "tightened to 0600") || !strings.Contains(logs.String(), "0644") {
			t.Errorf("no warning that says what happened: %q", logs.String())
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("tightening changed the file's bytes")
		}
	})
}

func TestMissingFileIsTheEmptyState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nothing", "accounts.json")
	m, err := credentials.NewManager(credentials.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Accounts()); n != 0 {
		t.Errorf("%d accounts from a missing file", n)
	}
	if _, err := os.Stat(filepath.Dir(path)); err == nil {
		t.Errorf("merely loading created the directory")
	}
}

func TestDefaultAccountsPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	cases := []struct {
		name, ccHome, accountsPath, want string
	}{
		{"the default is the Node tool's file", "", "", filepath.Join(home, ".cc-router", "accounts.json")},
		{"CC_ROUTER_HOME moves the directory", "/srv/router", "", "/srv/router/accounts.json"},
		{"ACCOUNTS_PATH names the file itself", "/srv/router", "/etc/x/a.json", "/etc/x/a.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CC_ROUTER_HOME", tc.ccHome)
			t.Setenv("ACCOUNTS_PATH", tc.accountsPath)
			if got := credentials.DefaultAccountsPath(); got != tc.want {
				t.Errorf("DefaultAccountsPath() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHostileFileKinds(t *testing.T) {
	t.Run("a FIFO in the file's place is refused without blocking", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "accounts.json")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skipf("no FIFOs here: %v", err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := credentials.NewManager(credentials.Config{Path: path})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("err = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("NewManager blocked on a FIFO")
		}
	})
	t.Run("a directory in the file's place is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "accounts.json")
		os.Mkdir(path, 0o700)
		if _, err := credentials.NewManager(credentials.Config{Path: path}); err == nil {
			t.Errorf("a directory loaded as the accounts file")
		}
	})
	t.Run("a symlinked file is rewritten at its target", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		target := writeAccounts(t, seedFrom("acct", fake.IssueTokens(""), time.Now().Add(time.Hour)))
		link := filepath.Join(t.TempDir(), "accounts.json")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		m := newManager(t, link, fake)
		if err := m.SetEnabled("acct", false); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the symlink was replaced by a file")
		}
		if storedByID(t, target, "acct")["enabled"] != false {
			t.Errorf("the target was not updated")
		}
	})
}
