package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testutil"
	"github.com/cc-router/cc-router/proxy"
)

// runningServe is serve running in this process on its own context.
type runningServe struct {
	addr   string
	logs   *testutil.SyncBuffer
	cancel context.CancelFunc
	exit   chan int
}

// startServe runs serve with cfg until the test stops it (or ends) and
// returns once it listens.
func startServe(t *testing.T, cfg config.Config) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningServe{logs: &testutil.SyncBuffer{}, cancel: cancel, exit: make(chan int, 1)}
	addrCh := make(chan string, 1)
	go func() { s.exit <- serve(ctx, cfg, s.logs, func(a string) { addrCh <- a }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-s.exit:
			s.exit <- code
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	select {
	case s.addr = <-addrCh:
	case code := <-s.exit:
		t.Fatalf("serve exited %d:\n%s", code, s.logs.String())
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not start")
	}
	return s
}

// stop cancels serve's context, as SIGINT and SIGTERM do, and returns its
// exit code.
func (s *runningServe) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.exit:
		s.exit <- code
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

// serveHome makes a cc-router home with n accounts the fake issued and
// points the environment at it and at the fake's token endpoint.
func serveHome(t *testing.T, fake *fakeanthropic.Server, n int) []string {
	t.Helper()
	home := configEnv(t)
	t.Setenv("ACCOUNTS_PATH", "")
	t.Setenv("CC_ROUTER_TOKEN_URL", fake.TokenURL())
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
	s := startServe(t, cfg)
	addr, logs := s.addr, s.logs

	used := map[string]bool{}
	for i := range 6 {
		resp, err := http.DefaultClient.Do(streamRequest(t, addr, fmt.Sprintf("serve-session-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		events := sseEventNames(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(events) < 4 || events[0] != "message_start" || events[len(events)-1] != "message_stop" {
			t.Fatalf("session %d: status %d events %v", i, resp.StatusCode, events)
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

	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d", code)
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
	var stdout, stderr testutil.SyncBuffer
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
	s := startServe(t, cfg)
	_, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		t.Fatal(err)
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
	s.stop(t)
	if strings.Contains(s.logs.String(), "team-proxy-secret") {
		t.Error("the proxy secret is in the log")
	}
}

// sseEventNames reads a Server-Sent Events body to its end and returns the
// event names in order.
func sseEventNames(body io.Reader) []string {
	var events []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, name)
		}
	}
	return events
}

// streamRequest is a streaming Messages request as Claude Code sends it.
func streamRequest(t *testing.T, addr, session string) *http.Request {
	t.Helper()
	body := `{"model":"claude-sonnet-4-5","max_tokens":32,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	req, err := http.NewRequest("POST", "http://"+addr+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Claude-Code-Session-Id", session)
	req.Header.Set("anthropic-version", "2023-06-01")
	return req
}

func TestServeShutdownLetsAStreamInFlightFinish(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	serveHome(t, fake, 1)
	// About 2.4 s of stream: long enough to stop serve in its middle.
	fake.SetReply(fakeanthropic.Reply{Chunks: 20, EventDelay: 100 * time.Millisecond})
	cfg := config.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Upstream = fake.URL
	s := startServe(t, cfg)

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(streamRequest(t, s.addr, "shutdown-session"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	body := bufio.NewReader(resp.Body)
	first, err := body.ReadString('\n')
	if err != nil || first != "event: message_start\n" {
		t.Fatalf("first line %q, %v", first, err)
	}

	s.cancel() // what SIGINT/SIGTERM do, with the stream in its first events
	stopped := time.Now()
	deadline := stopped.Add(time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err != nil {
			break // the listener is closed: no new requests
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("serve still accepts connections a second after it was told to stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case code := <-s.exit:
		t.Fatalf("serve exited %d while a stream was in flight", code)
	default:
	}

	events := sseEventNames(body)
	if len(events) == 0 || events[len(events)-1] != "message_stop" {
		t.Fatalf("the stream was cut at shutdown: events after message_start %v", events)
	}
	if n := strings.Count(strings.Join(events, " "), "content_block_delta"); n != 20 {
		t.Errorf("%d text deltas arrived, want all 20", n)
	}
	if took := time.Since(stopped); took < 500*time.Millisecond {
		t.Errorf("the stream ended %v after the stop: it was not in flight (make the reply slower)", took)
	}
	select {
	case code := <-s.exit:
		s.exit <- code
		if code != 0 {
			t.Errorf("serve exited %d, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after the stream finished")
	}
	if !strings.Contains(s.logs.String(), "msg=\"shutting down\"") || strings.Contains(s.logs.String(), "cut at shutdown") {
		t.Errorf("the log does not show a clean shutdown:\n%s", s.logs.String())
	}
}

// TestServeRunsWithEverySettingOfConfigJSON writes each router setting into
// config.json, overrides some by environment and flags, and checks that
// the running serve behaves by the winning value of each: the settings
// reach the proxy and the credentials manager, not only the Config.
func TestServeRunsWithEverySettingOfConfigJSON(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	serveHome(t, fake, 2) // tokens that expire in 8h
	oldRefresh := fake.IssuedRefreshTokens()
	home := os.Getenv("CC_ROUTER_HOME")
	fileListen, envListen := testutil.FreeAddr(t), testutil.FreeAddr(t)
	file := fmt.Sprintf(`{
  "listen": %q,
  "upstream": "http://127.0.0.1:9",
  "proxySecret": "file-secret",
  "strategy": "round-robin",
  "refreshBuffer": "9h",
  "cooldown429": "7m",
  "cooldown529": "3m",
  "bodyLimit": 4096
}`, fileListen)
	if err := os.WriteFile(filepath.Join(home, "config.json"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CC_ROUTER_LISTEN", envListen)
	t.Setenv("CC_ROUTER_UPSTREAM", fake.URL)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("flag-secret\n"), 0o600)

	fs := newFlagSet(commands["serve"], io.Discard)
	flags := config.RegisterFlags(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:0", "--secret-file", secretFile}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(flags)
	if err != nil {
		t.Fatal(err)
	}
	s := startServe(t, cfg)

	if s.addr == fileListen || s.addr == envListen {
		t.Errorf("serve listens on %s, not where --listen said (127.0.0.1:0)", s.addr)
	}
	send := func(key, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	small := `{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`
	if code := send("flag-secret", small); code != 200 {
		t.Errorf("with the --secret-file secret, on the environment's upstream: %d, want 200", code)
	}
	if code := send("file-secret", small); code != 401 {
		t.Errorf("with the file's secret, which --secret-file replaced: %d, want 401", code)
	}
	big := `{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`
	if code := send("flag-secret", big); code != 413 {
		t.Errorf("a 5000-byte body over bodyLimit 4096: %d, want 413", code)
	}

	// refreshBuffer 9h: tokens with 8h left are refreshed at once (the
	// default, 10m, would leave them alone for hours).
	deadline := time.Now().Add(5 * time.Second)
	for _, rt := range oldRefresh {
		for fake.RefreshTokenLive(rt) {
			if time.Now().After(deadline) {
				t.Fatal("tokens inside refreshBuffer (9h) were not refreshed")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// cooldown429 and cooldown529 bench an account for 7m and 3m after a
	// 429 or 529 that names no reset time.
	fake.InjectFault(fakeanthropic.Fault{Status: 429, Times: 1})
	send("flag-secret", small)
	fake.InjectFault(fakeanthropic.Fault{Status: 529, Times: 1})
	send("flag-secret", small)
	h := health(t, s.addr, "flag-secret")
	if h.Strategy != "round-robin" || h.Upstream != fake.URL {
		t.Errorf("health says strategy %q upstream %q, want round-robin (file) and %s (environment)", h.Strategy, h.Upstream, fake.URL)
	}
	var benched []time.Duration
	for _, a := range h.Accounts {
		if !a.CoolingUntil.IsZero() {
			benched = append(benched, time.Until(a.CoolingUntil).Round(time.Minute))
		}
	}
	slices.Sort(benched)
	if !slices.Equal(benched, []time.Duration{3 * time.Minute, 7 * time.Minute}) {
		t.Errorf("accounts benched for %v after a 429 and a 529, want [3m 7m]", benched)
	}
}

// health fetches the router's health document.
func health(t *testing.T, addr, secret string) proxy.Health {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+proxy.HealthPath, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h proxy.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("health: %s: %v", resp.Status, err)
	}
	return h
}

func TestServeAppliesTheConfiguredHeaderTimeout(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	serveHome(t, fake, 1)
	// The fake's stream headers go out with its first event.
	fake.SetReply(fakeanthropic.Reply{FirstEventDelay: 3 * time.Second})
	cfg := config.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Upstream = fake.URL
	cfg.HeaderTimeout = config.Duration(200 * time.Millisecond)
	s := startServe(t, cfg)
	start := time.Now()
	resp, err := http.DefaultClient.Do(streamRequest(t, s.addr, "serve-timeout"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || time.Since(start) > 2*time.Second {
		t.Errorf("%d after %v: %s; want a 502 soon after the 200ms header timeout", resp.StatusCode, time.Since(start), b)
	}
}
