package signin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// exchangeRequest is the authorization_code grant's body, its fields in the
// order Claude Code sends them.
type exchangeRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	ClientID     string `json:"client_id"`
	CodeVerifier string `json:"code_verifier"`
	State        string `json:"state"`
}

// tokenAnswer is a successful token endpoint answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	Account      *struct {
		UUID         string `json:"uuid"`
		EmailAddress string `json:"email_address"`
	} `json:"account"`
	Organization *struct {
		UUID string `json:"uuid"`
		Name string `json:"name"`
	} `json:"organization"`
}

// errorAnswer is an OAuth error answer.
type errorAnswer struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// maxAnswerBytes bounds what is read from the token endpoint.
const maxAnswerBytes = 1 << 20

// rateLimited is the error of one 429 answer; after says how long the
// server asked us to wait (negative when it did not say).
type rateLimited struct{ after time.Duration }

func (e *rateLimited) Error() string {
	if e.after >= 0 {
		return fmt.Sprintf("%v; it asked to wait %v", ErrRateLimited, e.after.Round(time.Second))
	}
	return ErrRateLimited.Error()
}

func (e *rateLimited) Unwrap() error { return ErrRateLimited }

// exchange trades the code for tokens, retrying only on 429 (which does not
// use up the code) at most o.MaxRetries times, honouring Retry-After.
func (f *flow) exchange(ctx context.Context, code, redirectURI string) (credentials.LoginTokens, error) {
	f.progress(Progress{Stage: StageExchanging})
	for attempt := 0; ; attempt++ {
		tokens, err := f.exchangeOnce(ctx, code, redirectURI)
		var rl *rateLimited
		if err == nil || !errors.As(err, &rl) {
			return tokens, err
		}
		if attempt >= f.opts.MaxRetries {
			return tokens, fmt.Errorf("%w; gave up after %d tries, try again in a few minutes", err, attempt+1)
		}
		delay := rl.after
		if delay < 0 {
			delay = f.opts.DefaultRetryDelay
		}
		if delay > f.opts.MaxRetryDelay {
			return tokens, fmt.Errorf("%w; try again in %v", ErrRateLimited, delay.Round(time.Second))
		}
		f.progress(Progress{Stage: StageRateLimited, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return credentials.LoginTokens{}, ctx.Err()
		case <-t.C:
		}
	}
}

// exchangeOnce makes one token request with the exchange timeout.
func (f *flow) exchangeOnce(ctx context.Context, code, redirectURI string) (credentials.LoginTokens, error) {
	actx, cancel := context.WithTimeout(ctx, f.opts.ExchangeTimeout)
	defer cancel()
	req, err := credentials.NewTokenRequest(actx, f.opts.TokenURL, f.opts.UserAgent, exchangeRequest{
		GrantType:    "authorization_code",
		Code:         code,
		RedirectURI:  redirectURI,
		ClientID:     clientID,
		CodeVerifier: f.pkce.verifier,
		State:        f.pkce.state,
	})
	if err != nil {
		return credentials.LoginTokens{}, fmt.Errorf("token endpoint %q: %v", f.opts.TokenURL, err)
	}
	resp, err := f.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return credentials.LoginTokens{}, ctx.Err()
		}
		if actx.Err() != nil {
			return credentials.LoginTokens{}, fmt.Errorf("the token endpoint %s did not answer within %v", hostOf(f.opts.TokenURL), f.opts.ExchangeTimeout)
		}
		return credentials.LoginTokens{}, fmt.Errorf("could not reach the token endpoint %s: %s", hostOf(f.opts.TokenURL), redact(err.Error(), code, f.pkce.verifier))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return credentials.LoginTokens{}, fmt.Errorf("reading the token endpoint's answer: %s", redact(err.Error(), code, f.pkce.verifier))
	}
	return f.interpret(resp, raw, code)
}

// interpret turns a token endpoint answer into tokens or a plain-word error.
func (f *flow) interpret(resp *http.Response, raw []byte, code string) (credentials.LoginTokens, error) {
	if resp.StatusCode == http.StatusTooManyRequests {
		return credentials.LoginTokens{}, &rateLimited{after: retryAfter(resp.Header.Get("Retry-After"), f.opts.now())}
	}
	if looksLikeHTML(resp.Header.Get("Content-Type"), raw) {
		return credentials.LoginTokens{}, fmt.Errorf("%w (HTTP %d from %s)", ErrHTMLAnswer, resp.StatusCode, hostOf(f.opts.TokenURL))
	}
	if resp.StatusCode != http.StatusOK {
		var ea errorAnswer
		_ = json.Unmarshal(raw, &ea)
		desc := redact(ea.ErrorDescription, code, f.pkce.verifier)
		lower := strings.ToLower(ea.Error + " " + ea.ErrorDescription)
		switch {
		case strings.Contains(lower, "redirect"):
			return credentials.LoginTokens{}, fmt.Errorf("%w (%s)", ErrRedirectMismatch, desc)
		case strings.Contains(lower, "verifier") || strings.Contains(lower, "pkce") || strings.Contains(lower, "challenge"):
			return credentials.LoginTokens{}, fmt.Errorf("%w (%s)", ErrVerifierRejected, desc)
		case strings.Contains(lower, "state"):
			return credentials.LoginTokens{}, fmt.Errorf("%w (%s)", ErrStateMismatch, desc)
		case ea.Error == "invalid_grant":
			return credentials.LoginTokens{}, fmt.Errorf("%w (%s)", ErrCodeRejected, desc)
		case ea.Error != "":
			return credentials.LoginTokens{}, fmt.Errorf("the token endpoint refused the sign-in code: HTTP %d %s: %s", resp.StatusCode, redact(ea.Error), desc)
		default:
			return credentials.LoginTokens{}, fmt.Errorf("the token endpoint answered HTTP %d: %s", resp.StatusCode, redact(string(raw), code, f.pkce.verifier))
		}
	}
	var ta tokenAnswer
	if err := json.Unmarshal(raw, &ta); err != nil {
		return credentials.LoginTokens{}, fmt.Errorf("the token endpoint's answer is not valid JSON: %v", err)
	}
	if ta.AccessToken == "" || ta.RefreshToken == "" {
		return credentials.LoginTokens{}, errors.New("the token endpoint's answer lacks an access or refresh token")
	}
	expiresIn := time.Duration(ta.ExpiresIn) * time.Second
	if expiresIn <= 0 {
		expiresIn = 8 * time.Hour
	}
	t := credentials.LoginTokens{
		AccessToken:  ta.AccessToken,
		RefreshToken: ta.RefreshToken,
		ExpiresAt:    f.opts.now().Add(expiresIn),
		Scopes:       strings.Fields(ta.Scope),
	}
	if ta.Account != nil {
		t.AccountUUID = ta.Account.UUID
		t.Email = ta.Account.EmailAddress
	}
	if ta.Organization != nil {
		t.OrgUUID = ta.Organization.UUID
		t.OrgName = ta.Organization.Name
	}
	return t, nil
}

// looksLikeHTML reports whether an answer is a web page rather than JSON.
func looksLikeHTML(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '<'
}

// retryAfter parses a Retry-After header, seconds or an HTTP date; it
// returns -1 when the header is absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}
