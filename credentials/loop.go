package credentials

import (
	"context"
	"errors"
	"hash/fnv"
	"os"
	"time"
)

// minLoopPause keeps Run from spinning when a refresh changes nothing.
const minLoopPause = 100 * time.Millisecond

// jitterFor spreads proactive refreshes: each refresh token gets a fixed
// extra lead in [0, buffer/2), so that accounts refreshed together drift
// apart and several processes agree on when one is due.
func jitterFor(refreshToken string, buffer time.Duration) time.Duration {
	if refreshToken == "" || buffer <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(refreshToken))
	return time.Duration(h.Sum64() % uint64(buffer/2))
}

// dueAt is when Run refreshes a: its expiry less the buffer and its jitter.
func (m *Manager) dueAt(a *accountView) time.Time {
	return a.expires.Add(-m.cfg.RefreshBuffer - a.jitter)
}

// Run refreshes accounts proactively until ctx ends: each enabled account
// some minutes before its token expires (the refresh buffer plus a jitter),
// and at once those already expired at start-up. Transient failures are
// retried with capped exponential backoff. It also notices changes other
// processes make to the file.
func (m *Manager) Run(ctx context.Context) {
	for {
		now := m.now()
		next := now.Add(m.cfg.PollInterval)
		for _, a := range m.view.Load().list {
			if !a.info.Enabled || a.state != StateOK || !a.refreshable {
				continue
			}
			due := m.dueAt(a)
			if rt := m.retryAt(a.id); rt.After(due) {
				due = rt
			}
			if due.After(now) {
				if due.Before(next) {
					next = due
				}
				continue
			}
			_, err := m.refresh(ctx, a.id, refreshMode{within: m.cfg.RefreshBuffer + a.jitter})
			if ctx.Err() != nil {
				return
			}
			if err != nil && !errors.Is(err, ErrUnknownAccount) && !errors.Is(err, ErrNeedsLogin) {
				m.log.Debug("proactive refresh failed", "account", a.id, "err", err)
				if !m.retryAt(a.id).After(m.now()) {
					// Not a refresh failure (the file could not be read or
					// locked, say): back off all the same.
					m.noteFailure(a.id, err)
				}
			}
			next = now // look again: the account's schedule moved
		}
		m.checkFile()
		wait := max(next.Sub(m.now()), minLoopPause)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-m.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// checkFile reloads the store when another process replaced it.
func (m *Manager) checkFile() {
	var cur fileStamp
	if fi, err := os.Stat(m.cfg.Path); err == nil {
		cur = stampOf(fi)
	}
	m.txMu.Lock()
	same := cur == m.stamp
	m.txMu.Unlock()
	if same {
		return
	}
	if err := m.Reload(); err != nil {
		m.log.Warn("the accounts file changed but could not be read; keeping the accounts in memory", "err", err)
		// Do not retry until it changes again.
		m.txMu.Lock()
		m.stamp = cur
		m.txMu.Unlock()
	}
}
