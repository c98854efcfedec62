package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// browserEnv, when set in the environment, makes the test binary act as a
// browser program (see TestMain); its value is the file it reports to.
const browserEnv = "SIGNIN_TEST_BROWSER_REPORT"

// browserFailEnv makes the test browser fail at once, as xdg-open does
// when there is no browser.
const browserFailEnv = "SIGNIN_TEST_BROWSER_FAIL"

func TestMain(m *testing.M) {
	if report := os.Getenv(browserEnv); report != "" {
		os.Exit(actAsBrowser(report))
	}
	os.Exit(m.Run())
}

// browserReport is what the re-executed test binary saw as a browser.
type browserReport struct {
	Args   []string // its arguments, program name excluded
	Final  string   // where it stopped: the first redirect leaving loopback
	Status int
}

// actAsBrowser is the test binary run as the BROWSER program: it records
// its arguments, visits the URL and reports where it ended.
func actAsBrowser(report string) int {
	if os.Getenv(browserFailEnv) != "" {
		return 3
	}
	r := browserReport{Args: os.Args[1:]}
	if len(os.Args) == 2 {
		v := visit(os.Args[1], nil)
		r.Status = v.status
		if v.final != nil {
			r.Final = v.final.String()
		}
	}
	b, _ := json.Marshal(r)
	if os.WriteFile(report+".tmp", b, 0o600) != nil || os.Rename(report+".tmp", report) != nil {
		return 1
	}
	return 0
}

// visitResult is where a visit ended.
type visitResult struct {
	final  *url.URL
	status int
	body   string
	err    error
}

// visit plays the browser with the fake's Browse.
func visit(rawURL string, tamper func(*url.URL)) visitResult {
	v := fakeanthropic.Browse(rawURL, tamper)
	return visitResult{final: v.Final, status: v.Status, body: v.Body, err: v.Err}
}

// authorizeRedirect asks the fake's authorize endpoint for a code without
// following the redirect, and returns the redirect's query.
func authorizeRedirect(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

// recorder keeps the Progress reports of a Run.
type recorder struct {
	mu     sync.Mutex
	stages []Stage
	urls   []string
}

func (r *recorder) progress(p Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages = append(r.stages, p.Stage)
	if p.URL != "" {
		r.urls = append(r.urls, p.URL)
	}
}

func (r *recorder) has(s Stage) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.stages {
		if x == s {
			return true
		}
	}
	return false
}

// testOptions points a sign-in at the fake, with a browser that visits the
// URL from a goroutine (tamper may edit the callback).
func testOptions(fake *fakeanthropic.Server, rec *recorder, tamper func(*url.URL)) (Options, chan visitResult) {
	visits := make(chan visitResult, 1)
	return Options{
		AuthorizeURL: fake.AuthorizeURL(),
		TokenURL:     fake.TokenURL(),
		APIURL:       fake.URL,
		Timeout:      20 * time.Second,
		Progress:     rec.progress,
		OpenBrowser: func(ctx context.Context, u string) error {
			go func() { visits <- visit(u, tamper) }()
			return nil
		},
	}, visits
}

// callbackPort returns the loopback port named in an authorize URL.
func callbackPort(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	ru, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil || ru.Port() == "" {
		t.Fatalf("authorize URL has no loopback redirect_uri: %q", u.Query().Get("redirect_uri"))
	}
	return ru.Port()
}

// assertClosed fails unless nothing listens on 127.0.0.1:port any more.
func assertClosed(t *testing.T, port string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Errorf("the loopback listener on port %s is still open after Run returned", port)
	}
}

// assertNoSecrets fails if text holds a token or one of the given secrets.
func assertNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	if strings.Contains(text, "sk-ant-") {
		t.Errorf("output holds a token: %.40q…", text)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("output holds a secret (prefix %.6s…)", s)
		}
	}
}

