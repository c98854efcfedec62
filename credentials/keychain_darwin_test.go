//go:build darwin

package credentials

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	kcAccess  = "sk-ant-oat01-keychainAccessAAAAAAAAAAAAAAAA"
	kcRefresh = "sk-ant-ort01-keychainRefreshBBBBBBBBBBBBBBBB"
)

// fakeSecurity installs a `security` program first on PATH (and as
// securityPath) that records its arguments NUL-separated and prints out, or
// exits with status code.
func fakeSecurity(t *testing.T, out string, code int) (argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	outFile := filepath.Join(dir, "out")
	if err := os.WriteFile(outFile, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > '" + argsFile + "'\n" +
		"cat '" + outFile + "'\nexit " + string(rune('0'+code/10)) + string(rune('0'+code%10)) + "\n"
	bin := filepath.Join(dir, "security")
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	old := securityPath
	securityPath = bin
	t.Cleanup(func() { securityPath = old })
	return argsFile
}

func readArgs(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

func TestKeychainArgumentsArePassedLiterally(t *testing.T) {
	login := `{"claudeAiOauth":{"accessToken":"` + kcAccess + `","refreshToken":"` + kcRefresh + `","expiresAt":1748658860000}}`
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, service := range []string{"Claude Code-credentials", "$(touch pwned)", "; rm -rf pwned", `"quoted" 'single'`, "two\nlines", "`touch pwned`"} {
		t.Run(service, func(t *testing.T) {
			args := fakeSecurity(t, login+"\n", 0)
			l, err := readKeychain(context.Background(), service)
			if err != nil {
				t.Fatal(err)
			}
			if l.AccessToken != kcAccess || l.RefreshToken != kcRefresh {
				t.Errorf("tokens not read from the item")
			}
			want := []string{"find-generic-password", "-a", loginUser(), "-s", service, "-w"}
			if got := readArgs(t, args); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Errorf("arguments %q, want %q", got, want)
			}
			if _, err := os.Stat(filepath.Join(cwd, "pwned")); err == nil {
				t.Errorf("a shell ran the value")
			}
		})
	}
}

func TestKeychainServiceFollowsClaudeConfigDir(t *testing.T) {
	t.Setenv("CLAUDE_CONFIG_DIR", "")
	if s := KeychainService(); s != "Claude Code-credentials" {
		t.Errorf("service %q", s)
	}
	t.Setenv("CLAUDE_CONFIG_DIR", "/Users/x/.claude-work")
	args := fakeSecurity(t, `{"accessToken":"`+kcAccess+`","refreshToken":"`+kcRefresh+`"}`, 0)
	m, err := NewManager(Config{Path: filepath.Join(t.TempDir(), "accounts.json")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Import(context.Background(), ImportRequest{})
	if err != nil || res.Source != SourceKeychain {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	got := readArgs(t, args)
	if len(got) != 6 || !strings.HasPrefix(got[4], "Claude Code-credentials-") || len(got[4]) != len("Claude Code-credentials-")+8 {
		t.Errorf("service argument %q", got)
	}
}

func TestKeychainMissingItemAndHexOutput(t *testing.T) {
	fakeSecurity(t, "", 44)
	if _, err := readKeychain(context.Background(), "Claude Code-credentials"); !errors.Is(err, ErrNoClaudeLogin) {
		t.Errorf("missing item: %v, want ErrNoClaudeLogin", err)
	}
	login := []byte(`{"accessToken":"` + kcAccess + `","refreshToken":"` + kcRefresh + `"}`)
	fakeSecurity(t, hex.EncodeToString(login)+"\n", 0)
	l, err := readKeychain(context.Background(), "Claude Code-credentials")
	if err != nil || l.RefreshToken != kcRefresh {
		t.Errorf("hex output: %v", err)
	}
	fakeSecurity(t, "", 1)
	_, err = readKeychain(context.Background(), "Claude Code-credentials")
	if err == nil || bytes.Contains([]byte(err.Error()), []byte(kcAccess)) {
		t.Errorf("failure: %v", err)
	}
}
