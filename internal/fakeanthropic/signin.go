package fakeanthropic

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The sign-in area: an authorize endpoint that, instead of a login page,
// redirects straight back to the redirect_uri with a code (the "browser"
// is signed in as SigninEmail, or as the login_hint when one is given);
// the authorization_code grant of the token endpoint, which checks PKCE
// (S256), single-use codes, the state and the redirect_uri; and the
// profile endpoint.

// manualRedirectURI is the redirect of the manual sign-in, whose page shows
// CODE#STATE. The fake redirects to it like any other.
const manualRedirectURI = "https://platform.claude.com/oauth/code/callback"

// codeLifetime is how long an authorization code can be exchanged.
const codeLifetime = 10 * time.Minute

// AuthorizeRequest is what the fake recorded of one authorize call.
type AuthorizeRequest struct {
	// Params are the query parameters in the order they were sent.
	Params [][2]string
	// LoginHint is the login_hint parameter, "" when absent.
	LoginHint string
}

// CodeExchangeFailure is an answer the authorization_code grant gives
// instead of doing its work. The code sent is not used up.
type CodeExchangeFailure struct {
	// Status is the HTTP status (default 429 when HTML is false, 403 when
	// true).
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// HTML answers a Cloudflare-style challenge page instead of JSON.
	HTML bool
}

// pendingCode is an authorization code the authorize endpoint issued.
type pendingCode struct {
	challenge   string
	redirectURI string
	state       string
	chain       *tokenChain
	expires     time.Time
	used        bool
}

// signinState is the fake's state for this area; guarded by Server.mu.
type signinState struct {
	email     string // the account the "browser" is signed in as
	deny      int    // the next deny authorize calls answer access_denied
	codes     map[string]*pendingCode
	accounts  map[string]*tokenChain // by email: the same person always has the same uuid
	profiles  map[string]*tokenChain // access token -> account, for the profile endpoint
	failures  []CodeExchangeFailure
	authorize []AuthorizeRequest
	exchanges int // authorization_code grants that issued tokens
	lookups   int // profile calls answered 200
}

func (s *Server) registerSignin(mux *http.ServeMux) {
	s.signin.email = "alice@example.com"
	s.signin.codes = map[string]*pendingCode{}
	s.signin.accounts = map[string]*tokenChain{}
	s.signin.profiles = map[string]*tokenChain{}
	s.handleGrant("authorization_code", s.authorizationCodeGrant)
	mux.HandleFunc("GET /oauth/authorize", s.serveAuthorize)
	mux.HandleFunc("GET /api/oauth/profile", s.serveProfile)
}

// AuthorizeURL is the fake's authorize endpoint, for
// CC_ROUTER_AUTHORIZE_URL.
func (s *Server) AuthorizeURL() string { return s.URL + "/oauth/authorize" }

// SetSigninEmail sets the account the fake's "browser" is signed in as;
// an authorize call without login_hint signs in as it. The default is
// alice@example.com.
func (s *Server) SetSigninEmail(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signin.email = email
}

// DenyNextAuthorize makes the next n authorize calls redirect back with
// error=access_denied, as when the user declines.
func (s *Server) DenyNextAuthorize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signin.deny += n
}

// FailCodeExchanges makes the next n authorization_code grants answer f.
func (s *Server) FailCodeExchanges(n int, f CodeExchangeFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.signin.failures = append(s.signin.failures, f)
	}
}

// AuthorizeRequests returns what the fake recorded of each authorize call,
// oldest first.
func (s *Server) AuthorizeRequests() []AuthorizeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthorizeRequest(nil), s.signin.authorize...)
}

// CodeExchanges is the number of authorization_code grants that issued
// tokens.
func (s *Server) CodeExchanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signin.exchanges
}

// ProfileLookups is the number of profile calls answered with a profile.
func (s *Server) ProfileLookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signin.lookups
}

// SigninAccountUUID returns the uuid the fake gives email's account,
// creating the account when it is new.
func (s *Server) SigninAccountUUID(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signinAccountLocked(email).accountUUID
}

// RegisterProfile makes the profile endpoint answer for an access token
// the fake issued outside the sign-in (e.g. with IssueTokens).
func (s *Server) RegisterProfile(p TokenPair) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.signin.accounts[p.Email]
	if c == nil {
		c = &tokenChain{accountUUID: p.AccountUUID, email: p.Email, orgUUID: newUUID(), orgName: p.Email + "'s Organization"}
		s.signin.accounts[p.Email] = c
	}
	s.signin.profiles[p.AccessToken] = c
}

// signinAccountLocked returns email's account: the one signed in before,
// else the one a chain of the token area already has, else a new one.
func (s *Server) signinAccountLocked(email string) *tokenChain {
	if c := s.signin.accounts[email]; c != nil {
		return c
	}
	var found *tokenChain
	for _, c := range s.token.refresh {
		if c.email == email {
			found = c
			break
		}
	}
	if found == nil {
		found = s.newChainLocked(email)
	}
	s.signin.accounts[email] = found
	return found
}

