package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/testrouter"
)

// Faults the broken upstream plays, chosen by the request header
// X-E2e-Fault (the router passes client headers through).
const (
	faultResetBeforeHeaders = "reset-before-headers"
	faultResetMidStream     = "reset-mid-stream"
	faultStall              = "stall"
	faultTruncated          = "truncated-200"
)

// brokenUpstream is a raw TCP server that misbehaves below HTTP: it resets
// connections, stalls, and truncates bodies, which an http.Handler cannot.
type brokenUpstream struct {
	ln    net.Listener
	open  atomic.Int64 // connections not yet closed by either side
	mu    sync.Mutex
	conns []net.Conn
}

func newBrokenUpstream(t *testing.T) *brokenUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &brokenUpstream{ln: ln}
	go b.serve()
	t.Cleanup(b.close)
	return b
}

func (b *brokenUpstream) URL() string { return "http://" + b.ln.Addr().String() }

func (b *brokenUpstream) close() {
	b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
}

func (b *brokenUpstream) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		b.open.Add(1)
		go func() {
			defer b.open.Add(-1)
			b.handle(c)
		}()
	}
}

// reset closes c with an RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

const sseHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"

const firstEvents = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n"

// handle reads one request head (and its body) and misbehaves.
func (b *brokenUpstream) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	io.Copy(io.Discard, req.Body)
	switch req.Header.Get("X-E2e-Fault") {
	case faultResetBeforeHeaders:
		reset(c)
	case faultResetMidStream:
		io.WriteString(c, sseHead+firstEvents)
		time.Sleep(20 * time.Millisecond)
		reset(c)
	case faultStall:
		io.WriteString(c, sseHead+firstEvents)
		// Hold the connection until the router gives up on it (or the
		// test ends and close cuts it).
		c.Read(make([]byte, 1))
	case faultTruncated:
		body := `{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hello there, this reply is cut short`
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body)+400, body)
		time.Sleep(20 * time.Millisecond)
	default:
		io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
	}
}

// TestUpstreamFaultsGiveClientsAnErrorAndBenchNoAccount sends requests
// through the router to upstreams that fail at the network level. The
// client sees an Anthropic-shaped error where the router can still send
// one and an error (never a clean end) where it cannot; no account is
// benched for a network fault; nothing leaks.
func TestUpstreamFaultsGiveClientsAnErrorAndBenchNoAccount(t *testing.T) {
	e := newEnv(t, 3)
	up := newBrokenUpstream(t)
	r := e.start(up.URL())
	client := &http.Client{Timeout: 30 * time.Second}

	// Warm up and take the baseline of file descriptors.
	fdBase := fdCount(t, r.Pid())

	t.Run("a reset before the response headers gives a 5xx in Anthropic's shape", func(t *testing.T) {
		resp, err := post(context.Background(), client, r.URL, messagesBody(false), map[string]string{"X-E2e-Fault": faultResetBeforeHeaders})
		if err != nil {
			t.Fatalf("the client got no reply at all: %v", err)
		}
		body := readAll(t, resp)
		if resp.StatusCode < 500 {
			t.Errorf("status %d, want a 5xx", resp.StatusCode)
		}
		requireAPIError(t, "reset before headers", resp.StatusCode, body)
		requireAllUsable(t, r, "after a reset before headers")
	})

	t.Run("a reset mid-stream ends the client's stream with an error, not a clean end", func(t *testing.T) {
		resp, err := post(context.Background(), client, r.URL, messagesBody(true), map[string]string{"X-E2e-Fault": faultResetMidStream})
		if err != nil {
			t.Fatalf("the client got no reply at all: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want the stream's 200", resp.StatusCode)
		}
		if !strings.Contains(string(body), "message_start") {
			t.Errorf("the events sent before the reset did not reach the client: %q", body)
		}
		cleanEnd := err == nil && !strings.Contains(string(body), "event: error")
		if cleanEnd {
			t.Errorf("the stream ended cleanly after the upstream reset; the client cannot tell it was cut: %q", body)
		}
		requireAllUsable(t, r, "after a reset mid-stream")
	})

	t.Run("a truncated 200 never reaches the client as a complete reply", func(t *testing.T) {
		// A JSON reply is not flushed piecemeal, so when its body breaks
		// nothing has reached the client yet and the router drops the
		// connection; a streamed reply would end with a read error.
		resp, err := post(context.Background(), client, r.URL, messagesBody(false), map[string]string{"X-E2e-Fault": faultTruncated})
		if err == nil {
			defer resp.Body.Close()
			body, rerr := io.ReadAll(resp.Body)
			if rerr == nil {
				t.Errorf("the client read a truncated body (%d bytes, status %d) without an error", len(body), resp.StatusCode)
			}
		}
		requireAllUsable(t, r, "after a truncated 200")
	})

	t.Run("a stalled stream is cut upstream when the client gives up", func(t *testing.T) {
		before := up.open.Load()
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := post(ctx, client, r.URL, messagesBody(true), map[string]string{"X-E2e-Fault": faultStall})
		if err != nil {
			cancel()
			t.Fatalf("the client got no reply at all: %v", err)
		}
		buf := make([]byte, 256)
		if _, err := resp.Body.Read(buf); err != nil {
			t.Errorf("reading the first events of a stalled stream: %v", err)
		}
		cancel()
		resp.Body.Close()
		waitFor(t, 10*time.Second, "the router to close its stalled upstream connection", func() bool {
			return up.open.Load() <= before
		})
		requireAllUsable(t, r, "after a stall")
	})

	t.Run("connection refused gives a 5xx in Anthropic's shape", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := "http://" + ln.Addr().String()
		ln.Close()
		e2 := &env{t: t, fake: e.fake, home: t.TempDir(), accounts: e.accounts}
		if err := testrouter.WriteAccounts(e2.accountsPath(), e.accounts); err != nil {
			t.Fatal(err)
		}
		r2 := e2.start(refused)
		resp, err := post(context.Background(), client, r2.URL, messagesBody(false), nil)
		if err != nil {
			t.Fatalf("the client got no reply at all: %v", err)
		}
		body := readAll(t, resp)
		if resp.StatusCode < 500 {
			t.Errorf("status %d, want a 5xx", resp.StatusCode)
		}
		requireAPIError(t, "connection refused", resp.StatusCode, body)
		requireAllUsable(t, r2, "after connection refused")
	})

	// Many faults in a row must not leak descriptors.
	for i := range 40 {
		fault := []string{faultResetBeforeHeaders, faultResetMidStream, faultTruncated}[i%3]
		resp, err := post(context.Background(), client, r.URL, messagesBody(fault == faultResetMidStream), map[string]string{"X-E2e-Fault": fault})
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	client.CloseIdleConnections()
	waitFor(t, 10*time.Second, "the router's file descriptors to return to the baseline", func() bool {
		return fdCount(t, r.Pid()) <= fdBase+2
	})
	waitFor(t, 10*time.Second, "the broken upstream's connections to close", func() bool {
		return up.open.Load() == 0
	})
	e.requireNoGoroutineLeak(r, up.URL())
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out after %v waiting for %s", timeout, what)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fdCount is the number of open file descriptors of pid.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	st, err := testrouter.ReadProcStats(pid)
	if err != nil {
		t.Fatalf("reading the router's /proc: %v", err)
	}
	return st.FDs
}
