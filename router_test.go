package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/egress"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// TestTheRouterOnlyReachesItsConfiguredHosts proves the egress policy is
// wired in, not only written: the router's HTTP client reaches the token
// host, and any other host fails with an error naming it.
func TestTheRouterOnlyReachesItsConfiguredHosts(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	t.Setenv("CC_ROUTER_HOME", t.TempDir())
	t.Setenv("ACCOUNTS_PATH", "")
	t.Setenv("CC_ROUTER_TOKEN_URL", fake.TokenURL())
	t.Setenv("CC_ROUTER_API_URL", fake.URL)
	cfg := config.Defaults()
	cfg.Upstream = fake.URL
	r, err := newRouter(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}

	resp, err := r.client.Get(fake.URL + "/v1/models")
	if err != nil {
		t.Fatalf("the configured host was refused: %v", err)
	}
	resp.Body.Close()

	for _, target := range []string{"http://example.com/", "https://api.anthropic.com/v1/messages", strings.Replace(fake.URL, "127.0.0.1", "localhost", 1)} {
		_, err := r.client.Get(target)
		var blocked *egress.BlockedError
		if !errors.As(err, &blocked) {
			t.Errorf("GET %s was not blocked by the egress policy: %v", target, err)
			continue
		}
		if !strings.Contains(err.Error(), blocked.Host) {
			t.Errorf("the error does not name the host: %v", err)
		}
	}

}
