package tray

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cc-router/cc-router/assets"
	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/humanize"
	"github.com/cc-router/cc-router/proxy"
)

// Snapshot is everything the menu shows, read at one moment from the
// credentials manager, the proxy and the app's own few facts. The menu is
// a pure function of it (BuildMenu), so the tray never keeps a second copy
// of account state that could drift.
type Snapshot struct {
	Now time.Time
	// GOOS picks platform wording ("Import from Keychain" on darwin).
	GOOS string
	// Routing is true while the proxy listens on Addr.
	Routing bool
	Addr    string
	// ConfiguredAddr is where routing starts; shown while routing is off.
	ConfiguredAddr string
	// StartError is why the last Start routing failed, "" if it did not.
	StartError string
	// Accounts is credentials.Manager.Accounts(); Health is proxy.Health().
	Accounts []credentials.AccountInfo
	Health   proxy.Health
	// LastImport is the result line of the last import, "" if none.
	LastImport string
	// SigningIn is true while a sign-in started from the menu waits for
	// the browser.
	SigningIn bool
	// ClaudeConfigured: Claude Code's settings point at this router.
	ClaudeConfigured bool
	// StartAtLogin: the autostart entry is installed.
	StartAtLogin bool
}

// ActionKind names what a menu item does when clicked.
type ActionKind string

// The actions of the menu.
const (
	ActionNone             ActionKind = ""
	ActionStartRouting     ActionKind = "start-routing"
	ActionStopRouting      ActionKind = "stop-routing"
	ActionRefresh          ActionKind = "refresh"
	ActionEnable           ActionKind = "enable"
	ActionDisable          ActionKind = "disable"
	ActionRemove           ActionKind = "remove"
	ActionImport           ActionKind = "import"
	ActionAddAccount       ActionKind = "add-account"    // sign in with Claude in the browser
	ActionSignInAgain      ActionKind = "sign-in-again"  // the same, for an account that needs login
	ActionCancelSignIn     ActionKind = "cancel-sign-in" // give up the sign-in that is waiting
	ActionConfigureClaude  ActionKind = "configure-claude"
	ActionRevertClaude     ActionKind = "revert-claude"
	ActionCopyBaseURL      ActionKind = "copy-base-url"
	ActionOpenFolder       ActionKind = "open-folder"
	ActionEnableAutostart  ActionKind = "enable-autostart"
	ActionDisableAutostart ActionKind = "disable-autostart"
	ActionQuit             ActionKind = "quit"
)

// Action is what a click asks the app to do.
type Action struct {
	Kind      ActionKind
	AccountID string // for the per-account actions
}

// Item is one line of the menu. Key is stable across rebuilds for the
// "same" item (the routing toggle keeps its key when its label flips), so
// the renderer can update labels in place instead of rebuilding.
type Item struct {
	Key       string
	Label     string
	Tooltip   string
	Separator bool
	Disabled  bool // shown greyed out, not clickable
	Checkable bool
	Checked   bool
	Action    Action
	Children  []Item
}

// Menu is the whole tray state derived from a Snapshot.
type Menu struct {
	Icon    string // an assets icon state
	Tooltip string // the header line
	Items   []Item
	// Usable of Total accounts can take requests now; BackAt is the
	// earliest time an unusable account is known to come back (zero if
	// none is known).
	Usable, Total int
	BackAt        time.Time
}

