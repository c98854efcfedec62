package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config configures a Manager. Zero fields take the documented defaults.
type Config struct {
	// Path is the accounts.json file (default: DefaultAccountsPath()).
	Path string
	// TokenURL is the OAuth token endpoint (default: CC_ROUTER_TOKEN_URL or
	// https://platform.claude.com/v1/oauth/token).
	TokenURL string
	// UserAgent sent to the token endpoint (default "axios/1.9.0").
	UserAgent string
	// RefreshBuffer: tokens expiring within it are refreshed (default 10m).
	RefreshBuffer time.Duration
	// HTTPClient for the token endpoint (default: a client with timeouts).
	// Redirects are never followed, whatever its CheckRedirect says.
	HTTPClient *http.Client
	// Now is the clock (default time.Now); tests swap it.
	Now func() time.Time
	// Logger for refresh and adoption messages (default slog.Default()).
	Logger *slog.Logger

	// RetryMin and RetryMax bound the capped exponential backoff after a
	// transient refresh failure (defaults 5s and 5m).
	RetryMin, RetryMax time.Duration
	// RefreshTimeout bounds one refresh, lock wait included (default 60s).
	RefreshTimeout time.Duration
	// PollInterval is how often Run looks for changes another process made
	// to the file (default 5s).
	PollInterval time.Duration
	// IdentifyToken, when set, names the Claude account of an access token
	// (the profile endpoint). After an imported account's refresh token is
	// rejected, the login its source now holds is adopted only if it names
	// the same account uuid (or, lacking one, email) as the stored record.
	// Without it, or when the lookup fails, a newer login is adopted
	// unchecked. Import uses it too, to find the stored record of the
	// imported login's account (see Import).
	IdentifyToken func(ctx context.Context, accessToken string) (accountUUID, email string, err error)
}

// onDemandRetry caps how long a caller whose token has already expired is
// told "still backing off" before it may try a refresh itself.
const onDemandRetry = 10 * time.Second

// validTokenWait bounds how long a caller whose token is still valid waits
// for the refresh it started or joined: a slow token endpoint must not
// stall requests that have a working token. The refresh goes on.
var validTokenWait = 5 * time.Second

// Manager owns the in-memory view of accounts.json and every refresh. All
// its methods are safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	// txMu serializes this process's transactions on the file; the flock
	// serializes them with other processes.
	txMu    sync.Mutex
	doc     *document           // the file as last read or written; guarded by txMu
	stamp   fileStamp           // identity of that version; guarded by txMu
	unsaved map[string]*account // rotated tokens that did not reach disk yet; guarded by txMu

	// view is an immutable snapshot of doc for lock-free readers.
	view atomic.Pointer[view]

	flights singleflight.Group // one refresh in flight per account id

	rtMu    sync.Mutex
	retries map[string]*retryState // transient-failure bookkeeping; guarded by rtMu

	subMu sync.Mutex
	subs  map[chan Event]struct{} // guarded by subMu

	kick chan struct{} // wakes Run after a change

	// readSource reads an imported login again (after invalid_grant).
	readSource func(ctx context.Context, source, ref string) (*ClaudeLogin, error)
}

// view is what AccessToken and Accounts read; it is never modified once
// published.
type view struct {
	list []*accountView
	byID map[string]*accountView
}

type accountView struct {
	id          string
	access      string
	refreshable bool
	jitter      time.Duration
	expires     time.Time
	state       State
	loginErr    error // prebuilt, for needs_login
	info        AccountInfo
}

// retryState counts an account's consecutive transient failures.
type retryState struct {
	failures int
	lastFail time.Time
	nextTry  time.Time
	lastErr  string
}

// NewManager loads the store. A missing file is the empty state; a
// malformed one is an error naming the file, line and column.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Path == "" {
		cfg.Path = DefaultAccountsPath()
	}
	cfg.Path = resolveStorePath(cfg.Path)
	if cfg.TokenURL == "" {
		cfg.TokenURL = TokenURL()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.RefreshBuffer <= 0 {
		cfg.RefreshBuffer = 10 * time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	// A redirect would resend the refresh token to another URL: answer it
	// as an error instead (on a copy; the caller's client is not changed).
	noRedirect := *cfg.HTTPClient
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.HTTPClient = &noRedirect
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 5 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = cfg.RetryMin
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = 60 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger,
		retries: map[string]*retryState{},
		subs:    map[chan Event]struct{}{},
		kick:    make(chan struct{}, 1),
	}
	m.readSource = m.readLogin
	doc, stamp, err := readStore(cfg.Path, m.log)
	if err != nil {
		return nil, err
	}
	m.doc, m.stamp = doc, stamp
	m.publishView()
	return m, nil
}

