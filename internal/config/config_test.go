package config

import (
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	setHome(t, dir)
	return path
}

// setHome makes dir cc-router's home and clears every variable Load reads.
func setHome(t *testing.T, dir string) {
	t.Helper()
	t.Setenv("CC_ROUTER_HOME", dir)
	for _, k := range []string{"CC_ROUTER_CONFIG", "PORT", "CC_ROUTER_LISTEN", "LITELLM_URL", "CC_ROUTER_UPSTREAM", "CC_ROUTER_PROXY_SECRET", "CC_ROUTER_STRATEGY", "CC_ROUTER_REFRESH_BUFFER", "CC_ROUTER_COOLDOWN_429", "CC_ROUTER_COOLDOWN_529", "CC_ROUTER_BODY_LIMIT"} {
		t.Setenv(k, "")
	}
}

func TestFlagsOverrideEnvironmentWhichOverridesTheFile(t *testing.T) {
	writeConfig(t, `{"listen":"127.0.0.1:1111","upstream":"http://file:1","strategy":"round-robin","refreshBuffer":"5m","proxySecret":"from-file"}`)
	t.Setenv("CC_ROUTER_UPSTREAM", "http://env:2")
	t.Setenv("CC_ROUTER_LISTEN", "127.0.0.1:2222")

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:3333"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"listen (flag)":   {c.Listen, "127.0.0.1:3333"},
		"upstream (env)":  {c.Upstream, "http://env:2"},
		"strategy (file)": {c.Strategy, "round-robin"},
		"secret (file)":   {c.ProxySecret, "from-file"},
	}
	for name, got := range want {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}
	if time.Duration(c.RefreshBuffer) != 5*time.Minute {
		t.Errorf("refreshBuffer = %v, want 5m", c.RefreshBuffer)
	}
	if time.Duration(c.Cooldown429) != time.Minute {
		t.Errorf("cooldown429 default = %v, want 1m", c.Cooldown429)
	}
}

func TestSecretFileFlagReplacesTheFileSecret(t *testing.T) {
	writeConfig(t, `{"proxySecret":"from-file"}`)
	sf := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(sf, []byte("from-flag\n"), 0o600)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := RegisterFlags(fs)
	fs.Parse([]string{"--secret-file", sf})
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProxySecret != "from-flag" {
		t.Fatalf("secret did not come from --secret-file")
	}
	if c.Redacted().ProxySecret == "from-flag" {
		t.Fatal("Redacted kept the secret")
	}
}

func TestPortEnvironmentKeepsTheHost(t *testing.T) {
	writeConfig(t, `{"listen":"0.0.0.0:1"}`)
	t.Setenv("PORT", "4000")
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:4000" {
		t.Fatalf("listen = %q, want 0.0.0.0:4000", c.Listen)
	}
}

func TestBadFilesAreErrorsThatNameWhatAndWhere(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"an unknown key is named", `{"listen":"127.0.0.1:1","lissten":"x"}`, []string{"config.json", `unknown key "lissten"`}},
		{"a syntax error gives line and column", "{\n  \"listen\": \"127.0.0.1:1\",\n  oops\n}", []string{"config.json", "line 3, column 3"}},
		{"a wrong type names the key", `{"bodyLimit":"big"}`, []string{`key "bodyLimit"`}},
		{"a bad duration names the key", `{"refreshBuffer":"soon"}`, []string{`key "refreshBuffer"`, "soon"}},
		{"a non-object top level is refused", `[1,2]`, []string{"must be a JSON object"}},
		{"a bad strategy is refused", `{"strategy":"random"}`, []string{`strategy "random"`}},
		{"a zero cooldown is refused", `{"cooldown529":0}`, []string{"cooldown529 0s", "positive"}},
		{"a negative refresh buffer is refused", `{"refreshBuffer":"-5m"}`, []string{"refreshBuffer -5m0s", "positive"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			before, _ := os.ReadFile(path)
			_, err := Load(nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("the file was modified")
			}
		})
	}
}

func TestAMissingFileIsTheDefaults(t *testing.T) {
	setHome(t, t.TempDir())
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c != Defaults() {
		t.Fatalf("got %+v, want defaults", c)
	}
	if host, _, _ := net.SplitHostPort(c.Listen); host != "127.0.0.1" {
		t.Fatalf("the default listen address %s is not loopback", c.Listen)
	}
}

