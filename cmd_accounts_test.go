package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

const (
	testAccess  = "sk-ant-oat01-cliTestAccessTokenAAAAAAAAAAAAAAAAAAAA"
	testRefresh = "sk-ant-ort01-cliTestRefreshTokenBBBBBBBBBBBBBBBBBBBB"
)

// cliWorld is a home for the accounts file and a Claude Code config dir.
type cliWorld struct {
	dir      string
	accounts string
	claude   string // Claude Code's credentials file
	fake     *fakeanthropic.Server
}

func newCLIWorld(t *testing.T) *cliWorld {
	t.Helper()
	dir := t.TempDir()
	w := &cliWorld{dir: dir, accounts: filepath.Join(dir, "router", "accounts.json"),
		claude: filepath.Join(dir, "claude", ".credentials.json")}
	t.Setenv("CC_ROUTER_HOME", filepath.Join(dir, "router"))
	t.Setenv("ACCOUNTS_PATH", "")
	t.Setenv("CLAUDE_CONFIG_DIR", filepath.Join(dir, "claude"))
	t.Chdir(dir) // anything a shell might create would land here
	// import looks up the login's account (and may try a stored refresh
	// token): only ever at the fake.
	w.fake = fakeanthropic.New()
	t.Cleanup(w.fake.Close)
	t.Setenv("CC_ROUTER_TOKEN_URL", w.fake.TokenURL())
	t.Setenv("CC_ROUTER_API_URL", w.fake.URL)
	return w
}

