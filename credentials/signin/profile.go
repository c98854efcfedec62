package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// Profile is what the profile endpoint says about an access token's
// account.
type Profile struct {
	AccountUUID string
	Email       string
	OrgUUID     string
	OrgName     string
	OrgType     string // claude_max, claude_pro, …
}

// profileAnswer is the profile endpoint's JSON.
type profileAnswer struct {
	Account struct {
		UUID         string `json:"uuid"`
		Email        string `json:"email"`
		EmailAddress string `json:"email_address"`
	} `json:"account"`
	Organization struct {
		UUID             string `json:"uuid"`
		Name             string `json:"name"`
		OrganizationType string `json:"organization_type"`
	} `json:"organization"`
}

// profileTimeout bounds one profile lookup.
const profileTimeout = 15 * time.Second

// FetchProfile looks up the account of accessToken with GET
// {apiURL}/api/oauth/profile. A nil client means a default one; an empty
// apiURL means APIURL().
func FetchProfile(ctx context.Context, client *http.Client, apiURL, accessToken string) (Profile, error) {
	if client == nil {
		client = &http.Client{}
	}
	if apiURL == "" {
		apiURL = APIURL()
	}
	ctx, cancel := context.WithTimeout(ctx, profileTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(apiURL, "/")+"/api/oauth/profile", nil)
	if err != nil {
		return Profile{}, fmt.Errorf("profile lookup at %q: %v", apiURL, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("anthropic-beta", "oauth-2025-04-20")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", credentials.DefaultUserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return Profile{}, fmt.Errorf("profile lookup at %s: %s", hostOf(apiURL), redact(err.Error(), accessToken))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return Profile{}, fmt.Errorf("profile lookup at %s: reading the answer: %v", hostOf(apiURL), err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return Profile{}, fmt.Errorf("profile lookup at %s was refused (HTTP %d); the token may lack the user:profile scope", hostOf(apiURL), resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return Profile{}, fmt.Errorf("profile lookup at %s answered HTTP %d", hostOf(apiURL), resp.StatusCode)
	case looksLikeHTML(resp.Header.Get("Content-Type"), raw):
		return Profile{}, fmt.Errorf("profile lookup at %s answered with a web page instead of JSON", hostOf(apiURL))
	}
	var pa profileAnswer
	if err := json.Unmarshal(raw, &pa); err != nil {
		return Profile{}, fmt.Errorf("profile lookup at %s: the answer is not valid JSON: %v", hostOf(apiURL), err)
	}
	p := Profile{
		AccountUUID: pa.Account.UUID,
		Email:       pa.Account.Email,
		OrgUUID:     pa.Organization.UUID,
		OrgName:     pa.Organization.Name,
		OrgType:     pa.Organization.OrganizationType,
	}
	if p.Email == "" {
		p.Email = pa.Account.EmailAddress
	}
	if p.Email == "" {
		return p, fmt.Errorf("profile lookup at %s: the answer names no email", hostOf(apiURL))
	}
	return p, nil
}

// EmailStore is what FillMissingEmails needs from the account store;
// *credentials.Manager implements it.
type EmailStore interface {
	Accounts() []credentials.AccountInfo
	AccessToken(ctx context.Context, id string) (string, error)
	SetEmail(id, email string) error
}

// FilledEmail is one email FillMissingEmails learned and stored.
type FilledEmail struct {
	AccountID string
	Email     string
}

// fillMargin: an account's access token must stay valid this long for
// FillMissingEmails to use it, so that the lookup never causes a refresh
// (which, for an imported account, would spend Claude Code's own chain).
const fillMargin = 15 * time.Minute

// FillMissingEmails looks up, once, the email of every enabled, usable
// account the store holds without one, and stores it with SetEmail.
// Accounts whose access token is about to expire are left for a later
// call. It returns what it stored and the lookups that failed.
func FillMissingEmails(ctx context.Context, store EmailStore, client *http.Client, apiURL string) ([]FilledEmail, error) {
	var filled []FilledEmail
	var errs []error
	deadline := time.Now().Add(fillMargin)
	for _, a := range store.Accounts() {
		if a.Email != "" || !a.Enabled || a.State == credentials.StateNeedsLogin || a.ExpiresAt.Before(deadline) {
			continue
		}
		tok, err := store.AccessToken(ctx, a.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("account %q: %w", a.ID, err))
			continue
		}
		p, err := FetchProfile(ctx, client, apiURL, tok)
		if err != nil {
			errs = append(errs, fmt.Errorf("account %q: %w", a.ID, err))
			continue
		}
		if err := store.SetEmail(a.ID, p.Email); err != nil {
			errs = append(errs, fmt.Errorf("account %q: %w", a.ID, err))
			continue
		}
		filled = append(filled, FilledEmail{AccountID: a.ID, Email: p.Email})
	}
	return filled, errors.Join(errs...)
}

// hostOf returns the host of a URL for messages, or the URL itself.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
