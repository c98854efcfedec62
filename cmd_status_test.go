package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testutil"
	"github.com/cc-router/cc-router/proxy"
)

func TestStatusTableShowsEveryAccountWithoutTokens(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	h := proxy.Health{
		Status: "ok", Upstream: "https://api.anthropic.com", UsableAccounts: 1, UptimeSeconds: 3700, TotalRequests: 42,
		Accounts: []proxy.AccountHealth{
			{ID: "work-max", Email: "me@example.com", State: "ok", Usable: true, ExpiresInSeconds: 6*3600 + 48*60,
				Utilization5h: 0.23, Utilization7d: 0.41, Requests: 40, Errors: 1,
				Tokens: proxy.Usage{InputTokens: 1000, OutputTokens: 500, CacheReadInputTokens: 120000}},
			{ID: "home-pro", State: "cooling_down", CoolingUntil: now.Add(12*time.Minute + 5*time.Second), ExpiresInSeconds: -5, Requests: 2, Errors: 2},
		},
	}
	var b bytes.Buffer
	printStatus(&b, "http://127.0.0.1:3456", h, now)
	out := b.String()
	for _, want := range []string{
		"Router ok at http://127.0.0.1:3456", "1/2 accounts usable", "42 requests",
		"work-max (me@example.com)", "6h 48m", "23%", "41%", "121.5k",
		"cooling_down 12m", "expired",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
}

func TestStatusSaysNoAccountsYet(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, "http://x", proxy.Health{Status: "degraded"}, time.Now())
	if !strings.Contains(b.String(), "cc-router login") {
		t.Fatalf("no hint to add an account:\n%s", b.String())
	}
}

func TestStatusExitsNonZeroWhenNoRouterAnswers(t *testing.T) {
	addr := testutil.FreeAddr(t)
	configEnv(t)
	var out, errOut bytes.Buffer
	code := run([]string{"status", "--listen", addr}, &out, &errOut)
	if code != statusNotRunning {
		t.Fatalf("exit %d, want %d; stderr: %s", code, statusNotRunning, errOut.String())
	}
	if !strings.Contains(errOut.String(), "no router answers at http://"+addr) {
		t.Fatalf("stderr does not say where it looked: %s", errOut.String())
	}
}

// TestStatusAgainstARunningServe asks a real serve (on the fake upstream)
// for its status, as a user would after routing a request: the table, the
// JSON, and the exit code while routing works and once every account is
// rate-limited.
func TestStatusAgainstARunningServe(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	secrets := serveHome(t, fake, 2)
	cfg := config.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.Upstream = fake.URL
	s := startServe(t, cfg)

	resp, err := http.DefaultClient.Do(streamRequest(t, s.addr, "status-session"))
	if err != nil {
		t.Fatal(err)
	}
	sseEventNames(resp.Body)
	resp.Body.Close()

	status := func(args ...string) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(append([]string{"status", "--listen", s.addr}, args...), &out, &errOut)
		for _, secret := range secrets {
			if strings.Contains(out.String()+errOut.String(), secret) {
				t.Errorf("status printed a token (prefix %.14s)", secret)
			}
		}
		if errOut.Len() > 0 {
			t.Errorf("status wrote to stderr: %s", errOut.String())
		}
		return code, out.String()
	}

	code, table := status()
	if code != statusOK {
		t.Errorf("exit %d while routing works, want %d:\n%s", code, statusOK, table)
	}
	if want := "Router ok at http://" + s.addr; !strings.Contains(table, want) || !strings.Contains(table, "2/2 accounts usable") || !strings.Contains(table, "· 1 request\n") {
		t.Errorf("the first line does not say %q, 2/2 usable and 1 request:\n%s", want, table)
	}
	rows := statusRows(table)
	if len(rows) != 2 || rows["max-1"].state != "ok" || rows["max-2"].state != "ok" || rows["max-1"].requests+rows["max-2"].requests != 1 {
		t.Errorf("want rows for max-1 and max-2, both ok, one request between them; got %+v:\n%s", rows, table)
	}

	code, doc := status("--json")
	var h proxy.Health
	if err := json.Unmarshal([]byte(doc), &h); err != nil {
		t.Fatalf("status --json is not the health document: %v\n%s", err, doc)
	}
	if code != statusOK || h.Status != "ok" || h.TotalRequests != 1 || len(h.Accounts) != 2 {
		t.Errorf("status --json: exit %d, %+v", code, h)
	}

	// Every account is now rejected for an hour: the request fails over
	// from one to the other and both end up rate-limited.
	reset := time.Now().Add(time.Hour)
	fake.InjectFault(fakeanthropic.Fault{Status: 429, ShouldRetry: true, RateLimit: &fakeanthropic.RateLimit{
		Status: "rejected", Status5h: "rejected", Claim: "five_hour", Util5h: 1, Reset: reset, Reset5h: reset}})
	resp, err = http.DefaultClient.Do(streamRequest(t, s.addr, "status-session-2"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("with every account limited the request got %d, want 429", resp.StatusCode)
	}
	code, table = status()
	if code != statusDegraded {
		t.Errorf("exit %d with every account limited, want %d:\n%s", code, statusDegraded, table)
	}
	rows = statusRows(table)
	if !strings.Contains(table, "Router degraded") || !strings.Contains(table, "0/2 accounts usable") ||
		len(rows) != 2 || rows["max-1"].state == "ok" || rows["max-2"].state == "ok" {
		t.Errorf("the table does not show both accounts limited:\n%s", table)
	}
	if code, _ := status("--json"); code != statusDegraded {
		t.Errorf("status --json exit %d when degraded, want %d", code, statusDegraded)
	}
}

type statusRow struct {
	state    string
	requests int
}

// statusRows parses the account rows of status's table, by account id.
func statusRows(table string) map[string]statusRow {
	rows := map[string]statusRow{}
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "max-") {
			continue
		}
		n, _ := strconv.Atoi(f[len(f)-3]) // REQUESTS, ERRORS, TOKENS end the row
		rows[f[0]] = statusRow{state: f[1], requests: n}
	}
	return rows
}
