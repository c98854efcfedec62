package credentials

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func TestJitterLeadIsWithinHalfTheBuffer(t *testing.T) {
	buf := 10 * time.Minute
	seen := map[time.Duration]bool{}
	for i := range 500 {
		tok := "sk-ant-ort01-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()
		j := jitterFor(tok, buf)
		if j < 0 || j >= buf/2 {
			t.Fatalf("jitter %v outside [0, %v)", j, buf/2)
		}
		if j != jitterFor(tok, buf) {
			t.Fatalf("jitter is not stable for one token")
		}
		seen[j/time.Minute] = true
	}
	if len(seen) < 5 {
		t.Errorf("jitter is not spread: only %d distinct minutes", len(seen))
	}
	if jitterFor("", buf) != 0 {
		t.Errorf("an account without a refresh token has a jitter")
	}
}

func TestFailedSaveKeepsRotatedTokensAndNeverHandsThemOut(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.json")
	body := `[{"id":"acct","accessToken":"` + pair.AccessToken + `","refreshToken":"` + pair.RefreshToken +
		`","expiresAt":` + strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10) + `}]`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(Config{Path: path, TokenURL: fake.TokenURL(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("no space left on device")
	saveFile = func(string, []byte) (fileStamp, error) { return fileStamp{}, diskFull }
	defer func() { saveFile = writeStore }()

	tok, err := m.AccessToken(context.Background(), "acct")
	if !errors.Is(err, diskFull) || tok != "" {
		t.Fatalf("AccessToken = %q, %v; want no token and the save error", RedactToken(tok), err)
	}
	if fake.TokenCalls() != 1 {
		t.Fatalf("%d calls", fake.TokenCalls())
	}
	if got, _ := os.ReadFile(path); string(got) != body {
		t.Fatalf("the file changed although the save failed")
	}
	// The disk recovers: the next transaction saves the kept tokens
	// without spending the (now dead) old refresh token again.
	saveFile = writeStore
	tok, err = m.AccessToken(context.Background(), "acct")
	if err != nil || !fake.ValidAccessToken(tok) {
		t.Fatalf("after recovery AccessToken = %s, %v", RedactToken(tok), err)
	}
	if fake.TokenCalls() != 1 {
		t.Errorf("%d calls; the kept tokens should have been saved instead", fake.TokenCalls())
	}
	d, _, err := readStore(path, m.log)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.find("acct"); a.AccessToken != tok || !fake.RefreshTokenLive(a.RefreshToken) {
		t.Errorf("the file does not hold the rotated tokens")
	}
}

func TestRedactToken(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"an access token keeps its kind and three characters", "sk-ant-oat01-abcdefghijklmnopqrstuvwxyz", "sk-ant-oat01-abc…"},
		{"a refresh token likewise", "sk-ant-ort01-ZYXWVUTSRQPONMLKJIHGFEDCBA", "sk-ant-ort01-ZYX…"},
		{"an unknown string keeps four characters", "abcdefghijklmnop", "abcd…"},
		{"a short string keeps at most half", "sk-ant-oat01-x", "sk-ant-…"},
		{"empty", "", `""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactToken(tc.in); got != tc.want {
				t.Errorf("RedactToken = %q, want %q", got, tc.want)
			}
		})
	}
	s := Scrub("bad token sk-ant-ort01-secretsecretsecret and key abcdefghijklmnopqrstuvwxyz0123456789 end")
	if strings.Contains(s, "secretsecret") || strings.Contains(s, "0123456789") || !strings.Contains(s, "end") {
		t.Errorf("Scrub = %q", s)
	}
	// A secret the pattern cannot know (a short sign-in code) is reduced
	// when it is named.
	s = Scrub("code=Zq81xP0aLmv9 was refused", "Zq81xP0aLmv9")
	if strings.Contains(s, "Zq81xP0aLmv9") || !strings.Contains(s, "Zq81…") {
		t.Errorf("Scrub with a named secret = %q", s)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &Manager{cfg: Config{RetryMin: time.Second, RetryMax: 30 * time.Second, Now: func() time.Time { return now }},
		retries: map[string]*retryState{}}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i, w := range want {
		m.noteFailure("a", errors.New("503"))
		got := m.retryAt("a").Sub(now)
		w *= time.Second
		if got < w-w/5 || got > w+w/5 {
			t.Errorf("failure %d: next try in %v, want %v ±20%%", i+1, got, w)
		}
	}
	if err := m.backingOff("a", now, false); err == nil {
		t.Errorf("not backing off right after a failure")
	}
	if err := m.backingOff("a", now.Add(onDemandRetry), true); err != nil {
		t.Errorf("a caller with an expired token waits more than %v: %v", onDemandRetry, err)
	}
	m.noteSuccess("a")
	if !m.retryAt("a").IsZero() || m.backingOff("a", now, false) != nil {
		t.Errorf("a success did not reset the backoff")
	}
}

func TestFailedWriteLeavesThePreviousFileAndNoTempFile(t *testing.T) {
	dir := t.TempDir()
	// A non-empty directory where the file should be: the rename fails
	// after the temp file was written and synced.
	path := filepath.Join(dir, "accounts.json")
	if err := os.MkdirAll(filepath.Join(path, "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := writeStore(path, []byte("[]\n")); err == nil {
		t.Fatal("writeStore over a directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left after a failed write", e.Name())
		}
	}
	if fi, err := os.Stat(filepath.Join(path, "keep")); err != nil || !fi.IsDir() {
		t.Errorf("the previous contents were disturbed")
	}
}

func TestASlowRefreshDoesNotHoldBackAStillValidToken(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := filepath.Join(t.TempDir(), "accounts.json")
	body := `[{"id":"acct","accessToken":"` + pair.AccessToken + `","refreshToken":"` + pair.RefreshToken +
		`","expiresAt":` + strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10) + `}]`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(Config{Path: path, TokenURL: fake.TokenURL(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	old := validTokenWait
	validTokenWait = 50 * time.Millisecond
	defer func() { validTokenWait = old }()
	fake.SetTokenDelay(time.Second)
	events, stop := m.Subscribe()
	defer stop()

	tok, err := m.AccessToken(context.Background(), "acct")
	if err != nil || tok != pair.AccessToken {
		t.Fatalf("AccessToken during a slow refresh = %s, %v; want the current, still valid token", RedactToken(tok), err)
	}
	// The refresh went on without the caller, and its tokens are served
	// once on disk.
	for refreshed := false; !refreshed; {
		select {
		case e := <-events:
			refreshed = e.Kind == EventRefreshed
		case <-time.After(10 * time.Second):
			t.Fatal("the refresh did not finish after the caller stopped waiting")
		}
	}
	tok, err = m.AccessToken(context.Background(), "acct")
	if err != nil || tok == pair.AccessToken || !fake.ValidAccessToken(tok) || fake.TokenCalls() != 1 {
		t.Errorf("after the refresh: %s, %v, %d token calls; want the new token from the one refresh", RedactToken(tok), err, fake.TokenCalls())
	}
}