func TestSignInThroughTheBrowserProgramNamedByBROWSER(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	report := filepath.Join(t.TempDir(), "browser.json")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROWSER", exe)
	t.Setenv(browserEnv, report)

	rec := &recorder{}
	opts, _ := testOptions(fake, rec, nil)
	opts.OpenBrowser = nil // the real opener: BROWSER, exec'd without a shell
	opts.LoginHint = "bob@example.com"
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The browser program reports after it has read the success redirect,
	// which may be just after Run returns.
	var br browserReport
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err = os.ReadFile(report); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the browser program did not report: %v", err)
	}
	if err := json.Unmarshal(b, &br); err != nil {
		t.Fatal(err)
	}
	if len(br.Args) != 1 {
		t.Fatalf("the browser program got %d arguments, want the URL as its one argument", len(br.Args))
	}
	if !strings.HasPrefix(br.Args[0], fake.AuthorizeURL()+"?") || !strings.Contains(br.Args[0], "&state=") {
		t.Errorf("the browser program's argument is not the whole authorize URL: %.80q", br.Args[0])
	}
	if len(rec.urls) == 0 || rec.urls[0] != br.Args[0] {
		t.Errorf("the URL shown to the user differs from the one opened")
	}
	if br.Final != DefaultSuccessURL {
		t.Errorf("the browser ended at %q, want the success page %q", br.Final, DefaultSuccessURL)
	}

	tok := res.Tokens
	if !fake.ValidAccessToken(tok.AccessToken) || !fake.RefreshTokenLive(tok.RefreshToken) {
		t.Errorf("the tokens are not live tokens the fake issued")
	}
	if tok.Email != "bob@example.com" || tok.AccountUUID != fake.SigninAccountUUID("bob@example.com") {
		t.Errorf("account = %q %q, want bob@example.com and its uuid", tok.Email, tok.AccountUUID)
	}
	if tok.OrgUUID == "" || tok.OrgName == "" {
		t.Errorf("organization missing: %q %q", tok.OrgUUID, tok.OrgName)
	}
	if d := time.Until(tok.ExpiresAt); d < 7*time.Hour || d > 9*time.Hour {
		t.Errorf("expiry in %v, want about 8h", d)
	}
	if res.Manual {
		t.Errorf("Manual = true for a browser sign-in")
	}
	reqs := fake.TokenRequests()
	last := reqs[len(reqs)-1]
	if last.GrantType != "authorization_code" || last.UserAgent != "axios/1.9.0" ||
		last.Accept != "application/json, text/plain, */*" || last.ContentType != "application/json" {
		t.Errorf("token request = %+v, want the authorization_code grant with Claude Code's headers", last)
	}
	ar := fake.AuthorizeRequests()
	if got := ar[len(ar)-1].LoginHint; got != "bob@example.com" {
		t.Errorf("login_hint = %q", got)
	}
	assertClosed(t, callbackPort(t, br.Args[0]))
}

func TestAuthorizeURLHasClaudeCodesParametersInOrder(t *testing.T) {
	p := newPKCE()
	u := AuthorizeURL("https://claude.ai/oauth/authorize", "http://localhost:5555/callback", p.challenge, p.state, "a+b@example.com")
	wantKeys := []string{"code", "client_id", "response_type", "redirect_uri", "scope", "code_challenge", "code_challenge_method", "state", "login_hint"}
	base, query, _ := strings.Cut(u, "?")
	if base != "https://claude.ai/oauth/authorize" {
		t.Fatalf("base = %q", base)
	}
	var keys []string
	for _, kv := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("parameters = %v, want %v", keys, wantKeys)
	}
	q, _ := url.ParseQuery(query)
	want := map[string]string{
		"code": "true", "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e", "response_type": "code",
		"redirect_uri":   "http://localhost:5555/callback",
		"scope":          "org:create_api_key user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload",
		"code_challenge": p.challenge, "code_challenge_method": "S256", "state": p.state, "login_hint": "a+b@example.com",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if without := AuthorizeURL("https://x.test/a", "r", "c", "s", ""); strings.Contains(without, "login_hint") {
		t.Errorf("login_hint sent without an email: %s", without)
	}
}

func TestPKCEValuesAre32RandomBytesAndTheChallengeIsS256(t *testing.T) {
	a, b := newPKCE(), newPKCE()
	for _, v := range []string{a.verifier, a.state} {
		if len(v) != 43 || strings.ContainsAny(v, "+/=") {
			t.Errorf("%q is not unpadded base64url of 32 bytes", v)
		}
	}
	if a.verifier == b.verifier || a.state == b.state || a.verifier == a.state {
		t.Errorf("verifier and state are not fresh random values")
	}
	// RFC 7636 appendix B's example.
	if got := challengeOf("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("challenge = %q", got)
	}
}

