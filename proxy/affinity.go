package proxy

import (
	"container/list"
	"sync"
	"time"
)

// affinity remembers which account serves each Claude Code session, so a
// session's turns hit one account's prompt cache. Entries idle longer than
// ttl are forgotten, and beyond max entries the least recently used goes.
type affinity struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	byID  map[string]*list.Element // session id → element holding *session
	order list.List                // front = most recently used
}

// session is one affinity entry.
type session struct {
	id       string
	account  string
	lastUsed time.Time
}

func newAffinity(ttl time.Duration, max int) *affinity {
	return &affinity{ttl: ttl, max: max, byID: make(map[string]*list.Element)}
}

// get returns the account of the session, or "" if there is none or it
// went idle. A hit refreshes the entry.
func (a *affinity) get(id string, now time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byID[id]
	if !ok {
		return ""
	}
	s := e.Value.(*session)
	if now.Sub(s.lastUsed) > a.ttl {
		a.order.Remove(e)
		delete(a.byID, id)
		return ""
	}
	s.lastUsed = now
	a.order.MoveToFront(e)
	return s.account
}

// set binds the session to account.
func (a *affinity) set(id, account string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byID[id]; ok {
		s := e.Value.(*session)
		s.account, s.lastUsed = account, now
		a.order.MoveToFront(e)
	} else {
		a.byID[id] = a.order.PushFront(&session{id: id, account: account, lastUsed: now})
	}
	// Evict from the back: idle entries, then anything beyond the bound.
	for e := a.order.Back(); e != nil; e = a.order.Back() {
		s := e.Value.(*session)
		if a.order.Len() <= a.max && now.Sub(s.lastUsed) <= a.ttl {
			break
		}
		a.order.Remove(e)
		delete(a.byID, s.id)
	}
}

// len is the number of sessions remembered.
func (a *affinity) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.order.Len()
}

// counts returns how many remembered sessions each account holds.
func (a *affinity) counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]int)
	for _, e := range a.byID {
		m[e.Value.(*session).account]++
	}
	return m
}
