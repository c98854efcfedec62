// Package tray is cc-router's menu-bar (macOS) and tray (Linux
// StatusNotifierItem) app: it embeds the proxy and the credentials refresh
// loop, shows their state as a menu rebuilt from one snapshot, acts on
// clicks, and notifies the desktop of what needs the user. Without a tray
// host it runs the same proxy headless.
package tray

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/credentials/signin"
	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/proxy"
)

// Config configures Run. Manager and Proxy are required.
type Config struct {
	// Manager owns the accounts and runs the refresh loop; Proxy routes.
	Manager *credentials.Manager
	Proxy   *proxy.Proxy
	// Listen is where routing listens when started (e.g. 127.0.0.1:3456).
	Listen string
	// ProxySecret, when set, is written as Claude Code's token.
	ProxySecret string
	// AccountsDir is opened by "Open accounts folder".
	AccountsDir string
	// Claude edits Claude Code's settings.json for "Route Claude Code
	// through cc-router"; Autostart is the "Start at login" entry.
	Claude    ClaudeSettings
	Autostart Autostart
	// Notifier shows notifications (default: a Notifier with beeep).
	Notifier *Notifier
	// Logger receives what failed (default slog.Default()).
	Logger *slog.Logger
	// Out receives the few lines meant for a terminal (the headless notice).
	Out io.Writer
	// Headless skips the tray even when a tray host is there.
	Headless bool
	// RebuildEvery bounds how stale the menu can be (default 30s), so
	// "expires in" stays true without events.
	RebuildEvery time.Duration
	// StopGrace is how long in-flight requests may finish when routing
	// stops or the app quits (default 10s).
	StopGrace time.Duration
	// OnRouting is called with the listening address ("" when stopped)
	// after routing starts or stops; the single-instance lock records it.
	OnRouting func(addr string)
	// Clipboard and Open default to the platform's tools.
	Clipboard func(text string) error
	Open      func(path string) error
	// OpenBrowser opens the sign-in page of "Add account…" (default
	// signin.OpenBrowser: BROWSER, else open or xdg-open).
	OpenBrowser func(ctx context.Context, url string) error
	// HTTPClient reaches the token and profile endpoints for sign-in and
	// email lookups (default: signin's own client).
	HTTPClient *http.Client
}

// app is the running tray app. The loop goroutine alone rebuilds the menu;
// actions run in their own goroutines and ask it to rebuild.
type app struct {
	cfg     Config
	log     *slog.Logger
	actions chan Action
	kick    chan struct{}
	quit    func()
	menu    *trayMenu // nil when headless

	routingMu sync.Mutex // serializes Start/Stop routing

	mu           sync.Mutex // guards the fields below
	startError   string
	lastImport   string
	allUnusable  bool
	signInCancel context.CancelFunc // ends the sign-in waiting for the browser; nil when none is
	signIns      int                // sign-ins started, to key their notifications
}

