package tray

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/assets"
	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/proxy"
)

var menuNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func okAccount(id string, expiresIn time.Duration) credentials.AccountInfo {
	return credentials.AccountInfo{ID: id, Enabled: true, State: credentials.StateOK, ExpiresAt: menuNow.Add(expiresIn)}
}

func okHealth(id string, u5, u7 float64) proxy.AccountHealth {
	return proxy.AccountHealth{ID: id, State: "ok", Usable: true, Enabled: true,
		Utilization5h: u5, Utilization7d: u7, Reset5h: menuNow.Add(2 * time.Hour), Reset7d: menuNow.Add(72 * time.Hour)}
}

// labels flattens the menu to "label" lines, children indented by two
// spaces, separators as "---", for comparisons that read like the menu.
func labels(items []Item, indent string) []string {
	var out []string
	for _, it := range items {
		switch {
		case it.Separator:
			out = append(out, indent+"---")
		case it.Checkable && it.Checked:
			out = append(out, indent+"[x] "+it.Label)
		case it.Checkable:
			out = append(out, indent+"[ ] "+it.Label)
		default:
			out = append(out, indent+it.Label)
		}
		out = append(out, labels(it.Children, indent+"  ")...)
	}
	return out
}

func TestBuildMenu(t *testing.T) {
	tail := []string{"---", "[ ] Route Claude Code through cc-router", "Copy base URL", "Open accounts folder", "[ ] Start at login", "---", "Quit"}
	tests := []struct {
		name        string
		snap        Snapshot
		wantIcon    string
		wantLabels  []string // the lines before tail
		wantTooltip string
	}{
		{
			name:     "no accounts yet while routing shows the address and the import item",
			snap:     Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux"},
			wantIcon: assets.Unusable,
			wantLabels: []string{"No accounts yet · 127.0.0.1:3456", "Stop routing", "---",
				"Add account…", "Import from Claude Code login"},
			wantTooltip: "cc-router — No accounts yet · 127.0.0.1:3456",
		},
		{
			name: "all accounts healthy show expiry and both utilization windows",
			snap: Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux",
				Accounts: []credentials.AccountInfo{okAccount("work-max", 6*time.Hour+48*time.Minute+30*time.Second), okAccount("home-pro", 25*time.Minute)},
				Health:   proxy.Health{Accounts: []proxy.AccountHealth{okHealth("work-max", 0.234, 0.41), okHealth("home-pro", 0.999, 0.05)}}},
			wantIcon: assets.Healthy,
			wantLabels: []string{"Routing on · 127.0.0.1:3456 · 2/2 accounts usable", "Stop routing", "---",
				"work-max — expires in 6h 48m · 5h 23% · 7d 41%", "  Refresh now", "  Disable", "  Remove work-max",
				"home-pro — expires in 25m · 5h 100% · 7d 5%", "  Refresh now", "  Disable", "  Remove home-pro",
				"Add account…", "Import from Claude Code login"},
			wantTooltip: "cc-router — Routing on · 127.0.0.1:3456 · 2/2 accounts usable",
		},
		{
			name: "one account needing login degrades the icon and says so on its line",
			snap: Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "darwin",
				Accounts: []credentials.AccountInfo{okAccount("work-max", time.Hour),
					{ID: "old", Email: "old@example.com", Enabled: true, State: credentials.StateNeedsLogin, StateReason: "invalid_grant"}},
				Health: proxy.Health{Accounts: []proxy.AccountHealth{okHealth("work-max", 0, 0), {ID: "old", State: "needs_login"}}}},
			wantIcon: assets.Degraded,
			wantLabels: []string{"Routing on · 127.0.0.1:3456 · 1/2 accounts usable", "Stop routing", "---",
				"work-max — expires in 1h 00m · 5h 0% · 7d 0%", "  Refresh now", "  Disable", "  Remove work-max",
				"old (old@example.com) — needs login", "  Sign in again…", "  Refresh now", "  Disable", "  Remove old",
				"Add account…", "Import from Keychain"},
		},
		{
			name: "an account cooling down shows the minutes left",
			snap: Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux",
				Accounts: []credentials.AccountInfo{okAccount("a", time.Hour), okAccount("b", time.Hour)},
				Health: proxy.Health{Accounts: []proxy.AccountHealth{okHealth("a", 0.1, 0.2),
					{ID: "b", State: "cooling_down", CoolingUntil: menuNow.Add(12*time.Minute + 5*time.Second)}}}},
			wantIcon: assets.Degraded,
			wantLabels: []string{"Routing on · 127.0.0.1:3456 · 1/2 accounts usable", "Stop routing", "---",
				"a — expires in 1h 00m · 5h 10% · 7d 20%", "  Refresh now", "  Disable", "  Remove a",
				"b — cooling down 12m", "  Refresh now", "  Disable", "  Remove b",
				"Add account…", "Import from Claude Code login"},
		},
		{
			name: "all accounts limited shows when each comes back and the unusable icon",
			snap: Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux",
				Accounts: []credentials.AccountInfo{okAccount("a", time.Hour), okAccount("b", time.Hour), {ID: "c", Enabled: false, State: credentials.StateOK}},
				Health: proxy.Health{Accounts: []proxy.AccountHealth{
					{ID: "a", State: "rate_limited", Utilization5h: 1.02, Reset5h: menuNow.Add(65 * time.Minute)},
					{ID: "b", State: "rate_limited", Utilization7d: 1, Reset7d: menuNow.Add(50 * time.Hour), Utilization5h: 1, Reset5h: menuNow.Add(time.Hour)},
					{ID: "c", State: "disabled"}}}},
			wantIcon: assets.Unusable,
			wantLabels: []string{"Routing on · 127.0.0.1:3456 · 0/3 accounts usable", "Stop routing", "---",
				"a — rate-limited, back in 1h 05m", "  Refresh now", "  Disable", "  Remove a",
				"b — rate-limited, back in 2d 2h", "  Refresh now", "  Disable", "  Remove b",
				"c — disabled", "  Refresh now", "  Enable", "  Remove c",
				"Add account…", "Import from Claude Code login"},
		},
		{
			name: "routing off offers Start routing, reports a port in use, and uses the off icon",
			snap: Snapshot{Routing: false, ConfiguredAddr: "127.0.0.1:3456", StartError: "127.0.0.1:3456 is already in use", GOOS: "linux",
				Accounts: []credentials.AccountInfo{okAccount("a", 3*24*time.Hour+4*time.Hour)},
				Health:   proxy.Health{Accounts: []proxy.AccountHealth{okHealth("a", 0, 0)}}},
			wantIcon: assets.Off,
			wantLabels: []string{"Routing off · 1/1 accounts usable", "Could not start: 127.0.0.1:3456 is already in use", "Start routing", "---",
				"a — expires in 3d 4h · 5h 0% · 7d 0%", "  Refresh now", "  Disable", "  Remove a",
				"Add account…", "Import from Claude Code login"},
			wantTooltip: "cc-router — Routing off · 1/1 accounts usable",
		},
		{
			name: "a sign-in waiting for the browser offers to cancel it and greys out Sign in again",
			snap: Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux", SigningIn: true,
				Accounts: []credentials.AccountInfo{{ID: "old", Enabled: true, State: credentials.StateNeedsLogin}}},
			wantIcon: assets.Unusable,
			wantLabels: []string{"Routing on · 127.0.0.1:3456 · 0/1 accounts usable", "Stop routing", "---",
				"old — needs login", "  Sign in again…", "  Refresh now", "  Disable", "  Remove old",
				"Waiting for sign-in… (cancel)", "Import from Claude Code login"},
		},
		{
			name: "an account the proxy has not seen yet and an expired token read plainly",
			snap: Snapshot{Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux",
				Accounts: []credentials.AccountInfo{okAccount("new", 30*time.Second), okAccount("stale", -time.Minute), {ID: "bare", Enabled: true, State: credentials.StateOK}}},
			wantIcon: assets.Healthy,
			wantLabels: []string{"Routing on · 127.0.0.1:3456 · 3/3 accounts usable", "Stop routing", "---",
				"new — expires in under a minute", "  Refresh now", "  Disable", "  Remove new",
				"stale — token expired, refreshing", "  Refresh now", "  Disable", "  Remove stale",
				"bare — ready", "  Refresh now", "  Disable", "  Remove bare",
				"Add account…", "Import from Claude Code login"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.snap.Now = menuNow
			m := BuildMenu(tt.snap)
			if m.Icon != tt.wantIcon {
				t.Errorf("icon = %q, want %q", m.Icon, tt.wantIcon)
			}
			want := append(append([]string{}, tt.wantLabels...), tail...)
			if got := labels(m.Items, ""); !reflect.DeepEqual(got, want) {
				t.Errorf("menu:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if tt.wantTooltip != "" && m.Tooltip != tt.wantTooltip {
				t.Errorf("tooltip = %q, want %q", m.Tooltip, tt.wantTooltip)
			}
			if !strings.HasSuffix(m.Tooltip, m.Items[0].Label) {
				t.Errorf("tooltip %q does not repeat the header %q", m.Tooltip, m.Items[0].Label)
			}
		})
	}
}

