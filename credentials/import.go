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

// Import reads Claude Code's login and adds or updates the account. A login
// already stored (same refresh or access token) updates that record; so
// does an ID naming an existing account. Otherwise a new account is added
// under req.ID or the next free account-N.
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
	res := ImportResult{Source: source}
	err = m.transact(ctx, func(t *txn) error {
		var a *account
		for _, c := range t.doc.accounts() {
			if c.RefreshToken == login.RefreshToken || c.AccessToken == login.AccessToken {
				a = c
				break
			}
		}
		if a == nil && req.ID != "" {
			a = t.doc.find(req.ID)
			if a == nil && t.doc.idTaken(req.ID) {
				return fmt.Errorf("account id %q is used by a record of another provider", req.ID)
			}
		}
		if a == nil {
			id := req.ID
			if id == "" {
				id = nextAccountID(t.doc)
			}
			a = &account{ID: id}
			t.doc.add(a)
			res.Added = true
		} else if a.RefreshToken != login.RefreshToken && a.ExpiresAt > login.ExpiresAt.UnixMilli() && a.State == StateOK {
			m.log.Warn("the imported login is older than the stored one; replacing it as asked", "account", a.ID)
		}
		a.setTokens(login.AccessToken, login.RefreshToken, login.ExpiresAt, login.Scopes)
		a.Source, a.SourceRef = source, ref
		a.State, a.StateReason = StateOK, ""
		res.AccountID = a.ID
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
	m.noteSuccess(res.AccountID)
	m.wake()
	return res, nil
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
	// ID names a new account; "" generates account-N.
	ID string
}

// ImportResult says what an import did.
type ImportResult struct {
	AccountID string
	Added     bool // false: an existing record was updated
	Source    string
}
