package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// TestStreamsUnderLoadWithAnAccountHitting429 keeps 64 streams going
// through the router while one account answers 429 every few seconds: the
// router must fail those over, so no request fails, and its memory must
// stay flat. The quick run lasts a few seconds; -soak runs a minute.
func TestStreamsUnderLoadWithAnAccountHitting429(t *testing.T) {
	e := newEnv(t, 3)
	e.fake.SetReply(fakeanthropic.Reply{EventDelay: 5 * time.Millisecond, Chunks: 8})
	duration, every := 6*time.Second, time.Second
	if *soak {
		// A minute, with a router built without the race detector so
		// that its memory is the router's own.
		duration, every = time.Minute, 3*time.Second
		e.binary = plainRouterBinary
	}
	r := e.start("")

	limited := e.accounts[0].AccessToken
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	var ok, failed, injected atomic.Int64
	var errMu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	// One account hits its limit every few seconds.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.fake.InjectFault(fakeanthropic.Fault{Token: limited, Status: http.StatusTooManyRequests, Times: 1, ShouldRetry: true,
					RetryAfter: "1"})
				injected.Add(1)
			}
		}
	}()
	// Memory samples: after warm-up and at the end.
	var rssMid, rssEnd int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			return
		case <-time.After(duration / 3):
		}
		st, _ := r.Stats()
		rssMid = st.RSSKB
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				// A new session now and then, so the limited account keeps
				// getting picked for some of them.
				session := fmt.Sprintf("load-%d-%d", w, n/5)
				resp, err := post(ctx, client, r.URL, messagesBody(true), map[string]string{"X-Claude-Code-Session-Id": session})
				if ctx.Err() != nil {
					return
				}
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if ctx.Err() != nil {
					return
				}
				switch {
				case err != nil:
				case resp.StatusCode != http.StatusOK:
					err = fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
				case !strings.Contains(string(body), "event: message_stop"):
					err = fmt.Errorf("stream without message_stop: %.200s", body)
				}
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err.Error())
					}
					errMu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	st, _ := r.Stats()
	rssEnd = st.RSSKB

	faulted := 0
	for _, rec := range e.fake.APIRequests() {
		if rec.Fault != "" {
			faulted++
		}
	}
	t.Logf("%v: %d streams completed, %d failed, %d 429s injected, %d answered by the fake as 429; router RSS %d MB after a third, %d MB at the end",
		duration, ok.Load(), failed.Load(), injected.Load(), faulted, rssMid>>10, rssEnd>>10)
	if failed.Load() > 0 {
		t.Errorf("%d requests failed although two accounts could always serve; first errors: %q", failed.Load(), errs)
	}
	if faulted == 0 {
		t.Errorf("no 429 reached the router: the test did not exercise failover")
	}
	if ok.Load() < 64 {
		t.Errorf("only %d streams completed", ok.Load())
	}
	// The race detector's own memory grows with every goroutine, so the
	// quick run (race-built router) only catches runaway growth.
	limit := rssMid + rssMid/2 + 20<<10
	if e.binary == plainRouterBinary && plainRouterBinary != routerBinary || !raceEnabled {
		limit = rssMid + rssMid/4 + 8<<10
	}
	if rssMid > 0 && rssEnd > limit {
		t.Errorf("router RSS grew from %d MB to %d MB under steady load (limit %d MB)", rssMid>>10, rssEnd>>10, limit>>10)
	}
}