// BuildMenu derives the menu, icon and tooltip from s. It is pure.
func BuildMenu(s Snapshot) Menu {
	health := make(map[string]proxy.AccountHealth, len(s.Health.Accounts))
	for _, h := range s.Health.Accounts {
		health[h.ID] = h
	}
	usable, attention := 0, 0
	var backAt time.Time
	for _, a := range s.Accounts {
		h, ok := health[a.ID]
		if accountUsable(a, h, ok) {
			usable++
			continue
		}
		attention++
		if ok && a.Enabled && a.State != credentials.StateNeedsLogin {
			if back := limitedUntil(h, s.Now); !back.IsZero() && (backAt.IsZero() || back.Before(backAt)) {
				backAt = back
			}
		}
	}

	header := headerLine(s, usable)
	m := Menu{Tooltip: "cc-router — " + header, Usable: usable, Total: len(s.Accounts), BackAt: backAt}
	switch {
	case !s.Routing:
		m.Icon = assets.Off
	case usable == 0:
		m.Icon = assets.Unusable
	case attention > 0:
		m.Icon = assets.Degraded
	default:
		m.Icon = assets.Healthy
	}

	items := []Item{{Key: "header", Label: header, Disabled: true}}
	if s.StartError != "" && !s.Routing {
		items = append(items, Item{Key: "start-error", Label: "Could not start: " + s.StartError, Disabled: true})
	}
	if s.Routing {
		items = append(items, Item{Key: "routing", Label: "Stop routing", Action: Action{Kind: ActionStopRouting}})
	} else {
		items = append(items, Item{Key: "routing", Label: "Start routing", Action: Action{Kind: ActionStartRouting}})
	}
	items = append(items, Item{Key: "sep-accounts", Separator: true})
	for _, a := range s.Accounts {
		h, ok := health[a.ID]
		it := accountItem(a, h, ok, s.Now)
		if a.State == credentials.StateNeedsLogin {
			again := Item{Key: it.Key + "/sign-in", Label: "Sign in again…", Disabled: s.SigningIn,
				Tooltip: "Sign in with Claude as this account; its tokens are replaced in place",
				Action:  Action{Kind: ActionSignInAgain, AccountID: a.ID}}
			it.Children = append([]Item{again}, it.Children...)
		}
		items = append(items, it)
	}
	signIn := Item{Key: "sign-in", Label: "Add account…", Tooltip: "Sign in with Claude in the browser",
		Action: Action{Kind: ActionAddAccount}}
	if s.SigningIn {
		signIn.Label, signIn.Action = "Waiting for sign-in… (cancel)", Action{Kind: ActionCancelSignIn}
	}
	items = append(items, signIn)
	importLabel := "Import from Claude Code login"
	if s.GOOS == "darwin" {
		importLabel = "Import from Keychain"
	}
	items = append(items, Item{Key: "import", Label: importLabel, Action: Action{Kind: ActionImport}})
	if s.LastImport != "" {
		items = append(items, Item{Key: "import-result", Label: s.LastImport, Disabled: true})
	}
	items = append(items, Item{Key: "sep-tools", Separator: true})
	claude := Item{Key: "claude", Label: "Route Claude Code through cc-router", Checkable: true, Checked: s.ClaudeConfigured,
		Tooltip: "Sets ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN in Claude Code's settings.json",
		Action:  Action{Kind: ActionConfigureClaude}}
	if s.ClaudeConfigured {
		claude.Action.Kind = ActionRevertClaude
	}
	login := Item{Key: "autostart", Label: "Start at login", Checkable: true, Checked: s.StartAtLogin,
		Action: Action{Kind: ActionEnableAutostart}}
	if s.StartAtLogin {
		login.Action.Kind = ActionDisableAutostart
	}
	items = append(items,
		claude,
		Item{Key: "copy", Label: "Copy base URL", Tooltip: baseURL(s), Action: Action{Kind: ActionCopyBaseURL}},
		Item{Key: "folder", Label: "Open accounts folder", Action: Action{Kind: ActionOpenFolder}},
		login,
		Item{Key: "sep-quit", Separator: true},
		Item{Key: "quit", Label: "Quit", Action: Action{Kind: ActionQuit}},
	)
	m.Items = items
	return m
}

// baseURL is what Claude Code's ANTHROPIC_BASE_URL should be.
func baseURL(s Snapshot) string {
	addr := s.Addr
	if addr == "" {
		addr = s.ConfiguredAddr
	}
	return config.ClientURL(addr)
}

