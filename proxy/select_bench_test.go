package proxy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// fixedAccounts is a TokenProvider holding n usable accounts, for the
// selection benchmarks.
type fixedAccounts []credentials.AccountInfo

func (f fixedAccounts) Accounts() []credentials.AccountInfo { return f }
func (f fixedAccounts) AccessToken(context.Context, string) (string, error) {
	return "sk-ant-oat01-bench", nil
}
func (f fixedAccounts) RefreshRejected(context.Context, string, string) (string, error) {
	return "sk-ant-oat01-bench", nil
}
func (f fixedAccounts) Subscribe() (<-chan credentials.Event, func()) {
	return make(chan credentials.Event), func() {}
}

func newFixedAccounts(n int) fixedAccounts {
	f := make(fixedAccounts, n)
	for i := range f {
		f[i] = credentials.AccountInfo{ID: fmt.Sprintf("account-%d", i+1), Enabled: true, State: credentials.StateOK,
			ExpiresAt: time.Now().Add(8 * time.Hour)}
	}
	return f
}

// BenchmarkSelect measures the per-request selection path — the session
// lookup and the pick among usable accounts — with 2, 20 and 200 accounts.
// Time may grow with the number of accounts (every usable one is scored);
// allocations must not.
func BenchmarkSelect(b *testing.B) {
	for _, n := range []int{2, 20, 200} {
		for _, kind := range []string{"new session", "known session"} {
			b.Run(fmt.Sprintf("%s/accounts=%d", kind, n), func(b *testing.B) {
				policy, _ := NewPolicy(StrategyHeadroom)
				now := time.Now()
				tr := newTracker(newFixedAccounts(n), policy, func() time.Time { return now })
				// Give each account a different utilization, so headroom
				// scoring does real work.
				for i, a := range tr.accounts {
					a.rl.Util5h = float64(i%7) / 10
					a.rl.Util7d = float64(i%5) / 10
				}
				aff := newAffinity(time.Hour, 10000)
				session := ""
				if kind == "known session" {
					session = "session-1"
					aff.set(session, tr.accounts[n/2].info.ID, now)
				}
				var skip []string
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					tr.maybeSync(now)
					preferred := ""
					if session != "" {
						preferred = aff.get(session, now)
					}
					if _, ok := tr.pick(preferred, skip, now); !ok {
						b.Fatal("no account picked")
					}
				}
			})
		}
	}
}

// TestSelectAllocatesNothingWhateverTheNumberOfAccounts pins the
// benchmark's goal: choosing an account allocates the same (nothing)
// with 2 or 200 accounts.
func TestSelectAllocatesNothingWhateverTheNumberOfAccounts(t *testing.T) {
	for _, n := range []int{2, 20, 200} {
		policy, _ := NewPolicy(StrategyHeadroom)
		now := time.Now()
		tr := newTracker(newFixedAccounts(n), policy, func() time.Time { return now })
		tr.pick("", nil, now) // grow the scratch slice once
		allocs := testing.AllocsPerRun(100, func() {
			tr.maybeSync(now)
			tr.pick("", nil, now)
		})
		if allocs != 0 {
			t.Errorf("picking among %d accounts allocates %v times per pick, want 0", n, allocs)
		}
	}
}
