package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// configEnv points cc-router at an empty home with no router variables set.
func configEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("CC_ROUTER_HOME", home)
	for _, k := range []string{"CC_ROUTER_CONFIG", "PORT", "CC_ROUTER_LISTEN", "LITELLM_URL", "CC_ROUTER_UPSTREAM", "CC_ROUTER_PROXY_SECRET", "CC_ROUTER_STRATEGY"} {
		t.Setenv(k, "")
	}
	return home
}

func TestConfigPrintsTheEffectiveConfigurationWithoutTheSecret(t *testing.T) {
	home := configEnv(t)
	os.WriteFile(filepath.Join(home, "config.json"), []byte(`{"strategy":"round-robin","proxySecret":"very-secret-value","cooldown429":90}`), 0o600)
	t.Setenv("PORT", "4000")
	var out, errOut bytes.Buffer
	if code := run([]string{"config", "--upstream", "http://localhost:4000"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if strings.Contains(out.String(), "very-secret-value") {
		t.Fatalf("config printed the proxy secret:\n%s", out.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	want := map[string]any{
		"file": filepath.Join(home, "config.json"), "listen": "127.0.0.1:4000", "upstream": "http://localhost:4000",
		"strategy": "round-robin", "proxySecret": "(set, hidden)", "cooldown429": "1m30s", "cooldown529": "30s",
		"refreshBuffer": "10m0s", "bodyLimit": float64(32 << 20),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestConfigNamesAnUnknownKey(t *testing.T) {
	home := configEnv(t)
	os.WriteFile(filepath.Join(home, "config.json"), []byte(`{"strategy":"headroom","upstreem":"http://x"}`), 0o600)
	var out, errOut bytes.Buffer
	if code := run([]string{"config"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), `unknown key "upstreem"`) || !strings.Contains(errOut.String(), "config.json") {
		t.Errorf("the error does not name the key and the file: %s", errOut.String())
	}
}

func TestVersionPrintsTheVersionAndPlatform(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !regexp.MustCompile(`^cc-router \S+ \(go[0-9.]+\S*, [a-z0-9]+/[a-z0-9]+\)\n$`).MatchString(out.String()) {
		t.Errorf("version printed %q", out.String())
	}
}