func (w *cliWorld) writeClaude(t *testing.T, path, access, refresh string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"claudeAiOauth":{"accessToken":"` + access + `","refreshToken":"` + refresh +
		`","expiresAt":4102444800000,"scopes":["user:inference","user:profile"],"subscriptionType":"max"}}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, testAccess) || strings.Contains(s, testRefresh) || strings.Contains(s, "BBBBBBBBBBBB") {
			t.Errorf("cc-router %s printed a token", strings.Join(args, " "))
		}
	}
	return code, out.String(), errb.String()
}

func TestImportThenListThenRemove(t *testing.T) {
	w := newCLIWorld(t)
	if code, out, _ := runCLI(t, "accounts"); code != 0 || !strings.Contains(out, "no accounts yet") {
		t.Fatalf("empty accounts: exit %d, %q", code, out)
	}
	w.writeClaude(t, w.claude, testAccess, testRefresh)
	code, out, errs := runCLI(t, "import")
	if code != 0 || !strings.Contains(out, "added account account-1 from claude-code") {
		t.Fatalf("import: exit %d, %q %q", code, out, errs)
	}
	// The same login again updates instead of duplicating.
	if code, out, _ := runCLI(t, "import"); code != 0 || !strings.Contains(out, "updated account account-1") {
		t.Fatalf("second import: exit %d, %q", code, out)
	}
	fi, err := os.Stat(w.accounts)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("accounts.json mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(w.accounts)); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", di.Mode().Perm())
	}

	code, out, _ = runCLI(t, "accounts")
	if code != 0 || !strings.Contains(out, "account-1") || !strings.Contains(out, "claude-code") || !strings.Contains(out, "expires in") {
		t.Fatalf("accounts: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "accounts", "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 {
		t.Fatalf("accounts --json: exit %d\n%s", code, out)
	}
	if list[0]["id"] != "account-1" || list[0]["state"] != "ok" || list[0]["source"] != "claude-code" || list[0]["expiresInSeconds"].(float64) <= 0 {
		t.Errorf("accounts --json entry = %v", list[0])
	}

	if code, _, errs := runCLI(t, "accounts", "disable", "account-1"); code != 0 {
		t.Fatalf("disable: %s", errs)
	}
	if _, out, _ := runCLI(t, "accounts"); !strings.Contains(out, "disabled") {
		t.Errorf("a disabled account is not shown as such:\n%s", out)
	}
	if code, _, errs := runCLI(t, "accounts", "remove", "account-1"); code != 0 {
		t.Fatalf("remove: %s", errs)
	}
	if code, _, errs := runCLI(t, "accounts", "remove", "account-1"); code != 1 || !strings.Contains(errs, "unknown account") {
		t.Errorf("removing it again: exit %d, %q", code, errs)
	}
	if _, out, _ := runCLI(t, "accounts"); !strings.Contains(out, "no accounts yet") {
		t.Errorf("after remove:\n%s", out)
	}
}

func TestImportTakesHostileValuesLiterally(t *testing.T) {
	w := newCLIWorld(t)
	hostile := []string{`$(touch pwned)`, "; rm -rf pwned", `"quoted" 'single'`, "`touch pwned`", "a | tee pwned", "100% $HOME"}
	for i, id := range hostile {
		dir := filepath.Join(w.dir, id, "sub dir;$(touch pwned)")
		path := filepath.Join(dir, ".credentials.json")
		access := testAccess[:len(testAccess)-1] + string(rune('a'+i))
		refresh := testRefresh[:len(testRefresh)-1] + string(rune('a'+i))
		w.writeClaude(t, path, access, refresh)
		code, out, errs := runCLI(t, "import", "--from", path, "--id", id)
		if code != 0 || !strings.Contains(out, "added account "+id) {
			t.Fatalf("import --id %q: exit %d %q %q", id, code, out, errs)
		}
	}
	var recs []map[string]any
	data, _ := os.ReadFile(w.accounts)
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatal(err)
	}
	for i, id := range hostile {
		if recs[i]["id"] != id {
			t.Errorf("record %d id = %q, want %q", i, recs[i]["id"], id)
		}
		if want := filepath.Join(w.dir, id, "sub dir;$(touch pwned)", ".credentials.json"); recs[i]["sourceRef"] != want {
			t.Errorf("record %d sourceRef = %q, want %q", i, recs[i]["sourceRef"], want)
		}
	}
	if _, err := os.Stat(filepath.Join(w.dir, "pwned")); err == nil {
		t.Errorf("a hostile value was run by a shell")
	}
	// A newline or control character is refused before anything happens.
	for _, id := range []string{"two\nlines", "bell\a", " padded", ""} {
		code, _, errs := runCLI(t, "import", "--id", id, "--from", w.claude)
		if id == "" {
			continue // an empty --id means "generate one"
		}
		if code != 2 || !strings.Contains(errs, "--id") {
			t.Errorf("import --id %q: exit %d %q, want 2 and a message about --id", id, code, errs)
		}
	}
}

func TestCommandsRefuseAMalformedAccountsFile(t *testing.T) {
	w := newCLIWorld(t)
	w.writeClaude(t, w.claude, testAccess, testRefresh)
	bad := "[\n  {\"id\": \"a\", \"accessToken\": \"sk-ant-oat01-x\",\n   \"refreshToken\": \"r\" \"expiresAt\": 1}\n]\n"
	os.MkdirAll(filepath.Dir(w.accounts), 0o700)
	if err := os.WriteFile(w.accounts, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"accounts"}, {"accounts", "--json"}, {"import"}, {"accounts", "remove", "a"}} {
		code, _, errs := runCLI(t, args...)
		if code != 1 || !strings.Contains(errs, w.accounts+":3:24:") {
			t.Errorf("%v: exit %d, %q; want 1 and %s:3:24:", args, code, errs, w.accounts)
		}
	}
	got, _ := os.ReadFile(w.accounts)
	if string(got) != bad {
		t.Errorf("the malformed file was changed")
	}
	if fi, _ := os.Stat(w.accounts); fi.Mode().Perm() != 0o644 {
		t.Errorf("the malformed file's mode was changed to %v", fi.Mode().Perm())
	}
}

func TestImportRejectsWhatIsNotAClaudeLogin(t *testing.T) {
	w := newCLIWorld(t)
	cases := []struct {
		name, body, want string
	}{
		{"an API key instead of an OAuth token", `{"accessToken":"sk-ant-api03-xxxxxxxxxxxxxxxxxxxx","refreshToken":"` + testRefresh + `"}`, "API key"},
		{"a missing refresh token", `{"claudeAiOauth":{"accessToken":"` + testAccess + `"}}`, "refreshToken is missing"},
		{"broken JSON", "{\n\"claudeAiOauth\": {\n  \"accessToken\": ,\n}}", ":3:18:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(w.dir, "creds.json")
			os.WriteFile(path, []byte(tc.body), 0o600)
			code, _, errs := runCLI(t, "import", "--from", path)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, %q; want 1 and %q", code, errs, tc.want)
			}
			if _, err := os.Stat(w.accounts); err == nil {
				t.Errorf("accounts.json was written after a failed import")
			}
		})
	}
}

func TestImportAfterClaudeCodeRefreshedSaysWhichAccountItUpdated(t *testing.T) {
	w := newCLIWorld(t)
	p1 := w.fake.IssueTokens("alice@example.com")
	w.fake.RegisterProfile(p1)
	w.writeClaude(t, w.claude, p1.AccessToken, p1.RefreshToken)
	if code, out, errs := runCLI(t, "import"); code != 0 || !strings.Contains(out, "added account account-1 (alice@example.com)") {
		t.Fatalf("import: exit %d, %q %q", code, out, errs)
	}
	// Claude Code refreshes its own login.
	p2, _ := w.fake.RotateOutOfBand(p1.RefreshToken)
	w.fake.RegisterProfile(p2)
	w.writeClaude(t, w.claude, p2.AccessToken, p2.RefreshToken)
	code, out, errs := runCLI(t, "import")
	if code != 0 || !strings.Contains(out, "updated account account-1 (alice@example.com) from claude-code: the same Claude account") {
		t.Fatalf("re-import: exit %d, %q %q", code, out, errs)
	}
	// Bob's login cannot go into alice's account.
	bob := w.fake.IssueTokens("bob@example.com")
	w.fake.RegisterProfile(bob)
	w.writeClaude(t, w.claude, bob.AccessToken, bob.RefreshToken)
	code, _, errs = runCLI(t, "import", "--id", "account-1")
	if code != 1 || !strings.Contains(errs, "another Claude account") || !strings.Contains(errs, "nothing was written") {
		t.Errorf("import --id account-1 of bob: exit %d, %q", code, errs)
	}
	var recs []map[string]any
	data, _ := os.ReadFile(w.accounts)
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0]["refreshToken"] != p2.RefreshToken {
		t.Errorf("accounts.json holds %d records (want 1, with Claude Code's newest login)", len(recs))
	}
}
