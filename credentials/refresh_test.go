package credentials_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
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