func TestTheListenerBindsOnlyLoopbackAddresses(t *testing.T) {
	lns, port, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, ln := range lns {
		a := ln.Addr().(*net.TCPAddr)
		if !a.IP.IsLoopback() || a.Port != port {
			t.Errorf("listening on %v, want a loopback address on port %d", a, port)
		}
	}
}

func TestTheListenerServesOnlyGETCallback(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	rec := &recorder{}
	opts, _ := testOptions(fake, rec, nil)
	type probe struct{ root, post, foreign int }
	probed := make(chan probe, 1)
	opts.OpenBrowser = func(ctx context.Context, u string) error {
		port := callbackPort(t, u)
		go func() {
			var p probe
			if r, err := http.Get("http://127.0.0.1:" + port + "/"); err == nil {
				p.root = r.StatusCode
				r.Body.Close()
			}
			if r, err := http.Post("http://127.0.0.1:"+port+"/callback", "text/plain", nil); err == nil {
				p.post = r.StatusCode
				r.Body.Close()
			}
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/callback?code=x&state=y", nil)
			req.Host = "rebound.example.com:" + port
			if r, err := http.DefaultClient.Do(req); err == nil {
				p.foreign = r.StatusCode
				r.Body.Close()
			}
			probed <- p
			visit(u, nil)
		}()
		return nil
	}
	if _, err := Run(context.Background(), opts); err != nil {
		t.Fatalf("Run after the probes: %v", err)
	}
	p := <-probed
	if p.root != http.StatusNotFound || p.post != http.StatusMethodNotAllowed || p.foreign != http.StatusMisdirectedRequest {
		t.Errorf("GET / answered %d, POST /callback %d and a foreign Host %d; want 404, 405 and 421 (and the sign-in to go on)", p.root, p.post, p.foreign)
	}
}

func TestBrowserFailuresEndWithAPlainError(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*fakeanthropic.Server)
		tamper  func(*url.URL)
		want    error
		mention string
	}{
		{
			name:    "a callback with another sign-in's state is refused",
			tamper:  func(u *url.URL) { q := u.Query(); q.Set("state", "someone-elses-state"); u.RawQuery = q.Encode() },
			want:    ErrStateMismatch,
			mention: "state mismatch",
		},
		{
			name:    "access denied in the browser ends the sign-in",
			setup:   func(f *fakeanthropic.Server) { f.DenyNextAuthorize(1) },
			want:    ErrAccessDenied,
			mention: "denied",
		},
		{
			name:    "a callback without a code is refused",
			tamper:  func(u *url.URL) { q := u.Query(); q.Del("code"); u.RawQuery = q.Encode() },
			mention: "no sign-in code",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeanthropic.New()
			defer fake.Close()
			if tt.setup != nil {
				tt.setup(fake)
			}
			rec := &recorder{}
			opts, visits := testOptions(fake, rec, tt.tamper)
			_, err := Run(context.Background(), opts)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.mention)
			}
			v := <-visits
			if v.status != http.StatusBadRequest || !strings.Contains(v.body, "Sign-in failed") {
				t.Errorf("the browser was shown %d %q, want the failure page", v.status, v.body)
			}
			if fake.CodeExchanges() != 0 {
				t.Errorf("a code was exchanged despite the failure")
			}
			assertNoSecrets(t, err.Error()+v.body)
			assertClosed(t, callbackPort(t, rec.urls[0]))
		})
	}
}

// exchangeFlow returns a flow pointed at the fake and a fresh code for it,
// issued for the loopback redirect redirectURI.
func exchangeFlow(t *testing.T, fake *fakeanthropic.Server, redirectURI string) (*flow, string) {
	t.Helper()
	f := &flow{opts: Options{TokenURL: fake.TokenURL(), APIURL: fake.URL, AuthorizeURL: fake.AuthorizeURL()}.withDefaults(), pkce: newPKCE()}
	q := authorizeRedirect(t, AuthorizeURL(fake.AuthorizeURL(), redirectURI, f.pkce.challenge, f.pkce.state, ""))
	if q.Get("state") != f.pkce.state || q.Get("code") == "" {
		t.Fatalf("authorize answered state %q code %q", q.Get("state"), q.Get("code"))
	}
	return f, q.Get("code")
}

