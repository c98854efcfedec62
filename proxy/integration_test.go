package proxy

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func TestDisablingAnAccountInTheStoreTakesItOutOfRotation(t *testing.T) {
	e := newEnv(t, 2, nil)
	ch, stop := e.proxy.Subscribe()
	defer stop()
	acct := e.servedBy("sess-dis", false)
	drain(ch)
	if err := e.tokens.SetEnabled(acct, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(3 * time.Second):
		t.Fatal("no change signalled after the account was disabled")
	}
	if ah := e.accountHealth(acct); ah.Usable || ah.State != StateDisabled || ah.Enabled {
		t.Fatalf("disabled account in health: %+v", ah)
	}
	for i := range 4 {
		if got := e.servedBy("sess-dis", i%2 == 0); got == acct {
			t.Fatalf("the disabled account %s still served", acct)
		}
	}
}

func TestAnAccountOverItsUserCapIsSkippedUntilTheWindowResets(t *testing.T) {
	e := newEnvWith(t, 2, func(recs []seedRecord) { recs[0].SessionLimitPercent = 50 }, nil)
	reset := time.Now().Add(90 * time.Minute)
	e.fake.SetRateLimit(e.token("acct-1"), fakeanthropic.RateLimit{Status: "allowed", Util5h: 0.55, Util7d: 0.1, Reset5h: reset})
	// acct-2 is busy enough that acct-1, below its cap as far as the proxy
	// knows, has more headroom and gets the next request.
	e.fake.SetRateLimit(e.token("acct-2"), fakeanthropic.RateLimit{Status: "allowed", Util5h: 0.7, Util7d: 0.1, Reset5h: reset})
	for i := 0; e.requestsBy("acct-1") == 0 && i < 5; i++ {
		e.servedBy("", false)
	}
	ah := e.accountHealth("acct-1")
	if ah.State != StateOverCap || ah.Usable || ah.SessionLimitPercent != 50 {
		t.Fatalf("acct-1 at 55%% with a 50%% cap: %+v", ah)
	}
	n := e.requestsBy("acct-1")
	for i := range 5 {
		e.servedBy(fmt.Sprintf("cap-%d", i), false)
	}
	if e.requestsBy("acct-1") != n {
		t.Error("the capped account kept getting requests")
	}
}

