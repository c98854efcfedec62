package tray

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/proxy"
)

// noteLog records what a Notifier sent.
type noteLog struct {
	mu     sync.Mutex
	titles []string
}

func (l *noteLog) send(title, body string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.titles = append(l.titles, title+": "+body)
	return nil
}

func (l *noteLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.titles {
		if strings.Contains(t, substr) {
			n++
		}
	}
	return n
}

// TestRouterWideNotifications runs the app's loop (without a tray) on the
// real credentials manager and proxy against the fake Anthropic API: the
// only account is rate-limited for a second, which must notify once that
// every account is unusable, then once that routing recovered.
func TestRouterWideNotifications(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("only@example.com")
	dir := t.TempDir()
	recs, _ := json.Marshal([]map[string]any{{"id": "only", "accessToken": pair.AccessToken, "refreshToken": pair.RefreshToken,
		"expiresAt": time.Now().Add(8 * time.Hour).UnixMilli(), "scopes": []string{"user:inference"}}})
	os.WriteFile(filepath.Join(dir, "accounts.json"), recs, 0o600)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := credentials.NewManager(credentials.Config{Path: filepath.Join(dir, "accounts.json"), TokenURL: fake.TokenURL(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Config{Upstream: fake.URL, Logger: logger}, mgr)
	if err != nil {
		t.Fatal(err)
	}
	notes := &noteLog{}
	a := newApp(Config{Manager: mgr, Proxy: p, Listen: "127.0.0.1:0", Logger: logger, Notifier: &Notifier{Send: notes.send}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.startRouting()
	go func() { defer close(done); a.loop(ctx) }()
	defer func() {
		cancel()
		<-done
		a.stopRouting()
	}()

	fake.InjectFault(fakeanthropic.Fault{Status: 429, RetryAfter: "1", ShouldRetry: true, Times: 1})
	req, _ := http.NewRequest("POST", "http://"+p.Addr()+"/v1/messages", strings.NewReader(`{"model":"m","max_tokens":1,"messages":[]}`))
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("status %d, want the upstream's 429", resp.StatusCode)
	}
	waitFor(t, "the all-unusable notification", func() bool { return notes.count("every account is unusable") == 1 })
	waitFor(t, "the recovered notification", func() bool { return notes.count("routing recovered") == 1 })
	if n := notes.count("every account is unusable"); n != 1 {
		t.Errorf("all-unusable notified %d times, want 1", n)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
