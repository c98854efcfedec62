package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigureClaudeCommandWritesAndReverts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CC_ROUTER_HOME", filepath.Join(dir, "router"))
	t.Setenv("CC_ROUTER_PROXY_SECRET", "proxy-secret-value")
	t.Setenv("CC_ROUTER_LISTEN", "127.0.0.1:4567")
	settings := filepath.Join(dir, "settings.json")
	orig := "{ \"permissions\" : { \"deny\": [] },\n\"model\":\"sonnet\" }\n"
	os.WriteFile(settings, []byte(orig), 0o644)

	var out, errb bytes.Buffer
	if code := run([]string{"configure-claude", "--settings", settings}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got, _ := os.ReadFile(settings)
	if !strings.Contains(string(got), `"ANTHROPIC_BASE_URL": "http://127.0.0.1:4567"`) || !strings.Contains(string(got), `"ANTHROPIC_AUTH_TOKEN": "proxy-secret-value"`) {
		t.Errorf("settings after configure:\n%s", got)
	}
	if strings.Contains(out.String(), "proxy-secret-value") {
		t.Errorf("the secret was printed: %s", out.String())
	}

	out.Reset()
	if code := run([]string{"configure-claude", "--revert", "--settings", settings}, &out, &errb); code != 0 {
		t.Fatalf("revert exit %d: %s", code, errb.String())
	}
	if got, _ := os.ReadFile(settings); string(got) != orig {
		t.Errorf("after --revert:\n%q\nwant:\n%q", got, orig)
	}
}

func TestConfigureClaudeCommandReportsMalformedFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CC_ROUTER_HOME", dir)
	settings := filepath.Join(dir, "settings.json")
	bad := "{\n  \"a\": 1\n  \"b\": 2\n}\n"
	os.WriteFile(settings, []byte(bad), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"configure-claude", "--settings", settings}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), settings+":3:3:") {
		t.Errorf("error %q does not give the file and position %s:3:3", errb.String(), settings)
	}
	if got, _ := os.ReadFile(settings); string(got) != bad {
		t.Error("the malformed file was changed")
	}
}
