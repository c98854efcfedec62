package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func TestTheUpstreamSeesOnlyAccountTokensTheOAuthBetaAndTheBodyUnchanged(t *testing.T) {
	e := newEnv(t, 2, nil)
	body := `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"héllo \u00e9"}],  "metadata":{"user_id":"u1"}}`
	cases := []struct {
		name      string
		header    map[string]string
		wantBetas string
	}{
		{"client betas are kept and the oauth beta appended", map[string]string{"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"},
			"claude-code-20250219,interleaved-thinking-2025-05-14," + fakeanthropic.OAuthBeta},
		{"no client betas gives just the oauth beta", nil, fakeanthropic.OAuthBeta},
		{"an oauth beta already there is not repeated", map[string]string{"anthropic-beta": fakeanthropic.OAuthBeta + ",x"}, fakeanthropic.OAuthBeta + ",x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fake.ResetAPIRequests()
			req, _ := http.NewRequest("POST", e.url+"/v1/messages?beta=true", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer client-secret-should-not-pass")
			req.Header.Set("X-Api-Key", "sk-ant-api03-client-key-should-not-pass")
			req.Header.Set("Accept-Encoding", "br")
			req.Header.Set("User-Agent", "claude-cli/2.0.0 (external, cli)")
			req.Header.Set("X-App", "cli")
			req.Header.Set("X-Stainless-Lang", "js")
			req.Header.Set("anthropic-version", "2023-06-01")
			req.Header.Set("anthropic-dangerous-direct-browser-access", "true")
			req.Header.Set("X-Claude-Code-Session-Id", "sess-headers")
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			reqs := e.fake.APIRequests()
			if len(reqs) != 1 {
				t.Fatalf("fake saw %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if acct := e.accountOf(got.Token); acct == "" {
				t.Errorf("upstream token is not an account token (prefix %.16s)", got.Token)
			}
			if got.Header.Get("X-Api-Key") != "" {
				t.Error("x-api-key reached the upstream")
			}
			if n := len(got.Header.Values("Authorization")); n != 1 {
				t.Errorf("upstream saw %d Authorization headers, want 1", n)
			}
			if b := strings.Join(got.Header.Values("Anthropic-Beta"), ","); b != c.wantBetas {
				t.Errorf("anthropic-beta = %q, want %q", b, c.wantBetas)
			}
			if string(got.Body) != body {
				t.Errorf("body changed:\n got %q\nwant %q", got.Body, body)
			}
			if got.Path != "/v1/messages" || got.RawQuery != "beta=true" {
				t.Errorf("path %q query %q", got.Path, got.RawQuery)
			}
			for _, h := range []string{"User-Agent", "X-App", "X-Stainless-Lang", "Anthropic-Version", "Anthropic-Dangerous-Direct-Browser-Access", "X-Claude-Code-Session-Id"} {
				if got.Header.Get(h) != req.Header.Get(h) {
					t.Errorf("%s = %q, want %q", h, got.Header.Get(h), req.Header.Get(h))
				}
			}
			if ae := got.Header.Get("Accept-Encoding"); strings.Contains(ae, "br") {
				t.Errorf("client Accept-Encoding forwarded: %q", ae)
			}
		})
	}
}

func TestCountTokensAndModelsAreForwardedWithPathAndQuery(t *testing.T) {
	e := newEnv(t, 1, nil)
	resp, err := http.Post(e.url+"/v1/messages/count_tokens?beta=true", "application/json",
		strings.NewReader(`{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "input_tokens") {
		t.Fatalf("count_tokens: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(e.url + "/v1/models?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "claude-") {
		t.Fatalf("models: %d %s", resp.StatusCode, b)
	}
	reqs := e.fake.APIRequests()
	if len(reqs) != 2 || reqs[0].RawQuery != "beta=true" || reqs[1].Path != "/v1/models" || reqs[1].RawQuery != "limit=5" {
		t.Fatalf("fake saw %+v", reqs)
	}
	h := e.proxy.Health()
	if h.Accounts[0].Tokens.InputTokens != 0 {
		t.Errorf("count_tokens was counted as usage: %+v", h.Accounts[0].Tokens)
	}
}

// readEvents reads SSE events from r, noting when each arrived.
func readEvents(t *testing.T, r io.Reader) (names []string, at []time.Time) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			names = append(names, name)
			at = append(at, time.Now())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names, at
}

func TestStreamedEventsReachTheClientOneByOne(t *testing.T) {
	for _, gzipped := range []bool{false, true} {
		name := "plain upstream stream"
		if gzipped {
			name = "gzipped upstream stream"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, 1, nil)
			const gap = 60 * time.Millisecond
			e.fake.SetReply(fakeanthropic.Reply{EventDelay: gap, Chunks: 4, Thinking: true, ToolUse: true, NoGzip: !gzipped})
			start := time.Now()
			resp := e.post("sess-stream", true, nil)
			defer resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			names, at := readEvents(t, resp.Body)
			want := []string{"message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta",
				"content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta",
				"content_block_delta", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta",
				"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
			if strings.Join(names, " ") != strings.Join(want, " ") {
				t.Fatalf("events:\n got %v\nwant %v", names, want)
			}
			// Each event must arrive about one gap after the previous one:
			// buffering would bunch them together at the end.
			bunched := 0
			for i := 1; i < len(at); i++ {
				if at[i].Sub(at[i-1]) < gap/3 {
					bunched++
				}
			}
			if bunched > len(at)/3 { // buffering bunches them all; allow for a loaded machine
				t.Errorf("%d of %d events arrived bunched (less than %v apart); first arrived after %v",
					bunched, len(at)-1, gap/3, at[0].Sub(start))
			}
			if first := at[0].Sub(start); first > time.Duration(len(at)/2)*gap {
				t.Errorf("first event took %v: the stream was held back", first)
			}
			reqs := e.fake.APIRequests()
			if reqs[0].Gzip != gzipped {
				t.Errorf("upstream reply gzip = %v, want %v", reqs[0].Gzip, gzipped)
			}
			if gzipped && resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("client got Content-Encoding %q after the proxy decoded", resp.Header.Get("Content-Encoding"))
			}
			// Usage was read from the (decoded) stream.
			want2 := Usage{InputTokens: 12, OutputTokens: 42, CacheReadInputTokens: 2048, CacheCreationInputTokens: 256}
			if got := e.tokensOf("acct-1", want2); got != want2 {
				t.Errorf("tokens = %+v, want %+v", got, want2)
			}
		})
	}
}

func TestJSONRepliesAreCountedFromTheirUsage(t *testing.T) {
	e := newEnv(t, 1, nil)
	e.fake.SetReply(fakeanthropic.Reply{InputTokens: 7, OutputTokens: 9, CacheReadInputTokens: 100, CacheCreationInputTokens: 3, ToolUse: true})
	for range 2 {
		status, _, body := e.do("", false)
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || m["type"] != "message" {
			t.Fatalf("reply is not a message: %s", body)
		}
	}
	want := Usage{InputTokens: 14, OutputTokens: 18, CacheReadInputTokens: 200, CacheCreationInputTokens: 6}
	got := e.tokensOf("acct-1", want)
	if got != want {
		t.Errorf("tokens = %+v, want %+v", got, want)
	}
}

func TestHealthReportsAccountsAndNeverATokenNorDoLogs(t *testing.T) {
	e := newEnv(t, 3, nil)
	for i := range 6 {
		e.do("sess-h-"+string(rune('a'+i)), i%2 == 0)
	}
	resp, err := http.Get(e.url + HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("health is not JSON: %v", err)
	}
	for _, k := range []string{"status", "mode", "upstream", "uptimeSeconds", "totalRequests", "accounts"} {
		if _, ok := h[k]; !ok {
			t.Errorf("health lacks %q", k)
		}
	}
	if h["status"] != "ok" || h["totalRequests"].(float64) != 6 {
		t.Errorf("status %v totalRequests %v", h["status"], h["totalRequests"])
	}
	accts := h["accounts"].([]any)
	if len(accts) != 3 {
		t.Fatalf("%d accounts", len(accts))
	}
	for _, tok := range e.allTokens() {
		if strings.Contains(string(raw), tok) || strings.Contains(string(raw), tok[len(tok)-12:]) {
			t.Errorf("health holds a token (prefix %.14s)", tok)
		}
		if strings.Contains(e.logs.String(), tok) {
			t.Errorf("logs hold a token (prefix %.14s)", tok)
		}
	}
	if !strings.Contains(e.logs.String(), "msg=request") || !bytes.Contains([]byte(e.logs.String()), []byte("account=acct-")) {
		t.Errorf("no request log lines:\n%s", e.logs.String())
	}
}

func fakeFault429(token string) fakeanthropic.Fault {
	return fakeanthropic.Fault{Token: token, Status: 429, RetryAfter: "120"}
}

func TestUpstreamConnectionsAreReused(t *testing.T) {
	e := newEnv(t, 2, nil)
	// A limited account's replies are drained and closed by the proxy;
	// their connections must be reusable too.
	e.fake.InjectFault(fakeanthropic.Fault{Token: e.token("acct-1"), Status: 429, RetryAfter: "0.001", Times: 3})
	const n = 20
	for i := range n {
		if status, _, body := e.do("", i%2 == 0); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	limited := 0
	for _, r := range e.fake.APIRequests() {
		if r.Status == 429 {
			limited++
		}
	}
	if limited != 3 {
		t.Errorf("the fake answered %d requests with 429, want 3", limited)
	}
	if got := e.fake.ConnsOpened(); got != 1 {
		t.Errorf("%d upstream connections for %d sequential requests, want one reused throughout", got, n)
	}
}
