package tray_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testutil"
)

// These tests run the real cc-router binary (built once from this module)
// against a private dbus-daemon session bus, with a fake
// StatusNotifierWatcher (the tray host) and a fake notification daemon
// registered on it, and read and click its menu through com.canonical.dbusmenu
// as a desktop panel would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func ccRouterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cc-router-tray-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cc-router")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/cc-router/cc-router")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// privateBus starts a dbus-daemon for this test and returns its address.
func privateBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("CC_ROUTER_REQUIRE_DBUS") != "" {
			t.Fatal("dbus-daemon is not installed and CC_ROUTER_REQUIRE_DBUS is set")
		}
		t.Skip("dbus-daemon is not installed (the CI script installs the dbus package)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+dir+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o644)
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the bus address: %v", err)
	}
	return strings.TrimSpace(line)
}

// watcher is a fake org.kde.StatusNotifierWatcher: it records the unique
// bus names of the items that register.
type watcher struct{ items chan string }

func (w *watcher) RegisterStatusNotifierItem(sender dbus.Sender, path string) *dbus.Error {
	w.items <- string(sender)
	return nil
}

func (w *watcher) RegisterStatusNotifierHost(sender dbus.Sender, service string) *dbus.Error {
	return nil
}

// notifications is a fake org.freedesktop.Notifications daemon.
type notifications struct {
	mu    sync.Mutex
	notes []note
	next  uint32
}

type note struct{ app, summary, body string }

func (n *notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notes = append(n.notes, note{app, summary, body})
	n.next++
	return n.next, nil
}

func (n *notifications) GetCapabilities() ([]string, *dbus.Error) { return []string{"body"}, nil }

func (n *notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "fake", "cc-router tests", "1", "1.2", nil
}

func (n *notifications) CloseNotification(id uint32) *dbus.Error { return nil }

func (n *notifications) matching(substr string) []note {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []note
	for _, x := range n.notes {
		if strings.Contains(x.summary+" "+x.body, substr) {
			out = append(out, x)
		}
	}
	return out
}

// desktop is the test's side of the session bus: the tray host and the
// notification daemon.
type desktop struct {
	addr  string
	conn  *dbus.Conn
	watch *watcher
	notes *notifications
}

func newDesktop(t *testing.T) *desktop {
	t.Helper()
	d := newBareDesktop(t)
	d.ownWatcher(t)
	return d
}

// ownWatcher makes the fake tray host appear on the bus.
func (d *desktop) ownWatcher(t *testing.T) {
	t.Helper()
	if reply, err := d.conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning org.kde.StatusNotifierWatcher: %v %v", reply, err)
	}
}

