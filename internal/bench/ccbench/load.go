package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load is one run of requests against one base URL.
type load struct {
	client      *http.Client
	baseURL     string
	body        []byte
	stream      bool
	concurrency int
	duration    time.Duration // measured part
	warmup      int           // requests per worker before measuring
}

// result is what a load run measured.
type result struct {
	requests  int
	errors    int
	firstErr  string
	elapsed   time.Duration
	latencies []time.Duration // whole request, until the body is read
	ttfb      []time.Duration // until the first byte of the body
}

func (r *result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// sample is one request's timings.
type sample struct {
	latency, ttfb time.Duration
	err           error
}

// requestBody builds a Messages request of about size bytes.
func requestBody(size int, stream bool) []byte {
	head := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":%t,"messages":[{"role":"user","content":"`, stream)
	tail := `"}]}`
	pad := size - len(head) - len(tail)
	if pad < 0 {
		pad = 0
	}
	var b bytes.Buffer
	b.WriteString(head)
	b.WriteString(strings.Repeat("lorem ipsum ", pad/12+1)[:pad])
	b.WriteString(tail)
	return b.Bytes()
}

// do sends one request and reads the whole reply.
func (l *load) do(ctx context.Context, session string) sample {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "POST", l.baseURL+"/v1/messages?beta=true", bytes.NewReader(l.body))
	if err != nil {
		return sample{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Anthropic-Beta", "claude-code-20250219")
	req.Header.Set("Authorization", "Bearer ccbench")
	req.Header.Set("X-Claude-Code-Session-Id", session)
	resp, err := l.client.Do(req)
	if err != nil {
		return sample{err: err}
	}
	defer resp.Body.Close()
	var one [1]byte
	n, err := io.ReadFull(resp.Body, one[:])
	ttfb := time.Since(start)
	if n == 0 {
		return sample{err: fmt.Errorf("status %d, empty body: %v", resp.StatusCode, err)}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return sample{err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return sample{err: fmt.Errorf("status %d", resp.StatusCode)}
	}
	return sample{latency: time.Since(start), ttfb: ttfb}
}

// run sends requests from concurrency workers, each with its own session,
// until duration has passed after the warm-up.
func (l *load) run(ctx context.Context) result {
	var (
		mu  sync.Mutex
		res result
		wg  sync.WaitGroup
	)
	// Warm up: open connections, fill pools, let the router pick accounts.
	for w := range l.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range l.warmup {
				l.do(ctx, fmt.Sprintf("ccbench-%d", w))
			}
		}()
	}
	wg.Wait()

	var stop atomic.Bool
	start := time.Now()
	timer := time.AfterFunc(l.duration, func() { stop.Store(true) })
	defer timer.Stop()
	for w := range l.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1024)
			ttfb := make([]time.Duration, 0, 1024)
			errs, firstErr := 0, ""
			for !stop.Load() {
				s := l.do(ctx, fmt.Sprintf("ccbench-%d", w))
				if s.err != nil {
					errs++
					if firstErr == "" {
						firstErr = s.err.Error()
					}
					continue
				}
				lat = append(lat, s.latency)
				ttfb = append(ttfb, s.ttfb)
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.ttfb = append(res.ttfb, ttfb...)
			res.errors += errs
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	res.sort()
	return res
}

// add merges another run's figures into r.
func (r *result) add(o result) {
	r.requests += o.requests
	r.errors += o.errors
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	r.ttfb = append(r.ttfb, o.ttfb...)
}

// sort orders the samples for percentile.
func (r *result) sort() {
	slices.Sort(r.latencies)
	slices.Sort(r.ttfb)
}

// percentile of sorted durations, p in [0,100].
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
