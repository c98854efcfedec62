package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testutil"
)

// env is one test's world: the fake upstream, the accounts, the proxy.
type env struct {
	t      testing.TB
	fake   *fakeanthropic.Server
	tokens *credentials.Manager
	path   string // accounts.json
	proxy  *Proxy
	url    string
	logs   *testutil.SyncBuffer
	ids    []string

	mu    sync.Mutex
	known map[string]string // every access token seen → account id

	finalTokens []string // every token of the test, gathered at cleanup
}

// account is one record of the accounts.json a test writes.
type seedRecord struct {
	ID                  string   `json:"id"`
	AccessToken         string   `json:"accessToken"`
	RefreshToken        string   `json:"refreshToken"`
	ExpiresAt           int64    `json:"expiresAt"`
	Scopes              []string `json:"scopes"`
	SessionLimitPercent float64  `json:"sessionLimitPercent,omitempty"`
	WeeklyLimitPercent  float64  `json:"weeklyLimitPercent,omitempty"`
}

// newEnv starts a fake, writes accounts.json with n accounts named
// acct-1…acct-n whose tokens the fake issued, and runs the real
// credentials manager and a proxy over them.
func newEnv(t testing.TB, n int, mod func(*Config)) *env {
	return newEnvWith(t, n, nil, mod)
}

// newEnvWith is newEnv with a hook to adjust the records before they are
// written.
func newEnvWith(t testing.TB, n int, seed func([]seedRecord), mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, fake: fakeanthropic.New(), logs: &testutil.SyncBuffer{}, known: map[string]string{}}
	t.Cleanup(e.fake.Close)
	recordEnv(e)
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	recs := make([]seedRecord, n)
	for i := range recs {
		id := fmt.Sprintf("acct-%d", i+1)
		pair := e.fake.IssueTokens(id + "@example.com")
		e.ids = append(e.ids, id)
		e.known[pair.AccessToken] = id
		recs[i] = seedRecord{ID: id, AccessToken: pair.AccessToken, RefreshToken: pair.RefreshToken,
			ExpiresAt: time.Now().Add(8 * time.Hour).UnixMilli(), Scopes: []string{"user:inference", "user:profile"}}
	}
	if seed != nil {
		seed(recs)
	}
	e.path = filepath.Join(t.TempDir(), "accounts.json")
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mgr, err := credentials.NewManager(credentials.Config{Path: e.path, TokenURL: e.fake.TokenURL(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = mgr
	ctx, stopRun := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); mgr.Run(ctx) }()
	t.Cleanup(func() { stopRun(); <-runDone })

	cfg := Config{Upstream: e.fake.URL, Logger: logger}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	e.proxy, e.url = p, "http://"+p.Addr()
	// Runs before the fake closes (cleanups run last-in first-out).
	t.Cleanup(func() { e.finalTokens = e.allTokens() })
	return e
}

// token is the account's current access token, as the manager hands it
// out.
func (e *env) token(id string) string {
	tok, err := e.currentToken(id)
	if err != nil {
		e.t.Errorf("access token of %s: %v", id, err)
	}
	return tok
}

// currentToken is token without failing the test (an account that needs
// a login has none).
func (e *env) currentToken(id string) (string, error) {
	tok, err := e.tokens.AccessToken(context.Background(), id)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	e.known[tok] = id
	e.mu.Unlock()
	return tok, nil
}

// allTokens lists every access and refresh token the accounts have had,
// for leak checks.
func (e *env) allTokens() []string {
	var out []string
	for _, id := range e.ids {
		_, _ = e.currentToken(id)
	}
	e.mu.Lock()
	for tok := range e.known {
		out = append(out, tok)
	}
	e.mu.Unlock()
	for _, r := range e.fake.APIRequests() {
		if r.Token != "" {
			out = append(out, r.Token)
		}
	}
	return append(out, e.fake.IssuedRefreshTokens()...)
}

// accountOf maps a bearer token the fake saw back to its account. It must
// not call the fake: the fake calls it under its lock (Fault.Match).
func (e *env) accountOf(token string) string {
	e.mu.Lock()
	id, ok := e.known[token]
	e.mu.Unlock()
	if ok {
		return id
	}
	for _, id := range e.ids {
		if tok, err := e.currentToken(id); err == nil && tok == token {
			return id
		}
	}
	return ""
}

const testBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`

// post sends a Messages request through the proxy.
func (e *env) post(session string, stream bool, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+"/v1/messages?beta=true", strings.NewReader(fmt.Sprintf(testBody, stream)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("Authorization", "Bearer client-placeholder-token")
	if session != "" {
		req.Header.Set("X-Claude-Code-Session-Id", session)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// do sends a request and reads the whole answer.
func (e *env) do(session string, stream bool) (int, http.Header, string) {
	e.t.Helper()
	resp := e.post(session, stream, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// lastAccount is the account of the last request the fake saw.
func (e *env) lastAccount() string {
	reqs := e.fake.APIRequests()
	if len(reqs) == 0 {
		return ""
	}
	return e.accountOf(reqs[len(reqs)-1].Token)
}

// rejectAccount makes the fake refuse every token of the account, the
// current one and any it is refreshed to, with fault f.
func (e *env) rejectAccount(id string, f fakeanthropic.Fault) {
	f.Token = ""
	f.Times = 0
	f.Match = func(token string) bool { return e.accountOf(token) == id }
	e.fake.InjectFault(f)
}

// refreshes counts the refreshes the token endpoint served; the tests
// that use it refresh one account only.
func (e *env) refreshes(id string) int {
	return e.fake.TokenCalls()
}

// tokensOf returns the account's token counts once they equal want, or
// what they are after a short wait: usage is added when the proxy closes
// the upstream body, which can be just after the client read its end.
func (e *env) tokensOf(id string, want Usage) Usage {
	var got Usage
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got = e.accountHealth(id).Tokens; got == want {
			break
		}
	}
	return got
}