func TestTheTokenEndpointsRefusalsAreExplainedInPlainWords(t *testing.T) {
	const redirect = "http://localhost:5555/callback"
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *flow, code string) (string, string) // code and redirect to exchange
		want    error
		mention string
	}{
		{
			name: "a code used twice is refused the second time",
			prepare: func(t *testing.T, f *flow, code string) (string, string) {
				if _, err := f.exchange(context.Background(), code, redirect); err != nil {
					t.Fatalf("first exchange: %v", err)
				}
				return code, redirect
			},
			want: ErrCodeRejected, mention: "already used or has expired",
		},
		{
			name: "an unknown code is refused",
			prepare: func(t *testing.T, f *flow, code string) (string, string) {
				return "not-a-code", redirect
			},
			want: ErrCodeRejected, mention: "already used or has expired",
		},
		{
			name: "a verifier that does not match the challenge is refused",
			prepare: func(t *testing.T, f *flow, code string) (string, string) {
				f.pkce.verifier = newPKCE().verifier
				return code, redirect
			},
			want: ErrVerifierRejected, mention: "PKCE verifier",
		},
		{
			name: "a redirect URI other than the code's is refused",
			prepare: func(t *testing.T, f *flow, code string) (string, string) {
				return code, "http://localhost:5556/callback"
			},
			want: ErrRedirectMismatch, mention: "redirect URI does not match",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeanthropic.New()
			defer fake.Close()
			f, code := exchangeFlow(t, fake, redirect)
			c, r := tt.prepare(t, f, code)
			before := fake.CodeExchanges()
			_, err := f.exchange(context.Background(), c, r)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.mention)
			}
			if fake.CodeExchanges() != before {
				t.Errorf("tokens were issued despite the refusal")
			}
			assertNoSecrets(t, err.Error(), code, f.pkce.verifier)
		})
	}
}

func TestA429IsRetriedAfterItsDelayAndOtherwiseExplained(t *testing.T) {
	const redirect = "http://localhost:5555/callback"
	t.Run("two 429s with Retry-After 0 are retried and the code still works", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		f, code := exchangeFlow(t, fake, redirect)
		rec := &recorder{}
		f.opts.Progress = rec.progress
		fake.FailCodeExchanges(2, fakeanthropic.CodeExchangeFailure{Status: 429, RetryAfter: "0"})
		tok, err := f.exchange(context.Background(), code, redirect)
		if err != nil || !fake.ValidAccessToken(tok.AccessToken) {
			t.Fatalf("exchange after two 429s: %v", err)
		}
		if n := strings.Count(fmt.Sprint(rec.stages), fmt.Sprint(StageRateLimited)); n < 2 {
			t.Errorf("progress %v does not report the two waits", rec.stages)
		}
	})
	t.Run("a 429 that persists beyond the retries ends with the rate-limit error", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		f, code := exchangeFlow(t, fake, redirect)
		fake.FailCodeExchanges(4, fakeanthropic.CodeExchangeFailure{Status: 429, RetryAfter: "0"})
		_, err := f.exchange(context.Background(), code, redirect)
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "gave up after 4 tries") {
			t.Fatalf("err = %v, want ErrRateLimited after 4 tries", err)
		}
	})
	t.Run("a 429 asking for an hour is not waited for", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		f, code := exchangeFlow(t, fake, redirect)
		fake.FailCodeExchanges(1, fakeanthropic.CodeExchangeFailure{Status: 429, RetryAfter: "3600"})
		start := time.Now()
		_, err := f.exchange(context.Background(), code, redirect)
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "try again in 1h0m0s") || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v, want an immediate ErrRateLimited naming the hour", err, time.Since(start))
		}
	})
}

