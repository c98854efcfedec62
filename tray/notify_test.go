package tray

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type recordedNote struct{ title, body string }

func TestNotifierQuietPeriod(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var sent []recordedNote
	n := &Notifier{
		Now: func() time.Time { return now },
		Send: func(title, body string) error {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, recordedNote{title, body})
			return nil
		},
	}
	steps := []struct {
		name    string
		advance time.Duration
		kind    NotifyKind
		account string
		want    bool
	}{
		{"the first failure of an account is shown", 0, NotifyNeedsLogin, "a", true},
		{"the same kind for the same account within the quiet period is dropped", 14 * time.Minute, NotifyNeedsLogin, "a", false},
		{"another account is not silenced", 0, NotifyNeedsLogin, "b", true},
		{"another kind for the same account is not silenced", 0, NotifyAdopted, "a", true},
		{"after the quiet period the account may notify again", time.Minute, NotifyNeedsLogin, "a", true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if got := n.Notify(s.kind, s.account, "t "+s.account, "b"); got != s.want {
			t.Errorf("%s: Notify = %v, want %v", s.name, got, s.want)
		}
	}
	n.Wait()
	if len(sent) != 4 {
		t.Errorf("sent %d notifications, want 4: %v", len(sent), sent)
	}
}

func TestANotificationThatCannotBeShownIsLogged(t *testing.T) {
	var log bytes.Buffer
	n := &Notifier{
		Send:   func(string, string) error { return errors.New("no notification daemon") },
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	}
	if !n.Notify(NotifyImport, "", "cc-router: import", "b") {
		t.Fatal("the notification was not attempted")
	}
	n.Wait()
	for _, want := range []string{"could not show a notification", "cc-router: import", "no notification daemon"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q: %s", want, log.String())
		}
	}
}