func headerLine(s Snapshot, usable int) string {
	switch {
	case !s.Routing:
		if len(s.Accounts) == 0 {
			return "Routing off · no accounts yet"
		}
		return fmt.Sprintf("Routing off · %d/%d accounts usable", usable, len(s.Accounts))
	case len(s.Accounts) == 0:
		return "No accounts yet · " + s.Addr
	default:
		return fmt.Sprintf("Routing on · %s · %d/%d accounts usable", s.Addr, usable, len(s.Accounts))
	}
}

// accountUsable decides from the credentials record and, when the proxy
// knows the account, its view of limits.
func accountUsable(a credentials.AccountInfo, h proxy.AccountHealth, known bool) bool {
	if !a.Enabled || a.State == credentials.StateNeedsLogin {
		return false
	}
	if known {
		return h.Usable
	}
	return true
}

func accountItem(a credentials.AccountInfo, h proxy.AccountHealth, known bool, now time.Time) Item {
	key := "account/" + a.ID
	name := a.ID
	if a.Email != "" && a.Email != a.ID {
		name += " (" + a.Email + ")"
	}
	it := Item{Key: key, Label: name + " — " + accountStatus(a, h, known, now), Tooltip: a.Email}
	toggle := Item{Key: key + "/enable", Label: "Disable", Action: Action{Kind: ActionDisable, AccountID: a.ID}}
	if !a.Enabled {
		toggle.Label, toggle.Action.Kind = "Enable", ActionEnable
	}
	it.Children = []Item{
		{Key: key + "/refresh", Label: "Refresh now", Action: Action{Kind: ActionRefresh, AccountID: a.ID}},
		toggle,
		{Key: key + "/remove", Label: "Remove " + a.ID, Action: Action{Kind: ActionRemove, AccountID: a.ID}},
	}
	return it
}

// accountStatus is the part of an account's line after the dash.
func accountStatus(a credentials.AccountInfo, h proxy.AccountHealth, known bool, now time.Time) string {
	switch {
	case !a.Enabled:
		return "disabled"
	case a.State == credentials.StateNeedsLogin:
		return "needs login"
	}
	if known {
		switch h.State {
		case "cooling_down":
			if h.CoolingUntil.After(now) {
				return "cooling down " + humanize.Duration(h.CoolingUntil.Sub(now))
			}
			return "cooling down"
		case "rate_limited":
			if back := limitedUntil(h, now); !back.IsZero() {
				return "rate-limited, back in " + humanize.Duration(back.Sub(now))
			}
			return "rate-limited"
		case "over_cap":
			return "over your cap" + usage(h)
		case "needs_login":
			return "needs login"
		case "disabled":
			return "disabled"
		}
	}
	var status string
	switch {
	case a.ExpiresAt.IsZero():
	case a.ExpiresAt.After(now):
		status = "expires in " + humanize.Duration(a.ExpiresAt.Sub(now))
	default:
		status = "token expired, refreshing"
	}
	if known {
		status = strings.TrimPrefix(status+usage(h), " · ")
	}
	if status == "" {
		return "ready"
	}
	return status
}

// usage is " · 5h 23% · 7d 41%" once the proxy has seen the account's
// utilization, else "".
func usage(h proxy.AccountHealth) string {
	if h.Utilization5h == 0 && h.Utilization7d == 0 && h.Reset5h.IsZero() && h.Reset7d.IsZero() {
		return ""
	}
	return fmt.Sprintf(" · 5h %d%% · 7d %d%%", percent(h.Utilization5h), percent(h.Utilization7d))
}

func percent(fraction float64) int { return int(math.Round(fraction * 100)) }

// limitedUntil is when a rate-limited account comes back: the proxy's
// cooling deadline, else the reset of the exhausted window.
func limitedUntil(h proxy.AccountHealth, now time.Time) time.Time {
	var back time.Time
	if h.CoolingUntil.After(now) {
		back = h.CoolingUntil
	}
	for _, w := range []struct {
		util  float64
		reset time.Time
	}{{h.Utilization5h, h.Reset5h}, {h.Utilization7d, h.Reset7d}} {
		if w.util >= 1 && w.reset.After(back) {
			back = w.reset
		}
	}
	return back
}