func TestAnHTMLAnswerIsReportedAsACloudflareChallenge(t *testing.T) {
	const redirect = "http://localhost:5555/callback"
	fake := fakeanthropic.New()
	defer fake.Close()
	f, code := exchangeFlow(t, fake, redirect)
	fake.FailCodeExchanges(1, fakeanthropic.CodeExchangeFailure{HTML: true})
	_, err := f.exchange(context.Background(), code, redirect)
	if !errors.Is(err, ErrHTMLAnswer) {
		t.Fatalf("err = %v, want ErrHTMLAnswer", err)
	}
	for _, w := range []string{"Cloudflare", "try again later", "import Claude Code's login", "HTTP 403"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestTimeoutAndCancelCloseTheListenerAndSaySo(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    error
	}{
		{name: "no answer within the timeout", timeout: 300 * time.Millisecond, want: ErrTimeout},
		{name: "the caller cancels while the browser is open", timeout: time.Minute, cancel: true, want: ErrCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeanthropic.New()
			defer fake.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var port string
			opts := Options{
				AuthorizeURL: fake.AuthorizeURL(), TokenURL: fake.TokenURL(), Timeout: tt.timeout,
				OpenBrowser: func(_ context.Context, u string) error { port = callbackPort(t, u); return nil },
				Progress: func(p Progress) {
					if p.Stage == StageWaitingForBrowser && tt.cancel {
						cancel()
					}
				},
			}
			_, err := Run(ctx, opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "nothing was saved") {
				t.Fatalf("err = %v, want %v saying nothing was saved", err, tt.want)
			}
			assertClosed(t, port)
		})
	}
}

func TestTheManualFlowReadsCODEHashSTATEFromInput(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pr, pw := io.Pipe()
	defer pw.Close()
	var pasted string
	opts := Options{
		AuthorizeURL: fake.AuthorizeURL(), TokenURL: fake.TokenURL(), APIURL: fake.URL,
		NoBrowser: true, Input: pr, Timeout: 20 * time.Second,
		OpenBrowser: func(context.Context, string) error { t.Error("the browser was opened despite NoBrowser"); return nil },
		Progress: func(p Progress) {
			if p.Stage != StageWaitingForCode {
				return
			}
			q := authorizeRedirect(t, p.URL)
			pasted = q.Get("code") + "#" + q.Get("state")
			go fmt.Fprintf(pw, "\n  %s  \n", pasted) // a blank line first, and spaces around
		},
	}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Manual || !fake.ValidAccessToken(res.Tokens.AccessToken) || res.Tokens.Email != "alice@example.com" {
		t.Errorf("result: manual=%v email=%q, want a manual sign-in of alice@example.com with live tokens", res.Manual, res.Tokens.Email)
	}
	ar := fake.AuthorizeRequests()
	for _, p := range ar[0].Params {
		if p[0] == "redirect_uri" && p[1] != DefaultManualRedirectURI {
			t.Errorf("redirect_uri = %q, want the manual one", p[1])
		}
	}
}

func TestTheManualFlowRefusesAnotherSignInsState(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	var code string
	pr, pw := io.Pipe()
	defer pw.Close()
	opts := Options{
		AuthorizeURL: fake.AuthorizeURL(), TokenURL: fake.TokenURL(), NoBrowser: true, Input: pr,
		Progress: func(p Progress) {
			if p.Stage == StageWaitingForCode {
				code = authorizeRedirect(t, p.URL).Get("code")
				go fmt.Fprintf(pw, "%s#%s\n", code, newPKCE().state)
			}
		},
	}
	_, err := Run(context.Background(), opts)
	if !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("err = %v, want ErrStateMismatch", err)
	}
	if fake.CodeExchanges() != 0 {
		t.Errorf("the code was exchanged despite the wrong state")
	}
	assertNoSecrets(t, err.Error(), code)
}

