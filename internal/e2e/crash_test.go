package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/testrouter"
)

// rotations records, in front of the fake's token endpoint, every refresh
// the fake answered: spent refresh token -> the one issued in its place.
// The fake itself knows only which tokens are live, not their chains.
type rotations struct {
	mu       sync.Mutex
	next     map[string]string    // spent -> issued
	answered map[string]time.Time // issued -> when the fake's answer came back
	srv      *httptest.Server
	inFlight atomic.Int64 // exchanges with the fake not yet recorded
}

func newRotations(t *testing.T, tokenURL string) *rotations {
	r := &rotations{next: map[string]string{}, answered: map[string]time.Time{}}
	client := &http.Client{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.inFlight.Add(1)
		defer r.inFlight.Add(-1)
		body, _ := io.ReadAll(req.Body)
		var sent struct {
			RefreshToken string `json:"refresh_token"`
		}
		json.Unmarshal(body, &sent)
		// A context of its own: when the router dies mid-request, the
		// exchange with the fake still completes, since the fake may have
		// rotated the token already and that rotation must be recorded.
		out, _ := http.NewRequestWithContext(context.Background(), req.Method, tokenURL, bytes.NewReader(body))
		out.Header = req.Header.Clone()
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var issued struct {
			RefreshToken string `json:"refresh_token"`
		}
		if resp.StatusCode == http.StatusOK && json.Unmarshal(answer, &issued) == nil && issued.RefreshToken != "" {
			r.mu.Lock()
			r.next[sent.RefreshToken] = issued.RefreshToken
			r.answered[issued.RefreshToken] = time.Now()
			r.mu.Unlock()
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// settle waits until no exchange with the fake has been in flight for a
// while: a killed router's last request may still be on its way in.
func (r *rotations) settle() {
	quiet := 0
	for quiet < 5 {
		time.Sleep(10 * time.Millisecond)
		if r.inFlight.Load() == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// answeredAt is when the fake's answer issuing rt came back.
func (r *rotations) answeredAt(rt string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.answered[rt]
}

// forget drops the recorded successor of rt (rt was revived and starts
// a new chain).
func (r *rotations) forget(rt string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.next, rt)
}

// chain follows the recorded rotations from rt: rt, its successor, …
func (r *rotations) chain(rt string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []string{rt}
	for seen := map[string]bool{rt: true}; ; {
		n, ok := r.next[rt]
		if !ok || seen[n] {
			return out
		}
		seen[n] = true
		out = append(out, n)
		rt = n
	}
}

// storedTokens reads accounts.json: id -> refresh token. It fails the test
// when the file does not parse.
func storedTokens(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	var recs []struct {
		ID           string `json:"id"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatalf("%s does not parse after a kill: %v\n%.500s", path, err, data)
	}
	out := map[string]string{}
	for _, r := range recs {
		out[r.ID] = r.RefreshToken
	}
	return out
}

func short(tok string) string {
	if len(tok) > 18 {
		return tok[:18] + "…"
	}
	return tok
}

// TestKillDuringRefreshStormsNeverLosesTheNewestToken kills the router
// with SIGKILL at random moments while it rotates tokens as fast as it
// can, many times over one accounts.json. After every kill the file must
// parse and hold, per account, the newest refresh token the fake issued,
// or the one before it where the kill fell between the fake's answer and
// the fsync (that window is counted and logged).
func TestKillDuringRefreshStormsNeverLosesTheNewestToken(t *testing.T) {
	e := newEnv(t, 3)
	// Tokens issued from now on expire within the refresh buffer, so every
	// request makes the router refresh (or join a refresh) first.
	e.fake.SetTokenLifetime(120)
	for i := range e.accounts {
		e.accounts[i].ExpiresAt = time.Now().Add(time.Minute)
	}
	if err := testrouter.WriteAccounts(e.accountsPath(), e.accounts); err != nil {
		t.Fatal(err)
	}
	rot := newRotations(t, e.fake.TokenURL())

	kills := 30
	if *soak {
		kills = 300
	}
	current := map[string]string{} // id -> refresh token known to be stored
	for _, a := range e.accounts {
		current[a.ID] = a.RefreshToken
	}
	var (
		windowHits int // account snapshots holding the previous token
		afterKill  int // of those, answers that came back after the kill
		rotated    int // refreshes the fake answered
		atKill     = map[int]int{}
	)
	ctx := context.Background()
	for i := range kills {
		r, err := testrouter.Start(ctx, testrouter.Options{
			Binary: routerBinary, Home: e.home, Upstream: e.fake.URL, TokenURL: rot.srv.URL + "/v1/oauth/token",
		})
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		// Drive the storm: every request needs a token within the buffer.
		stormCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &http.Client{}
				for n := 0; stormCtx.Err() == nil; n++ {
					resp, err := post(stormCtx, c, r.URL, messagesBody(n%2 == 0),
						map[string]string{"X-Claude-Code-Session-Id": "crash-" + string(rune('a'+w))})
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			}()
		}
		time.Sleep(time.Duration(rand.IntN(80)) * time.Millisecond)
		killedAt := time.Now()
		r.Kill()
		stop()
		wg.Wait()
		rot.settle()

		stored := storedTokens(t, e.accountsPath())
		if fi, err := os.Stat(e.accountsPath()); err != nil {
			t.Fatal(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Fatalf("kill %d: accounts.json has mode %v, want 0600", i, fi.Mode().Perm())
		}
		hitsNow := 0
		for _, a := range e.accounts {
			got := stored[a.ID]
			ch := rot.chain(current[a.ID])
			rotated += len(ch) - 1
			newest := ch[len(ch)-1]
			switch {
			case got == newest:
				if !e.fake.RefreshTokenLive(got) {
					t.Fatalf("kill %d: account %s holds %s, the newest issued, but the fake says it is not live", i, a.ID, short(got))
				}
			case len(ch) >= 2 && got == ch[len(ch)-2]:
				windowHits++
				if rot.answeredAt(newest).After(killedAt) {
					afterKill++
				}
				hitsNow++
				// The token on disk is spent: revive it so the chain goes on.
				e.fake.AcceptRefreshToken(got)
				rot.forget(got)
			default:
				t.Fatalf("kill %d: account %s holds %s; the fake issued %s last (chain of %d since the previous check): a rotated token was lost",
					i, a.ID, short(got), short(newest), len(ch))
			}
			current[a.ID] = got
		}
		atKill[hitsNow]++
		if exited, err := r.Exited(); exited && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("kill %d: the router exited with %v", i, err)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(e.home, ".accounts.json*"))
	t.Logf("%d kills, %d refreshes answered by the fake; %d times an account was caught in the window between the fake rotating its token and the fsync "+
		"(%d of them: the refresh request was on its way when the router died, the answer came back after the kill; %d: the answer came back before the kill and was not yet on disk); "+
		"kills by accounts caught: %v; %d temporary files left behind",
		kills, rotated, windowHits, afterKill, windowHits-afterKill, atKill, len(leftovers))
	// Each start cleans up what killed writers left; at most the last
	// kill's temp file may remain.
	if len(leftovers) > 1 {
		t.Errorf("%d temporary files left beside accounts.json after %d kills: %v", len(leftovers), kills, leftovers)
	}
	if rotated < kills {
		t.Errorf("only %d refreshes in %d runs: the storm did not storm", rotated, kills)
	}
}
