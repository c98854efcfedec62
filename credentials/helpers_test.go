package credentials_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// seedAccount is one record a test writes into accounts.json.
type seedAccount struct {
	ID           string   `json:"id"`
	AccessToken  string   `json:"accessToken"`
	RefreshToken string   `json:"refreshToken"`
	ExpiresAt    int64    `json:"expiresAt"`
	Scopes       []string `json:"scopes,omitempty"`
	Source       string   `json:"source,omitempty"`
	SourceRef    string   `json:"sourceRef,omitempty"`
}

// seedFrom makes a record from tokens the fake issued, expiring at exp.
func seedFrom(id string, p fakeanthropic.TokenPair, exp time.Time) seedAccount {
	return seedAccount{ID: id, AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
		ExpiresAt: exp.UnixMilli(), Scopes: []string{"user:inference", "user:profile"}}
}

// writeAccounts writes records as accounts.json in a fresh directory and
// returns its path.
func writeAccounts(t testing.TB, recs ...any) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "accounts.json")
	if recs == nil {
		recs = []any{}
	}
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// logBuffer collects a manager's log so tests can check it holds no token.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newManager opens path against the fake's token endpoint. The log is
// checked at the end of the test for anything that looks like a token.
func newManager(t testing.TB, path string, fake *fakeanthropic.Server, adjust ...func(*credentials.Config)) *credentials.Manager {
	t.Helper()
	logs := &logBuffer{}
	cfg := credentials.Config{
		Path:     path,
		TokenURL: fake.TokenURL(),
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryMin: 50 * time.Millisecond,
		RetryMax: 200 * time.Millisecond,
	}
	for _, f := range adjust {
		f(&cfg)
	}
	m, err := credentials.NewManager(cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { assertNoTokens(t, "the log", logs.String()) })
	return m
}

// assertNoTokens fails if s holds a whole token (a redacted prefix is fine).
func assertNoTokens(t testing.TB, what, s string) {
	t.Helper()
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		if strings.HasPrefix(f, "sk-ant-") && len(f) > 24 {
			t.Errorf("%s holds a token: %s", what, credentials.RedactToken(f))
		}
	}
}

// storedAccounts reads the file as generic JSON.
func storedAccounts(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return recs
}

func storedByID(t testing.TB, path, id string) map[string]any {
	t.Helper()
	for _, r := range storedAccounts(t, path) {
		if r["id"] == id {
			return r
		}
	}
	t.Fatalf("%s holds no account %q", path, id)
	return nil
}

// same compares two tokens without printing them.
func same(a, b string) bool { return a == b }

func red(s string) string { return credentials.RedactToken(s) }

func slogTo(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// atomicTime is a clock a test moves while the manager reads it.
type atomicTime struct{ v atomic.Value }

func (a *atomicTime) Store(t time.Time) { a.v.Store(t) }
func (a *atomicTime) Load() time.Time   { return a.v.Load().(time.Time) }