func TestWithoutABrowserTheSignInFallsBackToTheManualFlow(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BROWSER", exe)
	t.Setenv(browserEnv, filepath.Join(t.TempDir(), "unused.json"))
	t.Setenv(browserFailEnv, "1")
	pr, pw := io.Pipe()
	defer pw.Close()
	rec := &recorder{}
	opts := Options{
		AuthorizeURL: fake.AuthorizeURL(), TokenURL: fake.TokenURL(), Input: pr,
		Progress: func(p Progress) {
			rec.progress(p)
			if p.Stage == StageWaitingForCode {
				q := authorizeRedirect(t, p.URL)
				go fmt.Fprintf(pw, "%s#%s\n", q.Get("code"), q.Get("state"))
			}
		},
	}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Manual || !rec.has(StageNoBrowser) {
		t.Errorf("manual=%v stages=%v, want the fallback to the manual flow", res.Manual, rec.stages)
	}

	t.Run("and without input it ends with ErrNoBrowser", func(t *testing.T) {
		opts := Options{AuthorizeURL: fake.AuthorizeURL(), TokenURL: fake.TokenURL()}
		_, err := Run(context.Background(), opts)
		if !errors.Is(err, ErrNoBrowser) {
			t.Fatalf("err = %v, want ErrNoBrowser", err)
		}
	})
}

func TestPastedCodesAreSplitOnTheLastHash(t *testing.T) {
	tests := []struct {
		name, in, code, state string
		bad                   bool
	}{
		{name: "a plain code and state", in: "abc#xyz", code: "abc", state: "xyz"},
		{name: "a code holding a hash keeps it", in: "a#b#xyz\n", code: "a#b", state: "xyz"},
		{name: "a pasted callback URL is read too", in: "https://platform.claude.com/oauth/code/callback?code=abc&state=xyz", code: "abc", state: "xyz"},
		{name: "text without a hash is refused", in: "abcxyz", bad: true},
		{name: "a missing state is refused", in: "abc#", bad: true},
		{name: "a missing code is refused", in: "#xyz", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, state, err := parseCode(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrBadCode) {
					t.Errorf("err = %v, want ErrBadCode", err)
				}
				return
			}
			if err != nil || code != tt.code || state != tt.state {
				t.Errorf("got %q %q %v, want %q %q", code, state, err, tt.code, tt.state)
			}
		})
	}
}

func TestTheProfileNamesTheAccountOfAToken(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	pair := fake.IssueTokens("carol@example.com")
	if _, err := FetchProfile(context.Background(), nil, fake.URL, pair.AccessToken); err == nil {
		t.Fatalf("a token the profile endpoint does not know was answered")
	} else {
		assertNoSecrets(t, err.Error(), pair.AccessToken)
	}
	fake.RegisterProfile(pair)
	p, err := FetchProfile(context.Background(), nil, fake.URL, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "carol@example.com" || p.AccountUUID != pair.AccountUUID || p.OrgType != "claude_max" {
		t.Errorf("profile = %+v", p)
	}
}

func TestASlowTokenEndpointIsBoundedAndCancellable(t *testing.T) {
	t.Run("an exchange past its timeout ends with a plain error", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		fake.SetTokenDelay(time.Second)
		rec := &recorder{}
		opts, visits := testOptions(fake, rec, nil)
		opts.ExchangeTimeout = 200 * time.Millisecond
		_, err := Run(context.Background(), opts)
		if err == nil || !strings.Contains(err.Error(), "did not answer within 200ms") {
			t.Fatalf("err = %v, want the exchange timeout", err)
		}
		if v := <-visits; v.status != http.StatusBadRequest {
			t.Errorf("the browser was shown %d, want the failure page", v.status)
		}
	})
	t.Run("cancelling during the exchange ends the sign-in and tells the browser", func(t *testing.T) {
		fake := fakeanthropic.New()
		defer fake.Close()
		fake.SetTokenDelay(10 * time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rec := &recorder{}
		opts, visits := testOptions(fake, rec, nil)
		opts.Progress = func(p Progress) {
			rec.progress(p)
			if p.Stage == StageExchanging {
				cancel()
			}
		}
		start := time.Now()
		_, err := Run(ctx, opts)
		if !errors.Is(err, ErrCanceled) || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v, want a prompt ErrCanceled", err, time.Since(start))
		}
		v := <-visits
		if v.status != http.StatusBadRequest || !strings.Contains(v.body, "cancelled") {
			t.Errorf("the browser was shown %d %q, want the cancelled page", v.status, v.body)
		}
		assertClosed(t, callbackPort(t, rec.urls[0]))
	})
}
