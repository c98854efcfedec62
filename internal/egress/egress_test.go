package egress

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// TestTheHostIsCheckedWhenAProxyCarriesTheConnection: through an HTTP
// proxy the dialler only sees the proxy, so the request's own host must be
// checked before the proxy is used.
func TestTheHostIsCheckedWhenAProxyCarriesTheConnection(t *testing.T) {
	var seen []string
	fwd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Host)
		io.WriteString(w, "via the proxy")
	}))
	defer fwd.Close()
	t.Setenv("HTTPS_PROXY", "")
	t.Setenv("HTTP_PROXY", fwd.URL) // so the guard allows the proxy's host
	g, err := NewGuard("http://allowed.example")
	if err != nil {
		t.Fatal(err)
	}
	proxyURL, _ := url.Parse(fwd.URL)
	client := &http.Client{Transport: g.Transport(&http.Transport{Proxy: http.ProxyURL(proxyURL)})}

	resp, err := client.Get("http://allowed.example/v1/models")
	if err != nil {
		t.Fatalf("the allowed host was refused: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "via the proxy" {
		t.Fatalf("body %q", body)
	}

	_, err = client.Get("http://elsewhere.example/")
	var blocked *BlockedError
	if !errors.As(err, &blocked) || blocked.Host != "elsewhere.example" {
		t.Fatalf("a host outside the policy went through the proxy: err=%v", err)
	}
	if len(seen) != 1 || seen[0] != "allowed.example" {
		t.Errorf("the proxy was asked for %v, want only allowed.example", seen)
	}
}
