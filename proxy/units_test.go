package proxy

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

const sampleStream = "event: message_start\r\n" +
	`data: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":5,"cache_creation_input_tokens":7,"cache_read_input_tokens":900,"output_tokens":1}}}` + "\r\n\r\n" +
	"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
	"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"usage\":{\"output_tokens\":999}"}}` + "\n\n" +
	"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":33}}` + "\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

func TestTheSSEScannerFindsUsageWhateverTheChunking(t *testing.T) {
	want := Usage{InputTokens: 5, OutputTokens: 33, CacheReadInputTokens: 900, CacheCreationInputTokens: 7}
	for _, size := range []int{1, 2, 3, 7, 64, len(sampleStream)} {
		var s sseUsage
		for i := 0; i < len(sampleStream); i += size {
			s.Write([]byte(sampleStream[i:min(i+size, len(sampleStream))]))
		}
		if s.usage != want {
			t.Errorf("chunks of %d: %+v, want %+v", size, s.usage, want)
		}
	}
}

func TestTheSSEScannerSkipsOverlongLinesWithoutKeepingThem(t *testing.T) {
	var s sseUsage
	huge := "event: content_block_delta\ndata: " + strings.Repeat("x", 3*maxSSELine) + "\n\n"
	s.Write([]byte(huge))
	s.Write([]byte(sampleStream))
	if s.usage.OutputTokens != 33 || cap(s.line) > 2*maxSSELine {
		t.Errorf("usage %+v, line buffer %d bytes", s.usage, cap(s.line))
	}
}

func TestTheJSONScannerReadsTheTopLevelUsage(t *testing.T) {
	cases := []struct {
		name string
		body string
		want Usage
		ok   bool
	}{
		{"a plain message",
			`{"id":"m","type":"message","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":4,"cache_read_input_tokens":5,"cache_creation_input_tokens":6}}`,
			Usage{3, 4, 5, 6}, true},
		{"a tool input with its own usage key comes before the real one",
			`{"content":[{"type":"tool_use","input":{"usage":{"input_tokens":999}}}],"usage":{"input_tokens":1,"output_tokens":2}}`,
			Usage{InputTokens: 1, OutputTokens: 2}, true},
		{"usage text inside a string is not a key",
			`{"content":[{"type":"text","text":"say \"usage\": {\"input_tokens\": 5}"}]}`,
			Usage{}, false},
		{"a long body keeps only its tail",
			`{"content":[{"type":"text","text":"` + strings.Repeat("y", 100_000) + `"}],"usage":{"input_tokens":8,"output_tokens":9}}`,
			Usage{InputTokens: 8, OutputTokens: 9}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, size := range []int{1, 100, 4096, len(c.body)} {
				var j jsonUsage
				for i := 0; i < len(c.body); i += size {
					j.Write([]byte(c.body[i:min(i+size, len(c.body))]))
				}
				got, ok := j.result()
				if got != c.want || ok != c.ok {
					t.Fatalf("chunks of %d: %+v %v, want %+v %v", size, got, ok, c.want, c.ok)
				}
				if cap(j.tail) > 3*jsonTailKeep {
					t.Fatalf("kept %d bytes", cap(j.tail))
				}
			}
		})
	}
}

func TestReadFirstEventSkipsPingsAndKeepsEverythingForReplay(t *testing.T) {
	cases := []struct {
		name, stream, wantName string
	}{
		{"message_start first", sampleStream, "message_start"},
		{"a ping before an error", "event: ping\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", "error"},
		{"a comment line before the first event", ": keep-alive\n\nevent: message_start\ndata: {}\n\n", "message_start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := iotest.OneByteReader(strings.NewReader(c.stream))
			held, name, data, err := readFirstEvent(r, 1<<16)
			if err != nil || name != c.wantName {
				t.Fatalf("name %q err %v", name, err)
			}
			if name == "error" && errorType(data) != "overloaded_error" {
				t.Errorf("error type %q", errorType(data))
			}
			rest, _ := io.ReadAll(r)
			if got := string(held) + string(rest); got != c.stream {
				t.Errorf("replayed stream differs:\n got %q\nwant %q", got, c.stream)
			}
		})
	}
	held, name, _, err := readFirstEvent(strings.NewReader(strings.Repeat("z", 5000)), 1024)
	if name != "" || err != nil || len(held) < 1024 {
		t.Errorf("a stream without events: held %d name %q err %v", len(held), name, err)
	}
}

