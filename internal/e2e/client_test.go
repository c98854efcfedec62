package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testrouter"
)

// prober checks that the router keeps answering other clients: it sends
// a request through the router every interval and records the slowest.
type prober struct {
	mu       sync.Mutex
	n, fails int
	firstErr string
	slowest  time.Duration
	stop     context.CancelFunc
	done     chan struct{}
}

func startProber(r *testrouter.Router) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{stop: cancel, done: make(chan struct{})}
	c := &http.Client{Timeout: 20 * time.Second}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			req, _ := http.NewRequestWithContext(ctx, "GET", r.URL+"/v1/models", nil)
			req.Header.Set("Anthropic-Version", "2023-06-01")
			resp, err := c.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if ctx.Err() != nil {
				return
			}
			d := time.Since(start)
			p.mu.Lock()
			p.n++
			if err != nil {
				p.fails++
				if p.firstErr == "" {
					p.firstErr = err.Error()
				}
			}
			p.slowest = max(p.slowest, d)
			p.mu.Unlock()
		}
	}()
	return p
}

// check stops the prober and fails the test if the router was not
// answering promptly.
func (p *prober) check(t *testing.T, what string) {
	t.Helper()
	// At least three probes, the last ones after the fault.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		p.mu.Lock()
		n := p.n
		p.mu.Unlock()
		if n >= 3 {
			break
		}
	}
	p.stop()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Logf("%s: %d probes, slowest %v", what, p.n, p.slowest.Round(time.Millisecond))
	if p.n < 3 {
		t.Errorf("%s: only %d probes got through", what, p.n)
	}
	if p.fails > 0 {
		t.Errorf("%s: %d of %d probes failed (first: %s)", what, p.fails, p.n, p.firstErr)
	}
	// Generous: the race detector and two shared cores.
	if p.slowest > 2*time.Second {
		t.Errorf("%s: the slowest probe took %v; the router stalled for other clients", what, p.slowest)
	}
}

// TestClientFaultsLeaveTheRouterResponsive plays misbehaving clients
// against the router while a prober checks that it keeps serving others.
func TestClientFaultsLeaveTheRouterResponsive(t *testing.T) {
	e := newEnv(t, 3)
	r := e.start("")

	t.Run("slow readers of big streams do not stall others or grow memory", func(t *testing.T) {
		e.fake.SetReply(fakeanthropic.Reply{Text: strings.Repeat("slow reader text ", 128<<10), Chunks: 512})
		defer e.fake.SetReply(fakeanthropic.Reply{})
		st0, _ := r.Stats()
		p := startProber(r)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
				defer cancel()
				resp, err := post(ctx, http.DefaultClient, r.URL, messagesBody(true), map[string]string{"X-Claude-Code-Session-Id": fmt.Sprint("slow-", i)})
				if err != nil {
					return
				}
				defer resp.Body.Close()
				buf := make([]byte, 512)
				for ctx.Err() == nil {
					if _, err := resp.Body.Read(buf); err != nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		p.check(t, "slow readers")
		st1, _ := r.Stats()
		// Eight 2 MB streams read slowly: the router must not buffer them.
		if grew := st1.PeakRSSKB - st0.PeakRSSKB; grew > 40<<10 {
			t.Errorf("the router's peak RSS grew by %d MB with 8 slow readers of 2 MB streams", grew>>10)
		}
	})

	t.Run("clients that vanish mid-stream cancel their upstream requests", func(t *testing.T) {
		e.fake.SetReply(fakeanthropic.Reply{EventDelay: 200 * time.Millisecond, Chunks: 20})
		defer e.fake.SetReply(fakeanthropic.Reply{})
		e.fake.ResetAPIRequests()
		p := startProber(r)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				resp, err := post(ctx, http.DefaultClient, r.URL, messagesBody(true), map[string]string{"X-Claude-Code-Session-Id": fmt.Sprint("gone-", i)})
				if err != nil {
					t.Errorf("starting a stream: %v", err)
					return
				}
				br := bufio.NewReader(resp.Body)
				br.ReadString('\n') // the first event has arrived
				cancel()
				resp.Body.Close()
			}()
		}
		wg.Wait()
		// A full stream takes 4 s; cancelled ones must end far sooner.
		waitFor(t, 2*time.Second, "the fake's streams to be cancelled", func() bool {
			return e.fake.InFlight() == 0
		})
		p.check(t, "vanishing clients")
		gone := 0
		for _, rec := range e.fake.APIRequests() {
			if rec.Path == "/v1/messages" && rec.ClientGone {
				gone++
			}
		}
		if gone != 16 {
			t.Errorf("the fake saw %d of 16 upstream streams cut short, want all", gone)
		}
	})

	t.Run("slowloris headers do not starve other clients", func(t *testing.T) {
		p := startProber(r)
		var conns []net.Conn
		for range 200 {
			c, err := net.Dial("tcp", strings.TrimPrefix(r.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			io.WriteString(c, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
		}
		for i := range 10 {
			for _, c := range conns {
				fmt.Fprintf(c, "X-Slow-%d: y", i)
			}
			time.Sleep(100 * time.Millisecond)
		}
		p.check(t, "slowloris")
		if *soak {
			// The router's header timeout (30 s) must close them.
			closed := 0
			deadline := time.Now().Add(45 * time.Second)
			for _, c := range conns {
				c.SetReadDeadline(deadline)
				if _, err := c.Read(make([]byte, 1)); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
					closed++
				}
			}
			t.Logf("slowloris: the router closed %d of %d connections that never finished their headers", closed, len(conns))
			if closed != len(conns) {
				t.Errorf("the router kept %d connections with unfinished headers open for 45 s", len(conns)-closed)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	})

	t.Run("huge headers get 431 and the router stays up", func(t *testing.T) {
		p := startProber(r)
		req, _ := http.NewRequest("POST", r.URL+"/v1/messages", strings.NewReader(messagesBody(false)))
		req.Header.Set("X-Huge", strings.Repeat("h", 2<<20))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("huge headers: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("huge headers: status %d, want 431", resp.StatusCode)
		}
		p.check(t, "huge headers")
	})

	t.Run("a body over the limit gets 413 in Anthropic's shape", func(t *testing.T) {
		p := startProber(r)
		big := bytes.Repeat([]byte("a"), 33<<20)
		body := append([]byte(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"`), big...)
		body = append(body, `"}]}`...)
		req, _ := http.NewRequest("POST", r.URL+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("oversize body: %v", err)
		}
		got := readAll(t, resp)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversize body: status %d, want 413", resp.StatusCode)
		}
		requireAPIError(t, "oversize body", resp.StatusCode, got)
		p.check(t, "oversize body")
	})

	requireAllUsable(t, r, "after the client faults")
	e.requireNoGoroutineLeak(r, "")
}
