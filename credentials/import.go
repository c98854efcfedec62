package credentials

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ClaudeLogin is a login read from Claude Code's credential storage.
type ClaudeLogin struct {
	AccessToken      string
	RefreshToken     string
	ExpiresAt        time.Time // zero when the source did not say
	Scopes           []string
	SubscriptionType string
}

// ErrNoClaudeLogin is returned when the source holds no Claude Code login.
var ErrNoClaudeLogin = errors.New("no Claude Code login found")

// KeychainService is the macOS Keychain service name Claude Code stores its
// login under: "Claude Code-credentials", plus "-" and the first 8 hex
// digits of sha256(CLAUDE_CONFIG_DIR) when that variable is set.
func KeychainService() string {
	const base = "Claude Code-credentials"
	dir := os.Getenv("CLAUDE_CONFIG_DIR")
	if dir == "" {
		return base
	}
	sum := sha256.Sum256([]byte(dir))
	return base + "-" + hex.EncodeToString(sum[:])[:8]
}

// ClaudeCredentialsPath is Claude Code's credentials file:
// $CLAUDE_CONFIG_DIR/.credentials.json or ~/.claude/.credentials.json.
func ClaudeCredentialsPath() string {
	if dir := os.Getenv("CLAUDE_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, ".credentials.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".claude", ".credentials.json")
}

// ParseClaudeCredentials parses Claude Code's credentials, in either shape
// ({"claudeAiOauth":{…}} or the bare object), with expiresAt as Unix
// milliseconds or an ISO-8601 string. name labels errors (a path, or
// "Keychain item …"). Errors never quote a token.
func ParseClaudeCredentials(name string, data []byte) (*ClaudeLogin, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	start := skipSpace(data, 0)
	if start < int64(len(data)) && data[start] != '{' {
		return nil, fileErrorAt(name, data, start, "expected a JSON object with Claude Code's login")
	}
	fields, err := parseObject(name, data, start, data[start:])
	if err != nil {
		return nil, err
	}
	if rest := skipSpace(data, start+objectEnd(data[start:])); rest < int64(len(data)) {
		return nil, fileErrorAt(name, data, rest, "unexpected data after the JSON object")
	}
	prefix := ""
	for _, f := range fields {
		if f.key == "claudeAiOauth" {
			if len(f.val) == 0 || f.val[0] != '{' {
				return nil, fileErrorAt(name, data, f.off, "%q must be a JSON object", "claudeAiOauth")
			}
			if fields, err = parseObject(name, data, f.off, f.val); err != nil {
				return nil, err
			}
			prefix = "claudeAiOauth."
			break
		}
	}
	get := func(k string) *rawField { return field(fields, k) }
	at := func(f *rawField, format string, args ...any) error {
		return fileErrorAt(name, data, f.off, format, args...)
	}
	l := &ClaudeLogin{}
	for _, tk := range []struct {
		key, kind string
		dst       *string
	}{
		{"accessToken", "oat", &l.AccessToken},
		{"refreshToken", "ort", &l.RefreshToken},
	} {
		f := get(tk.key)
		if f == nil {
			return nil, fileErrorAt(name, data, start, "%s%s is missing: this is not a Claude Code login", prefix, tk.key)
		}
		if json.Unmarshal(f.val, tk.dst) != nil || *tk.dst == "" {
			return nil, at(f, "%s%s must be a non-empty string", prefix, tk.key)
		}
		if err := checkToken(*tk.dst, tk.kind); err != nil {
			return nil, at(f, "%s%s %v", prefix, tk.key, err)
		}
	}
	if f := get("expiresAt"); f != nil && string(f.val) != "null" {
		t, err := parseExpiry(f.val)
		if err != nil {
			return nil, at(f, "%sexpiresAt %v", prefix, err)
		}
		l.ExpiresAt = t
	}
	if f := get("scopes"); f != nil && string(f.val) != "null" {
		if json.Unmarshal(f.val, &l.Scopes) != nil {
			var s string
			if json.Unmarshal(f.val, &s) != nil {
				return nil, at(f, "%sscopes must be an array of strings", prefix)
			}
			l.Scopes = strings.Fields(s)
		}
		for _, s := range l.Scopes {
			if validText("scope", s) != nil {
				return nil, at(f, "%sscopes holds an invalid scope", prefix)
			}
		}
	}
	if f := get("subscriptionType"); f != nil {
		var s string
		if json.Unmarshal(f.val, &s) == nil && validText("subscriptionType", s) == nil {
			l.SubscriptionType = s
		}
	}
	return l, nil
}