func TestClientURLReachesTheUnspecifiedAddressOnLoopback(t *testing.T) {
	cases := map[string]string{
		"0.0.0.0:3456":   "http://127.0.0.1:3456",
		"[::]:1":         "http://127.0.0.1:1",
		":3456":          "http://127.0.0.1:3456",
		"127.0.0.1:9":    "http://127.0.0.1:9",
		"[::1]:9":        "http://[::1]:9",
		"10.0.0.5:3456":  "http://10.0.0.5:3456",
		"localhost:3456": "http://localhost:3456",
	}
	for in, want := range cases {
		if got := ClientURL(in); got != want {
			t.Errorf("ClientURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTheNodeToolsKeysAreUnderstood(t *testing.T) {
	writeConfig(t, `{"port":4000,"litellmUrl":"http://localhost:4000","mode":"full"}`)
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:4000" || c.Upstream != "http://localhost:4000" {
		t.Errorf("listen %q upstream %q, want 127.0.0.1:4000 and http://localhost:4000", c.Listen, c.Upstream)
	}
}

func TestTuningSettingsFollowTheSamePrecedence(t *testing.T) {
	writeConfig(t, `{"refreshBuffer":"20m","cooldown429":"2m","cooldown529":"40s","bodyLimit":1000}`)
	t.Setenv("CC_ROUTER_COOLDOWN_429", "3m")
	t.Setenv("CC_ROUTER_BODY_LIMIT", "2000")
	t.Setenv("CC_ROUTER_COOLDOWN_529", "")
	t.Setenv("CC_ROUTER_REFRESH_BUFFER", "")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := RegisterFlags(fs)
	if err := fs.Parse([]string{"--body-limit", "3000", "--cooldown-529", "50s"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.RefreshBuffer) != 20*time.Minute {
		t.Errorf("refreshBuffer (file) = %v", c.RefreshBuffer)
	}
	if time.Duration(c.Cooldown429) != 3*time.Minute {
		t.Errorf("cooldown429 (env) = %v", c.Cooldown429)
	}
	if time.Duration(c.Cooldown529) != 50*time.Second {
		t.Errorf("cooldown529 (flag) = %v", c.Cooldown529)
	}
	if c.BodyLimit != 3000 {
		t.Errorf("bodyLimit (flag over env) = %d", c.BodyLimit)
	}
}

func TestABadTuningEnvironmentVariableIsNamed(t *testing.T) {
	writeConfig(t, `{}`)
	t.Setenv("CC_ROUTER_REFRESH_BUFFER", "soon")
	if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), "CC_ROUTER_REFRESH_BUFFER") {
		t.Fatalf("err = %v", err)
	}
}

func TestTheUpstreamTimeoutsDefaultAndFollowTheSamePrecedence(t *testing.T) {
	d := Defaults()
	if time.Duration(d.DialTimeout) != 10*time.Second || time.Duration(d.TLSTimeout) != 10*time.Second ||
		time.Duration(d.HeaderTimeout) != 10*time.Minute {
		t.Errorf("defaults %v %v %v, want 10s 10s 10m", d.DialTimeout, d.TLSTimeout, d.HeaderTimeout)
	}
	writeConfig(t, `{"dialTimeout":"3s","tlsTimeout":"4s","headerTimeout":"5m"}`)
	t.Setenv("CC_ROUTER_TLS_TIMEOUT", "6s")
	t.Setenv("CC_ROUTER_HEADER_TIMEOUT", "7m")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := RegisterFlags(fs)
	if err := fs.Parse([]string{"--header-timeout", "8m"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.DialTimeout) != 3*time.Second || time.Duration(c.TLSTimeout) != 6*time.Second ||
		time.Duration(c.HeaderTimeout) != 8*time.Minute {
		t.Errorf("dial %v (file), tls %v (env), header %v (flag); want 3s 6s 8m", c.DialTimeout, c.TLSTimeout, c.HeaderTimeout)
	}
	writeConfig(t, `{"headerTimeout":0}`)
	if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), "headerTimeout") {
		t.Errorf("a zero headerTimeout: err = %v, want one naming the key", err)
	}
}
