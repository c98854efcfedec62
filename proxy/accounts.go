package proxy

import (
	"net/http"
	"sync"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// Account states reported in AccountHealth.State.
const (
	StateOK          = "ok"
	StateNeedsLogin  = "needs_login"
	StateCoolingDown = "cooling_down"
	StateRateLimited = "rate_limited"
	StateOverCap     = "over_cap"
	StateDisabled    = "disabled"
)

// Usage is a count of tokens as the Messages API reports them.
type Usage struct {
	InputTokens              int64 `json:"inputTokens"`
	OutputTokens             int64 `json:"outputTokens"`
	CacheReadInputTokens     int64 `json:"cacheReadInputTokens"`
	CacheCreationInputTokens int64 `json:"cacheCreationInputTokens"`
}

func (u *Usage) add(v Usage) {
	u.InputTokens += v.InputTokens
	u.OutputTokens += v.OutputTokens
	u.CacheReadInputTokens += v.CacheReadInputTokens
	u.CacheCreationInputTokens += v.CacheCreationInputTokens
}

// account is the proxy's view of one account: the credentials snapshot
// plus what the upstream told us. Guarded by tracker.mu.
type account struct {
	info credentials.AccountInfo
	rl   rateLimit

	coolUntil  time.Time
	coolReason string
	coolAuth   bool      // the cooldown is for a rejected token
	coolSetAt  time.Time // when the cooldown was set

	requests  int64 // upstream attempts sent with this account
	failovers int64 // attempts that were failed over away from it
	errors    map[int]int64
	usage     Usage
	lastUsed  time.Time
}

// status says whether the account can take a request at now; when it
// cannot, until is when it may again (zero: not by waiting).
func (a *account) status(now time.Time) (state string, until time.Time) {
	switch {
	case !a.info.Enabled:
		return StateDisabled, time.Time{}
	case a.info.State == credentials.StateNeedsLogin:
		return StateNeedsLogin, time.Time{}
	case now.Before(a.coolUntil):
		return StateCoolingDown, a.coolUntil
	}
	if t := a.rl.rejectedUntil(now); !t.IsZero() {
		return StateRateLimited, t
	}
	if t := a.overCapUntil(now); !t.IsZero() {
		return StateOverCap, t
	}
	return StateOK, time.Time{}
}

// capProbe is how long an account over a user cap whose window reset is
// unknown stays out before one request may refresh its numbers.
const capProbe = 5 * time.Minute

// overCapUntil is when the account drops below the user's caps, or zero
// when it is under them at now.
func (a *account) overCapUntil(now time.Time) time.Time {
	var until time.Time
	check := func(capPercent, util float64, reset time.Time) {
		if capPercent <= 0 || util*100 < capPercent {
			return
		}
		t := reset
		if t.IsZero() {
			t = a.rl.Seen.Add(capProbe)
		}
		if t.After(until) {
			until = t
		}
	}
	check(a.info.SessionLimitPercent, a.rl.effective5h(now), a.rl.Reset5h)
	check(a.info.WeeklyLimitPercent, a.rl.effective7d(now), a.rl.Reset7d)
	if !now.Before(until) {
		return time.Time{}
	}
	return until
}

func (a *account) candidate(now time.Time) Candidate {
	c := Candidate{
		ID:     a.info.ID,
		Util5h: a.rl.effective5h(now),
		Util7d: a.rl.effective7d(now),
		Cap5h:  1,
		Cap7d:  1,
	}
	if a.info.SessionLimitPercent > 0 {
		c.Cap5h = a.info.SessionLimitPercent / 100
	}
	if a.info.WeeklyLimitPercent > 0 {
		c.Cap7d = a.info.WeeklyLimitPercent / 100
	}
	return c
}

// tracker holds every account's state and chooses accounts. It is the
// single owner of that state; all access goes through its methods.
type tracker struct {
	now    func() time.Time
	policy Policy
	tokens credentials.TokenProvider

	mu       sync.Mutex
	accounts []*account // in the store's order
	byID     map[string]*account
	synced   time.Time   // when accounts were last read from tokens
	gen      uint64      // bumped whenever the account list is reloaded
	cands    []Candidate // scratch for pick, reused under mu
	total    int64       // client requests
	totalErr int64       // client requests answered with an error status
	totalFO  int64       // failovers across all requests
}

// resyncEvery bounds how stale the account list may get when credential
// events were missed.
const resyncEvery = 2 * time.Second

func newTracker(tokens credentials.TokenProvider, policy Policy, now func() time.Time) *tracker {
	t := &tracker{now: now, policy: policy, tokens: tokens, byID: make(map[string]*account)}
	t.sync()
	return t
}

// sync reloads the account list from the token provider, keeping the
// tracked state of accounts that remain.
func (t *tracker) sync() {
	infos := t.tokens.Accounts()
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.syncLocked(infos, now)
}

func (t *tracker) syncLocked(infos []credentials.AccountInfo, now time.Time) {
	next := make([]*account, 0, len(infos))
	seen := make(map[string]bool, len(infos))
	for _, info := range infos {
		if seen[info.ID] {
			continue
		}
		seen[info.ID] = true
		a := t.byID[info.ID]
		if a == nil {
			a = &account{errors: make(map[int]int64)}
			t.byID[info.ID] = a
		}
		a.info = info
		next = append(next, a)
	}
	for id := range t.byID {
		if !seen[id] {
			delete(t.byID, id)
		}
	}
	t.accounts = next
	t.synced = now
	t.gen++
}

// maybeSync reloads the account list when it is older than resyncEvery.
func (t *tracker) maybeSync(now time.Time) {
	t.mu.Lock()
	stale := now.Sub(t.synced) > resyncEvery
	t.mu.Unlock()
	if stale {
		t.sync()
	}
}

// usableLocked reports whether id is tracked and usable at now.
func (t *tracker) usableLocked(id string, now time.Time) bool {
	a := t.byID[id]
	if a == nil {
		return false
	}
	s, _ := a.status(now)
	return s == StateOK
}

// pick chooses an account for a request: the session's account when it is
// usable and not in skip, else the policy's choice among usable accounts
// not in skip. ok is false when none can serve.
func (t *tracker) pick(preferred string, skip []string, now time.Time) (id string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if preferred != "" && !contains(skip, preferred) && t.usableLocked(preferred, now) {
		return preferred, true
	}
	t.cands = t.cands[:0]
	for _, a := range t.accounts {
		if contains(skip, a.info.ID) {
			continue
		}
		if s, _ := a.status(now); s != StateOK {
			continue
		}
		t.cands = append(t.cands, a.candidate(now))
	}
	if len(t.cands) == 0 {
		return "", false
	}
	i := t.policy.Pick(t.cands)
	if i < 0 || i >= len(t.cands) {
		i = 0
	}
	return t.cands[i].ID, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// earliestUsable is when the first account that is now unusable becomes
// usable again by waiting; zero when none will.
func (t *tracker) earliestUsable(now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var first time.Time
	for _, a := range t.accounts {
		s, until := a.status(now)
		if s == StateOK {
			return now
		}
		if !until.IsZero() && (first.IsZero() || until.Before(first)) {
			first = until
		}
	}
	return first
}

// attempt records that a request is being sent with the account.
func (t *tracker) attempt(id string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.byID[id]; a != nil {
		a.requests++
		a.lastUsed = now
	}
}

// observe folds a response's rate-limit headers and status into the
// account's state, and reports whether that changed the account's state
// (ok, rate limited, over cap…), which the usability watcher must see.
func (t *tracker) observe(id string, status int, h http.Header, now time.Time) (changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.byID[id]
	if a == nil {
		return false
	}
	before, _ := a.status(now)
	a.rl.merge(h, now)
	if status >= 400 {
		a.errors[status]++
	}
	after, _ := a.status(now)
	return before != after
}

// coolDown benches the account until until, failing over away from it.
// auth marks a bench for a rejected token, which new tokens lift.
func (t *tracker) coolDown(id string, until time.Time, reason string, auth bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.byID[id]
	if a == nil {
		return
	}
	a.failovers++
	t.totalFO++
	if until.After(a.coolUntil) {
		a.coolUntil, a.coolReason, a.coolAuth, a.coolSetAt = until, reason, auth, t.now()
	}
}

// newTokens lifts a bench for a rejected token when the account got new
// tokens (a refresh, a new login, an import) after the bench was set.
func (t *tracker) newTokens(id string, at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.byID[id]
	if a == nil || !a.coolAuth || !at.After(a.coolSetAt) {
		return false
	}
	a.coolUntil, a.coolReason, a.coolAuth = time.Time{}, "", false
	return true
}

// failedOver counts a failover away from the account without a cooldown.
func (t *tracker) failedOver(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.byID[id]; a != nil {
		a.failovers++
	}
	t.totalFO++
}

// addUsage adds tokens the account's response reported.
func (t *tracker) addUsage(id string, u Usage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a := t.byID[id]; a != nil {
		a.usage.add(u)
	}
}

// begin counts a client request as it arrives.
func (t *tracker) begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
}

// finish counts whether a client request ended in an error.
func (t *tracker) finish(status int) {
	if status < 400 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.totalErr++
}

// usableSet returns, as a bit per account in store order (up to 64), which
// accounts are usable, the generation of the account list it describes,
// and the next time that may change by itself (a cooldown or limit ends).
func (t *tracker) usableSet(now time.Time) (set, gen uint64, next time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.accounts {
		s, until := a.status(now)
		if s == StateOK && i < 64 {
			set |= 1 << i
		}
		if !until.IsZero() && (next.IsZero() || until.Before(next)) {
			next = until
		}
	}
	return set, t.gen, next
}
