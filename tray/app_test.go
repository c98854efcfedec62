package tray

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/proxy"
)

// noteLog records what a Notifier sent, as "title: body".
type noteLog struct {
	mu    sync.Mutex
	notes []string
}

func (l *noteLog) send(title, body string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = append(l.notes, title+": "+body)
	return nil
}

func (l *noteLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.notes...)
}

func (l *noteLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = nil
}

func (l *noteLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.notes {
		if strings.Contains(t, substr) {
			n++
		}
	}
	return n
}

// loopHarness is the app's loop (without a tray) on the real credentials
// manager and proxy against the fake Anthropic API, with one account.
type loopHarness struct {
	fake     *fakeanthropic.Server
	pair     fakeanthropic.TokenPair
	accounts string
	proxy    *proxy.Proxy
	notes    *noteLog
	app      *app
}

func writeNodeAccounts(t *testing.T, path, id string, pair fakeanthropic.TokenPair) {
	t.Helper()
	recs, _ := json.Marshal([]map[string]any{{"id": id, "accessToken": pair.AccessToken, "refreshToken": pair.RefreshToken,
		"expiresAt": time.Now().Add(8 * time.Hour).UnixMilli(), "scopes": []string{"user:inference"}}})
	if err := os.WriteFile(path, recs, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startLoop runs the harness; each option may adjust the app's Config
// before the app is made.
func startLoop(t *testing.T, options ...func(*Config)) *loopHarness {
	t.Helper()
	h := &loopHarness{fake: fakeanthropic.New(), notes: &noteLog{}}
	t.Cleanup(h.fake.Close)
	h.pair = h.fake.IssueTokens("only@example.com")
	h.accounts = filepath.Join(t.TempDir(), "accounts.json")
	writeNodeAccounts(t, h.accounts, "only", h.pair)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := credentials.NewManager(credentials.Config{Path: h.accounts, TokenURL: h.fake.TokenURL(), Logger: logger, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if h.proxy, err = proxy.New(proxy.Config{Upstream: h.fake.URL, Logger: logger}, mgr); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Manager: mgr, Proxy: h.proxy, Listen: "127.0.0.1:0", Logger: logger, Notifier: &Notifier{Send: h.notes.send}}
	for _, o := range options {
		o(&cfg)
	}
	a := newApp(cfg)
	h.app = a
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	ev := a.subscribe()
	go func() { defer wg.Done(); mgr.Run(ctx) }()
	a.startRouting()
	go func() { defer wg.Done(); a.loop(ctx, ev) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		a.stopRouting()
	})
	return h
}

// TestRouterWideNotifications: the only account is rate-limited for a
// second, which must notify once that every account is unusable, then
// once that routing recovered.
func TestRouterWideNotifications(t *testing.T) {
	h := startLoop(t)
	fake, p, notes := h.fake, h.proxy, h.notes
	fake.InjectFault(fakeanthropic.Fault{Status: 429, RetryAfter: "1", ShouldRetry: true, Times: 1})
	req, _ := http.NewRequest("POST", "http://"+p.Addr()+"/v1/messages", strings.NewReader(`{"model":"m","max_tokens":1,"messages":[]}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("status %d, want the upstream's 429", resp.StatusCode)
	}
	waitFor(t, "the all-unusable notification", func() bool { return notes.count("every account is unusable") == 1 })
	waitFor(t, "the recovered notification", func() bool { return notes.count("routing recovered") == 1 })
	if notes.count("The first account comes back at ") != 1 {
		t.Errorf("the all-unusable notification does not say when the first account comes back: %v", notes.all())
	}
	if n := notes.count("every account is unusable"); n != 1 {
		t.Errorf("all-unusable notified %d times, want 1", n)
	}
}

func TestAdoptedTokensNotify(t *testing.T) {
	h := startLoop(t)
	newer, ok := h.fake.RotateOutOfBand(h.pair.RefreshToken)
	if !ok {
		t.Fatal("the fake did not rotate the chain")
	}
	// Another process (the Node.js cc-router, a second serve) stores the
	// rotated tokens.
	writeNodeAccounts(t, h.accounts, "only", newer)
	waitFor(t, "the adopted notification", func() bool { return h.notes.count("only uses a newer login") == 1 })
}

// hookCalls records the arguments the Clipboard and Open hooks got.
type hookCalls struct {
	mu   sync.Mutex
	args []string
}

func (c *hookCalls) hook(fail error) func(string) error {
	return func(arg string) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.args = append(c.args, arg)
		return fail
	}
}

func (c *hookCalls) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.args...)
}

func TestCopyBaseURLAndOpenAccountsFolder(t *testing.T) {
	cases := []struct {
		name       string
		fail       error
		wantNotice []string // substrings of the one notification expected, nil for none
	}{
		{"the tools work: the URL is copied and the folder opened, silently", nil, nil},
		{"the tools fail: the URL is shown in a notification and the folder's failure is reported", errors.New("no xclip, xsel or wl-copy"),
			[]string{"cc-router base URL: http://127.0.0.1:", "could not open the accounts folder: no xclip"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var clip, open hookCalls
			dir := t.TempDir()
			h := startLoop(t, func(c *Config) {
				c.Clipboard, c.Open, c.AccountsDir = clip.hook(tc.fail), open.hook(tc.fail), dir
			})
			h.app.enqueue(Action{Kind: ActionCopyBaseURL})
			h.app.enqueue(Action{Kind: ActionOpenFolder})
			waitFor(t, "both hooks to be called", func() bool { return len(clip.get()) == 1 && len(open.get()) == 1 })
			if got, want := clip.get()[0], "http://"+h.proxy.Addr(); got != want {
				t.Errorf("copied %q, want the routing address %q", got, want)
			}
			if got := open.get()[0]; got != dir {
				t.Errorf("opened %q, want the accounts folder %q", got, dir)
			}
			for _, want := range tc.wantNotice {
				waitFor(t, "a notification with "+want, func() bool { return h.notes.count(want) == 1 })
			}
			if tc.wantNotice == nil {
				time.Sleep(100 * time.Millisecond) // a notification would have been sent by now
				if n := len(h.notes.all()); n != 0 {
					t.Errorf("%d notifications when both actions worked: %v", n, h.notes.all())
				}
			}
		})
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAccountSubmenuActions clicks each item of an account's submenu, in
// order, and checks the change in the credentials manager and the menu.
func TestAccountSubmenuActions(t *testing.T) {
	h := startLoop(t)
	mgr := h.app.cfg.Manager
	line := func() string {
		for _, it := range BuildMenu(h.app.snapshot()).Items {
			if strings.HasPrefix(it.Key, "account/") {
				return it.Label
			}
		}
		return ""
	}
	steps := []struct {
		name  string
		kind  ActionKind
		check func() bool
	}{
		{"Disable takes the account out of rotation", ActionDisable, func() bool {
			a, err := mgr.Account("only")
			return err == nil && !a.Enabled && strings.HasSuffix(line(), "— disabled")
		}},
		{"Enable puts it back", ActionEnable, func() bool {
			a, err := mgr.Account("only")
			return err == nil && a.Enabled && strings.Contains(line(), "expires in")
		}},
		{"Refresh now spends the refresh token for new tokens", ActionRefresh, func() bool {
			return !h.fake.RefreshTokenLive(h.pair.RefreshToken)
		}},
		{"Remove deletes the account", ActionRemove, func() bool {
			_, err := mgr.Account("only")
			return errors.Is(err, credentials.ErrUnknownAccount) && line() == ""
		}},
	}
	for _, s := range steps {
		h.app.enqueue(Action{Kind: s.kind, AccountID: "only"})
		waitFor(t, s.name, s.check)
	}
	if n := h.notes.count("could not"); n != 0 {
		t.Errorf("actions that worked reported failures: %v", h.notes.all())
	}
	b, err := os.ReadFile(h.accounts)
	if err != nil || strings.Contains(string(b), `"only"`) {
		t.Errorf("accounts.json still holds the removed account (%v):\n%s", err, b)
	}
}

func TestImportReportsWhatFailedAndThenWhatWasUpdated(t *testing.T) {
	claudeDir := t.TempDir() // Claude Code has no login here yet
	t.Setenv("CLAUDE_CONFIG_DIR", claudeDir)
	h := startLoop(t)
	lastImport := func() string {
		for _, it := range BuildMenu(h.app.snapshot()).Items {
			if it.Key == "import-result" {
				return it.Label
			}
		}
		return ""
	}
	h.app.enqueue(Action{Kind: ActionImport})
	waitFor(t, "the failed import in the menu", func() bool { return strings.HasPrefix(lastImport(), "Import failed: ") })
	waitFor(t, "the failed import notified", func() bool { return h.notes.count("Import from Claude Code login: ") == 1 })
	if !strings.Contains(lastImport(), claudeDir) {
		t.Errorf("the menu's import line %q does not say where it looked (%s)", lastImport(), claudeDir)
	}

	// Claude Code's login is now the one account cc-router already has:
	// the import updates it rather than adding a second.
	creds := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%d,"scopes":["user:inference"]}}`,
		h.pair.AccessToken, h.pair.RefreshToken, time.Now().Add(8*time.Hour).UnixMilli())
	if err := os.WriteFile(filepath.Join(claudeDir, ".credentials.json"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	h.notes.reset()
	h.app.enqueue(Action{Kind: ActionImport})
	waitFor(t, "the import result in the menu", func() bool { return strings.HasPrefix(lastImport(), "Imported ") })
	if got := lastImport(); got != "Imported only (updated)" {
		t.Errorf("the menu says %q, want Imported only (updated)", got)
	}
	waitFor(t, "the import notified", func() bool { return h.notes.count("Account only was updated") == 1 })
}
