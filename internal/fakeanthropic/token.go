package fakeanthropic

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// The OAuth client facts the fake checks requests against. They are copied
// from the facts file rather than imported, so that the credentials package's
// own tests can use the fake without an import cycle.
const (
	oauthClientID   = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
	defaultLifetime = 28800 // seconds, as Anthropic answers
)

// TokenPair is a set of tokens the fake issued, as a test sees them.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds
	AccountUUID  string
	Email        string
}

// TokenRequest is what the fake recorded about one call of its token
// endpoint (without the tokens sent).
type TokenRequest struct {
	GrantType   string
	ClientID    string
	Scope       string
	UserAgent   string
	Accept      string
	ContentType string
}

// TokenFailure is a failure the token endpoint answers instead of doing its
// work. The refresh token sent is not spent.
type TokenFailure struct {
	// Status is the HTTP status (e.g. 429, 500, 400).
	Status int
	// Error is the OAuth error code for a 4xx JSON answer ("invalid_grant");
	// empty gives the status's default shape (a bare 429, an api_error 5xx).
	Error string
}

// grantHandler answers one grant_type of the token endpoint. body is the
// decoded JSON request. It is called without Server.mu held.
type grantHandler func(w http.ResponseWriter, r *http.Request, body map[string]any)

// tokenChain is one login's refresh chain: every rotation keeps its account.
type tokenChain struct {
	accountUUID string
	email       string
	orgUUID     string
	orgName     string
}

// tokenState is the fake's state for this area; guarded by Server.mu.
type tokenState struct {
	grants    map[string]grantHandler // grant_type -> handler; signin adds authorization_code
	refresh   map[string]*tokenChain  // live refresh tokens
	spent     map[string]bool         // refresh tokens already rotated away
	access    map[string]time.Time    // access token -> expiry
	issued    []issuedToken           // every refresh token issued, in order
	calls     int                     // POSTs to the token endpoint, whatever the outcome
	failures  []TokenFailure          // answered to the next calls, in order
	delay     time.Duration           // before answering each call
	expiresIn int                     // lifetime of new access tokens, seconds
	requests  []TokenRequest
	accounts  int
}

func (s *Server) registerToken(mux *http.ServeMux) {
	s.token.grants = map[string]grantHandler{}
	s.token.refresh = map[string]*tokenChain{}
	s.token.spent = map[string]bool{}
	s.token.access = map[string]time.Time{}
	s.token.expiresIn = defaultLifetime
	s.token.grants["refresh_token"] = s.refreshGrant
	mux.HandleFunc("POST /v1/oauth/token", s.serveToken)
}

// handleGrant makes the token endpoint answer grantType with h. signin.go
// registers the authorization_code grant this way.
func (s *Server) handleGrant(grantType string, h grantHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token.grants[grantType] = h
}

// serveToken checks what every grant shares (method, headers, JSON body,
// client id), applies injected failures and delays, then dispatches on
// grant_type.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.token.calls++
	delay := s.token.delay
	var fail *TokenFailure
	if len(s.token.failures) > 0 {
		f := s.token.failures[0]
		s.token.failures = s.token.failures[1:]
		fail = &f
	}
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}

	// Tool-default agents are answered as Anthropic answers them.
	ua := r.Header.Get("User-Agent")
	switch {
	case ua == "", strings.HasPrefix(ua, "Go-http-client"), strings.HasPrefix(ua, "curl"),
		strings.HasPrefix(ua, "claude-code/"):
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case strings.HasPrefix(ua, "claude-cli/"):
		http.NotFound(w, r)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		replyOAuthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/json")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		replyOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		replyOAuthError(w, http.StatusBadRequest, "invalid_request", "body is not a JSON object")
		return
	}
	grant, _ := body["grant_type"].(string)
	clientID, _ := body["client_id"].(string)
	scope, _ := body["scope"].(string)

	s.mu.Lock()
	s.token.requests = append(s.token.requests, TokenRequest{
		GrantType: grant, ClientID: clientID, Scope: scope, UserAgent: ua,
		Accept: r.Header.Get("Accept"), ContentType: r.Header.Get("Content-Type"),
	})
	h := s.token.grants[grant]
	s.mu.Unlock()

	if fail != nil {
		replyFailure(w, *fail)
		return
	}
	if clientID != oauthClientID {
		replyOAuthError(w, http.StatusBadRequest, "invalid_client", "unknown client_id")
		return
	}
	if h == nil {
		replyOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type not supported")
		return
	}
	h(w, r, body)
}

// refreshGrant rotates a live refresh token; a spent or unknown one gets
// invalid_grant.
func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, body map[string]any) {
	rt, _ := body["refresh_token"].(string)
	s.mu.Lock()
	resp, ok := s.rotateLocked(rt)
	s.mu.Unlock()
	if !ok {
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token not found or invalid")
		return
	}
	replyJSON(w, http.StatusOK, resp)
}

// rotateLocked spends rt and issues the next pair of its chain.
func (s *Server) rotateLocked(rt string) (map[string]any, bool) {
	c, ok := s.token.refresh[rt]
	if !ok || rt == "" {
		return nil, false
	}
	delete(s.token.refresh, rt)
	s.token.spent[rt] = true
	return s.issueLocked(c), true
}

