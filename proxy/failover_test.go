package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// servedBy sends one request for session and returns the account that
// answered it (as the fake saw it) after checking the client got a 200.
func (e *env) servedBy(session string, stream bool) string {
	e.t.Helper()
	before := len(e.fake.APIRequests())
	status, _, body := e.do(session, stream)
	if status != 200 {
		e.t.Fatalf("session %q: status %d: %s", session, status, body)
	}
	reqs := e.fake.APIRequests()
	if len(reqs) == before {
		e.t.Fatalf("session %q: the fake saw no request", session)
	}
	return e.accountOf(reqs[len(reqs)-1].Token)
}

// requestsBy counts the fake's requests made with the account's tokens.
func (e *env) requestsBy(id string) int {
	n := 0
	for _, r := range e.fake.APIRequests() {
		if e.accountOf(r.Token) == id {
			n++
		}
	}
	return n
}

func (e *env) accountHealth(id string) AccountHealth {
	for _, a := range e.proxy.Health().Accounts {
		if a.ID == id {
			return a
		}
	}
	e.t.Fatalf("no account %q in health", id)
	return AccountHealth{}
}

func TestFailoverEndsIn200FromAnotherAccountAndSkipsTheLimitedOne(t *testing.T) {
	resetIn := 2 * time.Hour
	cases := []struct {
		name     string
		stream   bool
		fault    fakeanthropic.Fault
		cooldown time.Duration // expected bench time, about
	}{
		{"a 429 with retry-after benches for retry-after", false,
			fakeanthropic.Fault{Status: 429, RetryAfter: "120"}, 120 * time.Second},
		{"a subscription 429 with only per-window headers benches until the window resets", true,
			fakeanthropic.Fault{Status: 429, ShouldRetry: true, RateLimit: &fakeanthropic.RateLimit{
				Status: "rejected", Status5h: "rejected", Claim: "five_hour", Util5h: 1.02, Reset5h: time.Now().Add(resetIn)}},
			resetIn},
		{"a 429 with only the overall unified reset benches until that reset", false,
			fakeanthropic.Fault{Status: 429, RateLimit: &fakeanthropic.RateLimit{Status: "rejected", Reset: time.Now().Add(resetIn)}},
			resetIn},
		{"a 429 with nothing to go by benches for the 429 default", false,
			fakeanthropic.Fault{Status: 429}, 60 * time.Second},
		{"a 429 whose unified headers still allow the account benches for the 429 default, not until a window reset", false,
			fakeanthropic.Fault{Status: 429, RateLimit: &fakeanthropic.RateLimit{
				Status: "allowed_warning", Claim: "five_hour", Util5h: 0.4, Reset5h: time.Now().Add(resetIn)}},
			60 * time.Second},
		{"a 529 benches for the 529 default", true,
			fakeanthropic.Fault{Status: 529}, 30 * time.Second},
		{"a 529 with retry-after benches for retry-after", false,
			fakeanthropic.Fault{Status: 529, RetryAfter: "7"}, 7 * time.Second},
		{"a revoked 403 is refreshed then failed over when it stays revoked", false,
			fakeanthropic.Fault{Status: 403, Revoked: true}, 5 * time.Minute},
		{"a stream whose first event is overloaded_error", true,
			fakeanthropic.Fault{StreamError: "overloaded_error"}, 30 * time.Second},
		{"a stream whose first event is rate_limit_error", true,
			fakeanthropic.Fault{StreamError: "rate_limit_error"}, 60 * time.Second},
		{"a stream whose first event is rate_limit_error under headers that allow the account benches for the 429 default", true,
			fakeanthropic.Fault{StreamError: "rate_limit_error", RateLimit: &fakeanthropic.RateLimit{
				Status: "allowed", Status5h: "allowed", Claim: "five_hour", Util5h: 0.3, Reset5h: time.Now().Add(resetIn)}},
			60 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 3, nil)
			limited := e.servedBy("sess-1", c.stream)
			f := c.fault
			f.Token = e.token(limited)
			if f.Revoked {
				// Revoked for good: the refreshed token is refused as well.
				e.rejectAccount(limited, f)
			} else {
				e.fake.InjectFault(f)
			}
			before := e.proxy.Health().TotalFailovers
			start := time.Now()
			resp := e.post("sess-1", c.stream, nil)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("client got %d: %s", resp.StatusCode, body)
			}
			if c.stream {
				if !strings.Contains(string(body), "event: message_start") || !strings.Contains(string(body), "event: message_stop") ||
					strings.Contains(string(body), "event: error") {
					t.Fatalf("client stream is not one clean reply:\n%s", body)
				}
			} else if !strings.Contains(string(body), `"type":"message"`) {
				t.Fatalf("client body is not a message: %s", body)
			}
			other := e.lastAccount()
			if other == limited || other == "" {
				t.Fatalf("served by %q, want another account than %q", other, limited)
			}
			if got := e.proxy.Health().TotalFailovers - before; got < 1 {
				t.Errorf("failovers counted: %d", got)
			}
			ah := e.accountHealth(limited)
			if ah.Usable {
				t.Fatalf("%s still usable after the fault: %+v", limited, ah)
			}
			if ah.State != StateCoolingDown && ah.State != StateRateLimited {
				t.Errorf("state %q", ah.State)
			}
			until := ah.CoolingUntil
			if until.IsZero() {
				t.Fatalf("no cooldown recorded: %+v", ah)
			}
			if d := until.Sub(start); d < c.cooldown-2*time.Second || d > c.cooldown+2*time.Second {
				t.Errorf("benched for %v, want about %v", d, c.cooldown)
			}
			if !ah.UsableAt.Equal(until) {
				t.Errorf("usableAt %v, want the cooldown's end %v", ah.UsableAt, until)
			}
			// The session moved and stays; new sessions avoid the limited account.
			n := e.requestsBy(limited)
			for i := range 6 {
				if acct := e.servedBy("sess-1", c.stream); acct != other {
					t.Errorf("sess-1 went to %s after moving to %s", acct, other)
				}
				if acct := e.servedBy(fmt.Sprintf("new-%d", i), c.stream); acct == limited {
					t.Errorf("new session sent to the benched account %s", acct)
				}
			}
			if e.requestsBy(limited) != n {
				t.Errorf("the benched account got %d more requests", e.requestsBy(limited)-n)
			}
		})
	}
}