// Path is the accounts file this manager keeps.
func (m *Manager) Path() string { return m.cfg.Path }

func (m *Manager) now() time.Time { return m.cfg.Now() }

// ---- reading ----

// Accounts implements TokenProvider.
func (m *Manager) Accounts() []AccountInfo {
	v := m.view.Load()
	out := make([]AccountInfo, len(v.list))
	m.rtMu.Lock()
	defer m.rtMu.Unlock()
	for i, a := range v.list {
		out[i] = a.info
		if r := m.retries[a.id]; r != nil {
			out[i].LastRefreshError = r.lastErr
		}
	}
	return out
}

// Account returns one account's snapshot.
func (m *Manager) Account(id string) (AccountInfo, error) {
	for _, a := range m.Accounts() {
		if a.ID == id {
			return a, nil
		}
	}
	return AccountInfo{}, unknownAccount(id)
}

func unknownAccount(id string) error { return fmt.Errorf("%w %q", ErrUnknownAccount, id) }

// AccessToken implements TokenProvider. A token that is valid beyond the
// refresh buffer is answered from memory without locks, I/O or allocation.
func (m *Manager) AccessToken(ctx context.Context, id string) (string, error) {
	a := m.view.Load().byID[id]
	if a == nil {
		return "", unknownAccount(id)
	}
	if a.state == StateNeedsLogin {
		return "", a.loginErr
	}
	now := m.now()
	if !a.refreshable {
		if a.expires.IsZero() || now.Before(a.expires) {
			return a.access, nil
		}
		return "", fmt.Errorf("account %q: %w: its long-lived token expired and has no refresh token", id, ErrNeedsLogin)
	}
	if now.Add(m.cfg.RefreshBuffer).Before(a.expires) {
		return a.access, nil
	}
	valid := now.Before(a.expires)
	if err := m.backingOff(id, now, !valid); err != nil {
		if valid {
			return a.access, nil // keep serving while a retry is pending
		}
		return "", err
	}
	rctx := ctx
	if valid {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, validTokenWait)
		defer cancel()
	}
	tok, err := m.refresh(rctx, id, refreshMode{within: m.cfg.RefreshBuffer})
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, ErrNeedsLogin) || errors.Is(err, ErrUnknownAccount) {
		return "", err
	}
	// A transient failure, or a refresh slower than validTokenWait: the
	// current token still works until it expires.
	if cur := m.view.Load().byID[id]; cur != nil && cur.state == StateOK && m.now().Before(cur.expires) {
		return cur.access, nil
	}
	return "", err
}

// RefreshRejected implements TokenProvider.
func (m *Manager) RefreshRejected(ctx context.Context, id, rejected string) (string, error) {
	a := m.view.Load().byID[id]
	if a == nil {
		return "", unknownAccount(id)
	}
	if a.state == StateNeedsLogin {
		return "", a.loginErr
	}
	if a.access != rejected {
		return m.AccessToken(ctx, id)
	}
	return m.refresh(ctx, id, refreshMode{rejected: rejected})
}

// Refresh refreshes the account now ("Refresh now" in the tray), unless
// another process has replaced its tokens since this one last looked (then
// those are adopted).
func (m *Manager) Refresh(ctx context.Context, id string) error {
	a := m.view.Load().byID[id]
	if a == nil {
		return unknownAccount(id)
	}
	_, err := m.refresh(ctx, id, refreshMode{rejected: a.access})
	return err
}

// ---- refreshing ----

// refreshMode says when a refresh is needed once the file has been re-read
// under the lock.
type refreshMode struct {
	rejected string        // when the stored access token is still this one
	within   time.Duration // else when the token expires within this
}

func (r refreshMode) needs(a *account, now time.Time) bool {
	if r.rejected != "" {
		return a.AccessToken == r.rejected
	}
	return !now.Add(r.within).Before(time.UnixMilli(a.ExpiresAt))
}

