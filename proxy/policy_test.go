package proxy

import (
	"fmt"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func TestHeadroomPolicyPicksTheLeastUsedTighterWindow(t *testing.T) {
	c := func(id string, u5, u7 float64) Candidate {
		return Candidate{ID: id, Util5h: u5, Util7d: u7, Cap5h: 1, Cap7d: 1}
	}
	capped := func(cd Candidate, c5, c7 float64) Candidate { cd.Cap5h, cd.Cap7d = c5, c7; return cd }
	cases := []struct {
		name  string
		cands []Candidate
		want  string
	}{
		{"a single candidate is taken", []Candidate{c("a", 0.9, 0.9)}, "a"},
		{"the lower 5h utilization wins when 7d is equal", []Candidate{c("a", 0.5, 0.1), c("b", 0.2, 0.1)}, "b"},
		{"a busy 7d window outweighs an idle 5h one", []Candidate{c("a", 0.0, 0.9), c("b", 0.4, 0.4)}, "b"},
		{"the account nearer its user cap has less headroom", []Candidate{capped(c("a", 0.3, 0.1), 0.4, 1), c("b", 0.5, 0.1)}, "b"},
		{"an account over 100% is the last choice", []Candidate{c("a", 1.2, 0.1), c("b", 0.99, 0.99)}, "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &HeadroomPolicy{}
			for range 5 { // whatever the rotation, the best one wins
				if got := tc.cands[p.Pick(tc.cands)].ID; got != tc.want {
					t.Fatalf("picked %s, want %s", got, tc.want)
				}
			}
		})
	}
}

func TestHeadroomPolicyBreaksTiesRoundRobin(t *testing.T) {
	cands := []Candidate{{ID: "a", Cap5h: 1, Cap7d: 1}, {ID: "b", Cap5h: 1, Cap7d: 1}, {ID: "c", Cap5h: 1, Cap7d: 1}, {ID: "d", Util5h: 0.5, Cap5h: 1, Cap7d: 1}}
	p := &HeadroomPolicy{}
	seen := map[string]int{}
	for range 30 {
		seen[cands[p.Pick(cands)].ID]++
	}
	if seen["a"] != 10 || seen["b"] != 10 || seen["c"] != 10 || seen["d"] != 0 {
		t.Errorf("picks %v, want 10 each for a, b, c and none for d", seen)
	}
}

func TestRoundRobinPolicyTakesEachInTurn(t *testing.T) {
	cands := []Candidate{{ID: "a", Util5h: 0.9}, {ID: "b"}, {ID: "c", Util7d: 0.5}}
	p := &RoundRobinPolicy{}
	var got string
	for range 6 {
		got += cands[p.Pick(cands)].ID
	}
	if got != "abcabc" {
		t.Errorf("order %q, want abcabc", got)
	}
}