func TestARejectedTokenIsRefreshedOnceAndRetriedOnTheSameAccount(t *testing.T) {
	cases := []struct {
		name   string
		fault  fakeanthropic.Fault
		status string
	}{
		{"a 401", fakeanthropic.Fault{Status: 401}, "401"},
		{"a 403 saying the token was revoked", fakeanthropic.Fault{Status: 403, Revoked: true}, "403"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 2, nil)
			acct := e.servedBy("sess-401", true)
			old := e.token(acct)
			f := c.fault
			f.Token, f.Times = old, 1
			e.fake.InjectFault(f)
			if got := e.servedBy("sess-401", true); got != acct {
				t.Fatalf("served by %s, want the refreshed %s", got, acct)
			}
			reqs := e.fake.APIRequests()
			last := reqs[len(reqs)-1]
			if last.Token == old {
				t.Fatal("retried with the rejected token")
			}
			if last.Token != e.token(acct) {
				t.Fatal("retried with a token that is not the account's current one")
			}
			if e.refreshes(acct) != 1 {
				t.Errorf("refreshes of %s: %d, want 1", acct, e.refreshes(acct))
			}
			if ah := e.accountHealth(acct); !ah.Usable || ah.ErrorsByStatus[c.status] != 1 {
				t.Errorf("after a good refresh: %+v", ah)
			}
		})
	}
}