func TestTheAffinityTableForgetsIdleSessionsAndStaysBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := newAffinity(time.Hour, 3)
	a.set("s1", "acct-1", now)
	if got := a.get("s1", now.Add(59*time.Minute)); got != "acct-1" {
		t.Fatalf("s1 = %q within its TTL", got)
	}
	if got := a.get("s1", now.Add(59*time.Minute+61*time.Minute)); got != "" {
		t.Errorf("s1 = %q after idling past its TTL", got)
	}
	for i := range 5 {
		a.set(fmt.Sprintf("t%d", i), "acct-2", now.Add(time.Duration(i)*time.Second))
	}
	if a.len() != 3 {
		t.Errorf("%d sessions held, bound is 3", a.len())
	}
	if a.get("t0", now.Add(10*time.Second)) != "" || a.get("t4", now.Add(10*time.Second)) != "acct-2" {
		t.Error("the bound evicted the wrong sessions")
	}
	a.set("t4", "acct-3", now.Add(11*time.Second)) // a failover moves it
	if got := a.get("t4", now.Add(12*time.Second)); got != "acct-3" {
		t.Errorf("moved session = %q", got)
	}
}

func TestRateLimitHeadersAreMergedAndParsed(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var rl rateLimit
	h := map[string][]string{
		"Anthropic-Ratelimit-Unified-Status":               {"allowed_warning"},
		"Anthropic-Ratelimit-Unified-5h-Utilization":       {"0.91"},
		"Anthropic-Ratelimit-Unified-7d-Utilization":       {"0.4"},
		"Anthropic-Ratelimit-Unified-5h-Reset":             {"1800003600"},
		"Anthropic-Ratelimit-Unified-Representative-Claim": {"five_hour"},
	}
	if !rl.merge(h, now) || rl.Status != "allowed_warning" || rl.Util5h != 0.91 || rl.Util7d != 0.4 ||
		!rl.Reset5h.Equal(time.Unix(1_800_003_600, 0)) || rl.Claim != "five_hour" {
		t.Fatalf("parsed %+v", rl)
	}
	// A later 429 with only per-window headers keeps what it does not say.
	if !rl.merge(map[string][]string{"Anthropic-Ratelimit-Unified-5h-Status": {"rejected"}}, now) || rl.Util7d != 0.4 {
		t.Fatalf("after merge %+v", rl)
	}
	if got := rl.resetHint(now); !got.Equal(time.Unix(1_800_003_600, 0)) {
		t.Errorf("reset hint %v", got)
	}
	if rl.merge(map[string][]string{"Content-Type": {"x"}}, now) {
		t.Error("a response without unified headers counted as seen")
	}
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{{"30", 30 * time.Second, true}, {"1.5", 1500 * time.Millisecond, true}, {"", 0, false}, {"soon", 0, false},
		{now.Add(time.Minute).UTC().Format(httpTimeFormat), time.Minute, true}} {
		if d, ok := parseRetryAfter(c.v, now); d != c.want || ok != c.ok {
			t.Errorf("retry-after %q = %v %v", c.v, d, ok)
		}
	}
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestTheCooldownOfALimitFollowsRetryAfterThenARejectedWindowsResetThenTheDefault(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	reset := strconv.FormatInt(now.Add(2*time.Hour).Unix(), 10)
	const def = time.Minute
	cases := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"retry-after wins over every reset", map[string]string{"Retry-After": "45",
			"Anthropic-Ratelimit-Unified-5h-Status": "rejected", "Anthropic-Ratelimit-Unified-5h-Reset": reset}, 45 * time.Second},
		{"a rejected window benches until its reset", map[string]string{
			"Anthropic-Ratelimit-Unified-5h-Status": "rejected", "Anthropic-Ratelimit-Unified-5h-Reset": reset}, 2 * time.Hour},
		{"a reset without any status benches until it", map[string]string{"Anthropic-Ratelimit-Unified-Reset": reset}, 2 * time.Hour},
		{"an allowed overall status ignores the claim's reset", map[string]string{"Anthropic-Ratelimit-Unified-Status": "allowed",
			"Anthropic-Ratelimit-Unified-Representative-Claim": "five_hour", "Anthropic-Ratelimit-Unified-5h-Reset": reset}, def},
		{"windows that only say allowed ignore their reset", map[string]string{"Anthropic-Ratelimit-Unified-5h-Status": "allowed_warning",
			"Anthropic-Ratelimit-Unified-7d-Status": "allowed", "Anthropic-Ratelimit-Unified-5h-Reset": reset}, def},
		{"one rejected window outweighs an allowed overall status", map[string]string{"Anthropic-Ratelimit-Unified-Status": "allowed",
			"Anthropic-Ratelimit-Unified-7d-Status": "rejected", "Anthropic-Ratelimit-Unified-7d-Reset": reset}, 2 * time.Hour},
		{"no headers at all give the default", nil, def},
	}
	p := &Proxy{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := make(http.Header)
			for k, v := range c.header {
				h.Set(k, v)
			}
			if got := p.cooldownFromHeaders(h, now, def, true); got != c.want {
				t.Errorf("cooldown %v, want %v", got, c.want)
			}
		})
	}
}

