package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// RefreshError is a refresh the token endpoint answered with an error
// status, like golang.org/x/oauth2's RetrieveError. It holds no token.
type RefreshError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the OAuth error code ("invalid_grant"), or the API error type
	// for Anthropic's {"type":"error"} shape; empty when the body had none.
	Code string
	// Description is the server's error_description or message, shortened
	// and with anything that looks like a token reduced to a prefix.
	Description string
}

// Error says what the token endpoint answered, without any token.
func (e *RefreshError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token endpoint answered %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// Terminal reports whether the refresh token is dead (invalid_grant or
// another 400/401): only a new login brings the account back. Other errors
// (429, 5xx) are transient.
func (e *RefreshError) Terminal() bool {
	return e.Code == "invalid_grant" || e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnauthorized
}

// IsTerminal reports whether err is a refresh error that retrying cannot
// fix.
func IsTerminal(err error) bool {
	var re *RefreshError
	return errors.As(err, &re) && re.Terminal()
}

// tokenResponse is the token endpoint's success answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	Account      *struct {
		UUID  string `json:"uuid"`
		Email string `json:"email_address"`
	} `json:"account"`
	Organization *struct {
		UUID string `json:"uuid"`
		Name string `json:"name"`
	} `json:"organization"`
}

// NewTokenRequest builds a POST of body, as JSON, to the token endpoint
// tokenURL with the headers Claude Code's own HTTP client sends (an
// axios-style userAgent; tool-default agents are refused).
func NewTokenRequest(ctx context.Context, tokenURL, userAgent string, body any) (*http.Request, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/plain, */*")
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// postRefresh spends refreshToken at the token endpoint.
func (m *Manager) postRefresh(ctx context.Context, refreshToken string) (*tokenResponse, error) {
	req, err := NewTokenRequest(ctx, m.cfg.TokenURL, m.cfg.UserAgent, map[string]string{
		"grant_type":    "refresh_token",
		"refresh_token": refreshToken,
		"client_id":     ClientID,
		"scope":         RefreshScope,
	})
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("token endpoint: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, parseRefreshError(resp.StatusCode, data)
	}
	var tr tokenResponse
	if err := json.Unmarshal(data, &tr); err != nil {
		return nil, fmt.Errorf("token endpoint: answer is not the expected JSON")
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("token endpoint: answer has no access_token")
	}
	return &tr, nil
}

func parseRefreshError(status int, data []byte) *RefreshError {
	e := &RefreshError{StatusCode: status}
	var oauth struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
		Message     string          `json:"message"`
	}
	if json.Unmarshal(data, &oauth) == nil {
		var code string
		var api struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(oauth.Error, &code) == nil:
			e.Code = code
			e.Description = oauth.Description
			if e.Description == "" {
				e.Description = oauth.Message
			}
		case json.Unmarshal(oauth.Error, &api) == nil:
			e.Code = api.Type
			e.Description = api.Message
		}
	}
	e.Code = shorten(Scrub(e.Code), 64)
	e.Description = shorten(Scrub(e.Description), 200)
	return e
}

// tokenLike matches what could be a secret: Anthropic tokens and keys, and
// long unbroken runs of token characters.
var tokenLike = regexp.MustCompile(`sk-ant-[A-Za-z0-9]+-[A-Za-z0-9_\-]+|[A-Za-z0-9_\-]{32,}`)

// Scrub makes s fit to show or log: each of secrets (a token, a sign-in
// code, a verifier), and anything else in s that looks like a token, is
// reduced to its RedactToken form. Every message that quotes a server's
// answer or an error that may hold a secret goes through it.
func Scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 8 {
			s = strings.ReplaceAll(s, sec, RedactToken(sec))
		}
	}
	return tokenLike.ReplaceAllStringFunc(s, RedactToken)
}

// RedactToken returns a form of a token fit for logs and errors: its kind
// prefix and a few characters ("sk-ant-oat01-AbC…"), never enough to use.
func RedactToken(tok string) string {
	if tok == "" {
		return `""`
	}
	keep := 4
	if strings.HasPrefix(tok, "sk-ant-") {
		if i := strings.IndexByte(tok[len("sk-ant-"):], '-'); i >= 0 {
			keep = len("sk-ant-") + i + 1 + 3
		}
	}
	if keep > len(tok)/2 {
		keep = len(tok) / 2
	}
	return tok[:keep] + "…"
}

func shorten(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// expiryFrom turns expires_in into an absolute time.
func expiryFrom(now time.Time, expiresIn int64) time.Time {
	if expiresIn <= 0 {
		expiresIn = 3600
	}
	return now.Add(time.Duration(expiresIn) * time.Second)
}
