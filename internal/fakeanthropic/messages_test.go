package fakeanthropic

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func call(t *testing.T, s *Server, token, beta, acceptEnc, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/v1/messages?beta=true", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if beta != "" {
		req.Header.Set("anthropic-beta", beta)
	}
	if acceptEnc != "" {
		req.Header.Set("Accept-Encoding", acceptEnc) // set by hand: the transport will not decode
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	b, _ := io.ReadAll(r)
	return resp, string(b)
}

const streamBody = `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

func TestMessagesChecksOAuthLikeTheAPI(t *testing.T) {
	s := New()
	defer s.Close()
	good := s.IssueTokens("").AccessToken
	cases := []struct {
		name, token, beta string
		want              int
		wantMsg           string
	}{
		{"no credentials", "", OAuthBeta, 401, "x-api-key header is required"},
		{"an oauth token without the beta", good, "", 401, "OAuth authentication is currently not supported."},
		{"a token the fake never issued", "sk-ant-oat01-made-up", OAuthBeta, 401, "Invalid bearer token"},
		{"an issued token with the beta", good, "claude-code-20250219," + OAuthBeta, 200, "message_stop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := call(t, s, c.token, c.beta, "", streamBody)
			if resp.StatusCode != c.want || !strings.Contains(body, c.wantMsg) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
	reqs := s.APIRequests()
	if len(reqs) != 4 || reqs[3].Token != good || string(reqs[3].Body) != streamBody || reqs[3].RawQuery != "beta=true" {
		t.Errorf("recorded %d requests; last token match %v", len(reqs), len(reqs) == 4 && reqs[3].Token == good)
	}
}

func TestAStreamFollowsTheMessagesEventSequenceAndIsGzippedWhenAsked(t *testing.T) {
	s := New()
	defer s.Close()
	tok := s.IssueTokens("").AccessToken
	reset := time.Now().Add(time.Hour).Truncate(time.Second)
	s.SetRateLimit(tok, RateLimit{Status: "allowed_warning", Util5h: 0.81, Util7d: 0.2, Reset5h: reset, Claim: "five_hour"})
	s.SetReply(Reply{Thinking: true, ToolUse: true, Chunks: 2})
	resp, body := call(t, s, tok, OAuthBeta, "gzip, deflate", streamBody)
	if resp.Header.Get("Content-Encoding") != "gzip" || !s.APIRequests()[0].Gzip {
		t.Error("not gzipped although asked")
	}
	if resp.Header.Get("Anthropic-Ratelimit-Unified-Status") != "allowed_warning" ||
		resp.Header.Get("Anthropic-Ratelimit-Unified-5h-Utilization") != "0.81" ||
		resp.Header.Get("Anthropic-Ratelimit-Unified-5h-Reset") != strconv.FormatInt(reset.Unix(), 10) ||
		resp.Header.Get("Anthropic-Ratelimit-Unified-Representative-Claim") != "five_hour" {
		t.Errorf("rate-limit headers: %v", resp.Header)
	}
	var names []string
	sc := bufio.NewScanner(strings.NewReader(body))
	var lastData map[string]any
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			names = append(names, n)
		}
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			lastData = nil
			if err := json.Unmarshal([]byte(d), &lastData); err != nil {
				t.Fatalf("bad data line %q", d)
			}
			if lastData["type"] != names[len(names)-1] {
				t.Errorf("event %s carries type %v", names[len(names)-1], lastData["type"])
			}
		}
	}
	got := strings.Join(names, ",")
	want := "message_start,ping,content_block_start,content_block_delta,content_block_delta,content_block_delta,content_block_stop," +
		"content_block_start,content_block_delta,content_block_delta,content_block_stop," +
		"content_block_start,content_block_delta,content_block_delta,content_block_stop,message_delta,message_stop"
	if got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	resp, _ = call(t, s, tok, OAuthBeta, "", streamBody)
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzipped although not asked")
	}
}

func TestFaultsAnswerInOrderForTheirTokenAndRunOut(t *testing.T) {
	s := New()
	defer s.Close()
	a, b := s.IssueTokens("").AccessToken, s.IssueTokens("").AccessToken
	s.InjectFault(Fault{Token: a, Status: 429, ShouldRetry: true, RateLimit: &RateLimit{Status: "rejected", Status5h: "rejected"}, Times: 1})
	s.InjectFault(Fault{Token: a, Status: 403, Revoked: true, Times: 1})
	s.InjectFault(Fault{Token: b, StreamError: "overloaded_error", Times: 1})
	resp, body := call(t, s, a, OAuthBeta, "", streamBody)
	if resp.StatusCode != 429 || resp.Header.Get("X-Should-Retry") != "true" || resp.Header.Get("Retry-After") != "" ||
		resp.Header.Get("Anthropic-Ratelimit-Unified-5h-Status") != "rejected" || !strings.Contains(body, `"rate_limit_error"`) {
		t.Errorf("429: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, body = call(t, s, a, OAuthBeta, "", streamBody); resp.StatusCode != 403 || !strings.Contains(body, RevokedMessage) {
		t.Errorf("403: %d %s", resp.StatusCode, body)
	}
	if resp, body = call(t, s, b, OAuthBeta, "", streamBody); resp.StatusCode != 200 || !strings.HasPrefix(body, "event: error\n") || !strings.Contains(body, "overloaded_error") {
		t.Errorf("stream error: %d %s", resp.StatusCode, body)
	}
	for _, tok := range []string{a, b} {
		if resp, _ := call(t, s, tok, OAuthBeta, "", streamBody); resp.StatusCode != 200 {
			t.Errorf("faults did not run out: %d", resp.StatusCode)
		}
	}
	var faults []string
	for _, r := range s.APIRequests() {
		faults = append(faults, r.Fault)
	}
	if strings.Join(faults, "|") != "429|403 revoked|stream overloaded_error||" {
		t.Errorf("recorded faults %q", faults)
	}
}
