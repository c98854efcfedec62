package credentials_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testutil"
)

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	fake.SetTokenDelay(50 * time.Millisecond) // keep the refresh in flight while callers pile up
	pair := fake.IssueTokens("a@example.com")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Minute)))
	m := newManager(t, path, fake)

	const n = 200
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tokens[i], errs[i] = m.AccessToken(context.Background(), "acct")
		}()
	}
	close(start)
	wg.Wait()

	if got := fake.TokenCalls(); got != 1 {
		t.Fatalf("token endpoint called %d times, want exactly 1", got)
	}
	newTok := storedByID(t, path, "acct")["accessToken"].(string)
	if same(newTok, pair.AccessToken) {
		t.Fatalf("the stored access token was not rotated")
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !same(tokens[i], newTok) {
			t.Fatalf("caller %d got %s, want the new token %s", i, red(tokens[i]), red(newTok))
		}
	}
	if !fake.ValidAccessToken(newTok) {
		t.Errorf("the new access token is not one the fake considers valid")
	}
	if fake.RefreshTokenLive(pair.RefreshToken) {
		t.Errorf("the old refresh token is still live: no rotation happened")
	}
	if rt := storedByID(t, path, "acct")["refreshToken"].(string); !fake.RefreshTokenLive(rt) {
		t.Errorf("the stored refresh token %s is not the live one", red(rt))
	}
}

func TestRefreshSendsTheFactsFileRequestShape(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(-time.Minute)))
	m := newManager(t, path, fake)
	if _, err := m.AccessToken(context.Background(), "acct"); err != nil {
		t.Fatal(err)
	}
	reqs := fake.TokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := fakeanthropic.TokenRequest{
		GrantType: "refresh_token", ClientID: credentials.ClientID, Scope: credentials.RefreshScope,
		UserAgent: "axios/1.9.0", Accept: "application/json, text/plain, */*", ContentType: "application/json",
	}
	if r != want {
		t.Errorf("request = %+v\nwant      %+v", r, want)
	}
}

func TestValidTokenIsServedFromMemory(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Hour)))
	m := newManager(t, path, fake)
	for range 10 {
		tok, err := m.AccessToken(context.Background(), "acct")
		if err != nil || !same(tok, pair.AccessToken) {
			t.Fatalf("AccessToken = %s, %v; want the stored token", red(tok), err)
		}
	}
	if fake.TokenCalls() != 0 {
		t.Errorf("a valid token caused %d refreshes", fake.TokenCalls())
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = m.AccessToken(context.Background(), "acct") })
	if allocs != 0 {
		t.Errorf("AccessToken with a valid token allocates %v times per call, want 0", allocs)
	}
}

func TestInvalidGrantMarksTheAccountNeedsLogin(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	fake.RotateOutOfBand(pair.RefreshToken) // someone else spent it
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(-time.Minute)))
	m := newManager(t, path, fake)
	events, stop := m.Subscribe()
	defer stop()

	_, err := m.AccessToken(context.Background(), "acct")
	if !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Fatalf("err = %v, want ErrNeedsLogin", err)
	}
	assertNoTokens(t, "the error", err.Error())
	if got := storedByID(t, path, "acct")["state"]; got != "needs_login" {
		t.Errorf("stored state = %v, want needs_login", got)
	}
	info, _ := m.Account("acct")
	if info.State != credentials.StateNeedsLogin || info.StateReason == "" {
		t.Errorf("info = %+v, want needs_login with a reason", info)
	}
	// Not retried in a loop: another call answers from the stored state.
	calls := fake.TokenCalls()
	if _, err := m.AccessToken(context.Background(), "acct"); !errors.Is(err, credentials.ErrNeedsLogin) {
		t.Errorf("second call: %v, want ErrNeedsLogin", err)
	}
	if fake.TokenCalls() != calls {
		t.Errorf("a needs_login account was refreshed again")
	}
	if e := waitEvent(t, events, credentials.EventNeedsLogin); e.AccountID != "acct" {
		t.Errorf("event for %q, want acct", e.AccountID)
	}
}

