package proxy

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// The load measurement: the same requests sent to the fake directly and
// through the proxy (3 accounts, sessions, usage tracking, one log line
// per request to a discarding handler). Serial runs give the added
// latency per request; parallel runs give requests per second.
//
//	go test -run '^$' -bench 'Direct|Proxied' -benchtime 3s ./proxy/

func benchEnv(b *testing.B) *env {
	return newEnv(b, 3, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
}

// benchClient keeps connections alive across the benchmark's requests.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}

func benchRequest(b *testing.B, url, token, session string, stream bool) {
	req, _ := http.NewRequest("POST", url+"/v1/messages?beta=true", strings.NewReader(fmt.Sprintf(testBody, stream)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("X-Claude-Code-Session-Id", session)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("anthropic-beta", fakeanthropic.OAuthBeta)
	}
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

func runBench(b *testing.B, proxied, stream, parallel bool) {
	e := benchEnv(b)
	url, token := e.fake.URL, e.token("acct-1")
	if proxied {
		url, token = e.url, ""
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if parallel {
		b.SetParallelism(4)
		n := 0
		b.RunParallel(func(pb *testing.PB) {
			n++
			session := fmt.Sprintf("bench-%d", n)
			for pb.Next() {
				benchRequest(b, url, token, session, stream)
			}
		})
	} else {
		for i := 0; b.Loop(); i++ {
			benchRequest(b, url, token, fmt.Sprintf("bench-%d", i%8), stream)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	b.StopTimer()
	e.fake.ResetAPIRequests()
}

func BenchmarkDirectJSON(b *testing.B)            { runBench(b, false, false, false) }
func BenchmarkProxiedJSON(b *testing.B)           { runBench(b, true, false, false) }
func BenchmarkDirectStream(b *testing.B)          { runBench(b, false, true, false) }
func BenchmarkProxiedStream(b *testing.B)         { runBench(b, true, true, false) }
func BenchmarkDirectStreamParallel(b *testing.B)  { runBench(b, false, true, true) }
func BenchmarkProxiedStreamParallel(b *testing.B) { runBench(b, true, true, true) }

// BenchmarkPick is the selection path alone: 10 accounts, a session that
// is pinned, and one that is not.
func BenchmarkPick(b *testing.B) {
	e := newEnv(b, 10, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	tr := e.proxy.track
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tr.pick("", nil, now); !ok {
			b.Fatal("no account")
		}
		if _, ok := tr.pick("acct-7", nil, now); !ok {
			b.Fatal("no account")
		}
	}
}
