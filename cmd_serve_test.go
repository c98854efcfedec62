package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/proxy"
)

// lockedBuffer is a bytes.Buffer safe for the server's and the test's
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveHome makes a cc-router home with n accounts the fake issued and
// points the environment at it and at the fake's token endpoint.
func serveHome(t *testing.T, fake *fakeanthropic.Server, n int) []string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("CC_ROUTER_HOME", home)
	t.Setenv("ACCOUNTS_PATH", "")
	t.Setenv("CC_ROUTER_TOKEN_URL", fake.TokenURL())
	for _, k := range []string{"PORT", "CC_ROUTER_LISTEN", "LITELLM_URL", "CC_ROUTER_UPSTREAM", "CC_ROUTER_PROXY_SECRET", "CC_ROUTER_STRATEGY", "CC_ROUTER_CONFIG"} {
		t.Setenv(k, "")
	}
	var recs []map[string]any
	var secrets []string
	for i := range n {
		p := fake.IssueTokens(fmt.Sprintf("serve%d@example.com", i))
		secrets = append(secrets, p.AccessToken, p.RefreshToken)
		recs = append(recs, map[string]any{"id": fmt.Sprintf("max-%d", i+1), "accessToken": p.AccessToken,
			"refreshToken": p.RefreshToken, "expiresAt": time.Now().Add(8 * time.Hour).UnixMilli(),
			"scopes": []string{"user:inference", "user:profile"}})
	}
	data, _ := json.Marshal(recs)
	if err := os.WriteFile(filepath.Join(home, "accounts.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return secrets
}

func TestServeRoutesStreamingSessionsOverEveryAccountAndStopsCleanly(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	secrets := serveHome(t, fake, 3)
	fake.SetReply(fakeanthropic.Reply{EventDelay: 5 * time.Millisecond})

	cfg := config.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Upstream = fake.URL
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	addrCh := make(chan string, 1)
	exit := make(chan int, 1)
	go func() { exit <- serve(ctx, cfg, &logs, func(a string) { addrCh <- a }) }()
	var addr string
	select {
	case addr = <-addrCh:
	case code := <-exit:
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not start")
	}

	used := map[string]bool{}
	for s := range 6 {
		body := `{"model":"claude-sonnet-4-5","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/messages?beta=true", strings.NewReader(body))
		req.Header.Set("X-Claude-Code-Session-Id", fmt.Sprintf("serve-session-%d", s))
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var events []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events = append(events, name)
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || len(events) < 4 || events[0] != "message_start" || events[len(events)-1] != "message_stop" {
			t.Fatalf("session %d: status %d events %v", s, resp.StatusCode, events)
		}
		reqs := fake.APIRequests()
		used[reqs[len(reqs)-1].Token] = true
	}
	if len(used) != 3 {
		t.Errorf("6 sessions used %d accounts, want 3", len(used))
	}
	resp, err := http.Get("http://" + addr + proxy.HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	var h proxy.Health
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Status != "ok" || h.TotalRequests != 6 || len(h.Accounts) != 3 {
		t.Errorf("health: %+v", h)
	}

	cancel() // what SIGINT/SIGTERM do
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("serve exited %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get("http://" + addr + proxy.HealthPath); err == nil {
		t.Error("still listening after shutdown")
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("serve's log holds a token (prefix %.14s)", s)
		}
	}
	if !strings.Contains(logs.String(), "msg=serving") || strings.Count(logs.String(), "msg=request") != 6 {
		t.Errorf("log lacks the serving line or the 6 request lines:\n%s", logs.String())
	}
}

func TestServeRefusesANonLoopbackAddressWithoutASecret(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	serveHome(t, fake, 1)
	var stdout, stderr lockedBuffer
	code := run([]string{"serve", "--listen", "0.0.0.0:0", "--upstream", fake.URL}, &stdout, &stderr)
	if code == 0 {
		t.Fatal("serve started on 0.0.0.0 without a secret")
	}
	if !strings.Contains(stderr.String(), "secret") {
		t.Errorf("the refusal does not say why: %s", stderr.String())
	}
}

func TestServeWithASecretFileListensBeyondLoopbackAndChecksTheSecret(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	serveHome(t, fake, 1)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("team-proxy-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := newFlagSet(commands["serve"], io.Discard)
	flags := config.RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", "0.0.0.0:0", "--secret-file", secretFile, "--upstream", fake.URL}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(flags)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrCh := make(chan string, 1)
	exit := make(chan int, 1)
	go func() { exit <- serve(ctx, cfg, &logs, func(a string) { addrCh <- a }) }()
	var addr string
	select {
	case addr = <-addrCh:
	case code := <-exit:
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	_, port, _ := strings.Cut(addr, "]:")
	if port == "" {
		_, port, _ = strings.Cut(addr, ":")
	}
	url := "http://127.0.0.1:" + port + "/v1/messages"
	body := `{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`
	for _, c := range []struct {
		key  string
		want int
	}{{"", 401}, {"wrong", 401}, {"team-proxy-secret", 200}} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		if c.key != "" {
			req.Header.Set("x-api-key", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("secret %q: %d, want %d", c.key, resp.StatusCode, c.want)
		}
	}
	cancel()
	<-exit
	if strings.Contains(logs.String(), "team-proxy-secret") {
		t.Error("the proxy secret is in the log")
	}
}