func TestTransientFailureKeepsServingTheValidToken(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(5*time.Minute)))
	m := newManager(t, path, fake)
	events, stop := m.Subscribe()
	defer stop()
	fake.FailTokenCalls(1, fakeanthropic.TokenFailure{Status: 503})

	tok, err := m.AccessToken(context.Background(), "acct")
	if err != nil || !same(tok, pair.AccessToken) {
		t.Fatalf("AccessToken = %s, %v; want the current token while it is valid", red(tok), err)
	}
	e := waitEvent(t, events, credentials.EventRefreshFailed)
	assertNoTokens(t, "the event", e.Message)
	info, _ := m.Account("acct")
	if info.State != credentials.StateOK || info.LastRefreshError == "" {
		t.Errorf("info = %+v, want ok with the last error recorded", info)
	}
	// During the backoff no further call is made.
	if _, err := m.AccessToken(context.Background(), "acct"); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokenCalls(); got != 1 {
		t.Errorf("%d token calls during the backoff, want 1", got)
	}
	time.Sleep(300 * time.Millisecond) // past RetryMax of the test config
	tok, err = m.AccessToken(context.Background(), "acct")
	if err != nil || same(tok, pair.AccessToken) {
		t.Fatalf("after the backoff AccessToken = %s, %v; want a new token", red(tok), err)
	}
	if info, _ := m.Account("acct"); info.LastRefreshError != "" {
		t.Errorf("LastRefreshError = %q after a success", info.LastRefreshError)
	}
}

func TestRefreshRejectedReturnsNewerTokenWithoutRefreshing(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Hour)))
	m := newManager(t, path, fake)

	tok, err := m.RefreshRejected(context.Background(), "acct", "sk-ant-oat01-some-older-token")
	if err != nil || !same(tok, pair.AccessToken) || fake.TokenCalls() != 0 {
		t.Fatalf("RefreshRejected(old) = %s, %v with %d calls; want the current token and no call", red(tok), err, fake.TokenCalls())
	}
	tok, err = m.RefreshRejected(context.Background(), "acct", pair.AccessToken)
	if err != nil || same(tok, pair.AccessToken) || fake.TokenCalls() != 1 {
		t.Fatalf("RefreshRejected(current) = %s, %v with %d calls; want a new token from one call", red(tok), err, fake.TokenCalls())
	}
}

func TestUnknownAccount(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	m := newManager(t, writeAccounts(t), fake)
	if _, err := m.AccessToken(context.Background(), "nope"); !errors.Is(err, credentials.ErrUnknownAccount) {
		t.Errorf("AccessToken: %v, want ErrUnknownAccount", err)
	}
	if err := m.Remove("nope"); !errors.Is(err, credentials.ErrUnknownAccount) {
		t.Errorf("Remove: %v, want ErrUnknownAccount", err)
	}
	if err := m.SetEnabled("nope", false); !errors.Is(err, credentials.ErrUnknownAccount) {
		t.Errorf("SetEnabled: %v, want ErrUnknownAccount", err)
	}
}

func waitEvent(t testing.TB, ch <-chan credentials.Event, kind credentials.EventKind) credentials.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

