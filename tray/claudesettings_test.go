package tray

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newClaudeSettings(t *testing.T, content string) ClaudeSettings {
	t.Helper()
	dir := t.TempDir()
	c := ClaudeSettings{Path: filepath.Join(dir, "claude", "settings.json"), StatePath: filepath.Join(dir, "cc-router", "claude-settings.json")}
	if content != "" {
		if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.Path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func envOf(t *testing.T, doc string) map[string]any {
	t.Helper()
	var v struct{ Env map[string]any }
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, doc)
	}
	return v.Env
}

func TestConfigureClaudeRoundTrips(t *testing.T) {
	tests := []struct {
		name    string
		before  string
		wantOut string // exact file after Configure, "" to skip
	}{
		{
			name:    "oddly formatted settings with unrelated keys keep every other byte",
			before:  "{\n\t\"model\" :\"opus\",   \"permissions\": {\"allow\":[\"Bash(ls:*)\" ]},\n\t\"n\": 1.50e2 ,\"uni\":\"\\u00e9\"\n}\n",
			wantOut: "{\n\t\"model\" :\"opus\",   \"permissions\": {\"allow\":[\"Bash(ls:*)\" ]},\n\t\"n\": 1.50e2 ,\"uni\":\"\\u00e9\", \"env\": {\"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:3456\", \"ANTHROPIC_AUTH_TOKEN\": \"cc-router\"}\n}\n",
		},
		{
			name:    "an indented file gets an env block in the same style",
			before:  "{\n  \"model\": \"opus\",\n  \"hooks\": {}\n}\n",
			wantOut: "{\n  \"model\": \"opus\",\n  \"hooks\": {},\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:3456\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"cc-router\"\n  }\n}\n",
		},
		{
			name:    "an existing env keeps its other variables and gets ours appended",
			before:  "{\n    \"env\": {\n        \"DISABLE_TELEMETRY\": \"1\"\n    },\n    \"theme\": \"dark\"\n}",
			wantOut: "{\n    \"env\": {\n        \"DISABLE_TELEMETRY\": \"1\",\n        \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:3456\",\n        \"ANTHROPIC_AUTH_TOKEN\": \"cc-router\"\n    },\n    \"theme\": \"dark\"\n}",
		},
		{
			name:    "values set by hand before are replaced in place and restored on revert",
			before:  "{\"env\":{\"ANTHROPIC_BASE_URL\":\"https://gateway.example\",\"X\":\"y\"},\"a\":[1,2]}",
			wantOut: "{\"env\":{\"ANTHROPIC_BASE_URL\":\"http://127.0.0.1:3456\",\"X\":\"y\", \"ANTHROPIC_AUTH_TOKEN\": \"cc-router\"},\"a\":[1,2]}",
		},
		{
			name:    "an empty object gains an indented env",
			before:  "{}",
			wantOut: "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:3456\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"cc-router\"\n  }\n}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClaudeSettings(t, tt.before)
			res, err := c.Configure("http://127.0.0.1:3456", PlaceholderToken)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Changed || res.Backup == "" {
				t.Errorf("result %+v, want a change with a backup", res)
			}
			if got := readFile(t, res.Backup); got != tt.before {
				t.Errorf("backup = %q, want the previous file", got)
			}
			after := readFile(t, c.Path)
			if tt.wantOut != "" && after != tt.wantOut {
				t.Errorf("after configure:\n%s\nwant:\n%s", after, tt.wantOut)
			}
			env := envOf(t, after)
			if env[EnvBaseURL] != "http://127.0.0.1:3456" || env[EnvAuthToken] != PlaceholderToken {
				t.Errorf("env = %v", env)
			}
			var beforeDoc, afterDoc map[string]any
			json.Unmarshal([]byte(tt.before), &beforeDoc)
			json.Unmarshal([]byte(after), &afterDoc)
			for k, v := range beforeDoc {
				if k == "env" {
					continue
				}
				if b1, _ := json.Marshal(v); string(b1) != string(mustJSON(afterDoc[k])) {
					t.Errorf("key %q changed: %s -> %s", k, b1, mustJSON(afterDoc[k]))
				}
			}
			if !c.Configured("http://127.0.0.1:3456") {
				t.Error("Configured is false after Configure")
			}
			if st, _ := os.Stat(c.Path); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want the file's own 0640", st.Mode().Perm())
			}

			again, err := c.Configure("http://127.0.0.1:3456", PlaceholderToken)
			if err != nil || again.Changed {
				t.Errorf("second configure: %+v, %v; want no change", again, err)
			}

			rev, err := c.Revert()
			if err != nil {
				t.Fatal(err)
			}
			if !rev.Changed || len(rev.Kept) != 0 {
				t.Errorf("revert result %+v", rev)
			}
			if got := readFile(t, c.Path); got != tt.before {
				t.Errorf("after revert:\n%q\nwant the original:\n%q", got, tt.before)
			}
			if _, err := os.Stat(c.StatePath); !os.IsNotExist(err) {
				t.Errorf("the record of the edit outlived the revert: %v", err)
			}
			if rev2, err := c.Revert(); err != nil || rev2.Changed {
				t.Errorf("second revert: %+v, %v; want nothing to do", rev2, err)
			}
		})
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestConfigureClaudeRejectsMalformedSettings(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		wantLine int
		wantCol  int
	}{
		{"a trailing comma is reported where the next key was due", "{\n  \"model\": \"opus\",\n}\n", 3, 1},
		{"a top-level array is not settings", "[1, 2]", 1, 1},
		{"an env that is not an object is left for the user", "{\"env\": \"x\"}", 1, 9},
		{"an empty file is reported", "", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClaudeSettings(t, "x")
			os.WriteFile(c.Path, []byte(tt.content), 0o640)
			_, err := c.Configure("http://127.0.0.1:3456", PlaceholderToken)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a *SyntaxError", err)
			}
			if se.Path != c.Path || se.Line != tt.wantLine || se.Column != tt.wantCol {
				t.Errorf("error at %s:%d:%d, want %s:%d:%d (%v)", se.Path, se.Line, se.Column, c.Path, tt.wantLine, tt.wantCol, err)
			}
			if !strings.Contains(err.Error(), c.Path) {
				t.Errorf("error %q does not name the file", err)
			}
			if got := readFile(t, c.Path); got != tt.content {
				t.Errorf("malformed file was changed to %q", got)
			}
			if _, err := os.Stat(c.BackupPath()); !os.IsNotExist(err) {
				t.Error("a backup was written for a file that was not changed")
			}
		})
	}
}