// refresh runs (or joins) the single refresh in flight for id. The refresh
// goes on for the others when ctx ends; this caller just stops waiting.
func (m *Manager) refresh(ctx context.Context, id string, mode refreshMode) (string, error) {
	ch := m.flights.DoChan(id, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.RefreshTimeout)
		defer cancel()
		return m.refreshLocked(rctx, id, mode)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// refreshLocked re-reads the file under the lock and refreshes only if the
// stored tokens still need it; otherwise it adopts what another process
// stored. The new tokens are on disk before they are returned.
func (m *Manager) refreshLocked(ctx context.Context, id string, mode refreshMode) (string, error) {
	var tok string
	err := m.transact(ctx, func(t *txn) error {
		a := t.doc.find(id)
		if a == nil {
			return unknownAccount(id)
		}
		if a.State == StateNeedsLogin {
			return needsLoginError(a)
		}
		now := m.now()
		if !mode.needs(a, now) {
			tok = a.AccessToken
			return nil
		}
		if a.RefreshToken == "" {
			return fmt.Errorf("account %q: %w: it has a long-lived token with no refresh token", id, ErrNeedsLogin)
		}
		adoptedOnce := false
		for {
			tr, err := m.postRefresh(ctx, a.RefreshToken)
			if err == nil {
				m.applyRefresh(a, tr, now)
				t.write = true
				t.rotated[id] = a
				t.event(EventRefreshed, id, fmt.Sprintf("refreshed; the access token now expires at %s", time.UnixMilli(a.ExpiresAt).UTC().Format(time.RFC3339)))
				tok = a.AccessToken
				return nil
			}
			if !IsTerminal(err) {
				msg := m.noteFailure(id, err)
				t.event(EventRefreshFailed, id, msg)
				m.log.Warn("token refresh failed; will retry", "account", id, "err", err)
				return fmt.Errorf("refreshing account %q: %w", id, err)
			}
			if !adoptedOnce && m.adoptFromSource(ctx, t, a) {
				adoptedOnce = true
				if !mode.needs(a, now) || now.Before(time.UnixMilli(a.ExpiresAt)) {
					tok = a.AccessToken
					return nil
				}
				continue // the adopted login needs a refresh of its own
			}
			a.State = StateNeedsLogin
			a.StateReason = "the refresh token was rejected (" + err.Error() + "); sign in again or re-import the account"
			t.write = true
			t.event(EventNeedsLogin, id, a.StateReason)
			m.log.Warn("account needs a new login", "account", id, "err", err)
			return fmt.Errorf("account %q: %w: %w", id, ErrNeedsLogin, err)
		}
	})
	if err == nil {
		m.noteSuccess(id)
	}
	return tok, err
}

func (m *Manager) applyRefresh(a *account, tr *tokenResponse, now time.Time) {
	a.AccessToken = tr.AccessToken
	if tr.RefreshToken != "" {
		a.RefreshToken = tr.RefreshToken
	}
	a.ExpiresAt = expiryFrom(now, tr.ExpiresIn).UnixMilli()
	if tr.Scope != "" {
		a.Scopes = strings.Fields(tr.Scope)
	}
	if tr.Account != nil {
		if tr.Account.UUID != "" && validText("account uuid", tr.Account.UUID) == nil {
			a.AccountUUID = tr.Account.UUID
		}
		if tr.Account.Email != "" && validText("email", tr.Account.Email) == nil {
			a.Email = tr.Account.Email
		}
	}
	if tr.Organization != nil && tr.Organization.UUID != "" &&
		validText("organization uuid", tr.Organization.UUID) == nil && validText("organization name", tr.Organization.Name) == nil {
		a.OrgUUID, a.OrgName = tr.Organization.UUID, tr.Organization.Name
	}
	a.State, a.StateReason = StateOK, ""
	a.LastRefresh = now.UnixMilli()
}

// adoptFromSource looks at an imported account's source again after its
// refresh token was rejected: Claude Code may have rotated the shared chain.
// A different login at least as new as the stored one is adopted.
func (m *Manager) adoptFromSource(ctx context.Context, t *txn, a *account) bool {
	switch a.Source {
	case SourceKeychain, SourceClaudeCode, SourceFile:
	default:
		return false // cc-router's own logins own their chain
	}
	login, err := m.readSource(ctx, a.Source, a.SourceRef)
	if err != nil {
		m.log.Info("could not re-read the account's source after its token was rejected", "account", a.ID, "source", a.Source, "err", err)
		return false
	}
	if login.RefreshToken == a.RefreshToken || login.AccessToken == a.AccessToken ||
		login.ExpiresAt.UnixMilli() < a.ExpiresAt {
		return false
	}
	if !m.sameAccount(ctx, a, login) {
		return false
	}
	a.setTokens(login.AccessToken, login.RefreshToken, login.ExpiresAt, login.Scopes)
	t.write = true
	t.rotated[a.ID] = a
	msg := fmt.Sprintf("adopted a newer login from %s (%s) after the stored refresh token was rejected", a.Source, sourceLabel(a))
	t.event(EventAdopted, a.ID, msg)
	m.log.Info(msg, "account", a.ID)
	return true
}

// sameAccount reports whether login, read from a's source, belongs to a's
// Claude account. It answers true when it cannot tell: no IdentifyToken,
// nothing stored to compare with, or a failed lookup.
func (m *Manager) sameAccount(ctx context.Context, a *account, login *ClaudeLogin) bool {
	if m.cfg.IdentifyToken == nil || (a.AccountUUID == "" && a.Email == "") {
		return true
	}
	uuid, email, err := m.cfg.IdentifyToken(ctx, login.AccessToken)
	if err != nil {
		m.log.Info("could not confirm whose login the account's source holds; adopting it unchecked", "account", a.ID, "err", err)
		return true
	}
	switch {
	case uuid != "" && a.AccountUUID != "":
		if uuid == a.AccountUUID {
			return true
		}
	case email != "" && a.Email != "":
		if strings.EqualFold(email, a.Email) {
			return true
		}
	default:
		return true
	}
	m.log.Warn("the account's source now holds another Claude account's login; not adopting it",
		"account", a.ID, "source", sourceLabel(a), "login_email", email)
	return false
}

func sourceLabel(a *account) string {
	if a.SourceRef != "" {
		return a.SourceRef
	}
	return a.Source
}

func needsLoginError(a *account) error {
	if a.StateReason == "" {
		return fmt.Errorf("account %q: %w", a.ID, ErrNeedsLogin)
	}
	return fmt.Errorf("account %q: %w: %s", a.ID, ErrNeedsLogin, a.StateReason)
}

// ---- backoff ----

// noteFailure records a transient failure and returns the message for the
// event.
func (m *Manager) noteFailure(id string, err error) string {
	m.rtMu.Lock()
	defer m.rtMu.Unlock()
	r := m.retries[id]
	if r == nil {
		r = &retryState{}
		m.retries[id] = r
	}
	r.failures++
	d := m.cfg.RetryMin
	for i := 1; i < r.failures && d < m.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, m.cfg.RetryMax)
	d = d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1)) // ±20%
	now := m.now()
	r.lastFail, r.nextTry = now, now.Add(d)
	r.lastErr = err.Error()
	return fmt.Sprintf("refresh failed (%s); retrying in %s", r.lastErr, d.Round(time.Second))
}

