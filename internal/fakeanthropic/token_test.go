package fakeanthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// postToken sends a token request the way Claude Code does, edited by mod.
func postToken(t *testing.T, s *Server, body map[string]any, mod func(*http.Request)) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.TokenURL(), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/plain, */*")
	req.Header.Set("User-Agent", "axios/1.9.0")
	if mod != nil {
		mod(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func refreshBody(rt string) map[string]any {
	return map[string]any{"grant_type": "refresh_token", "refresh_token": rt, "client_id": oauthClientID,
		"scope": "user:profile user:inference"}
}

func TestRefreshRotatesAndASpentTokenIsInvalidGrant(t *testing.T) {
	s := New()
	defer s.Close()
	p := s.IssueTokens("a@example.com")
	code, out := postToken(t, s, refreshBody(p.RefreshToken), nil)
	if code != 200 {
		t.Fatalf("status %d %v", code, out)
	}
	next, _ := out["refresh_token"].(string)
	if next == "" || next == p.RefreshToken || out["access_token"] == p.AccessToken || out["expires_in"] != 28800.0 {
		t.Fatalf("no rotation: %v", out)
	}
	if acct, _ := out["account"].(map[string]any); acct["uuid"] != p.AccountUUID || acct["email_address"] != "a@example.com" {
		t.Errorf("account = %v", out["account"])
	}
	code, out = postToken(t, s, refreshBody(p.RefreshToken), nil)
	if code != 400 || out["error"] != "invalid_grant" {
		t.Errorf("reuse: %d %v, want 400 invalid_grant", code, out)
	}
	if !s.RefreshTokenLive(next) || s.RefreshTokenLive(p.RefreshToken) {
		t.Errorf("liveness wrong after rotation")
	}
	if got := s.RefreshChain(p.AccountUUID); len(got) != 2 || got[1] != next {
		t.Errorf("chain has %d tokens", len(got))
	}
	if s.TokenCalls() != 2 {
		t.Errorf("TokenCalls = %d, want 2", s.TokenCalls())
	}
}

func TestTokenEndpointRefusesWhatAnthropicRefuses(t *testing.T) {
	tests := []struct {
		name   string
		body   func(rt string) map[string]any
		mod    func(*http.Request)
		status int
		code   string
	}{
		{"Go's default agent", refreshBody, func(r *http.Request) { r.Header.Del("User-Agent") }, 429, ""},
		{"a curl agent", refreshBody, func(r *http.Request) { r.Header.Set("User-Agent", "curl/8.0") }, 429, ""},
		{"a claude-cli agent", refreshBody, func(r *http.Request) { r.Header.Set("User-Agent", "claude-cli/2.0") }, 404, ""},
		{"a form body", refreshBody, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 400, "invalid_request"},
		{"another client id", func(rt string) map[string]any { b := refreshBody(rt); b["client_id"] = "x"; return b }, nil, 400, "invalid_client"},
		{"an unknown grant", func(rt string) map[string]any { b := refreshBody(rt); b["grant_type"] = "password"; return b }, nil, 400, "unsupported_grant_type"},
		{"an unknown refresh token", func(string) map[string]any { return refreshBody("sk-ant-ort01-nope") }, nil, 400, "invalid_grant"},
	}
	s := New()
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.IssueTokens("")
			code, out := postToken(t, s, tt.body(p.RefreshToken), tt.mod)
			if code != tt.status || (tt.code != "" && out["error"] != tt.code) {
				t.Errorf("got %d %v, want %d %s", code, out, tt.status, tt.code)
			}
			if tt.code != "invalid_grant" && !s.RefreshTokenLive(p.RefreshToken) {
				t.Errorf("a refused request spent the refresh token")
			}
		})
	}
}

func TestInjectedFailuresAndDelays(t *testing.T) {
	s := New()
	defer s.Close()
	p := s.IssueTokens("")
	s.FailTokenCalls(1, TokenFailure{Status: 503})
	s.FailTokenCalls(1, TokenFailure{Status: 400, Error: "invalid_grant"})
	if code, out := postToken(t, s, refreshBody(p.RefreshToken), nil); code != 503 || out["type"] != "error" {
		t.Errorf("first: %d %v, want an api_error 503", code, out)
	}
	if code, out := postToken(t, s, refreshBody(p.RefreshToken), nil); code != 400 || out["error"] != "invalid_grant" {
		t.Errorf("second: %d %v, want 400 invalid_grant", code, out)
	}
	s.SetTokenDelay(150 * time.Millisecond)
	start := time.Now()
	if code, _ := postToken(t, s, refreshBody(p.RefreshToken), nil); code != 200 {
		t.Errorf("third: %d; the injected failures did not spend the token", code)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v, want the injected delay", d)
	}
	if s.TokenCalls() != 3 {
		t.Errorf("TokenCalls = %d", s.TokenCalls())
	}
}