// objectEnd returns the length of the JSON value at the start of b.
func objectEnd(b []byte) int64 {
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return int64(len(b))
	}
	return dec.InputOffset()
}

// checkToken says what is wrong with tok as a Claude OAuth token of kind
// "oat" (access) or "ort" (refresh), without quoting it.
func checkToken(tok, kind string) error {
	want := "sk-ant-" + kind
	if !strings.HasPrefix(tok, want) {
		if strings.HasPrefix(tok, "sk-ant-api") {
			return fmt.Errorf("is an API key, not an OAuth token (want %s…)", want)
		}
		return fmt.Errorf("is not a Claude OAuth token (want %s…)", want)
	}
	if len(tok) < len(want)+8 || len(tok) > 4096 {
		return fmt.Errorf("has an implausible length for a %s… token", want)
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("holds a character no %s… token has", want)
		}
	}
	return nil
}

// parseExpiry reads expiresAt: Unix milliseconds (a number or a string of
// digits; values below 1e11 are taken as seconds) or an ISO-8601 time.
func parseExpiry(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	var str string
	switch {
	case json.Unmarshal(raw, &n) == nil:
	case json.Unmarshal(raw, &str) == nil:
		if _, err := strconv.ParseFloat(str, 64); err == nil {
			n = json.Number(str)
			break
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00"} {
			if t, err := time.Parse(layout, str); err == nil {
				return t, nil
			}
		}
		return time.Time{}, errors.New("is neither Unix milliseconds nor an ISO-8601 time")
	default:
		return time.Time{}, errors.New("must be Unix milliseconds or an ISO-8601 time")
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e15 {
		return time.Time{}, errors.New("is out of range")
	}
	if f < 1e11 {
		return time.Unix(int64(f), 0), nil
	}
	return time.UnixMilli(int64(f)), nil
}

// validText rejects control characters and invalid UTF-8 in a value we
// show or store; what says what the value is.
func validText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	if len(s) > 256 {
		return fmt.Errorf("%s is longer than 256 bytes", what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s must not contain control characters", what)
		}
	}
	return nil
}

// ValidateID says what is wrong with an account id: it must be non-empty,
// at most 64 bytes of printable UTF-8, without leading or trailing space.
func ValidateID(id string) error {
	if strings.TrimSpace(id) == "" {
		return errors.New("account id is empty")
	}
	if strings.TrimSpace(id) != id {
		return errors.New("account id must not start or end with spaces")
	}
	if len(id) > 64 {
		return errors.New("account id is longer than 64 bytes")
	}
	return validText("account id", id)
}

// readCredentialsFile reads and parses a credentials file.
func readCredentialsFile(path string) (*ClaudeLogin, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoClaudeLogin, path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%s is too large to be a credentials file", path)
	}
	return ParseClaudeCredentials(path, data)
}

// readLogin reads an import source: "keychain" (ref: the service name),
// "claude-code" or "file" (ref: the path).
func (m *Manager) readLogin(ctx context.Context, source, ref string) (*ClaudeLogin, error) {
	switch source {
	case SourceKeychain:
		if ref == "" {
			ref = KeychainService()
		}
		return readKeychain(ctx, ref)
	case SourceClaudeCode, SourceFile:
		if ref == "" {
			ref = ClaudeCredentialsPath()
		}
		return readCredentialsFile(ref)
	}
	return nil, fmt.Errorf("unknown import source %q", source)
}

// resolveSource turns an ImportRequest.From into a source and reference.
func resolveSource(from string) (source, ref string, err error) {
	switch from {
	case "":
		return defaultSource()
	case SourceKeychain:
		return SourceKeychain, KeychainService(), nil
	case SourceClaudeCode:
		return SourceClaudeCode, ClaudeCredentialsPath(), nil
	}
	abs, err := filepath.Abs(from)
	if err != nil {
		return "", "", err
	}
	return SourceFile, abs, nil
}