func TestConfigureClaudeCreatesAndRevertRemovesAMissingFile(t *testing.T) {
	c := newClaudeSettings(t, "")
	if _, err := c.Configure("http://127.0.0.1:3456", "s3cret-proxy"); err != nil {
		t.Fatal(err)
	}
	if env := envOf(t, readFile(t, c.Path)); env[EnvAuthToken] != "s3cret-proxy" {
		t.Errorf("token = %v, want the proxy secret", env[EnvAuthToken])
	}
	if st, _ := os.Stat(c.Path); st.Mode().Perm() != 0o600 {
		t.Errorf("a new settings file holding a secret has mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := c.Revert(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Path); !os.IsNotExist(err) {
		t.Errorf("revert left the file it had created: %v", err)
	}
}

func TestRevertClaudeKeepsValuesChangedByHand(t *testing.T) {
	c := newClaudeSettings(t, "{\"a\": 1}")
	if _, err := c.Configure("http://127.0.0.1:3456", PlaceholderToken); err != nil {
		t.Fatal(err)
	}
	// The user points Claude Code elsewhere and adds a key by hand.
	doc := strings.Replace(readFile(t, c.Path), "http://127.0.0.1:3456", "http://10.0.0.9:4000", 1)
	doc = strings.Replace(doc, "{\"a\": 1", "{\"a\": 1, \"b\": true", 1)
	os.WriteFile(c.Path, []byte(doc), 0o640)

	res, err := c.Revert()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kept) != 1 || res.Kept[0] != EnvBaseURL {
		t.Errorf("kept %v, want only %s", res.Kept, EnvBaseURL)
	}
	after := readFile(t, c.Path)
	env := envOf(t, after)
	if env[EnvBaseURL] != "http://10.0.0.9:4000" {
		t.Errorf("the hand-set base URL was not kept: %v", env)
	}
	if _, ok := env[EnvAuthToken]; ok {
		t.Errorf("the token cc-router wrote was not removed: %v", env)
	}
	if !strings.Contains(after, "\"b\": true") {
		t.Errorf("the hand-added key was lost: %s", after)
	}
}

func TestASymlinkedSettingsFileIsEditedAtItsTarget(t *testing.T) {
	orig := "{\n  \"model\": \"opus\"\n}\n"
	c := newClaudeSettings(t, "")
	dotfiles := filepath.Join(t.TempDir(), "dotfiles", "claude-settings.json")
	os.MkdirAll(filepath.Dir(dotfiles), 0o755)
	os.MkdirAll(filepath.Dir(c.Path), 0o755)
	if err := os.WriteFile(dotfiles, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dotfiles, c.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Configure("http://127.0.0.1:3456", PlaceholderToken); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(c.Path); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("settings.json is no longer a symlink (%v)", err)
	}
	if env := envOf(t, readFile(t, dotfiles)); env[EnvBaseURL] != "http://127.0.0.1:3456" {
		t.Errorf("the link's target was not edited:\n%s", readFile(t, dotfiles))
	}
	if _, err := c.Revert(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dotfiles); got != orig {
		t.Errorf("after Revert the target holds:\n%q\nwant:\n%q", got, orig)
	}
	if st, err := os.Lstat(c.Path); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("Revert replaced the symlink (%v)", err)
	}
}