// Run runs the app until Quit, SIGINT or SIGTERM, then stops routing
// gracefully. It returns an error only for what prevents it from running
// at all; a port in use or a missing tray host is reported and survived.
func Run(cfg Config) error {
	if cfg.Manager == nil || cfg.Proxy == nil {
		return errors.New("tray: Manager and Proxy are required")
	}
	a := newApp(cfg)
	cfg = a.cfg

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Subscribe before anything can happen, so that no event (a refresh
	// failing at start-up) is missed.
	ev := a.subscribe()
	managerDone := make(chan struct{})
	go func() {
		defer close(managerDone)
		cfg.Manager.Run(ctx)
	}()
	a.startRouting()
	go a.fillEmails(ctx)

	useTray, why := !cfg.Headless, "started with --headless"
	if useTray {
		useTray, why = trayHostAvailable()
	}
	if useTray && !haveSystray {
		useTray, why = false, "this build has no menu-bar support (it was built without cgo)"
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	loopDone := make(chan struct{})
	if useTray {
		if why != "" {
			fmt.Fprintf(cfg.Out, "cc-router: %s; the icon appears when one starts. Routing: %s\n", why, a.routingLine())
		}
		a.quit = quitSystray
		go func() {
			<-sigs
			quitSystray()
		}()
		runSystray(func() {
			a.menu = newTrayMenu(a.enqueue)
			go func() {
				defer close(loopDone)
				a.loop(ctx, ev)
			}()
		}, cancel)
	} else {
		fmt.Fprintf(cfg.Out, "cc-router: %s; running headless. Routing: %s. Stop with Ctrl-C.\n", why, a.routingLine())
		a.quit = cancel
		go func() {
			select {
			case <-sigs:
				cancel()
			case <-ctx.Done():
			}
		}()
		go func() {
			defer close(loopDone)
			a.loop(ctx, ev)
		}()
		<-ctx.Done()
	}
	cancel()
	<-loopDone
	a.stopRouting()
	<-managerDone
	waitTimeout(cfg.Notifier.Wait, 2*time.Second)
	return nil
}

// newApp fills cfg's defaults and returns the app, not yet running.
func newApp(cfg Config) *app {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Notifier == nil {
		cfg.Notifier = &Notifier{Logger: cfg.Logger}
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.RebuildEvery <= 0 {
		cfg.RebuildEvery = 30 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.Clipboard == nil {
		cfg.Clipboard = copyToClipboard
	}
	if cfg.Open == nil {
		cfg.Open = openPath
	}
	return &app{cfg: cfg, log: cfg.Logger, actions: make(chan Action, 16), kick: make(chan struct{}, 1)}
}

func waitTimeout(wait func(), d time.Duration) {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func (a *app) routingLine() string {
	if addr := a.cfg.Proxy.Addr(); addr != "" {
		return "on " + addr
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return "off (" + a.startError + ")"
}

// enqueue hands a click to the loop; it never blocks the click listener.
func (a *app) enqueue(act Action) {
	select {
	case a.actions <- act:
	default:
		a.log.Warn("dropped a menu click: too many pending", "action", act.Kind)
	}
}

func (a *app) requestRebuild() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// events are the app's subscriptions to the manager and the proxy.
type events struct {
	credentials <-chan credentials.Event
	proxy       <-chan struct{}
	unsubscribe func()
}

func (a *app) subscribe() events {
	c, unsubC := a.cfg.Manager.Subscribe()
	p, unsubP := a.cfg.Proxy.Subscribe()
	return events{credentials: c, proxy: p, unsubscribe: func() { unsubC(); unsubP() }}
}

// loop rebuilds the menu on every event, click and tick until ctx ends;
// it owns ev and ends the subscriptions.
func (a *app) loop(ctx context.Context, ev events) {
	defer ev.unsubscribe()
	credEvents, proxyEvents := ev.credentials, ev.proxy
	tick := time.NewTicker(a.cfg.RebuildEvery)
	defer tick.Stop()
	var running sync.WaitGroup
	defer running.Wait()

	a.rebuild()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-credEvents:
			if !ok {
				credEvents = nil
				continue
			}
			a.onCredentialsEvent(ev)
			a.rebuild()
		case _, ok := <-proxyEvents:
			if !ok {
				proxyEvents = nil
				continue
			}
			a.rebuild()
		case <-tick.C:
			a.rebuild()
		case <-a.kick:
			a.rebuild()
		case act := <-a.actions:
			if act.Kind == ActionQuit {
				a.quit()
				continue
			}
			running.Add(1)
			go func() {
				defer running.Done()
				a.do(ctx, act)
				a.requestRebuild()
			}()
		}
	}
}

// baseURL is Claude Code's ANTHROPIC_BASE_URL for this router: where it
// listens, else where it would.
func (a *app) baseURL() string {
	addr := a.cfg.Proxy.Addr()
	if addr == "" {
		addr = a.cfg.Listen
	}
	return config.ClientURL(addr)
}

func (a *app) snapshot() Snapshot {
	a.mu.Lock()
	startError, lastImport, signingIn := a.startError, a.lastImport, a.signInCancel != nil
	a.mu.Unlock()
	addr := a.cfg.Proxy.Addr()
	return Snapshot{
		Now:              time.Now(),
		GOOS:             runtime.GOOS,
		Routing:          addr != "",
		Addr:             addr,
		ConfiguredAddr:   a.cfg.Listen,
		StartError:       startError,
		Accounts:         a.cfg.Manager.Accounts(),
		Health:           a.cfg.Proxy.Health(),
		LastImport:       lastImport,
		SigningIn:        signingIn,
		ClaudeConfigured: a.cfg.Claude.Path != "" && a.cfg.Claude.Configured(a.baseURL()),
		StartAtLogin:     a.cfg.Autostart.Path != "" && a.cfg.Autostart.Enabled(),
	}
}

// rebuild derives the menu from a fresh snapshot, shows it, and sends the
// notifications that belong to a change of the whole router's state.
func (a *app) rebuild() {
	snap := a.snapshot()
	m := BuildMenu(snap)
	if a.menu != nil {
		a.menu.Render(m)
	}
	a.mu.Lock()
	wasUnusable := a.allUnusable
	nowUnusable := snap.Routing && m.Total > 0 && m.Usable == 0
	a.allUnusable = nowUnusable
	a.mu.Unlock()
	switch {
	case nowUnusable && !wasUnusable:
		body := "Claude Code's requests fail until an account comes back."
		if !m.BackAt.IsZero() {
			body = fmt.Sprintf("The first account comes back at %s.", m.BackAt.Local().Format("15:04"))
		}
		a.cfg.Notifier.Notify(NotifyAllUnusable, "", "cc-router: every account is unusable", body)
	case wasUnusable && !nowUnusable && m.Usable > 0:
		a.cfg.Notifier.Notify(NotifyRecovered, "", "cc-router: routing recovered",
			fmt.Sprintf("%d of %d accounts are usable again.", m.Usable, m.Total))
	}
}

func (a *app) importLabel() string {
	if runtime.GOOS == "darwin" {
		return "Import from Keychain"
	}
	return "Import from Claude Code login"
}

func (a *app) onCredentialsEvent(ev credentials.Event) {
	switch ev.Kind {
	case credentials.EventNeedsLogin:
		body := fmt.Sprintf("Its refresh token was rejected. Choose Sign in again… in its menu (or sign in with `claude login`, then choose %s).", a.importLabel())
		a.cfg.Notifier.Notify(NotifyNeedsLogin, ev.AccountID, "cc-router: "+ev.AccountID+" needs login", body)
	case credentials.EventAdopted:
		body := ev.Message
		if body == "" {
			body = "It took the newer tokens of a Claude Code login."
		}
		a.cfg.Notifier.Notify(NotifyAdopted, ev.AccountID, "cc-router: "+ev.AccountID+" uses a newer login", body)
	}
}

// do carries out one click. Failures are shown, never fatal.
func (a *app) do(ctx context.Context, act Action) {
	m := a.cfg.Manager
	var err error
	switch act.Kind {
	case ActionStartRouting:
		a.startRouting()
	case ActionStopRouting:
		a.stopRouting()
	case ActionRefresh:
		err = m.Refresh(ctx, act.AccountID)
		if errors.Is(err, credentials.ErrNeedsLogin) {
			err = nil // the needs-login event already tells the user
		}
	case ActionEnable, ActionDisable:
		err = m.SetEnabled(act.AccountID, act.Kind == ActionEnable)
	case ActionRemove:
		err = m.Remove(act.AccountID)
	case ActionImport:
		a.importLogin(ctx)
	case ActionAddAccount, ActionSignInAgain:
		a.signIn(ctx, act.AccountID)
	case ActionCancelSignIn:
		a.mu.Lock()
		if a.signInCancel != nil {
			a.signInCancel()
		}
		a.mu.Unlock()
	case ActionConfigureClaude:
		token := PlaceholderToken
		if a.cfg.ProxySecret != "" {
			token = a.cfg.ProxySecret
		}
		if _, err = a.cfg.Claude.Configure(a.baseURL(), token); err == nil {
			a.cfg.Notifier.Notify(NotifyInfo, "claude-settings", "cc-router: Claude Code routed through cc-router",
				"Set in "+a.cfg.Claude.Path+". New Claude Code sessions use "+a.baseURL()+".")
		}
	case ActionRevertClaude:
		var res RevertResult
		if res, err = a.cfg.Claude.Revert(); err == nil && len(res.Kept) > 0 {
			a.log.Info("left keys changed by hand in Claude Code's settings", "keys", res.Kept)
		}
	case ActionCopyBaseURL:
		if err = a.cfg.Clipboard(a.baseURL()); err != nil {
			a.cfg.Notifier.Notify(NotifyInfo, "clipboard", "cc-router base URL", a.baseURL())
			a.log.Warn("could not copy to the clipboard", "err", err)
			err = nil
		}
	case ActionOpenFolder:
		err = a.cfg.Open(a.cfg.AccountsDir)
	case ActionEnableAutostart:
		err = a.cfg.Autostart.Enable()
	case ActionDisableAutostart:
		err = a.cfg.Autostart.Disable()
	}
	if err != nil {
		a.log.Warn("menu action failed", "action", act.Kind, "account", act.AccountID, "err", err)
		a.cfg.Notifier.Notify(NotifyKind("action-"+string(act.Kind)), act.AccountID, "cc-router: could not "+describe(act), err.Error())
	}
}

func describe(act Action) string {
	s := map[ActionKind]string{
		ActionRefresh: "refresh", ActionEnable: "enable", ActionDisable: "disable", ActionRemove: "remove",
		ActionConfigureClaude: "edit Claude Code's settings", ActionRevertClaude: "edit Claude Code's settings",
		ActionOpenFolder: "open the accounts folder", ActionEnableAutostart: "set up start at login",
		ActionDisableAutostart: "remove start at login",
	}[act.Kind]
	if s == "" {
		s = string(act.Kind)
	}
	if act.AccountID != "" {
		s += " " + act.AccountID
	}
	return s
}

func (a *app) importLogin(ctx context.Context) {
	res, err := a.cfg.Manager.Import(ctx, credentials.ImportRequest{})
	var line, body string
	if err != nil {
		line = "Import failed: " + err.Error()
		body = err.Error()
	} else {
		verb := res.Verb()
		line = fmt.Sprintf("Imported %s (%s)", res.AccountID, verb)
		body = fmt.Sprintf("Account %s was %s from %s: %s.", res.AccountID, verb, res.Source, res.Reason())
	}
	a.mu.Lock()
	a.lastImport = line
	a.mu.Unlock()
	a.cfg.Notifier.Notify(NotifyImport, res.AccountID, "cc-router: "+a.importLabel(), body)
	if err == nil {
		a.fillEmails(ctx)
	}
}

// fillEmails learns, once, the emails of accounts stored without one
// (imports) from the profile endpoint, so the menu can show them.
func (a *app) fillEmails(ctx context.Context) {
	filled, err := signin.FillMissingEmails(ctx, a.cfg.Manager, a.cfg.HTTPClient, "")
	for _, f := range filled {
		a.log.Info("learned an account's email", "account", f.AccountID, "email", f.Email)
	}
	if err != nil && ctx.Err() == nil {
		a.log.Warn("could not look up every account's email", "err", err)
	}
}

// signIn runs "Add account…" (accountID "") or "Sign in again…": a sign-in
// in the browser, proposing the account's email when it is known. "Add
// account…" stores the tokens as a new account (or replaces those of a
// stored account with the same uuid); "Sign in again…" replaces the tokens
// of accountID in place, and saves nothing if the browser signed in as
// another account. Only one runs at a time; "Waiting for sign-in…
// (cancel)" ends it. The outcome is a notification.
func (a *app) signIn(ctx context.Context, accountID string) {
	var hint string
	if accountID != "" {
		if info, err := a.cfg.Manager.Account(accountID); err == nil {
			hint = info.Email
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.mu.Lock()
	if a.signInCancel != nil {
		a.mu.Unlock()
		return // the menu offers only cancel while one waits
	}
	a.signInCancel = cancel
	a.signIns++
	key := fmt.Sprintf("sign-in-%d", a.signIns) // each is asked for: never silenced
	a.mu.Unlock()
	a.requestRebuild()
	defer func() {
		a.mu.Lock()
		a.signInCancel = nil
		a.mu.Unlock()
	}()

	res, err := signin.Run(ctx, signin.Options{LoginHint: hint, OpenBrowser: a.cfg.OpenBrowser, HTTPClient: a.cfg.HTTPClient})
	if errors.Is(err, signin.ErrCanceled) {
		return // cancelled from the menu, or the app is quitting
	}
	if err != nil {
		a.log.Warn("sign-in failed", "account", accountID, "err", err)
		a.cfg.Notifier.Notify(NotifySignIn, key, "cc-router: sign-in failed", err.Error())
		return
	}
	var info credentials.AccountInfo
	added := false
	if accountID != "" {
		info, err = a.cfg.Manager.ReplaceLogin(accountID, res.Tokens)
	} else {
		info, added, err = a.cfg.Manager.SaveLogin(res.Tokens, "")
	}
	if err != nil {
		a.cfg.Notifier.Notify(NotifySignIn, key, "cc-router: sign-in could not be saved", err.Error())
		return
	}
	who := info.Email
	if who == "" {
		who = info.ID
	}
	title, body := "cc-router: added "+who, "Account "+info.ID+" signed in; it is used for routing now."
	if !added {
		title, body = "cc-router: signed in again as "+who, "Account "+info.ID+" has new tokens of its own."
	}
	a.cfg.Notifier.Notify(NotifySignIn, key, title, body)
}

func (a *app) startRouting() {
	a.routingMu.Lock()
	defer a.routingMu.Unlock()
	if a.cfg.Proxy.Addr() != "" {
		return
	}
	err := a.cfg.Proxy.Start(a.cfg.Listen)
	msg := ""
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		msg = a.cfg.Listen + " is already in use"
	case err != nil:
		msg = err.Error()
	}
	a.mu.Lock()
	a.startError = msg
	a.mu.Unlock()
	if err != nil {
		a.log.Warn("could not start routing", "listen", a.cfg.Listen, "err", err)
		a.cfg.Notifier.Notify(NotifyStartFailed, "", "cc-router: routing did not start", "Could not listen on "+a.cfg.Listen+": "+msg+".")
	}
	if a.cfg.OnRouting != nil {
		a.cfg.OnRouting(a.cfg.Proxy.Addr())
	}
}

func (a *app) stopRouting() {
	a.routingMu.Lock()
	defer a.routingMu.Unlock()
	if a.cfg.Proxy.Addr() == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.StopGrace)
	defer cancel()
	if err := a.cfg.Proxy.Stop(ctx); err != nil {
		a.log.Warn("stopping routing", "err", err)
	}
	if a.cfg.OnRouting != nil {
		a.cfg.OnRouting(a.cfg.Proxy.Addr())
	}
}