// Import reads Claude Code's login and adds or updates the account. The
// record to update is found in this order:
//
//  1. the record holding the same refresh or access token;
//  2. with req.ID naming a stored account, that account, unless the
//     login's Claude account (learned with Config.IdentifyToken) is known
//     to be another one, or is stored under another id: then nothing is
//     written and the error wraps ErrOtherAccount;
//  3. the record of the same Claude account: the same account uuid or,
//     where either side lacks one, the same email;
//  4. without req.ID, when the login's account is not known to differ
//     from it: the one record imported from the same place (Keychain
//     service or file path) whose refresh token is dead: in needs_login,
//     or rejected by the token endpoint when Import tries it now (a live
//     one is refreshed as any refresh would, and is then not the same
//     login). Claude Code refreshing its own login is what kills it.
//
// Otherwise a new account is added under req.ID or the next free
// account-N. A record found in step 3 or 4 keeps its tokens when they are
// newer than the imported ones, or when they are a live chain of
// cc-router's own sign-in (ImportResult.Kept). Two accounts known to
// differ are never merged. ImportResult says what happened and why.
func (m *Manager) Import(ctx context.Context, req ImportRequest) (ImportResult, error) {
	if req.ID != "" {
		if err := ValidateID(req.ID); err != nil {
			return ImportResult{}, err
		}
	}
	source, ref, err := resolveSource(req.From)
	if err != nil {
		return ImportResult{}, err
	}
	login, err := m.readLogin(ctx, source, ref)
	if err != nil && req.From == "" && source == SourceKeychain {
		// macOS fallback: Claude Code's credentials file.
		if l, ferr := readCredentialsFile(ClaudeCredentialsPath()); ferr == nil {
			login, err, source, ref = l, nil, SourceClaudeCode, ClaudeCredentialsPath()
		}
	}
	if err != nil {
		return ImportResult{}, err
	}
	who := m.identifyLogin(ctx, login)
	res := ImportResult{Source: source, Email: who.email, IdentityUnknown: who.unknown}
	err = m.transact(ctx, func(t *txn) error {
		a, match, err := m.importTarget(ctx, t, req.ID, login, source, ref, who)
		if err != nil {
			return err
		}
		res.Match = match
		if a == nil {
			id := req.ID
			if id == "" {
				id = nextAccountID(t.doc)
			}
			a = &account{ID: id}
			t.doc.add(a)
			res.Added = true
		} else if req.ID != "" && a.ID != req.ID {
			res.IDNotUsed = true
		}
		res.AccountID = a.ID
		if !res.Added && keepStored(a, login, match) {
			res.Kept = true
			// A record matched by account learns what the lookup said; one
			// matched by source only is a guess, so it learns nothing.
			if match != MatchSource && who.fill(a) {
				t.write = true
			}
			return nil
		}
		if match == MatchID && a.RefreshToken != login.RefreshToken && a.ExpiresAt > login.ExpiresAt.UnixMilli() && a.State == StateOK {
			m.log.Warn("the imported login is older than the stored one; replacing it as asked", "account", a.ID)
		}
		a.setTokens(login.AccessToken, login.RefreshToken, login.ExpiresAt, login.Scopes)
		who.fill(a)
		a.Source, a.SourceRef = source, ref
		a.State, a.StateReason = StateOK, ""
		t.write = true
		t.rotated[a.ID] = a
		verb := "updated"
		if res.Added {
			verb = "added"
		}
		t.event(EventAccountsChanged, a.ID, fmt.Sprintf("account %s from %s", verb, source))
		if !res.Added {
			t.event(EventRefreshed, a.ID, "new tokens imported from "+source)
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	if !res.Kept {
		m.noteSuccess(res.AccountID)
	}
	m.wake()
	return res, nil
}

// loginIdentity is what Config.IdentifyToken said of an imported login.
type loginIdentity struct {
	uuid, email string
	unknown     string // why the account is not known; "" when it is
}

// identifyLogin asks Config.IdentifyToken whose login this is. It spends
// nothing: the profile lookup only reads.
func (m *Manager) identifyLogin(ctx context.Context, login *ClaudeLogin) loginIdentity {
	if m.cfg.IdentifyToken == nil {
		return loginIdentity{unknown: "no profile lookup is configured"}
	}
	if !login.ExpiresAt.IsZero() && !m.now().Before(login.ExpiresAt) {
		return loginIdentity{unknown: "its access token has expired, so the profile lookup cannot name its account"}
	}
	uuid, email, err := m.cfg.IdentifyToken(ctx, login.AccessToken)
	if err != nil {
		m.log.Info("could not learn which Claude account the imported login is", "err", err)
		return loginIdentity{unknown: "the profile lookup failed: " + Scrub(err.Error(), login.AccessToken, login.RefreshToken)}
	}
	email = strings.TrimSpace(email)
	if validText("account uuid", uuid) != nil {
		uuid = ""
	}
	if validText("email", email) != nil {
		email = ""
	}
	if uuid == "" && email == "" {
		return loginIdentity{unknown: "the profile lookup named no account"}
	}
	return loginIdentity{uuid: uuid, email: email}
}

// known reports whether the login's account was learned.
func (w loginIdentity) known() bool { return w.unknown == "" }

// compare says whether a is the login's Claude account: by uuid when both
// have one, else by email when both have one; unknown otherwise.
func (w loginIdentity) compare(a *account) (same, decided bool) {
	switch {
	case w.uuid != "" && a.AccountUUID != "":
		return w.uuid == a.AccountUUID, true
	case w.email != "" && a.Email != "":
		return strings.EqualFold(w.email, a.Email), true
	}
	return false, false
}

// fill stores what was learned of the account in a, where a lacks it; it
// reports whether a changed.
func (w loginIdentity) fill(a *account) bool {
	changed := false
	if w.uuid != "" && a.AccountUUID == "" {
		a.AccountUUID, changed = w.uuid, true
	}
	if w.email != "" && !strings.EqualFold(a.Email, w.email) {
		if same, decided := w.compare(a); a.Email == "" || (decided && same) {
			a.Email, changed = w.email, true
		}
	}
	return changed
}

// importTarget picks the stored record an import updates (nil: add one),
// and says how it was found. See Import for the order. It writes nothing
// before it returns an error.
func (m *Manager) importTarget(ctx context.Context, t *txn, id string, login *ClaudeLogin, source, ref string, who loginIdentity) (*account, ImportMatch, error) {
	accts := t.doc.accounts()
	var byToken, byIdentity *account
	for _, c := range accts {
		if c.RefreshToken == login.RefreshToken || c.AccessToken == login.AccessToken {
			byToken = c
			break
		}
	}
	identityMatch := MatchAccount
	if who.known() {
		for _, c := range accts {
			if same, decided := who.compare(c); decided && same {
				if byIdentity == nil || (c.AccountUUID != "" && byIdentity.AccountUUID == "") {
					byIdentity = c
				}
			}
		}
		if byIdentity != nil && (who.uuid == "" || byIdentity.AccountUUID == "") {
			identityMatch = MatchEmail
		}
	}
	if id != "" {
		named := t.doc.find(id)
		if named == nil && t.doc.idTaken(id) {
			return nil, "", fmt.Errorf("account id %q is used by a record of another provider", id)
		}
		if named != nil {
			switch {
			case byToken == named:
				return named, MatchToken, nil
			case byToken != nil:
				return nil, "", fmt.Errorf("this login is already stored as account %q, not %q; nothing was written", byToken.ID, id)
			}
			if same, decided := who.compare(named); decided && !same {
				return nil, "", fmt.Errorf("%w: the login is %s, not account %q (%s); nothing was written",
					ErrOtherAccount, orUnknown(who.email), id, orUnknown(named.Email))
			}
			if byIdentity != nil && byIdentity != named {
				return nil, "", fmt.Errorf("%w: the login is %s, which is stored as account %q, not %q; nothing was written",
					ErrOtherAccount, orUnknown(who.email), byIdentity.ID, id)
			}
			return named, MatchID, nil
		}
	}
	switch {
	case byToken != nil:
		return byToken, MatchToken, nil
	case byIdentity != nil:
		return byIdentity, identityMatch, nil
	case id != "":
		return nil, "", nil // a new account, named by the caller
	}
	if a := m.fromSameSource(ctx, t, login, source, ref, who); a != nil {
		return a, MatchSource, nil
	}
	return nil, "", nil
}

// fromSameSource finds the record imported from source/ref that the login
// replaces, among those whose account is not known to differ from the
// login's:
//   - one whose tokens are newer than the login's: the source still holds
//     an older link of the chain cc-router refreshed since (Import keeps
//     the record as it is);
//   - else the one whose refresh token is dead. A record in needs_login is
//     dead; the refresh token of one in "ok" is tried now: accepted, the
//     record keeps the new tokens (saved with this transaction) and is
//     live; rejected, it is marked needs_login; a transient failure leaves
//     it undecided, and so not a match. With more than one dead record it
//     cannot choose, and answers nil.
func (m *Manager) fromSameSource(ctx context.Context, t *txn, login *ClaudeLogin, source, ref string, who loginIdentity) *account {
	var cands []*account
	for _, c := range t.doc.accounts() {
		if c.Source != source || c.SourceRef != ref {
			continue
		}
		if _, decided := who.compare(c); decided {
			continue // known to be another account (a same one was matched before)
		}
		if c.State == StateOK && !login.ExpiresAt.IsZero() && c.ExpiresAt > login.ExpiresAt.UnixMilli() {
			return c
		}
		cands = append(cands, c)
	}
	var found *account
	for _, c := range cands {
		if !m.refreshTokenDead(ctx, t, c) {
			continue
		}
		if found != nil {
			m.log.Info("more than one dead record from the import's source; adding the login as a new account", "source", source)
			return nil
		}
		found = c
	}
	return found
}

// refreshTokenDead reports whether c's refresh token is known to be dead,
// trying it at the token endpoint when c is not already in needs_login.
func (m *Manager) refreshTokenDead(ctx context.Context, t *txn, c *account) bool {
	if c.State == StateNeedsLogin {
		return true
	}
	if c.RefreshToken == "" {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.RefreshTimeout)
	defer cancel()
	tr, err := m.postRefresh(rctx, c.RefreshToken)
	switch {
	case err == nil:
		m.applyRefresh(c, tr, t.now)
		t.write = true
		t.rotated[c.ID] = c
		t.event(EventRefreshed, c.ID, "refreshed while an import checked whether its refresh token was still live")
		return false
	case IsTerminal(err):
		c.State = StateNeedsLogin
		c.StateReason = "the refresh token was rejected (" + err.Error() + "); sign in again or re-import the account"
		t.write = true
		t.event(EventNeedsLogin, c.ID, c.StateReason)
		return true
	}
	m.log.Info("could not tell whether a stored login from the import's source is still live", "account", c.ID, "err", err)
	return false
}

// keepStored reports whether a record found by account or source (not
// by token or by the caller's id) keeps its tokens instead of taking the
// imported ones: when it is not in needs_login and its tokens are newer
// than the login's (an older link of a chain must not replace a newer
// one), or are cc-router's own sign-in (a chain of its own, which an
// import would swap for Claude Code's shared one).
func keepStored(a *account, login *ClaudeLogin, match ImportMatch) bool {
	if match != MatchAccount && match != MatchEmail && match != MatchSource || a.State != StateOK {
		return false
	}
	if a.Source == SourceLogin && a.RefreshToken != "" {
		return true
	}
	return a.ExpiresAt != 0 && !login.ExpiresAt.IsZero() && login.ExpiresAt.UnixMilli() < a.ExpiresAt
}

// nextAccountID is the first free account-N.
func nextAccountID(d *document) string {
	for n := 1; ; n++ {
		id := "account-" + strconv.Itoa(n)
		if !d.idTaken(id) {
			return id
		}
	}
}

// ErrOtherAccount is returned by ReplaceLogin when the sign-in was for
// another Claude account than the one whose tokens it was to replace.
var ErrOtherAccount = errors.New("the sign-in is for another Claude account")

// SaveLogin stores the tokens of cc-router's own sign-in. An account with
// the same account uuid (or, lacking a uuid, the same email) gets the new
// tokens in place, keeping its id and settings, and leaves needs_login;
// otherwise a new account is added under id, or an id derived from the
// email. added says which happened.
func (m *Manager) SaveLogin(lt LoginTokens, id string) (info AccountInfo, added bool, err error) {
	if id != "" {
		if err := ValidateID(id); err != nil {
			return AccountInfo{}, false, err
		}
	}
	return m.storeLogin(lt, func(t *txn, uuid, email string) (*account, bool, error) {
		for _, c := range t.doc.accounts() {
			if uuid != "" && c.AccountUUID == uuid {
				return c, false, nil
			}
		}
		if email != "" {
			for _, c := range t.doc.accounts() {
				if c.AccountUUID == "" && strings.EqualFold(c.Email, email) {
					return c, false, nil
				}
			}
		}
		newID := id
		if newID == "" {
			newID = idFromEmail(t.doc, email)
		} else if t.doc.idTaken(newID) {
			return nil, false, fmt.Errorf("account id %q is already in use", newID)
		}
		a := &account{ID: newID}
		t.doc.add(a)
		return a, true, nil
	})
}

// ReplaceLogin stores the tokens of cc-router's own sign-in in the account
// id, in place: same id, same settings, and it leaves needs_login ("Sign in
// again…" of an account that may know neither its uuid nor its email, such
// as an import). When the account's uuid (or, lacking one, its email) is
// known and the sign-in names another, or the sign-in's uuid is stored
// under another id, nothing is written and the error wraps ErrOtherAccount.
func (m *Manager) ReplaceLogin(id string, lt LoginTokens) (AccountInfo, error) {
	info, _, err := m.storeLogin(lt, func(t *txn, uuid, email string) (*account, bool, error) {
		a := t.doc.find(id)
		if a == nil {
			return nil, false, unknownAccount(id)
		}
		switch {
		case uuid != "" && a.AccountUUID != "" && uuid != a.AccountUUID,
			(uuid == "" || a.AccountUUID == "") && email != "" && a.Email != "" && !strings.EqualFold(email, a.Email):
			return nil, false, fmt.Errorf("%w: signed in as %s, not as account %q (%s); nothing was saved",
				ErrOtherAccount, orUnknown(email), id, orUnknown(a.Email))
		}
		if uuid != "" {
			for _, c := range t.doc.accounts() {
				if c != a && c.AccountUUID == uuid {
					return nil, false, fmt.Errorf("%w: signed in as %s, which is stored as account %q, not %q; nothing was saved",
						ErrOtherAccount, orUnknown(email), c.ID, id)
				}
			}
		}
		return a, false, nil
	})
	return info, err
}

func orUnknown(email string) string {
	if email == "" {
		return "an account of unknown email"
	}
	return email
}

// storeLogin checks a sign-in's tokens and writes them, in one
// transaction, into the account target picks (or adds: then it says so).
func (m *Manager) storeLogin(lt LoginTokens, target func(t *txn, uuid, email string) (a *account, added bool, err error)) (info AccountInfo, added bool, err error) {
	if err := checkToken(lt.AccessToken, "oat"); err != nil {
		return AccountInfo{}, false, fmt.Errorf("sign-in access token %v", err)
	}
	if lt.RefreshToken != "" {
		if err := checkToken(lt.RefreshToken, "ort"); err != nil {
			return AccountInfo{}, false, fmt.Errorf("sign-in refresh token %v", err)
		}
	}
	email := strings.TrimSpace(lt.Email)
	if validText("email", email) != nil {
		email = ""
	}
	uuid := lt.AccountUUID
	if validText("account uuid", uuid) != nil {
		uuid = ""
	}
	org, orgName := lt.OrgUUID, lt.OrgName
	if validText("organization uuid", org) != nil || validText("organization name", orgName) != nil {
		org, orgName = "", ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RefreshTimeout)
	defer cancel()
	var savedID string
	err = m.transact(ctx, func(t *txn) error {
		a, isNew, err := target(t, uuid, email)
		if err != nil {
			return err
		}
		added = isNew
		a.setTokens(lt.AccessToken, lt.RefreshToken, lt.ExpiresAt, lt.Scopes)
		if uuid != "" {
			a.AccountUUID = uuid
		}
		if email != "" {
			a.Email = email
		}
		if org != "" {
			a.OrgUUID, a.OrgName = org, orgName
		}
		a.Source, a.SourceRef = SourceLogin, ""
		a.State, a.StateReason = StateOK, ""
		a.LastRefresh = t.now.UnixMilli()
		savedID = a.ID
		t.write = true
		t.rotated[a.ID] = a
		msg := "signed in again"
		if added {
			msg = "account added by sign-in"
		}
		t.event(EventAccountsChanged, a.ID, msg)
		if !added {
			t.event(EventRefreshed, a.ID, "new tokens from signing in again")
		}
		return nil
	})
	if err != nil {
		return AccountInfo{}, false, err
	}
	m.noteSuccess(savedID)
	m.wake()
	info, err = m.Account(savedID)
	return info, added, err
}

// idFromEmail derives an id from the local part of an email ("alice" for
// alice@example.com), made unique with -2, -3…; account-N without email.
func idFromEmail(d *document, email string) string {
	local, _, _ := strings.Cut(email, "@")
	var b strings.Builder
	for _, r := range strings.ToLower(local) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	base := strings.Trim(b.String(), ".-_")
	if len(base) > 48 {
		base = base[:48]
	}
	if base == "" {
		return nextAccountID(d)
	}
	id := base
	for n := 2; d.idTaken(id); n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	return id
}

// ImportRequest says what to import.
type ImportRequest struct {
	// From is "keychain", "claude-code", a file path, or "" for the
	// platform's own source.
	From string
	// ID names the account: a stored one to update (refused when the
	// login is known to be another Claude account), or a new one; ""
	// finds the stored account or generates account-N.
	ID string
}

// ImportMatch says how an import found the stored record it updated.
type ImportMatch string

// How an import found the record it updated ("" when it added one).
const (
	MatchToken   ImportMatch = "token"   // the record holds the same refresh or access token
	MatchAccount ImportMatch = "account" // the same Claude account uuid
	MatchEmail   ImportMatch = "email"   // the same email (a uuid was missing on one side)
	MatchID      ImportMatch = "id"      // the account the request's ID named
	MatchSource  ImportMatch = "source"  // account unknown; the dead record imported from the same place
)

// ImportResult says what an import did.
type ImportResult struct {
	AccountID string
	Added     bool // false: an existing record was updated (or kept)
	Source    string
	// Match says how the record was found; "" when Added.
	Match ImportMatch
	// Kept is true when the record found kept its own tokens: newer than
	// the imported ones, or a chain of cc-router's own sign-in.
	Kept bool
	// Email is the login's account email as the profile lookup gave it.
	Email string
	// IdentityUnknown says why the login's account could not be learned;
	// "" when it was.
	IdentityUnknown string
	// IDNotUsed is true when the request's ID named no stored account but
	// the login was found stored as AccountID, which was updated instead.
	IDNotUsed bool
}

// Verb is what the import did to the account: "added", "updated" or
// "kept" (nothing written: the stored tokens were newer or cc-router's own).
func (r ImportResult) Verb() string {
	switch {
	case r.Added:
		return "added"
	case r.Kept:
		return "kept"
	}
	return "updated"
}

// Reason says, for the user, why the import added, updated or kept the
// account. It never holds a token.
func (r ImportResult) Reason() string {
	var s string
	switch {
	case r.Added && r.IdentityUnknown != "":
		s = "could not tell which Claude account this login is (" + r.IdentityUnknown + "), so no stored account was updated"
	case r.Added:
		s = "no stored account is this Claude account"
	case r.Kept && r.Match == MatchSource:
		s = "it was imported from the same place and holds a newer login than the one there now (cc-router has refreshed it since); to add this login as another account anyway, give a new --id"
	case r.Kept:
		s = fmt.Sprintf("it is this Claude account and its own tokens are newer, or come from cc-router's own sign-in; --id %s replaces them anyway", r.AccountID)
	case r.Match == MatchToken:
		s = "it held this login already"
	case r.Match == MatchAccount:
		s = "the same Claude account (same account id)"
	case r.Match == MatchEmail:
		s = "the same Claude account (same email)"
	case r.Match == MatchID:
		s = "the account named by --id"
	case r.Match == MatchSource:
		s = "it was imported from the same place and its refresh token is dead, so this is its newer login (which Claude account it is could not be checked: " + r.IdentityUnknown + ")"
	}
	if r.IDNotUsed {
		s += fmt.Sprintf("; --id was not used: this login is stored as account %s", r.AccountID)
	}
	return s
}

// Summary is one line for the user saying what the import did and why,
// e.g. "updated account work (alice@example.com) from claude-code: the
// same Claude account (same account id)". It never holds a token.
func (r ImportResult) Summary() string {
	who := ""
	if r.Email != "" {
		who = " (" + r.Email + ")"
	}
	s := fmt.Sprintf("%s account %s%s from %s", r.Verb(), r.AccountID, who, r.Source)
	if r.Kept {
		s = fmt.Sprintf("nothing imported from %s: kept account %s%s as it is", r.Source, r.AccountID, who)
	}
	if why := r.Reason(); why != "" {
		s += ": " + why
	}
	return s
}