func (m *Manager) noteSuccess(id string) {
	m.rtMu.Lock()
	delete(m.retries, id)
	m.rtMu.Unlock()
}

// backingOff returns an error while id waits for its next retry. A caller
// whose token has expired waits at most onDemandRetry.
func (m *Manager) backingOff(id string, now time.Time, expired bool) error {
	m.rtMu.Lock()
	defer m.rtMu.Unlock()
	r := m.retries[id]
	if r == nil {
		return nil
	}
	at := r.nextTry
	if expired {
		if t := r.lastFail.Add(min(onDemandRetry, m.cfg.RetryMax)); t.Before(at) {
			at = t
		}
	}
	if !now.Before(at) {
		return nil
	}
	return fmt.Errorf("refreshing account %q: last attempt failed (%s); next attempt in %s", id, r.lastErr, at.Sub(now).Round(time.Second))
}

func (m *Manager) retryAt(id string) time.Time {
	m.rtMu.Lock()
	defer m.rtMu.Unlock()
	if r := m.retries[id]; r != nil {
		return r.nextTry
	}
	return time.Time{}
}

// ---- transactions ----

// txn is one read-modify-write of the file under the lock.
type txn struct {
	doc     *document
	write   bool
	rotated map[string]*account // records holding tokens that must not be lost
	events  []Event
	now     time.Time
}