func TestTheDefaultsAreTheIssuesOnes(t *testing.T) {
	e := newEnv(t, 1, nil)
	p, err := New(Config{Upstream: e.fake.URL}, e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	c := p.cfg
	if c.MaxBodyBytes != 32<<20 || c.Cooldown429 != 60*time.Second || c.Cooldown529 != 30*time.Second {
		t.Errorf("body limit %d, cooldowns %v and %v; want 32 MiB, 60s and 30s", c.MaxBodyBytes, c.Cooldown429, c.Cooldown529)
	}
	if p.aff.ttl != time.Hour || p.aff.max <= 0 || p.aff.max > 100_000 {
		t.Errorf("affinity idle TTL %v and bound %d; want 1h and a bound", p.aff.ttl, p.aff.max)
	}
	if c.DialTimeout <= 0 || c.TLSHandshakeTimeout <= 0 || c.ResponseHeaderTimeout <= 0 {
		t.Errorf("dial, TLS and header timeouts %v %v %v; want all set", c.DialTimeout, c.TLSHandshakeTimeout, c.ResponseHeaderTimeout)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr.ResponseHeaderTimeout != c.ResponseHeaderTimeout || tr.TLSHandshakeTimeout != c.TLSHandshakeTimeout || tr.DisableKeepAlives {
		t.Errorf("the transport does not carry the timeouts or keeps no connections alive")
	}
}

func TestAnUpstreamSlowerThanTheHeaderTimeoutGets502(t *testing.T) {
	e := newEnv(t, 1, func(c *Config) { c.ResponseHeaderTimeout = 200 * time.Millisecond })
	// The fake's stream headers go out with its first event.
	e.fake.SetReply(fakeanthropic.Reply{FirstEventDelay: 3 * time.Second})
	start := time.Now()
	status, _, body := e.do("", true)
	if status != http.StatusBadGateway || !strings.Contains(body, `"api_error"`) {
		t.Errorf("%d %s; want 502 in Anthropic's shape", status, body)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("answered after %v; the header timeout is 200ms", took)
	}
}