func TestTokenEndpointFailuresAreTerminalOrTransientByKind(t *testing.T) {
	unreachable := "http://" + testutil.FreeAddr(t) + "/v1/oauth/token"
	tests := []struct {
		name     string
		failure  *fakeanthropic.TokenFailure // nil: the endpoint cannot be reached
		terminal bool
	}{
		{name: "invalid_grant (400) means the account needs login", failure: &fakeanthropic.TokenFailure{Status: 400, Error: "invalid_grant"}, terminal: true},
		{name: "a 401 means the account needs login", failure: &fakeanthropic.TokenFailure{Status: 401, Error: "invalid_client"}, terminal: true},
		{name: "a bare 429 is transient", failure: &fakeanthropic.TokenFailure{Status: 429}},
		{name: "a 500 is transient", failure: &fakeanthropic.TokenFailure{Status: 500}},
		{name: "a 503 is transient", failure: &fakeanthropic.TokenFailure{Status: 503}},
		{name: "an unreachable endpoint is transient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeanthropic.New()
			defer fake.Close()
			pair := fake.IssueTokens("")
			path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(5*time.Minute))) // within the buffer, still valid
			m := newManager(t, path, fake, func(c *credentials.Config) {
				c.RetryMin, c.RetryMax = time.Hour, time.Hour // no retry within the test
				if tt.failure == nil {
					c.TokenURL = unreachable
				}
			})
			if tt.failure != nil {
				fake.FailTokenCalls(1, *tt.failure)
			}
			events, stop := m.Subscribe()
			defer stop()

			tok, err := m.AccessToken(context.Background(), "acct")
			if tt.terminal {
				if !errors.Is(err, credentials.ErrNeedsLogin) {
					t.Fatalf("AccessToken = %v, want ErrNeedsLogin", err)
				}
				assertNoTokens(t, "the error", err.Error())
				waitEvent(t, events, credentials.EventNeedsLogin)
				if got := storedByID(t, path, "acct")["state"]; got != "needs_login" {
					t.Errorf("stored state %v, want needs_login", got)
				}
			} else {
				if err != nil || !same(tok, pair.AccessToken) {
					t.Fatalf("AccessToken = %s, %v; want the current, still valid token", red(tok), err)
				}
				e := waitEvent(t, events, credentials.EventRefreshFailed)
				assertNoTokens(t, "the event", e.Message)
				if info, _ := m.Account("acct"); info.State != credentials.StateOK || info.LastRefreshError == "" {
					t.Errorf("info %+v, want ok with the failure recorded", info)
				}
				if rec := storedByID(t, path, "acct"); !same(rec["refreshToken"].(string), pair.RefreshToken) || rec["state"] != nil {
					t.Errorf("a transient failure changed the stored record")
				}
			}
			// Either way no second attempt is made now: terminal is final,
			// transient waits for its backoff.
			calls := fake.TokenCalls()
			if _, err := m.AccessToken(context.Background(), "acct"); tt.terminal != (err != nil) {
				t.Errorf("second AccessToken: %v", err)
			}
			if fake.TokenCalls() != calls {
				t.Errorf("a second refresh was attempted at once")
			}
			if tt.failure != nil && !tt.terminal && !fake.RefreshTokenLive(pair.RefreshToken) {
				t.Errorf("a transient failure lost the live refresh token")
			}
		})
	}
}

func TestRunRetriesATransientFailureOnlyAfterItsBackoff(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("")
	var clock atomicTime
	clock.Store(time.Now())
	path := writeAccounts(t, seedFrom("acct", pair, clock.Load().Add(time.Minute)))
	m := newManager(t, path, fake, func(c *credentials.Config) {
		c.Now = clock.Load
		c.RetryMin, c.RetryMax = time.Minute, 4*time.Minute
	})
	fake.FailTokenCalls(100, fakeanthropic.TokenFailure{Status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitCalls := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for fake.TokenCalls() < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := fake.TokenCalls(); got != n {
			t.Fatalf("%d token calls, want %d", got, n)
		}
	}
	waitCalls(1)
	// The clock stands still: the loop must not try again, however often
	// it wakes.
	for range 3 {
		m.Reload()
		time.Sleep(120 * time.Millisecond)
	}
	if got := fake.TokenCalls(); got != 1 {
		t.Fatalf("%d token calls while backing off, want 1", got)
	}
	clock.Store(clock.Load().Add(73 * time.Second)) // past the first backoff, 1m ±20%
	m.Reload()
	waitCalls(2)
	// The second backoff is twice as long: a minute and a bit is not enough.
	clock.Store(clock.Load().Add(73 * time.Second))
	m.Reload()
	time.Sleep(250 * time.Millisecond)
	if got := fake.TokenCalls(); got != 2 {
		t.Fatalf("%d token calls 73s into a 2m (±20%%) backoff, want 2", got)
	}
	if info, _ := m.Account("acct"); info.State != credentials.StateOK {
		t.Errorf("state %q after transient failures, want ok", info.State)
	}
}