func (t *txn) event(kind EventKind, id, msg string) {
	t.events = append(t.events, Event{Kind: kind, AccountID: id, Message: msg, Time: t.now})
}

// transact takes the locks, re-reads the file, runs fn and writes the
// result when fn asked for it. fn's error is returned after the write. If
// the file does not parse, fn is not run and nothing is written.
func (m *Manager) transact(ctx context.Context, fn func(t *txn) error) error {
	m.txMu.Lock()
	defer m.txMu.Unlock()
	release, err := lockStore(ctx, m.cfg.Path)
	if err != nil {
		return err
	}
	defer release()
	disk, stamp, err := readStore(m.cfg.Path, m.log)
	if err != nil {
		return err
	}
	t := &txn{doc: disk.clone(), rotated: map[string]*account{}, now: m.now()}
	t.events = diffEvents(m.doc, disk, t.now)
	for id, u := range m.unsaved {
		if a := t.doc.find(id); a != nil {
			copyTokens(a, u)
			t.rotated[id] = a
			t.write = true
		}
	}
	fnErr := fn(t)
	if t.write {
		data, err := t.doc.encode()
		if err == nil {
			stamp, err = saveFile(m.cfg.Path, data)
		}
		if err != nil {
			// Nothing reached disk. Keep rotated tokens in memory so the
			// next transaction saves them; never hand them out before.
			if m.unsaved == nil {
				m.unsaved = map[string]*account{}
			}
			for id, a := range t.rotated {
				c := *a
				m.unsaved[id] = &c
				m.publish(Event{Kind: EventRefreshFailed, AccountID: id, Time: t.now,
					Message: "new tokens could not be saved; they are kept in memory and saved on the next attempt: " + err.Error()})
			}
			m.log.Error("could not save accounts", "path", m.cfg.Path, "err", err)
			m.doc, m.stamp = disk, stamp
			m.publishView()
			return errors.Join(fnErr, err)
		}
		m.unsaved = nil
	}
	m.doc, m.stamp = t.doc, stamp
	m.publishView()
	for _, e := range t.events {
		m.publish(e)
	}
	return fnErr
}

func copyTokens(dst, src *account) {
	dst.AccessToken, dst.RefreshToken, dst.ExpiresAt = src.AccessToken, src.RefreshToken, src.ExpiresAt
	dst.Scopes = append([]string(nil), src.Scopes...)
	dst.State, dst.StateReason, dst.LastRefresh = src.State, src.StateReason, src.LastRefresh
	if src.AccountUUID != "" {
		dst.AccountUUID = src.AccountUUID
	}
	if src.Email != "" {
		dst.Email = src.Email
	}
	if src.OrgUUID != "" {
		dst.OrgUUID, dst.OrgName = src.OrgUUID, src.OrgName
	}
}

// diffEvents describes what changed between two versions of the file.
func diffEvents(old, cur *document, now time.Time) []Event {
	if old == nil {
		return nil
	}
	var events []Event
	changed := len(old.accounts()) != len(cur.accounts())
	for _, c := range cur.accounts() {
		o := old.find(c.ID)
		switch {
		case o == nil:
			changed = true
		case o.RefreshToken != c.RefreshToken || o.AccessToken != c.AccessToken:
			events = append(events, Event{Kind: EventAdopted, AccountID: c.ID, Time: now,
				Message: "took the tokens another process stored"})
		case o.enabled() != c.enabled() || o.State != c.State || o.Email != c.Email ||
			o.StateReason != c.StateReason || !ptrEq(o.SessionLimitPercent, c.SessionLimitPercent) ||
			!ptrEq(o.WeeklyLimitPercent, c.WeeklyLimitPercent):
			changed = true
		}
	}
	if changed {
		events = append(events, Event{Kind: EventAccountsChanged, Time: now, Message: "the accounts file changed"})
	}
	return events
}