// serveAuthorize checks the authorize parameters and redirects back with a
// code, or with error=access_denied when a denial was injected.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	var params [][2]string
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		params = append(params, [2]string{k, v})
	}
	q := r.URL.Query()
	s.mu.Lock()
	s.signin.authorize = append(s.signin.authorize, AuthorizeRequest{Params: params, LoginHint: q.Get("login_hint")})
	s.mu.Unlock()

	redirectURI := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != oauthClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case !validRedirectURI(redirectURI):
		http.Error(w, "redirect_uri is not allowed for this client", http.StatusBadRequest)
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		http.Error(w, "code_challenge with code_challenge_method=S256 is required", http.StatusBadRequest)
		return
	case q.Get("state") == "":
		http.Error(w, "state is required", http.StatusBadRequest)
		return
	case !strings.Contains(" "+q.Get("scope")+" ", " user:inference "):
		http.Error(w, "scope must include user:inference", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirectURI)
	bq := url.Values{}
	s.mu.Lock()
	if s.signin.deny > 0 {
		s.signin.deny--
		bq.Set("error", "access_denied")
		bq.Set("error_description", "The user denied access")
	} else {
		email := q.Get("login_hint")
		if email == "" {
			email = s.signin.email
		}
		code := newRandomToken()
		s.signin.codes[code] = &pendingCode{
			challenge:   q.Get("code_challenge"),
			redirectURI: redirectURI,
			state:       q.Get("state"),
			chain:       s.signinAccountLocked(email),
			expires:     time.Now().Add(codeLifetime),
		}
		bq.Set("code", code)
	}
	s.mu.Unlock()
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// validRedirectURI accepts http://localhost:PORT/callback (a port is
// required) and the manual redirect.
func validRedirectURI(raw string) bool {
	if raw == manualRedirectURI {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() != "localhost" || u.Path != "/callback" {
		return false
	}
	port, err := strconv.Atoi(u.Port())
	return err == nil && port > 0
}

// authorizationCodeGrant exchanges a code for tokens. Every failure but an
// injected one uses the code up.
func (s *Server) authorizationCodeGrant(w http.ResponseWriter, r *http.Request, body map[string]any) {
	str := func(k string) string { v, _ := body[k].(string); return v }
	s.mu.Lock()
	if len(s.signin.failures) > 0 {
		f := s.signin.failures[0]
		s.signin.failures = s.signin.failures[1:]
		s.mu.Unlock()
		replyCodeFailure(w, f)
		return
	}
	defer s.mu.Unlock()
	pc := s.signin.codes[str("code")]
	switch {
	case str("state") == "":
		replyOAuthError(w, http.StatusBadRequest, "invalid_request", "state is required")
		return
	case pc == nil:
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid authorization code")
		return
	case pc.used:
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code already used")
		return
	}
	pc.used = true
	verifier := str("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	switch {
	case time.Now().After(pc.expires):
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code expired")
	case str("redirect_uri") != pc.redirectURI:
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Redirect URI mismatch")
	case str("state") != pc.state:
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid state")
	case verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge:
		replyOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier")
	default:
		resp := s.issueLocked(pc.chain)
		s.signin.profiles[resp["access_token"].(string)] = pc.chain
		s.signin.exchanges++
		replyJSON(w, http.StatusOK, resp)
	}
}

func replyCodeFailure(w http.ResponseWriter, f CodeExchangeFailure) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.HTML {
		if f.Status == 0 {
			f.Status = http.StatusForbidden
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title></head><body>Checking your browser before accessing platform.claude.com.</body></html>\n"))
		return
	}
	if f.Status == 0 {
		f.Status = http.StatusTooManyRequests
	}
	w.WriteHeader(f.Status)
}

// serveProfile answers GET /api/oauth/profile for an access token the fake
// issued and knows the account of.
func (s *Server) serveProfile(w http.ResponseWriter, r *http.Request) {
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	c := s.signin.profiles[at]
	exp, live := s.token.access[at]
	if ok && c != nil && live && time.Now().Before(exp) {
		s.signin.lookups++
	} else {
		c = nil
	}
	s.mu.Unlock()
	if c == nil {
		replyJSON(w, http.StatusUnauthorized, map[string]any{
			"type":  "error",
			"error": map[string]any{"type": "authentication_error", "message": "Invalid bearer token"},
		})
		return
	}
	replyJSON(w, http.StatusOK, map[string]any{
		"account": map[string]any{
			"uuid": c.accountUUID, "email": c.email,
			"full_name": "", "display_name": strings.SplitN(c.email, "@", 2)[0],
			"has_claude_max": true, "has_claude_pro": false,
		},
		"organization": map[string]any{
			"uuid": c.orgUUID, "name": c.orgName,
			"organization_type": "claude_max", "rate_limit_tier": "default_claude_max_20x",
			"billing_type": "stripe_subscription",
		},
	})
}

// BrowserVisit is where a visit by Browse ended.
type BrowserVisit struct {
	// Final is the first redirect target that left loopback (the success
	// page, or the manual redirect), nil if none did.
	Final *url.URL
	// Status and Body are of the last answer received.
	Status int
	Body   string
	// Err is a transport error.
	Err error
}

// Browse plays the user's browser in a sign-in: it GETs rawURL and follows
// redirects while they stay on loopback (the fake's authorize endpoint,
// then cc-router's /callback), stopping at the first that leaves it, where
// a real browser would show Anthropic's page. tamper, when not nil, may
// edit the /callback request's URL first.
func Browse(rawURL string, tamper func(*url.URL)) BrowserVisit {
	var v BrowserVisit
	c := &http.Client{
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			switch req.URL.Hostname() {
			case "localhost", "127.0.0.1", "::1":
			default:
				v.Final = req.URL
				return http.ErrUseLastResponse
			}
			if tamper != nil && req.URL.Path == "/callback" {
				tamper(req.URL)
			}
			return nil
		},
	}
	resp, err := c.Get(rawURL)
	if err != nil {
		v.Err = err
		return v
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	v.Status, v.Body = resp.StatusCode, string(b)
	return v
}
