package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// testTokens is a stand-in TokenProvider until credentials.Manager lands.
type testTokens struct {
	mu       sync.Mutex
	infos    []credentials.AccountInfo
	tokens   map[string]string
	gen      map[string]int
	refreshN map[string]int
}

func (t *testTokens) Accounts() []credentials.AccountInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]credentials.AccountInfo(nil), t.infos...)
}

func (t *testTokens) AccessToken(ctx context.Context, id string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, ok := t.tokens[id]
	if !ok {
		return "", credentials.ErrUnknownAccount
	}
	return tok, nil
}

func (t *testTokens) RefreshRejected(ctx context.Context, id, rejected string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tokens[id] != rejected {
		return t.tokens[id], nil
	}
	t.gen[id]++
	t.refreshN[id]++
	t.tokens[id] = fmt.Sprintf("sk-ant-oat01-%s-gen%d-secretsecret", id, t.gen[id])
	return t.tokens[id], nil
}

func (t *testTokens) Subscribe() (<-chan credentials.Event, func()) {
	return make(chan credentials.Event), func() {}
}

// env is one test's world: the fake upstream, the accounts, the proxy.
type env struct {
	t      *testing.T
	fake   *fakeanthropic.Server
	tokens *testTokens
	proxy  *Proxy
	url    string
	logs   *syncBuffer
	ids    []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv starts a fake and a proxy with n accounts named acct-1…acct-n.
func newEnv(t *testing.T, n int, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, fake: fakeanthropic.New(), logs: &syncBuffer{}}
	t.Cleanup(e.fake.Close)
	e.tokens = &testTokens{tokens: map[string]string{}, gen: map[string]int{}, refreshN: map[string]int{}}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("acct-%d", i)
		e.ids = append(e.ids, id)
		e.tokens.infos = append(e.tokens.infos, credentials.AccountInfo{ID: id, Enabled: true, State: credentials.StateOK,
			ExpiresAt: time.Now().Add(8 * time.Hour)})
		e.tokens.tokens[id] = fmt.Sprintf("sk-ant-oat01-%s-gen0-secretsecret", id)
	}
	cfg := Config{
		Upstream: e.fake.URL,
		Logger:   slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
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
	return e
}

// token is the account's current access token.
func (e *env) token(id string) string {
	e.tokens.mu.Lock()
	defer e.tokens.mu.Unlock()
	return e.tokens.tokens[id]
}

// allTokens lists every token any account has had, for leak checks.
func (e *env) allTokens() []string {
	var out []string
	for _, r := range e.fake.APIRequests() {
		if r.Token != "" {
			out = append(out, r.Token)
		}
	}
	for _, id := range e.ids {
		out = append(out, e.token(id))
	}
	return out
}

// accountOf maps a bearer token the fake saw back to its account.
func (e *env) accountOf(token string) string {
	for _, id := range e.ids {
		if strings.HasPrefix(token, "sk-ant-oat01-"+id+"-") {
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

// refreshes counts the refreshes of the account's token.
func (e *env) refreshes(id string) int {
	e.tokens.mu.Lock()
	defer e.tokens.mu.Unlock()
	return e.tokens.refreshN[id]
}
