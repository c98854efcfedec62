package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("CC_ROUTER_HOME", t.TempDir())
	var out, errOut bytes.Buffer
	code := run([]string{"status", "--listen", addr}, &out, &errOut)
	if code != statusNotRunning {
		t.Fatalf("exit %d, want %d; stderr: %s", code, statusNotRunning, errOut.String())
	}
	if !strings.Contains(errOut.String(), "no router answers at http://"+addr) {
		t.Fatalf("stderr does not say where it looked: %s", errOut.String())
	}
}

func TestDialableAddrTurnsTheUnspecifiedAddressIntoLoopback(t *testing.T) {
	cases := map[string]string{"0.0.0.0:3456": "127.0.0.1:3456", "[::]:1": "127.0.0.1:1", "127.0.0.1:9": "127.0.0.1:9", "10.0.0.5:3456": "10.0.0.5:3456"}
	for in, want := range cases {
		if got := dialableAddr(in); got != want {
			t.Errorf("dialableAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
