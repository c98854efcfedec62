package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testrouter"
)

var soak = flag.Bool("soak", false, "run the long variants of the fault suite (hundreds of kills, a minute of load)")

// routerBinary is the cc-router built for this test run (with the race
// detector when the tests run with it); plainRouterBinary is built without
// it, for the soak's memory figures, which the detector's own memory
// would blur.
var routerBinary, plainRouterBinary string

func TestMain(m *testing.M) {
	flag.Parse()
	if runtime.GOOS != "linux" {
		// The suite reads /proc and relies on SO_LINGER resets; it is
		// Linux only. Still run (and so skip) the tests.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "cc-router-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	routerBinary, err = testrouter.Build(dir, raceEnabled)
	plainRouterBinary = routerBinary
	if err == nil && *soak && raceEnabled {
		plain := filepath.Join(dir, "plain")
		if err = os.Mkdir(plain, 0o700); err == nil {
			plainRouterBinary, err = testrouter.Build(plain, false)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needLinux(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the fault suite reads /proc and is Linux only")
	}
}

// env is a fake Anthropic plus a router home with accounts.
type env struct {
	t        *testing.T
	fake     *fakeanthropic.Server
	home     string
	accounts []testrouter.Account
	ended    map[*testrouter.Router]bool // ended on purpose (goroutine dumps)
	binary   string                      // the router to run; "" is routerBinary
}

// newEnv starts a fake and writes n accounts it issued into a new home.
func newEnv(t *testing.T, n int) *env {
	t.Helper()
	needLinux(t)
	fake := fakeanthropic.New()
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, home: t.TempDir()}
	for i := range n {
		p := fake.IssueTokens(fmt.Sprintf("e2e%d@example.com", i+1))
		e.accounts = append(e.accounts, testrouter.Account{
			ID: fmt.Sprintf("acct-%d", i+1), AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
			ExpiresAt: time.Now().Add(time.Duration(p.ExpiresIn) * time.Second),
		})
	}
	if err := testrouter.WriteAccounts(e.accountsPath(), e.accounts); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) accountsPath() string { return filepath.Join(e.home, "accounts.json") }

// start runs a router against upstream (the fake when "") and stops it at
// the end of the test, failing the test if it did not exit cleanly.
func (e *env) start(upstream string, args ...string) *testrouter.Router {
	e.t.Helper()
	if upstream == "" {
		upstream = e.fake.URL
	}
	bin := e.binary
	if bin == "" {
		bin = routerBinary
	}
	r, err := testrouter.Start(context.Background(), testrouter.Options{
		Binary: bin, Home: e.home, Upstream: upstream, TokenURL: e.fake.TokenURL(), Args: args,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if exited, err := r.Exited(); exited && !e.ended[r] {
			e.t.Errorf("the router exited during the test (%v); output:\n%s", err, r.Output())
			return
		}
		if e.ended[r] {
			return
		}
		if err := r.Stop(10 * time.Second); err != nil {
			e.t.Errorf("stopping the router: %v", err)
		}
		if out := r.Output(); strings.Contains(out, "DATA RACE") || strings.Contains(out, "panic:") {
			e.t.Errorf("the router reported a data race or panic:\n%s", out)
		}
	})
	return r
}

// requireNoGoroutineLeak ends r with a stack dump once it should be idle
// again and fails the test if a goroutine is still serving a request or
// copying a body, or if r holds clearly more goroutines than a fresh router
// (idle upstream connections account for two each).
func (e *env) requireNoGoroutineLeak(r *testrouter.Router, upstream string) {
	e.t.Helper()
	if e.ended == nil {
		e.ended = map[*testrouter.Router]bool{}
	}
	fresh := e.start(upstream)
	e.ended[fresh], e.ended[r] = true, true
	base, err := fresh.Goroutines(10 * time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	// Close this process's idle connections to the router, and let the
	// ones the test just closed wind down (the server lingers 500 ms on a
	// connection it refused a body on).
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	time.Sleep(800 * time.Millisecond)
	stacks, err := r.Goroutines(10 * time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	var busy []string
	idleConns := 0
	for _, st := range stacks {
		switch {
		case strings.Contains(st, "net/http.serverHandler.ServeHTTP"), strings.Contains(st, "httputil."),
			strings.Contains(st, "proxy.(*failover)"):
			busy = append(busy, st)
		case strings.Contains(st, "net/http.(*persistConn)"):
			idleConns++
		}
	}
	e.t.Logf("router goroutines after the faults: %d (%d of idle upstream connections), a fresh router: %d", len(stacks), idleConns, len(base))
	if len(busy) > 0 {
		e.t.Errorf("%d goroutines of the router are still busy with requests whose clients are gone:\n%s", len(busy), strings.Join(busy, "\n\n"))
	}
	if len(stacks)-idleConns > len(base)+2 {
		e.t.Errorf("the router holds %d goroutines besides idle connections, a fresh one %d:\n%s", len(stacks)-idleConns, len(base), strings.Join(stacks, "\n\n"))
	}
}

// health reads the router's /cc-router/health document.
type health struct {
	Status   string `json:"status"`
	Accounts []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Usable bool   `json:"usable"`
	} `json:"accounts"`
}

func getHealth(t *testing.T, r *testrouter.Router) health {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(r.URL + "/cc-router/health")
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("health: %v", err)
	}
	return h
}

// requireAllUsable fails the test when some account is benched.
func requireAllUsable(t *testing.T, r *testrouter.Router, why string) {
	t.Helper()
	h := getHealth(t, r)
	for _, a := range h.Accounts {
		if !a.Usable || a.State != "ok" {
			t.Errorf("%s: account %s is %s (usable %v), want ok", why, a.ID, a.State, a.Usable)
		}
	}
}

// messagesBody is a small Messages request.
func messagesBody(stream bool) string {
	return fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, stream)
}

// post sends a Messages request through the router.
func post(ctx context.Context, c *http.Client, url, body string, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/messages?beta=true", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.Do(req)
}

// apiError is Anthropic's error document.
type apiError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// requireAPIError checks that body is an error in Anthropic's shape.
func requireAPIError(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
		t.Errorf("%s: status %d with body %.300q, want an error in Anthropic's shape", what, status, body)
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	return b
}
