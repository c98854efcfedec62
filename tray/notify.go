package tray

import (
	"log/slog"
	"sync"
	"time"

	"github.com/gen2brain/beeep"

	"github.com/cc-router/cc-router/assets"
)

// NotifyKind groups notifications for the quiet period: at most one per
// account and kind within it.
type NotifyKind string

// The kinds of notification the tray sends.
const (
	NotifyNeedsLogin  NotifyKind = "needs-login"
	NotifyAdopted     NotifyKind = "adopted"
	NotifyImport      NotifyKind = "import"
	NotifySignIn      NotifyKind = "sign-in"
	NotifyAllUnusable NotifyKind = "all-unusable"
	NotifyRecovered   NotifyKind = "recovered"
	NotifyStartFailed NotifyKind = "start-failed"
	NotifyInfo        NotifyKind = "info" // the answer to a click (settings edited, base URL)
)

// DefaultQuietPeriod is how long a notification of one kind about one
// account silences the next.
const DefaultQuietPeriod = 15 * time.Minute

// Notifier shows desktop notifications, dropping repeats within the quiet
// period so a flapping account cannot spam the desktop. A notification
// that cannot be shown is logged, never fatal.
type Notifier struct {
	// Send shows one notification (default: beeep, i.e. D-Bus
	// org.freedesktop.Notifications on Linux, Notification Center on macOS).
	Send func(title, body string) error
	// Quiet is the quiet period (default DefaultQuietPeriod).
	Quiet time.Duration
	// Now is the clock (default time.Now); tests swap it.
	Now func() time.Time
	// Logger receives the notifications that could not be shown.
	Logger *slog.Logger

	mu   sync.Mutex
	last map[notifyKey]time.Time
	wg   sync.WaitGroup
}

type notifyKey struct {
	kind    NotifyKind
	account string
}

func beeepSend(title, body string) error {
	beeep.AppName = "cc-router"
	return beeep.Notify(title, body, assets.Icon(assets.Healthy, false))
}

// Notify shows title and body unless one of the same kind about the same
// account ("" for the router as a whole) was shown within the quiet
// period. It reports whether the notification was sent; sending happens
// in the background.
func (n *Notifier) Notify(kind NotifyKind, account, title, body string) bool {
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	quiet := n.Quiet
	if quiet == 0 {
		quiet = DefaultQuietPeriod
	}
	n.mu.Lock()
	if n.last == nil {
		n.last = map[notifyKey]time.Time{}
	}
	k := notifyKey{kind, account}
	t := now()
	if prev, ok := n.last[k]; ok && t.Sub(prev) < quiet {
		n.mu.Unlock()
		return false
	}
	n.last[k] = t
	n.mu.Unlock()

	send := n.Send
	if send == nil {
		send = beeepSend
	}
	logger := n.Logger
	if logger == nil {
		logger = slog.Default()
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := send(title, body); err != nil {
			logger.Warn("could not show a notification", "title", title, "err", err)
		}
	}()
	return true
}

// Wait blocks until notifications being sent are done.
func (n *Notifier) Wait() { n.wg.Wait() }