func TestA401ThatPersistsAfterRefreshMovesOn(t *testing.T) {
	e := newEnv(t, 2, nil)
	acct := e.servedBy("sess-401b", false)
	e.rejectAccount(acct, fakeanthropic.Fault{Status: 401})
	other := e.servedBy("sess-401b", false)
	if other == acct {
		t.Fatalf("still served by %s", acct)
	}
	if e.refreshes(acct) != 1 {
		t.Errorf("refreshes of %s: %d, want exactly 1", acct, e.refreshes(acct))
	}
	if ah := e.accountHealth(acct); ah.Usable || ah.ErrorsByStatus["401"] != 2 || ah.State != StateCoolingDown {
		t.Errorf("after a refused refresh: %+v", ah)
	}
	// The user fixes the account and presses "Refresh now": new tokens lift
	// the bench without waiting out its 5 minutes.
	e.fake.ClearFaults()
	if err := e.tokens.Refresh(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !e.accountHealth(acct).Usable && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ah := e.accountHealth(acct); !ah.Usable {
		t.Errorf("still benched after new tokens: %+v", ah)
	}
}

func TestWhenEveryAccountIsLimitedTheClientGets429WithRetryAfter(t *testing.T) {
	e := newEnv(t, 2, nil)
	e.fake.InjectFault(fakeanthropic.Fault{Token: e.token("acct-1"), Status: 429, RetryAfter: "90"})
	e.fake.InjectFault(fakeanthropic.Fault{Token: e.token("acct-2"), Status: 529, RetryAfter: "30"})
	for i, stream := range []bool{true, false} {
		before := len(e.fake.APIRequests())
		status, h, body := e.do("sess-all", stream)
		if status != 429 {
			t.Fatalf("status %d: %s", status, body)
		}
		ra, err := strconv.Atoi(h.Get("Retry-After"))
		if err != nil || ra < 29 || ra > 31 {
			t.Errorf("retry-after %q, want about 30", h.Get("Retry-After"))
		}
		var doc struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Type != "error" || doc.Error.Type != "rate_limit_error" || doc.Error.Message == "" {
			t.Errorf("not Anthropic's error shape: %s", body)
		}
		sent := len(e.fake.APIRequests()) - before
		if i == 0 && sent != 2 {
			t.Errorf("first request tried %d accounts, want 2", sent)
		}
		if i == 1 && sent != 0 {
			t.Errorf("with every account benched the upstream still got %d requests", sent)
		}
	}
	if h := e.proxy.Health(); h.Status != "degraded" || h.UsableAccounts != 0 {
		t.Errorf("health %q with %d usable", h.Status, h.UsableAccounts)
	}
}

func TestOtherUpstreamErrorsPassThroughUnmodified(t *testing.T) {
	cases := []struct {
		name  string
		fault fakeanthropic.Fault
	}{
		{"a 400", fakeanthropic.Fault{Status: 400, Message: "messages.0.content: field required"}},
		{"a 500", fakeanthropic.Fault{Status: 500}},
		{"a 403 that is not about a revoked token", fakeanthropic.Fault{Status: 403, Message: "This organization has been disabled."}},
		{"a 413", fakeanthropic.Fault{Status: 413}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 2, nil)
			c.fault.Times = 1
			e.fake.InjectFault(c.fault)
			status, _, body := e.do("", false)
			if status != c.fault.Status {
				t.Fatalf("status %d, want %d", status, c.fault.Status)
			}
			if c.fault.Message != "" && !strings.Contains(body, c.fault.Message) {
				t.Errorf("body changed: %s", body)
			}
			if !strings.Contains(body, `"request_id":"req_`) || strings.Contains(body, "cc-router") {
				t.Errorf("not the upstream's own error: %s", body)
			}
			if n := len(e.fake.APIRequests()); n != 1 {
				t.Errorf("upstream got %d requests, want 1 (no failover)", n)
			}
		})
	}
}