func ptrEq(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// update runs a transaction that changes one account's settings.
func (m *Manager) update(id string, fn func(a *account)) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RefreshTimeout)
	defer cancel()
	return m.transact(ctx, func(t *txn) error {
		a := t.doc.find(id)
		if a == nil {
			return unknownAccount(id)
		}
		fn(a)
		t.write = true
		t.event(EventAccountsChanged, id, "account settings changed")
		return nil
	})
}

// SetEnabled enables or disables an account in the store.
func (m *Manager) SetEnabled(id string, enabled bool) error {
	err := m.update(id, func(a *account) { a.Enabled = &enabled })
	m.wake()
	return err
}

// SetEmail records the account's email (learned from the profile
// endpoint).
func (m *Manager) SetEmail(id, email string) error {
	email = strings.TrimSpace(email)
	if err := validText("email", email); err != nil {
		return err
	}
	return m.update(id, func(a *account) { a.Email = email })
}

// Remove deletes an account from the store.
func (m *Manager) Remove(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RefreshTimeout)
	defer cancel()
	err := m.transact(ctx, func(t *txn) error {
		if !t.doc.remove(id) {
			return unknownAccount(id)
		}
		delete(m.unsaved, id)
		t.write = true
		t.event(EventAccountsChanged, id, "account removed")
		return nil
	})
	if err == nil {
		m.noteSuccess(id)
	}
	return err
}

// Reload re-reads the file (after another process changed it) and
// publishes EventAccountsChanged if anything changed.
func (m *Manager) Reload() error {
	m.txMu.Lock()
	if len(m.unsaved) > 0 {
		m.txMu.Unlock()
		// Unsaved tokens must reach disk: do a full transaction.
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RefreshTimeout)
		defer cancel()
		return m.transact(ctx, func(*txn) error { return nil })
	}
	defer m.txMu.Unlock()
	doc, stamp, err := readStore(m.cfg.Path, m.log)
	if err != nil {
		return err
	}
	events := diffEvents(m.doc, doc, m.now())
	m.doc, m.stamp = doc, stamp
	m.publishView()
	if len(events) > 0 && events[len(events)-1].Kind != EventAccountsChanged {
		events = append(events, Event{Kind: EventAccountsChanged, Time: m.now(), Message: "the accounts file changed"})
	}
	for _, e := range events {
		m.publish(e)
	}
	m.wake()
	return nil
}

// publishView rebuilds the lock-free snapshot from m.doc. Callers hold
// txMu (or own m exclusively).
func (m *Manager) publishView() {
	accts := m.doc.accounts()
	v := &view{list: make([]*accountView, 0, len(accts)), byID: make(map[string]*accountView, len(accts))}
	for _, a := range accts {
		av := &accountView{
			id:          a.ID,
			access:      a.AccessToken,
			refreshable: a.RefreshToken != "",
			jitter:      jitterFor(a.RefreshToken, m.cfg.RefreshBuffer),
			state:       a.State,
			info: AccountInfo{
				ID: a.ID, Email: a.Email, Source: a.Source, Enabled: a.enabled(),
				State: a.State, StateReason: a.StateReason,
			},
		}
		if a.ExpiresAt > 0 {
			av.expires = time.UnixMilli(a.ExpiresAt)
			av.info.ExpiresAt = av.expires
		}
		if a.LastRefresh > 0 {
			av.info.LastRefresh = time.UnixMilli(a.LastRefresh)
		}
		if a.SessionLimitPercent != nil {
			av.info.SessionLimitPercent = *a.SessionLimitPercent
		}
		if a.WeeklyLimitPercent != nil {
			av.info.WeeklyLimitPercent = *a.WeeklyLimitPercent
		}
		if a.State == StateNeedsLogin {
			av.loginErr = needsLoginError(a)
		}
		v.list = append(v.list, av)
		v.byID[a.ID] = av
	}
	m.view.Store(v)
}

// ---- events ----

// Subscribe implements TokenProvider.
func (m *Manager) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	m.subMu.Lock()
	m.subs[ch] = struct{}{}
	m.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			m.subMu.Lock()
			delete(m.subs, ch)
			close(ch)
			m.subMu.Unlock()
		})
	}
}

func (m *Manager) publish(e Event) {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- e:
		default: // a slow subscriber loses the event rather than block us
		}
	}
}

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}