// issueLocked mints a new pair for chain c and answers it in Anthropic's
// shape. signin.go uses it for the authorization_code grant.
func (s *Server) issueLocked(c *tokenChain) map[string]any {
	at := "sk-ant-oat01-" + newRandomToken()
	rt := "sk-ant-ort01-" + newRandomToken()
	s.token.refresh[rt] = c
	s.token.access[at] = time.Now().Add(time.Duration(s.token.expiresIn) * time.Second)
	s.token.issued = append(s.token.issued, issuedToken{rt, c})
	resp := map[string]any{
		"token_type":    "Bearer",
		"access_token":  at,
		"refresh_token": rt,
		"expires_in":    s.token.expiresIn,
		"scope":         "user:inference user:profile user:sessions:claude_code user:mcp_servers user:file_upload",
		"token_uuid":    newUUID(),
	}
	if c.accountUUID != "" {
		resp["account"] = map[string]any{"uuid": c.accountUUID, "email_address": c.email}
		resp["organization"] = map[string]any{"uuid": c.orgUUID, "name": c.orgName}
	}
	return resp
}

// newChainLocked starts a refresh chain for a new account.
func (s *Server) newChainLocked(email string) *tokenChain {
	s.token.accounts++
	if email == "" {
		email = fmt.Sprintf("user%d@example.com", s.token.accounts)
	}
	return &tokenChain{
		accountUUID: newUUID(), email: email,
		orgUUID: newUUID(), orgName: email + "'s Organization",
	}
}

// IssueTokens starts a new login for email (generated when empty) and
// returns its first pair, as if the user had signed in.
func (s *Server) IssueTokens(email string) TokenPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newChainLocked(email)
	return pairFrom(s.issueLocked(c), c)
}

// RotateOutOfBand spends rt as another client sharing the chain would (Claude
// Code refreshing its own login) and returns the new pair. It does not count
// as a call of the endpoint. ok is false when rt is not live.
func (s *Server) RotateOutOfBand(rt string) (TokenPair, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.token.refresh[rt]
	resp, ok := s.rotateLocked(rt)
	if !ok {
		return TokenPair{}, false
	}
	return pairFrom(resp, c), true
}

// AcceptRefreshToken makes rt a live refresh token of a new chain (e.g. one
// a test wrote into a file by hand).
func (s *Server) AcceptRefreshToken(rt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.token.spent, rt)
	s.token.refresh[rt] = s.newChainLocked("")
}

// RefreshTokenLive reports whether rt can still be used.
func (s *Server) RefreshTokenLive(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.token.refresh[rt]
	return ok
}

// ValidAccessToken reports whether at was issued by the fake and has not
// expired.
func (s *Server) ValidAccessToken(at string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.token.access[at]
	return ok && time.Now().Before(exp)
}

// issuedToken is a refresh token and the chain it belongs to.
type issuedToken struct {
	token string
	chain *tokenChain
}

// IssuedRefreshTokens returns every refresh token the fake issued, oldest
// first.
func (s *Server) IssuedRefreshTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.token.issued))
	for i, it := range s.token.issued {
		out[i] = it.token
	}
	return out
}

// RefreshChain returns the refresh tokens issued to the login of
// accountUUID (see TokenPair), oldest first.
func (s *Server) RefreshChain(accountUUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, it := range s.token.issued {
		if it.chain.accountUUID == accountUUID {
			out = append(out, it.token)
		}
	}
	return out
}

// TokenCalls is the number of POSTs the token endpoint received, whatever
// their outcome.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token.calls
}

// TokenRequests returns what the fake recorded of each call, oldest first.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.token.requests...)
}

// FailTokenCalls makes the next n calls of the token endpoint answer f
// instead of doing their work (the refresh token sent stays live).
func (s *Server) FailTokenCalls(n int, f TokenFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.token.failures = append(s.token.failures, f)
	}
}

// SetTokenDelay makes every call of the token endpoint wait d before it is
// answered (the request's cancellation ends the wait).
func (s *Server) SetTokenDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token.delay = d
}

// SetTokenLifetime sets expires_in, in seconds, for tokens issued from now on.
func (s *Server) SetTokenLifetime(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token.expiresIn = seconds
}

func pairFrom(resp map[string]any, c *tokenChain) TokenPair {
	return TokenPair{
		AccessToken:  resp["access_token"].(string),
		RefreshToken: resp["refresh_token"].(string),
		ExpiresIn:    resp["expires_in"].(int),
		AccountUUID:  c.accountUUID,
		Email:        c.email,
	}
}

func replyFailure(w http.ResponseWriter, f TokenFailure) {
	switch {
	case f.Error != "":
		replyOAuthError(w, f.Status, f.Error, "injected failure")
	case f.Status == http.StatusTooManyRequests:
		w.WriteHeader(f.Status) // Anthropic's bare 429
	case f.Status >= 500:
		replyJSON(w, f.Status, map[string]any{
			"type":  "error",
			"error": map[string]any{"type": "api_error", "message": "Internal server error"},
		})
	default:
		w.WriteHeader(f.Status)
	}
}

func replyOAuthError(w http.ResponseWriter, status int, code, desc string) {
	replyJSON(w, status, map[string]any{"error": code, "error_description": desc})
}

func replyJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newRandomToken() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