func TestManyConcurrentSessionsEachStayOnOneAccount(t *testing.T) {
	e := newEnv(t, 3, nil)
	e.fake.SetReply(fakeanthropic.Reply{EventDelay: time.Millisecond})
	const sessions, turns = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, sessions*turns)
	for s := range sessions {
		wg.Go(func() {
			id := fmt.Sprintf("conc-%d", s)
			for turn := range turns {
				resp := e.post(id, turn%2 == 0, nil)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("%s turn %d: %d", id, turn, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	home := map[string]string{}
	for _, r := range e.fake.APIRequests() {
		s, acct := r.Header.Get("X-Claude-Code-Session-Id"), e.accountOf(r.Token)
		if h, ok := home[s]; ok && h != acct {
			t.Errorf("%s served by %s and %s", s, h, acct)
		}
		home[s] = acct
	}
	// The count is taken when the handler returns, just after the client
	// has its last byte.
	h := e.proxy.Health()
	for deadline := time.Now().Add(2 * time.Second); h.TotalRequests < sessions*turns && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		h = e.proxy.Health()
	}
	var total int64
	for _, a := range h.Accounts {
		total += a.Requests
	}
	if h.TotalRequests != sessions*turns || total != sessions*turns {
		t.Errorf("counted %d client requests and %d upstream attempts, want %d", h.TotalRequests, total, sessions*turns)
	}
}

func TestAnUnreachableUpstreamGets502InAnthropicsShape(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.Upstream = "http://127.0.0.1:1" })
	status, _, body := e.do("", false)
	if status != 502 || !strings.Contains(body, `"type":"error"`) || !strings.Contains(body, `"api_error"`) {
		t.Fatalf("%d %s", status, body)
	}
	if ah := e.accountHealth("acct-1"); !ah.Usable {
		t.Errorf("an upstream outage benched the account: %+v", ah)
	}
}

func TestAStreamErrorThatComesLateIsStillFailedOverBeforeTheClientSeesAByte(t *testing.T) {
	e := newEnv(t, 2, nil)
	acct := e.servedBy("sess-late", true)
	e.fake.SetReply(fakeanthropic.Reply{FirstEventDelay: 300 * time.Millisecond})
	e.fake.InjectFault(fakeanthropic.Fault{Token: e.token(acct), StreamError: "overloaded_error", Times: 1})
	status, _, body := e.do("sess-late", true)
	if status != 200 || strings.Contains(body, "event: error") || !strings.HasPrefix(body, "event: message_start") {
		t.Fatalf("%d %s", status, body)
	}
	if got := e.lastAccount(); got == acct {
		t.Fatalf("served by the overloaded account %s", acct)
	}
}

func TestHeadersThatRejectAnAccountOnA200KeepItOutUntilTheReset(t *testing.T) {
	e := newEnv(t, 2, nil)
	acct := e.servedBy("", false)
	reset := time.Now().Add(40 * time.Minute)
	e.fake.SetRateLimit(e.token(acct), fakeanthropic.RateLimit{Status: "rejected", Status7d: "rejected", Claim: "seven_day",
		Util5h: 0.3, Util7d: 1.0, Reset7d: reset})
	e.fake.ResetAPIRequests()
	for i := 0; e.requestsBy(acct) == 0 && i < 10; i++ {
		e.servedBy("", false)
	}
	ah := e.accountHealth(acct)
	if ah.State != StateRateLimited || ah.Usable || ah.RepresentativeClaim != "seven_day" || ah.Status7d != "rejected" ||
		!ah.UsableAt.Equal(reset.Truncate(time.Second)) {
		t.Fatalf("after a rejecting 200: %+v", ah)
	}
	n := e.requestsBy(acct)
	for i := range 4 {
		e.servedBy(fmt.Sprintf("rej-%d", i), false)
	}
	if e.requestsBy(acct) != n {
		t.Error("the rejected account kept getting requests")
	}
	// With the other account benched too, the 429's retry-after points at
	// the rejected account's reset, the earliest.
	other := "acct-1"
	if acct == other {
		other = "acct-2"
	}
	e.fake.InjectFault(fakeanthropic.Fault{Token: e.token(other), Status: 429, RetryAfter: "7200"})
	status, h, _ := e.do("", false)
	ra, _ := strconv.Atoi(h.Get("Retry-After"))
	if want := int(time.Until(reset).Seconds()); status != 429 || ra < want-2 || ra > want+2 {
		t.Errorf("status %d retry-after %d, want 429 and about %d", status, ra, want)
	}
}

func TestStopLetsAStreamInFlightFinishThenCutsWhatOutlivesItsContext(t *testing.T) {
	for _, cut := range []bool{false, true} {
		name := "a stream that ends within the grace period finishes"
		if cut {
			name = "a stream that outlives the grace period is cut and its upstream cancelled"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, 1, nil)
			e.fake.SetReply(fakeanthropic.Reply{EventDelay: 40 * time.Millisecond, Chunks: 10}) // ~0.7s
			resp := e.post("", true, nil)
			defer resp.Body.Close()
			got := make(chan string, 1)
			go func() { b, _ := io.ReadAll(resp.Body); got <- string(b) }()
			time.Sleep(100 * time.Millisecond)
			grace := 5 * time.Second
			if cut {
				grace = 150 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			err := e.proxy.Stop(ctx)
			body := <-got
			complete := strings.Contains(body, "event: message_stop")
			if cut {
				if err == nil || complete {
					t.Errorf("Stop returned %v and the stream completed=%v; want an error and a cut stream", err, complete)
				}
				deadline := time.Now().Add(2 * time.Second)
				for e.fake.InFlight() > 0 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if r := e.fake.APIRequests(); !r[0].ClientGone {
					t.Error("the upstream request ran on after the cut")
				}
			} else if err != nil || !complete {
				t.Errorf("Stop returned %v and the stream completed=%v; want nil and complete", err, complete)
			}
			if e.proxy.Addr() != "" {
				t.Error("still has an address after Stop")
			}
		})
	}
}

func TestA401WhoseRefreshIsRefusedMarksTheAccountAndMovesOn(t *testing.T) {
	e := newEnv(t, 2, nil)
	acct := e.servedBy("sess-dead", false)
	e.fake.InjectFault(fakeanthropic.Fault{Token: e.token(acct), Status: 401})
	e.fake.FailTokenCalls(1, fakeanthropic.TokenFailure{Status: 400, Error: "invalid_grant"})
	if got := e.servedBy("sess-dead", false); got == acct {
		t.Fatalf("served by %s whose refresh token is dead", acct)
	}
	ah := e.accountHealth(acct)
	if ah.State != StateNeedsLogin || ah.Usable || ah.StateReason == "" {
		t.Errorf("after invalid_grant: %+v", ah)
	}
	status, _, _ := e.do("", false)
	if status != 200 || e.lastAccount() == acct {
		t.Errorf("a later request: %d from %s", status, e.lastAccount())
	}
}
