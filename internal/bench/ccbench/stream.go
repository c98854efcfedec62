package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// eventArrivals sends one streaming request and returns, for each SSE
// event, when its terminating blank line arrived, counted from the arrival
// of the first event.
func eventArrivals(ctx context.Context, client *http.Client, baseURL string, body []byte, session string) ([]time.Duration, error) {
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
		arrivals []time.Duration
		first    time.Time
		inEvent  bool
	)
	for {
		line, err := br.ReadSlice('\n')
		now := time.Now()
		if len(bytes.TrimSpace(line)) == 0 && len(line) > 0 {
			if inEvent {
				if first.IsZero() {
					first = now
				}
				arrivals = append(arrivals, now.Sub(first))
				inEvent = false
			}
		} else if len(line) > 0 {
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

// lateness turns arrivals of events sent gap apart into how late each
// event (after the first) came compared with the sender's schedule.
func lateness(arrivals []time.Duration, gap time.Duration) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(arrivals); i++ {
		out = append(out, arrivals[i]-time.Duration(i)*gap)
	}
	return out
}

// streamLatency is what the streaming-latency scenario measured.
type streamLatency struct {
	events                int
	gap                   time.Duration
	directP50, directP99  time.Duration // lateness per event, direct
	routerP50, routerP99  time.Duration // lateness per event, through the router
	extraP50, extraMax    time.Duration // router minus direct, event by event
	minGapDirect, minGapR time.Duration // smallest gap seen: near 0 means events were bunched
}

// measureStreamLatency alternates direct and routed streaming requests and
// compares the arrival of each event.
func measureStreamLatency(ctx context.Context, direct, routed *http.Client, fakeURL, routerURL string, body []byte, gap time.Duration, rounds int) (streamLatency, error) {
	var dLate, rLate, extra []time.Duration
	sl := streamLatency{gap: gap, minGapDirect: time.Hour, minGapR: time.Hour}
	for i := range rounds {
		d, err := eventArrivals(ctx, direct, fakeURL, body, fmt.Sprintf("ccbench-stream-%d", i))
		if err != nil {
			return sl, fmt.Errorf("direct: %w", err)
		}
		r, err := eventArrivals(ctx, routed, routerURL, body, fmt.Sprintf("ccbench-stream-%d", i))
		if err != nil {
			return sl, fmt.Errorf("router: %w", err)
		}
		if len(d) != len(r) || len(d) < 3 {
			return sl, fmt.Errorf("direct stream had %d events, routed %d", len(d), len(r))
		}
		sl.events = len(d)
		dl, rl := lateness(d, gap), lateness(r, gap)
		dLate = append(dLate, dl...)
		rLate = append(rLate, rl...)
		for k := range dl {
			extra = append(extra, rl[k]-dl[k])
		}
		for k := 1; k < len(d); k++ {
			sl.minGapDirect = min(sl.minGapDirect, d[k]-d[k-1])
			sl.minGapR = min(sl.minGapR, r[k]-r[k-1])
		}
	}
	slices.Sort(dLate)
	slices.Sort(rLate)
	slices.Sort(extra)
	sl.directP50, sl.directP99 = percentile(dLate, 50), percentile(dLate, 99)
	sl.routerP50, sl.routerP99 = percentile(rLate, 50), percentile(rLate, 99)
	sl.extraP50, sl.extraMax = percentile(extra, 50), extra[len(extra)-1]
	return sl, nil
}
