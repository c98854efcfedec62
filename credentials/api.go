// Package credentials owns cc-router's Claude accounts: the accounts.json
// store, rotating-token refresh, and imports of Claude Code's own login.
// It knows nothing of HTTP serving; the proxy and the tray call it and
// subscribe to its events.
//
// This file is the package's public contract with proxy/ and tray/.
// Implementations live in the other files of the package.
package credentials

import (
	"context"
	"errors"
	"os"
	"time"
)

// State is the health of an account's credentials as the store records it.
type State string

const (
	// StateOK means the account has tokens that can be used or refreshed.
	StateOK State = "ok"
	// StateNeedsLogin means the refresh token was rejected; only a new
	// login (or an import of a newer one) brings the account back.
	StateNeedsLogin State = "needs_login"
)

// Sources an account's tokens came from (the "source" field of a record).
const (
	SourceKeychain   = "keychain"    // macOS Keychain item of Claude Code
	SourceClaudeCode = "claude-code" // Claude Code's .credentials.json
	SourceFile       = "file"        // a credentials file given by path
	SourceLogin      = "login"       // cc-router's own sign-in: owns its chain
)

// AccountInfo is a token-free snapshot of one account, for the proxy, the
// tray and status output.
type AccountInfo struct {
	ID          string
	Email       string
	Source      string
	Enabled     bool
	State       State
	StateReason string    // why the account needs login or last refresh failed
	ExpiresAt   time.Time // access token expiry
	// SessionLimitPercent and WeeklyLimitPercent are the user's caps on the
	// 5h and 7d utilization (0..100); zero means no cap.
	SessionLimitPercent float64
	WeeklyLimitPercent  float64
	LastRefresh         time.Time // last successful refresh, zero if none
	LastRefreshError    string    // last transient refresh error, "" if none
}

// EventKind says what happened to an account.
type EventKind string

const (
	EventRefreshed       EventKind = "refreshed"        // new tokens are on disk: refreshed, or a sign-in or import replaced the account's
	EventRefreshFailed   EventKind = "refresh_failed"   // transient failure; will retry
	EventNeedsLogin      EventKind = "needs_login"      // terminal failure
	EventAdopted         EventKind = "adopted"          // took newer tokens from disk or Claude Code's login
	EventAccountsChanged EventKind = "accounts_changed" // added, removed, enabled, disabled, imported
)

// Event is published on every change of an account's credential state.
type Event struct {
	Kind      EventKind
	AccountID string // empty for EventAccountsChanged affecting many
	Message   string // human-readable detail; never a token
	Time      time.Time
}

// Errors a caller can match with errors.Is.
var (
	// ErrUnknownAccount is returned for an id the store does not hold.
	ErrUnknownAccount = errors.New("unknown account")
	// ErrNeedsLogin is returned when an account's refresh token is dead.
	ErrNeedsLogin = errors.New("account needs login")
)

// TokenProvider is what the proxy needs from this package. *Manager
// implements it.
type TokenProvider interface {
	// Accounts returns a token-free snapshot of every Anthropic account, in
	// the store's order.
	Accounts() []AccountInfo
	// AccessToken returns a valid access token for the account, refreshing
	// it first (or joining a refresh in flight) when it expires within the
	// refresh buffer. A caller whose token is still valid waits a few
	// seconds at most, then gets that token while the refresh goes on. It
	// never returns a token that is not yet on disk.
	AccessToken(ctx context.Context, id string) (string, error)
	// RefreshRejected is called after the upstream rejected token (401, or
	// a 403 saying the token was revoked). If the account's current token
	// differs from rejected, that one is returned without refreshing;
	// otherwise the account is refreshed (joining any refresh in flight).
	RefreshRejected(ctx context.Context, id, rejected string) (string, error)
	// Subscribe returns a channel of events and a function that ends the
	// subscription. Slow subscribers lose events rather than block.
	Subscribe() (<-chan Event, func())
}

var _ TokenProvider = (*Manager)(nil)

// OAuth client facts shared by refresh and sign-in (see the facts file).
const (
	// ClientID is Claude Code's public OAuth client id.
	ClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
	// DefaultTokenURL is the OAuth token endpoint.
	DefaultTokenURL = "https://platform.claude.com/v1/oauth/token"
	// DefaultUserAgent is the agent sent to the token endpoint; tool-default
	// agents are answered with a bare 429.
	DefaultUserAgent = "axios/1.9.0"
	// RefreshScope is the scope sent with a refresh grant.
	RefreshScope = "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload"
)

// TokenURL returns CC_ROUTER_TOKEN_URL when set, else DefaultTokenURL.
func TokenURL() string {
	if u := os.Getenv("CC_ROUTER_TOKEN_URL"); u != "" {
		return u
	}
	return DefaultTokenURL
}

// LoginTokens is what a sign-in (authorization code + PKCE) produced.
type LoginTokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	Scopes       []string
	AccountUUID  string
	Email        string
	OrgUUID      string
	OrgName      string
}