func TestABodyOverTheLimitGets413InAnthropicsShape(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.MaxBodyBytes = 1024 })
	big := fmt.Sprintf(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":%q}]}`, strings.Repeat("x", 2048))
	for _, chunked := range []bool{false, true} {
		var r io.Reader = strings.NewReader(big)
		if chunked {
			r = io.MultiReader(r) // hides the length: sent chunked
		}
		resp, err := http.Post(e.url+"/v1/messages", "application/json", r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(b), `"request_too_large"`) {
			t.Errorf("chunked=%v: %d %s", chunked, resp.StatusCode, b)
		}
	}
	if n := len(e.fake.APIRequests()); n != 0 {
		t.Errorf("upstream got %d requests", n)
	}
}

func TestAClientThatDisconnectsMidStreamCancelsTheUpstreamRequest(t *testing.T) {
	e := newEnv(t, 1, nil)
	e.fake.SetReply(fakeanthropic.Reply{EventDelay: 100 * time.Millisecond, Chunks: 30})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1/messages", strings.NewReader(fmt.Sprintf(testBody, true)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(3 * time.Second)
	for e.fake.InFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := e.fake.APIRequests()
	if len(reqs) != 1 || !reqs[0].ClientGone || reqs[0].Finished.IsZero() {
		for _, r := range reqs {
			t.Logf("upstream request: finished=%v clientGone=%v status=%d", !r.Finished.IsZero(), r.ClientGone, r.Status)
		}
		t.Fatalf("the upstream request was not cancelled (%d requests)", len(reqs))
	}
	if took := reqs[0].Finished.Sub(reqs[0].Started); took > 2*time.Second {
		t.Errorf("upstream ran %v, the full reply would take 3s", took)
	}
	// No goroutine of the proxy's request path is left behind.
	var stacks string
	for time.Now().Before(deadline) {
		b := make([]byte, 1<<20)
		stacks = string(b[:runtime.Stack(b, true)])
		if !strings.Contains(stacks, "proxy.(*Proxy).forward") && !strings.Contains(stacks, "httputil.(*ReverseProxy)") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(stacks, "proxy.(*Proxy).forward") || strings.Contains(stacks, "httputil.(*ReverseProxy)") {
		t.Errorf("request goroutines left behind:\n%s", stacks)
	}
	if !strings.Contains(e.logs.String(), "client_gone=true") {
		t.Errorf("the log does not record the client going away:\n%s", e.logs.String())
	}
}

func TestAClientThatDisconnectsBeforeTheFirstEventCancelsTheUpstreamRequest(t *testing.T) {
	// While the proxy waits for the upstream's headers and holds the
	// first event back, nothing has been written to the client, so only
	// the request's context can tell the upstream the client is gone.
	e := newEnv(t, 1, nil)
	e.fake.SetReply(fakeanthropic.Reply{FirstEventDelay: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1/messages", strings.NewReader(fmt.Sprintf(testBody, true)))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(3 * time.Second)
	for e.fake.InFlight() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	for e.fake.InFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := e.fake.APIRequests()
	if len(reqs) != 1 || !reqs[0].ClientGone || reqs[0].Finished.IsZero() {
		t.Fatalf("the upstream request was not cancelled (%d requests)", len(reqs))
	}
	if took := reqs[0].Finished.Sub(reqs[0].Started); took > 2*time.Second {
		t.Errorf("upstream ran %v after the client left, the first event comes at 5s", took)
	}
}

func TestConcurrent401sOnOneAccountShareOneRefresh(t *testing.T) {
	e := newEnv(t, 1, nil)
	old := e.token("acct-1")
	e.fake.InjectFault(fakeanthropic.Fault{Token: old, Status: 401})
	e.fake.SetReply(fakeanthropic.Reply{FirstEventDelay: 50 * time.Millisecond})
	const n = 6
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, _, _ := e.do(fmt.Sprintf("sess-join-%d", i), i%2 == 0)
			statuses <- status
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("a client got %d, want 200 from the refreshed token", s)
		}
	}
	if got := e.refreshes("acct-1"); got != 1 {
		t.Errorf("%d refreshes for %d concurrent 401s of one token, want 1", got, n)
	}
}