func TestBuildMenuActions(t *testing.T) {
	snap := Snapshot{Now: menuNow, Routing: true, Addr: "127.0.0.1:3456", ClaudeConfigured: true, StartAtLogin: true, LastImport: "Imported work-max (added)",
		Accounts: []credentials.AccountInfo{okAccount("work-max", time.Hour), {ID: "off", State: credentials.StateOK},
			{ID: "old", Enabled: true, State: credentials.StateNeedsLogin}}}
	m := BuildMenu(snap)
	byKey := map[string]Item{}
	var walk func([]Item)
	walk = func(items []Item) {
		for _, it := range items {
			if _, dup := byKey[it.Key]; dup {
				t.Errorf("duplicate key %q", it.Key)
			}
			byKey[it.Key] = it
			walk(it.Children)
		}
	}
	walk(m.Items)
	checks := []struct {
		key  string
		want Action
	}{
		{"routing", Action{Kind: ActionStopRouting}},
		{"account/work-max/refresh", Action{Kind: ActionRefresh, AccountID: "work-max"}},
		{"account/work-max/enable", Action{Kind: ActionDisable, AccountID: "work-max"}},
		{"account/off/enable", Action{Kind: ActionEnable, AccountID: "off"}},
		{"account/off/remove", Action{Kind: ActionRemove, AccountID: "off"}},
		{"claude", Action{Kind: ActionRevertClaude}},
		{"autostart", Action{Kind: ActionDisableAutostart}},
		{"quit", Action{Kind: ActionQuit}},
		{"sign-in", Action{Kind: ActionAddAccount}},
		{"account/old/sign-in", Action{Kind: ActionSignInAgain, AccountID: "old"}},
	}
	for _, c := range checks {
		if got := byKey[c.key].Action; got != c.want {
			t.Errorf("%s: action %+v, want %+v", c.key, got, c.want)
		}
	}
	if it := byKey["account/old/sign-in"]; it.Disabled {
		t.Error("Sign in again is greyed out while no sign-in is waiting")
	}
	snap.SigningIn = true
	for _, it := range BuildMenu(snap).Items {
		if it.Key == "sign-in" && it.Action != (Action{Kind: ActionCancelSignIn}) {
			t.Errorf("while signing in, the sign-in item does %+v, want cancel", it.Action)
		}
	}
	if it := byKey["import-result"]; it.Label != "Imported work-max (added)" || !it.Disabled {
		t.Errorf("import result line = %+v", it)
	}
	if !byKey["header"].Disabled {
		t.Error("the header line is clickable")
	}
	if got := byKey["copy"].Tooltip; got != "http://127.0.0.1:3456" {
		t.Errorf("copy tooltip = %q", got)
	}
}

func BenchmarkBuildMenuTenAccounts(b *testing.B) {
	snap := Snapshot{Now: menuNow, Routing: true, Addr: "127.0.0.1:3456", GOOS: "linux"}
	for i := range 10 {
		id := "account-" + string(rune('a'+i))
		snap.Accounts = append(snap.Accounts, okAccount(id, time.Duration(i+1)*time.Hour))
		snap.Health.Accounts = append(snap.Health.Accounts, okHealth(id, 0.1*float64(i), 0.05*float64(i)))
	}
	b.ReportAllocs()
	for b.Loop() {
		BuildMenu(snap)
	}
}
