package egress

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOnlyConfiguredHostsAreDialled(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("HTTP_PROXY", "")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer srv.Close()

	g, err := NewGuard(srv.URL, "https://platform.claude.com/v1/oauth/token")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: g.Transport(nil)}

	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed host refused: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}

	// The same server under another name is another host: refused before any
	// connection is made.
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	_, err = client.Get(other)
	var blocked *BlockedError
	if !errors.As(err, &blocked) {
		t.Fatalf("a host outside the policy was dialled: err=%v", err)
	}
	if blocked.Host != "localhost" || !strings.Contains(err.Error(), `"localhost"`) {
		t.Fatalf("error does not name the host: %v", err)
	}
	if !strings.Contains(err.Error(), "platform.claude.com") {
		t.Fatalf("error does not list the allowed hosts: %v", err)
	}
}

func TestABadURLIsNamed(t *testing.T) {
	if _, err := NewGuard("::not a url"); err == nil || !strings.Contains(err.Error(), "::not a url") {
		t.Fatalf("err = %v", err)
	}
}

func TestTheEnvironmentProxyIsAllowed(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://corp-proxy.example:3128")
	g, err := NewGuard("https://api.anthropic.com")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(g.Allowed(), ",")
	if got != "api.anthropic.com,corp-proxy.example" {
		t.Fatalf("allowed = %s", got)
	}
}
