package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// eventArrivals sends one streaming request and returns when each SSE
// event's terminating blank line reached the client.
func eventArrivals(ctx context.Context, client *http.Client, baseURL string, body []byte, session string) ([]time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/v1/messages?beta=true", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("X-Claude-Code-Session-Id", session)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var (
		arrivals []time.Time
		inEvent  bool
	)
	for {
		line, err := br.ReadSlice('\n')
		now := time.Now()
		switch {
		case len(line) > 0 && len(bytes.TrimSpace(line)) == 0:
			if inEvent {
				arrivals = append(arrivals, now)
				inEvent = false
			}
		case len(line) > 0:
			inEvent = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			break
		}
	}
	return arrivals, nil
}

// sendLog collects, from the fake's hook, when each event of each session
// was flushed.
type sendLog struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

func (l *sendLog) record(session string, i int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sent[session]
	for len(s) <= i {
		s = append(s, time.Time{})
	}
	s[i] = at
	l.sent[session] = s
}

func (l *sendLog) get(session string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent[session]
}

// streamLatency is what the streaming-latency scenario measured: for
// every event, the time from the fake flushing it to the client reading
// it (the fake runs in the client's process, so both use one clock).
type streamLatency struct {
	events, rounds       int
	gap                  time.Duration
	directP50, directP99 time.Duration
	routerP50, routerP99 time.Duration
	routerMax            time.Duration
}

// extra is the extra delay per event through the router (p50 to p50).
func (s streamLatency) extra() time.Duration { return s.routerP50 - s.directP50 }

// measureStreamLatency alternates direct and routed streaming requests
// whose events the fake sends gap apart.
func measureStreamLatency(ctx context.Context, direct, routed *http.Client, fakeURL, routerURL string,
	body []byte, gap time.Duration, rounds int, log *sendLog) (streamLatency, error) {
	sl := streamLatency{gap: gap, rounds: rounds}
	var d, r []time.Duration
	one := func(c *http.Client, url, session string, into *[]time.Duration) error {
		arr, err := eventArrivals(ctx, c, url, body, session)
		if err != nil {
			return err
		}
		sent := log.get(session)
		if len(sent) != len(arr) || len(arr) < 3 {
			return fmt.Errorf("the fake sent %d events, the client read %d", len(sent), len(arr))
		}
		sl.events = len(arr)
		for i := range arr {
			*into = append(*into, arr[i].Sub(sent[i]))
		}
		return nil
	}
	for i := range rounds {
		if err := one(direct, fakeURL, fmt.Sprintf("ccbench-stream-direct-%d", i), &d); err != nil {
			return sl, fmt.Errorf("direct: %w", err)
		}
		if err := one(routed, routerURL, fmt.Sprintf("ccbench-stream-router-%d", i), &r); err != nil {
			return sl, fmt.Errorf("router: %w", err)
		}
	}
	slices.Sort(d)
	slices.Sort(r)
	sl.directP50, sl.directP99 = percentile(d, 50), percentile(d, 99)
	sl.routerP50, sl.routerP99 = percentile(r, 50), percentile(r, 99)
	sl.routerMax = r[len(r)-1]
	return sl, nil
}