// newBareDesktop is a session bus with a notification daemon but no tray
// host yet (a panel that has not started).
func newBareDesktop(t *testing.T) *desktop {
	t.Helper()
	d := &desktop{addr: privateBus(t), watch: &watcher{items: make(chan string, 8)}, notes: &notifications{}}
	conn, err := dbus.Connect(d.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.conn = conn
	if err := conn.Export(d.watch, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Export(d.notes, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning org.freedesktop.Notifications: %v %v", reply, err)
	}
	return d
}

// menuNode is one entry of a dbusmenu layout.
type menuNode struct {
	id       int32
	label    string
	enabled  bool
	visible  bool
	toggle   string
	checked  bool
	children []menuNode
}

func parseLayout(v []any) menuNode {
	n := menuNode{id: v[0].(int32), enabled: true, visible: true}
	props := v[1].(map[string]dbus.Variant)
	if l, ok := props["label"]; ok {
		n.label, _ = l.Value().(string)
	}
	if e, ok := props["enabled"]; ok {
		n.enabled, _ = e.Value().(bool)
	}
	if e, ok := props["visible"]; ok {
		n.visible, _ = e.Value().(bool)
	}
	if tt, ok := props["toggle-type"]; ok {
		n.toggle, _ = tt.Value().(string)
	}
	if ts, ok := props["toggle-state"]; ok {
		s, _ := ts.Value().(int32)
		n.checked = s == 1
	}
	if t, ok := props["type"]; ok && t.Value() == "separator" {
		n.label = "---"
	}
	for _, c := range v[2].([]dbus.Variant) {
		n.children = append(n.children, parseLayout(c.Value().([]any)))
	}
	return n
}

// flat lists visible labels, submenu entries indented by two spaces.
func (n menuNode) flat(indent string) []string {
	var out []string
	for _, c := range n.children {
		if !c.visible {
			continue
		}
		out = append(out, indent+c.label)
		out = append(out, c.flat(indent+"  ")...)
	}
	return out
}

func (n menuNode) find(pred func(menuNode) bool) (menuNode, bool) {
	for _, c := range n.children {
		if c.visible && pred(c) {
			return c, true
		}
		if f, ok := c.find(pred); ok {
			return f, true
		}
	}
	return menuNode{}, false
}

// trayClient reads and clicks the app's menu over the bus.
type trayClient struct {
	t    *testing.T
	menu dbus.BusObject
	item dbus.BusObject
}

func (c *trayClient) layout() menuNode {
	c.t.Helper()
	var rev uint32
	var raw []any
	call := c.menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		c.t.Fatalf("GetLayout: %v", call.Err)
	}
	if err := call.Store(&rev, &raw); err != nil {
		c.t.Fatalf("GetLayout reply: %v", err)
	}
	return parseLayout(raw)
}

// waitMenu polls the layout until ok accepts it.
func (c *trayClient) waitMenu(what string, ok func(menuNode) bool) menuNode {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last menuNode
	for time.Now().Before(deadline) {
		last = c.layout()
		if ok(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("menu never showed %s; last menu:\n%s", what, strings.Join(last.flat(""), "\n"))
	return last
}

func (c *trayClient) click(m menuNode, label string) {
	c.t.Helper()
	item, ok := m.find(func(n menuNode) bool { return n.label == label })
	if !ok {
		c.t.Fatalf("no menu item %q in:\n%s", label, strings.Join(m.flat(""), "\n"))
	}
	if call := c.menu.Call("com.canonical.dbusmenu.Event", 0, item.id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())); call.Err != nil {
		c.t.Fatalf("clicking %q: %v", label, call.Err)
	}
}

func hasLabel(prefix string) func(menuNode) bool {
	return func(m menuNode) bool {
		_, ok := m.find(func(n menuNode) bool { return strings.HasPrefix(n.label, prefix) })
		return ok
	}
}

// writeAccounts writes a Node.js cc-router style accounts.json.
func writeAccounts(t *testing.T, dir string, accounts map[string]fakeanthropic.TokenPair, order ...string) {
	t.Helper()
	var recs []map[string]any
	for _, id := range order {
		p := accounts[id]
		recs = append(recs, map[string]any{
			"id": id, "accessToken": p.AccessToken, "refreshToken": p.RefreshToken,
			"expiresAt": time.Now().Add(8 * time.Hour).UnixMilli(), "scopes": []string{"user:inference", "user:profile"},
		})
	}
	b, _ := json.MarshalIndent(recs, "", "  ")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "accounts.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// appEnv is a private home for one run of the app.
type appEnv struct {
	home, routerDir, listen string
	env                     []string
}

func newAppEnv(t *testing.T, busAddr string, fake *fakeanthropic.Server) *appEnv {
	home := t.TempDir()
	e := &appEnv{home: home, routerDir: filepath.Join(home, ".cc-router"), listen: testutil.FreeAddr(t)}
	runtimeDir := filepath.Join(home, "run")
	os.MkdirAll(runtimeDir, 0o700)
	// Stand-ins for the desktop's clipboard and file-manager tools record
	// what they were given in the home directory.
	tools := filepath.Join(home, "bin")
	os.MkdirAll(tools, 0o700)
	for name, script := range map[string]string{
		"xclip":    "#!/bin/sh\ncat > \"$HOME/clipboard\"\n",
		"xdg-open": "#!/bin/sh\nprintf '%s' \"$1\" > \"$HOME/opened\"\n",
	} {
		if err := os.WriteFile(filepath.Join(tools, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.env = append(os.Environ(),
		"HOME="+home,
		"XDG_RUNTIME_DIR="+runtimeDir,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"CC_ROUTER_HOME="+e.routerDir,
		"CC_ROUTER_LISTEN="+e.listen,
		"CC_ROUTER_UPSTREAM="+fake.URL,
		"CC_ROUTER_TOKEN_URL="+fake.TokenURL(),
		"CC_ROUTER_AUTHORIZE_URL="+fake.AuthorizeURL(),
		"CC_ROUTER_API_URL="+fake.URL,
		"BROWSER=",
		"CLAUDE_CONFIG_DIR="+filepath.Join(home, ".claude"),
		"DBUS_SESSION_BUS_ADDRESS="+busAddr,
		"WAYLAND_DISPLAY=", "DISPLAY=",
		"PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	return e
}

// runningApp is one cc-router process.
type runningApp struct {
	cmd    *exec.Cmd
	stdout *testutil.SyncBuffer
	stderr *testutil.SyncBuffer
	done   chan error
}

func startApp(t *testing.T, e *appEnv, args ...string) *runningApp {
	t.Helper()
	a := &runningApp{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	a.cmd = exec.Command(ccRouterBinary(t), args...)
	a.cmd.Env = e.env
	a.cmd.Stdout, a.cmd.Stderr = a.stdout, a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("app stdout:\n%s\napp stderr:\n%s", a.stdout, a.stderr)
		}
	})
	return a
}

func (a *runningApp) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-a.done:
		a.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("the app did not exit within %v", d)
		return nil
	}
}

// routeRequest sends one Messages request through the router.
func routeRequest(addr string) (int, error) {
	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/messages", strings.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("authorization", "Bearer cc-router")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func portClosed(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func eventually(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestTrayOverDBus(t *testing.T) {
	d := newDesktop(t)
	fake := fakeanthropic.New()
	defer fake.Close()
	e := newAppEnv(t, d.addr, fake)
	writeAccounts(t, e.routerDir, map[string]fakeanthropic.TokenPair{
		"work-max": fake.IssueTokens("work@example.com"),
		"flaky":    fake.IssueTokens("flaky@example.com"),
	}, "work-max", "flaky")

	app := startApp(t, e)
	var sender string
	select {
	case sender = <-d.watch.items:
	case err := <-app.done:
		t.Fatalf("the app exited before registering its tray item: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the app never registered with the StatusNotifierWatcher")
	}
	c := &trayClient{t: t, menu: d.conn.Object(sender, "/StatusNotifierItem/menu"), item: d.conn.Object(sender, "/StatusNotifierItem")}

	header := "Routing on · " + e.listen + " · 2/2 accounts usable"
	m := c.waitMenu("both accounts with their submenus", func(m menuNode) bool {
		_, ok := m.find(func(n menuNode) bool { return n.label == "Remove flaky" })
		return ok && hasLabel(header)(m)
	})
	got := m.flat("")
	for _, want := range []string{header, "Stop routing", "work-max — expires in 7h", "  Refresh now", "  Disable", "  Remove work-max",
		"flaky — expires in 7h", "  Remove flaky", "Import from Claude Code login", "Route Claude Code through cc-router",
		"Copy base URL", "Open accounts folder", "Start at login", "Quit"} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("menu lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	var tooltip dbus.Variant
	if err := c.item.Call("org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierItem", "ToolTip").Store(&tooltip); err != nil {
		t.Errorf("reading the tooltip: %v", err)
	} else if !strings.Contains(fmt.Sprint(tooltip.Value()), header) {
		t.Errorf("tooltip %v does not repeat the header %q", tooltip.Value(), header)
	}

	if code, err := routeRequest(e.listen); err != nil || code != 200 {
		t.Fatalf("request through the router: %d %v", code, err)
	}

	t.Run("Stop routing closes the port and Start routing routes again", func(t *testing.T) {
		c.t = t
		c.click(m, "Stop routing")
		eventually(t, "the port to close", 10*time.Second, func() bool { return portClosed(e.listen) })
		m = c.waitMenu("Start routing", hasLabel("Start routing"))
		if !hasLabel("Routing off")(m) {
			t.Errorf("header does not say routing is off:\n%s", strings.Join(m.flat(""), "\n"))
		}
		before := len(fake.APIRequests())
		c.click(m, "Start routing")
		eventually(t, "a request to be routed again", 10*time.Second, func() bool {
			code, err := routeRequest(e.listen)
			return err == nil && code == 200
		})
		if len(fake.APIRequests()) <= before {
			t.Error("the request did not reach the upstream")
		}
		m = c.waitMenu("Stop routing", hasLabel("Stop routing"))
	})

	t.Run("a terminal refresh failure notifies once per quiet period", func(t *testing.T) {
		c.t = t
		fake.FailTokenCalls(1, fakeanthropic.TokenFailure{Status: 400, Error: "invalid_grant"})
		c.click(m, "Refresh now") // the first one: work-max
		eventually(t, "a needs-login notification", 10*time.Second, func() bool { return len(d.notes.matching("needs login")) > 0 })
		notes := d.notes.matching("needs login")
		if len(notes) != 1 || !strings.Contains(notes[0].summary, "work-max") {
			t.Fatalf("needs-login notifications = %+v, want one naming work-max", notes)
		}
		if notes[0].app != "cc-router" {
			t.Errorf("app name %q", notes[0].app)
		}
		// The new "Sign in again…" item changes the menu's shape, so the
		// menu is rebuilt: wait until the rebuild has reached Quit.
		m = c.waitMenu("work-max needing login", func(m menuNode) bool {
			return hasLabel("work-max — needs login")(m) && hasLabel("Sign in again…")(m) && hasLabel("Quit")(m)
		})

		fake.FailTokenCalls(1, fakeanthropic.TokenFailure{Status: 400, Error: "invalid_grant"})
		c.click(m, "Refresh now")
		time.Sleep(1500 * time.Millisecond)
		if notes := d.notes.matching("needs login"); len(notes) != 1 {
			t.Errorf("a second failure within the quiet period notified again: %+v", notes)
		}
	})

	t.Run("Import from Claude Code login adds the account and reports it", func(t *testing.T) {
		c.t = t
		login := fake.IssueTokens("new@example.com")
		creds := fmt.Sprintf(`{"claudeAiOauth":{"accessToken":%q,"refreshToken":%q,"expiresAt":%d,"scopes":["user:inference","user:profile"],"subscriptionType":"max"}}`,
			login.AccessToken, login.RefreshToken, time.Now().Add(8*time.Hour).UnixMilli())
		os.MkdirAll(filepath.Join(e.home, ".claude"), 0o700)
		if err := os.WriteFile(filepath.Join(e.home, ".claude", ".credentials.json"), []byte(creds), 0o600); err != nil {
			t.Fatal(err)
		}
		c.click(c.layout(), "Import from Claude Code login")
		m = c.waitMenu("the import result", hasLabel("Imported "))
		line, _ := m.find(func(n menuNode) bool { return strings.HasPrefix(n.label, "Imported ") })
		if !strings.HasSuffix(line.label, "(added)") || line.enabled {
			t.Errorf("import line %q (enabled %v), want a greyed-out line ending in (added)", line.label, line.enabled)
		}
		id := strings.Fields(line.label)[1]
		if !hasLabel(id + " — expires in 7h")(m) {
			t.Errorf("the imported account %s has no line:\n%s", id, strings.Join(m.flat(""), "\n"))
		}
		eventually(t, "an import notification", 10*time.Second, func() bool { return len(d.notes.matching("was added")) == 1 })
	})

	t.Run("Route Claude Code through cc-router edits settings.json and unchecking restores it", func(t *testing.T) {
		c.t = t
		settings := filepath.Join(e.home, ".claude", "settings.json")
		orig := "{ \"theme\":\"dark\" ,\n  \"permissions\": {\"allow\": [\"Read\"]} }\n"
		os.WriteFile(settings, []byte(orig), 0o644)
		c.click(c.layout(), "Route Claude Code through cc-router")
		m = c.waitMenu("the Claude Code item checked", func(m menuNode) bool {
			it, _ := m.find(func(n menuNode) bool { return n.label == "Route Claude Code through cc-router" })
			return it.checked
		})
		b, _ := os.ReadFile(settings)
		if !strings.Contains(string(b), `"ANTHROPIC_BASE_URL": "http://`+e.listen+`"`) || !strings.Contains(string(b), `"theme":"dark"`) {
			t.Errorf("settings.json after checking:\n%s", b)
		}
		c.click(m, "Route Claude Code through cc-router")
		m = c.waitMenu("the Claude Code item unchecked", func(m menuNode) bool {
			it, ok := m.find(func(n menuNode) bool { return n.label == "Route Claude Code through cc-router" })
			return ok && !it.checked
		})
		if b, _ := os.ReadFile(settings); string(b) != orig {
			t.Errorf("settings.json after unchecking:\n%q\nwant the original:\n%q", b, orig)
		}
	})

	t.Run("Start at login installs and removes the autostart entry", func(t *testing.T) {
		c.t = t
		entry := filepath.Join(e.home, ".config", "autostart", "cc-router.desktop")
		c.click(c.layout(), "Start at login")
		eventually(t, "the autostart entry", 10*time.Second, func() bool { _, err := os.Stat(entry); return err == nil })
		b, _ := os.ReadFile(entry)
		if !strings.Contains(string(b), "Exec=\""+ccRouterBinary(t)+"\"") {
			t.Errorf("autostart entry does not start this program:\n%s", b)
		}
		m = c.waitMenu("Start at login checked", func(m menuNode) bool {
			it, _ := m.find(func(n menuNode) bool { return n.label == "Start at login" })
			return it.checked
		})
		c.click(m, "Start at login")
		eventually(t, "the autostart entry to go", 10*time.Second, func() bool { _, err := os.Stat(entry); return os.IsNotExist(err) })
	})

	t.Run("Copy base URL and Open accounts folder use the desktop's tools", func(t *testing.T) {
		c.t = t
		c.click(c.layout(), "Copy base URL")
		c.click(c.layout(), "Open accounts folder")
		read := func(name string) string { b, _ := os.ReadFile(filepath.Join(e.home, name)); return string(b) }
		eventually(t, "the clipboard and the file manager", 10*time.Second, func() bool {
			return read("clipboard") != "" && read("opened") != ""
		})
		if got, want := read("clipboard"), "http://"+e.listen; got != want {
			t.Errorf("the clipboard holds %q, want %q", got, want)
		}
		if got := read("opened"); got != e.routerDir {
			t.Errorf("opened %q, want the accounts folder %q", got, e.routerDir)
		}
	})

	t.Run("Quit lets a stream in flight finish, stops routing and exits cleanly", func(t *testing.T) {
		c.t = t
		fake.SetReply(fakeanthropic.Reply{Chunks: 15, EventDelay: 100 * time.Millisecond}) // about 1.7 s
		body := `{"model":"claude-sonnet-4-5","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequest("POST", "http://"+e.listen+"/v1/messages", strings.NewReader(body))
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		stream := bufio.NewReader(resp.Body)
		if first, err := stream.ReadString('\n'); err != nil || first != "event: message_start\n" {
			t.Fatalf("the stream began with %q, %v", first, err)
		}
		c.click(c.layout(), "Quit")
		rest, err := io.ReadAll(stream)
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(rest)), `{"type":"message_stop"}`) {
			t.Errorf("the stream was cut by Quit (%v); it ended:\n%s", err, rest[max(0, len(rest)-200):])
		}
		if err := app.wait(t, 15*time.Second); err != nil {
			t.Errorf("exit: %v", err)
		}
		if !portClosed(e.listen) {
			t.Error("the port is still open after Quit")
		}
	})
}

func TestSecondInstanceAndHeadless(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	e := newAppEnv(t, "", fake)
	writeAccounts(t, e.routerDir, map[string]fakeanthropic.TokenPair{"solo": fake.IssueTokens("")}, "solo")

	first := startApp(t, e)
	eventually(t, "the headless notice", 10*time.Second, func() bool { return strings.Contains(first.stdout.String(), "running headless") })
	if n := strings.Count(first.stdout.String(), "DBUS_SESSION_BUS_ADDRESS"); n != 1 {
		t.Errorf("the missing tray host was reported %d times:\n%s", n, first.stdout)
	}
	if code, err := routeRequest(e.listen); err != nil || code != 200 {
		t.Fatalf("headless app does not route: %d %v", code, err)
	}

	second := startApp(t, e)
	if err := second.wait(t, 10*time.Second); err != nil {
		t.Errorf("second instance exit: %v, want 0", err)
	}
	if out := second.stdout.String(); !strings.Contains(out, "already running") || !strings.Contains(out, "routing on "+e.listen) {
		t.Errorf("second instance said %q, want where the first runs (%s)", out, e.listen)
	}

	first.cmd.Process.Signal(syscall.SIGTERM)
	if err := first.wait(t, 15*time.Second); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if !portClosed(e.listen) {
		t.Error("the port is still open after SIGTERM")
	}
}

func TestTrayReportsAPortInUseAndStartsLater(t *testing.T) {
	d := newDesktop(t)
	fake := fakeanthropic.New()
	defer fake.Close()
	e := newAppEnv(t, d.addr, fake)
	writeAccounts(t, e.routerDir, map[string]fakeanthropic.TokenPair{"solo": fake.IssueTokens("")}, "solo")
	squatter, err := net.Listen("tcp", e.listen)
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()

	app := startApp(t, e)
	var sender string
	select {
	case sender = <-d.watch.items:
	case err := <-app.done:
		t.Fatalf("the app exited instead of reporting the port in use: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the app never registered with the StatusNotifierWatcher")
	}
	c := &trayClient{t: t, menu: d.conn.Object(sender, "/StatusNotifierItem/menu")}
	m := c.waitMenu("the port-in-use line", hasLabel("Could not start: "+e.listen+" is already in use"))
	if !hasLabel("Routing off")(m) {
		t.Errorf("header does not say routing is off:\n%s", strings.Join(m.flat(""), "\n"))
	}
	eventually(t, "a notification about the port", 10*time.Second, func() bool { return len(d.notes.matching("already in use")) == 1 })

	squatter.Close()
	c.click(m, "Start routing")
	eventually(t, "routing to start once the port is free", 10*time.Second, func() bool {
		code, err := routeRequest(e.listen)
		return err == nil && code == 200
	})
	c.waitMenu("the error line gone", func(m menuNode) bool { return !hasLabel("Could not start")(m) && hasLabel("Stop routing")(m) })
}

func TestTrayAppearsWhenATrayHostStartsLater(t *testing.T) {
	d := newBareDesktop(t)
	fake := fakeanthropic.New()
	defer fake.Close()
	e := newAppEnv(t, d.addr, fake)
	writeAccounts(t, e.routerDir, map[string]fakeanthropic.TokenPair{"solo": fake.IssueTokens("")}, "solo")

	app := startApp(t, e)
	eventually(t, "the no-tray-host notice", 10*time.Second, func() bool {
		return strings.Contains(app.stdout.String(), "no tray host on the session bus yet")
	})
	if code, err := routeRequest(e.listen); err != nil || code != 200 {
		t.Fatalf("the app does not route while waiting for a tray host: %d %v", code, err)
	}
	d.ownWatcher(t)
	select {
	case sender := <-d.watch.items:
		c := &trayClient{t: t, menu: d.conn.Object(sender, "/StatusNotifierItem/menu")}
		c.waitMenu("the menu", hasLabel("Routing on · "+e.listen))
	case <-time.After(10 * time.Second):
		t.Fatal("the app did not register when the tray host appeared")
	}
	if n := strings.Count(app.stdout.String(), "no tray host"); n != 1 {
		t.Errorf("the missing tray host was reported %d times", n)
	}
}
