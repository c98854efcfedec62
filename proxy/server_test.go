package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartStopAddrAndAPortInUse(t *testing.T) {
	e := newEnv(t, 1, nil)
	addr := e.proxy.Addr()
	if addr == "" || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("Addr() = %q", addr)
	}
	other, err := New(Config{Upstream: e.fake.URL}, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(addr); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a used port: %v, want EADDRINUSE", err)
	}
	if other.Addr() != "" {
		t.Errorf("Addr() of a proxy that failed to start = %q", other.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := e.proxy.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if e.proxy.Addr() != "" {
		t.Errorf("Addr() after Stop = %q", e.proxy.Addr())
	}
	if _, err := http.Get("http://" + addr + HealthPath); err == nil {
		t.Error("still answering after Stop")
	}
	// A stopped proxy can start again (the tray's toggle).
	if err := e.proxy.Start(addr); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if st, _, _ := e.do("", false); st != 200 {
		t.Fatalf("after restart: %d", st)
	}
}

func TestANonLoopbackListenerNeedsASecret(t *testing.T) {
	e := newEnv(t, 1, nil)
	p, err := New(Config{Upstream: e.fake.URL}, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		if err := p.Start(addr); !errors.Is(err, ErrSecretRequired) {
			t.Errorf("Start(%q) without a secret: %v, want ErrSecretRequired", addr, err)
			p.Stop(context.Background())
		}
	}
	withSecret, err := New(Config{Upstream: e.fake.URL, Secret: "s3cret-proxy-key"}, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	if err := withSecret.Start("0.0.0.0:0"); err != nil {
		t.Fatalf("Start with a secret: %v", err)
	}
	withSecret.Stop(context.Background())
}

func TestWithASecretAWrongOrMissingOneGets401(t *testing.T) {
	const secret = "s3cret-proxy-key"
	e := newEnv(t, 1, func(c *Config) { c.Secret = secret })
	cases := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no secret", nil, 401},
		{"a wrong bearer", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"a wrong x-api-key", map[string]string{"X-Api-Key": "nope"}, 401},
		{"a prefix of the secret", map[string]string{"X-Api-Key": secret[:5]}, 401},
		{"the secret as bearer", map[string]string{"Authorization": "Bearer " + secret}, 200},
		{"the secret as x-api-key", map[string]string{"X-Api-Key": secret}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.ResetAPIRequests()
			req, _ := http.NewRequest("POST", e.url+"/v1/messages", strings.NewReader(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`))
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if c.want == 401 {
				if !strings.Contains(string(b), `"type":"error"`) || !strings.Contains(string(b), `"authentication_error"`) {
					t.Errorf("401 is not in Anthropic's shape: %s", b)
				}
				if len(e.fake.APIRequests()) != 0 {
					t.Error("an unauthorized request reached the upstream")
				}
			} else if got := e.fake.APIRequests()[0]; strings.Contains(got.Header.Get("Authorization"), secret) || got.Header.Get("X-Api-Key") != "" {
				t.Error("the proxy secret reached the upstream")
			}
		})
	}
	resp, err := http.Get(e.url + HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("health without the secret: %d, want 401", resp.StatusCode)
	}
}

func TestSubscribeSignalsWhenAnAccountBecomesUnusable(t *testing.T) {
	e := newEnv(t, 2, nil)
	ch, cancel := e.proxy.Subscribe()
	defer cancel()
	drain(ch)
	e.fake.InjectFault(fakeFault429(e.token("acct-1")))
	e.do("", false) // whichever account it lands on, make sure acct-1 gets limited
	e.do("", false)
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
		t.Fatal("no change signalled after an account was limited")
	}
	if h := e.proxy.Health(); h.Accounts[0].Usable {
		t.Fatalf("acct-1 still usable: %+v", h.Accounts[0])
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}
