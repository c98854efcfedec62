package credentials

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// errNotImplemented marks the skeleton; the credentials issue replaces it.
var errNotImplemented = errors.New("credentials: not implemented yet")

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
	HTTPClient *http.Client
	// Now is the clock (default time.Now); tests swap it.
	Now func() time.Time
	// Logger for refresh and adoption messages (default slog.Default()).
	Logger *slog.Logger
}

// Manager owns the in-memory view of accounts.json and every refresh.
type Manager struct{}

// NewManager loads the store. A missing file is the empty state; a
// malformed one is an error naming the file, line and column.
func NewManager(cfg Config) (*Manager, error) { return nil, errNotImplemented }

// Run refreshes accounts proactively until ctx ends.
func (m *Manager) Run(ctx context.Context) {}

// Accounts implements TokenProvider.
func (m *Manager) Accounts() []AccountInfo { return nil }

// AccessToken implements TokenProvider.
func (m *Manager) AccessToken(ctx context.Context, id string) (string, error) {
	return "", errNotImplemented
}

// RefreshRejected implements TokenProvider.
func (m *Manager) RefreshRejected(ctx context.Context, id, rejected string) (string, error) {
	return "", errNotImplemented
}

// Refresh refreshes the account now ("Refresh now" in the tray).
func (m *Manager) Refresh(ctx context.Context, id string) error { return errNotImplemented }

// SetEnabled enables or disables an account in the store.
func (m *Manager) SetEnabled(id string, enabled bool) error { return errNotImplemented }

// Remove deletes an account from the store.
func (m *Manager) Remove(id string) error { return errNotImplemented }

// Subscribe implements TokenProvider.
func (m *Manager) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event)
	return ch, func() {}
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

// Import reads Claude Code's login and adds or updates the account.
func (m *Manager) Import(ctx context.Context, req ImportRequest) (ImportResult, error) {
	return ImportResult{}, errNotImplemented
}