func TestNewPolicyKnowsTheStrategies(t *testing.T) {
	for _, s := range []string{"", "headroom", "round-robin"} {
		if _, err := NewPolicy(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := NewPolicy("random"); err == nil {
		t.Error("an unknown strategy was accepted")
	}
}

func TestAccountStatusFollowsSettingsCooldownsHeadersAndCaps(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ok := credentials.AccountInfo{ID: "a", Enabled: true, State: credentials.StateOK}
	cases := []struct {
		name      string
		acct      account
		wantState string
		wantUntil time.Time
	}{
		{"a fresh enabled account is usable", account{info: ok}, StateOK, time.Time{}},
		{"a disabled account is not", account{info: credentials.AccountInfo{State: credentials.StateOK}}, StateDisabled, time.Time{}},
		{"an account that needs login is not", account{info: credentials.AccountInfo{Enabled: true, State: credentials.StateNeedsLogin}}, StateNeedsLogin, time.Time{}},
		{"a cooling account is not, until the cooldown ends", account{info: ok, coolUntil: now.Add(time.Minute)}, StateCoolingDown, now.Add(time.Minute)},
		{"an expired cooldown is forgotten", account{info: ok, coolUntil: now.Add(-time.Second)}, StateOK, time.Time{}},
		{"a rejected 5h window keeps it out until the window resets",
			account{info: ok, rl: rateLimit{Status: "rejected", Status5h: "rejected", Reset5h: now.Add(time.Hour), Seen: now}}, StateRateLimited, now.Add(time.Hour)},
		{"a rejection whose reset passed no longer counts",
			account{info: ok, rl: rateLimit{Status: "rejected", Reset: now.Add(-time.Second), Seen: now.Add(-time.Hour)}}, StateOK, time.Time{}},
		{"a rejection without any reset time holds a minute",
			account{info: ok, rl: rateLimit{Status: "rejected", Seen: now}}, StateRateLimited, now.Add(staleRejection)},
		{"allowed_warning is still usable",
			account{info: ok, rl: rateLimit{Status: "allowed_warning", Util5h: 0.95, Seen: now}}, StateOK, time.Time{}},
		{"over the session cap it waits for the 5h reset",
			account{info: credentials.AccountInfo{Enabled: true, SessionLimitPercent: 50}, rl: rateLimit{Util5h: 0.6, Reset5h: now.Add(2 * time.Hour), Seen: now}}, StateOverCap, now.Add(2 * time.Hour)},
		{"under the session cap it is usable",
			account{info: credentials.AccountInfo{Enabled: true, SessionLimitPercent: 50}, rl: rateLimit{Util5h: 0.49, Seen: now}}, StateOK, time.Time{}},
		{"over the weekly cap it waits for the 7d reset",
			account{info: credentials.AccountInfo{Enabled: true, WeeklyLimitPercent: 80}, rl: rateLimit{Util7d: 0.8, Reset7d: now.Add(48 * time.Hour), Seen: now}}, StateOverCap, now.Add(48 * time.Hour)},
		{"a cap whose window has reset no longer binds",
			account{info: credentials.AccountInfo{Enabled: true, SessionLimitPercent: 50}, rl: rateLimit{Util5h: 0.9, Reset5h: now.Add(-time.Minute), Seen: now.Add(-6 * time.Hour)}}, StateOK, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, until := tc.acct.status(now)
			if state != tc.wantState || !until.Equal(tc.wantUntil) {
				t.Errorf("status = %s until %v, want %s until %v", state, until, tc.wantState, tc.wantUntil)
			}
		})
	}
}

func TestSessionsStayOnOneAccountAndSpreadOverAll(t *testing.T) {
	e := newEnv(t, 3, nil)
	const sessions, turns = 12, 4
	home := map[string]string{}
	perAccount := map[string]int{}
	for turn := range turns {
		for s := range sessions {
			id := fmt.Sprintf("session-%02d", s)
			acct := e.servedBy(id, turn%2 == 0)
			if turn == 0 {
				home[id] = acct
				perAccount[acct]++
			} else if acct != home[id] {
				t.Errorf("%s turn %d went to %s, its home is %s", id, turn, acct, home[id])
			}
		}
	}
	for _, id := range e.ids {
		if perAccount[id] != sessions/3 {
			t.Errorf("sessions per account %v, want %d each while utilization is equal", perAccount, sessions/3)
			break
		}
	}
	if h := e.proxy.Health(); h.Sessions != sessions {
		t.Errorf("health counts %d sessions, want %d", h.Sessions, sessions)
	}
}

func TestNewSessionsPreferTheAccountWithTheMostHeadroom(t *testing.T) {
	e := newEnv(t, 3, nil)
	reset := time.Now().Add(3 * time.Hour)
	util := map[string][2]float64{"acct-1": {0.80, 0.10}, "acct-2": {0.20, 0.30}, "acct-3": {0.05, 0.60}}
	for id, u := range util {
		e.fake.SetRateLimit(e.token(id), fakeanthropic.RateLimit{Status: "allowed", Util5h: u[0], Util7d: u[1],
			Reset5h: reset, Reset7d: reset.Add(72 * time.Hour)})
	}
	// Until the proxy has heard from each account they tie; one request
	// each (round-robin on the tie) teaches it their utilization.
	for i := range 3 {
		e.servedBy("", i == 0)
	}
	for i := range 6 {
		if acct := e.servedBy(fmt.Sprintf("fresh-%d", i), false); acct != "acct-2" {
			t.Errorf("new session %d went to %s, want acct-2 (lowest tighter window)", i, acct)
		}
	}
	h := e.accountHealth("acct-1")
	if h.Utilization5h != 0.80 || h.Utilization7d != 0.10 || !h.Reset5h.Equal(reset.Truncate(time.Second)) || h.RateLimitStatus != "allowed" {
		t.Errorf("acct-1 health did not take the headers: %+v", h)
	}
}
