package fakeanthropic

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// authorizeParams are valid authorize parameters for a loopback redirect.
func authorizeParams(challenge string) url.Values {
	return url.Values{
		"code": {"true"}, "client_id": {oauthClientID}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:5555/callback"}, "scope": {"user:profile user:inference"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"st"},
	}
}

func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestTheAuthorizeEndpointRefusesWhatTheRealOneRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(url.Values)
	}{
		{name: "a loopback redirect without a port", edit: func(v url.Values) { v.Set("redirect_uri", "http://localhost/callback") }},
		{name: "a redirect to another host", edit: func(v url.Values) { v.Set("redirect_uri", "http://evil.test:5555/callback") }},
		{name: "a plain PKCE method", edit: func(v url.Values) { v.Set("code_challenge_method", "plain") }},
		{name: "no state", edit: func(v url.Values) { v.Del("state") }},
		{name: "another client", edit: func(v url.Values) { v.Set("client_id", "someone-else") }},
		{name: "a scope without inference", edit: func(v url.Values) { v.Set("scope", "user:profile") }},
	}
	s := New()
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := authorizeParams("c")
			tt.edit(v)
			resp, err := noFollow().Get(s.AuthorizeURL() + "?" + v.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestTheAuthorizationCodeGrantChecksPKCEStateAndSingleUse(t *testing.T) {
	s := New()
	defer s.Close()
	verifier := "a-verifier-of-enough-length-for-the-test-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	resp, err := noFollow().Get(s.AuthorizeURL() + "?" + authorizeParams(base64.RawURLEncoding.EncodeToString(sum[:])).Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusFound || code == "" || loc.Query().Get("state") != "st" || loc.Host != "localhost:5555" {
		t.Fatalf("authorize answered %d, Location %v", resp.StatusCode, loc)
	}
	exchange := func(body map[string]string) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "axios/1.9.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	body := map[string]string{
		"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost:5555/callback",
		"client_id": oauthClientID, "code_verifier": verifier, "state": "st",
	}
	noState := map[string]string{}
	for k, v := range body {
		noState[k] = v
	}
	delete(noState, "state")
	if status, out := exchange(noState); status != 400 || out["error"] != "invalid_request" {
		t.Errorf("without state: %d %v, want invalid_request", status, out)
	}
	status, out := exchange(body)
	if status != 200 || !strings.HasPrefix(out["access_token"].(string), "sk-ant-oat01-") {
		t.Fatalf("exchange: %d", status)
	}
	if acct, _ := out["account"].(map[string]any); acct["email_address"] != "alice@example.com" || acct["uuid"] != s.SigninAccountUUID("alice@example.com") {
		t.Errorf("account %v", out["account"])
	}
	if org, _ := out["organization"].(map[string]any); org["uuid"] == "" || org["name"] == "" {
		t.Errorf("organization %v", out["organization"])
	}
	if status, out := exchange(body); status != 400 || out["error_description"] != "Authorization code already used" {
		t.Errorf("second use: %d %v", status, out["error_description"])
	}
}
