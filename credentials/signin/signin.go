// Package signin adds a Claude account to cc-router by signing in the way
// `claude login` does: OAuth 2 authorization code with PKCE, the browser
// answering on a loopback listener or, without a browser, the user pasting
// the CODE#STATE the sign-in page shows. Each sign-in starts a refresh
// chain of its own, independent of Claude Code's login.
//
// Run only produces tokens; it writes nothing. The caller stores them with
// credentials.Manager.SaveLogin.
package signin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// Defaults of the sign-in endpoints (see the project's facts file). Each
// can be overridden through Options or the environment.
const (
	// DefaultAuthorizeURL is where the browser starts the sign-in.
	DefaultAuthorizeURL = "https://claude.ai/oauth/authorize"
	// DefaultAPIURL is the API host that serves the profile lookup.
	DefaultAPIURL = "https://api.anthropic.com"
	// DefaultSuccessURL is where the browser is sent after a sign-in that
	// used the loopback listener.
	DefaultSuccessURL = "https://platform.claude.com/oauth/code/success?app=claude-code"
	// DefaultManualRedirectURI is the redirect of the manual flow: its page
	// shows CODE#STATE for the user to paste.
	DefaultManualRedirectURI = "https://platform.claude.com/oauth/code/callback"
	// AuthorizeScope is the scope asked for in the authorize URL.
	AuthorizeScope = "org:create_api_key " + credentials.RefreshScope
	// DefaultTimeout bounds a whole sign-in.
	DefaultTimeout = 5 * time.Minute
	// DefaultExchangeTimeout bounds one request to the token endpoint.
	DefaultExchangeTimeout = 15 * time.Second
)

const clientID = credentials.ClientID

// AuthorizeBaseURL returns CC_ROUTER_AUTHORIZE_URL when set, else
// DefaultAuthorizeURL.
func AuthorizeBaseURL() string {
	if u := os.Getenv("CC_ROUTER_AUTHORIZE_URL"); u != "" {
		return u
	}
	return DefaultAuthorizeURL
}

// APIURL returns CC_ROUTER_API_URL when set, else DefaultAPIURL.
func APIURL() string {
	if u := os.Getenv("CC_ROUTER_API_URL"); u != "" {
		return u
	}
	return DefaultAPIURL
}

// Options configures Run. Every field is optional.
type Options struct {
	// LoginHint is an email address passed as login_hint, so the sign-in
	// page proposes that account.
	LoginHint string
	// NoBrowser skips the browser and the loopback listener: the user opens
	// the URL anywhere and pastes CODE#STATE into Input.
	NoBrowser bool
	// Timeout bounds the whole sign-in (default DefaultTimeout).
	Timeout time.Duration
	// Input is where the manual flow reads CODE#STATE (a terminal). When
	// nil, there is no manual flow: NoBrowser is an error and a browser
	// that cannot be opened ends the sign-in with ErrNoBrowser.
	Input io.Reader
	// Progress, when set, is told of each step. It is called from the
	// goroutine running Run, one call at a time.
	Progress func(Progress)
	// OpenBrowser opens the authorize URL (default: OpenBrowser). An
	// error makes Run fall back to the manual flow when Input is set.
	OpenBrowser func(ctx context.Context, url string) error

	// AuthorizeURL (default AuthorizeBaseURL()), TokenURL (default
	// credentials.TokenURL()) and APIURL (default APIURL()) locate the
	// endpoints; SuccessURL and ManualRedirectURI default to the
	// Default… constants.
	AuthorizeURL, TokenURL, APIURL, SuccessURL, ManualRedirectURI string
	// UserAgent sent to the token endpoint (default
	// credentials.DefaultUserAgent).
	UserAgent string
	// HTTPClient for the token and profile endpoints (default: a new
	// client; each request has its own timeout).
	HTTPClient *http.Client
	// ExchangeTimeout bounds one token request (default 15 s).
	ExchangeTimeout time.Duration
	// MaxRetries is how many times a 429 answer is retried (default 3;
	// negative: never).
	MaxRetries int
	// DefaultRetryDelay is the wait after a 429 without Retry-After
	// (default 5 s); a Retry-After longer than MaxRetryDelay (default
	// 60 s) ends the sign-in with ErrRateLimited instead of waiting.
	DefaultRetryDelay, MaxRetryDelay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.OpenBrowser == nil {
		o.OpenBrowser = OpenBrowser
	}
	if o.AuthorizeURL == "" {
		o.AuthorizeURL = AuthorizeBaseURL()
	}
	if o.TokenURL == "" {
		o.TokenURL = credentials.TokenURL()
	}
	if o.APIURL == "" {
		o.APIURL = APIURL()
	}
	if o.SuccessURL == "" {
		o.SuccessURL = DefaultSuccessURL
	}
	if o.ManualRedirectURI == "" {
		o.ManualRedirectURI = DefaultManualRedirectURI
	}
	if o.UserAgent == "" {
		o.UserAgent = credentials.DefaultUserAgent
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.ExchangeTimeout <= 0 {
		o.ExchangeTimeout = DefaultExchangeTimeout
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 3
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.DefaultRetryDelay <= 0 {
		o.DefaultRetryDelay = 5 * time.Second
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) now() time.Time { return o.Now() }

// Stage names a step of the sign-in, for Progress.
type Stage int

const (
	// StageOpeningBrowser: the loopback listener is up and the browser is
	// being opened on Progress.URL, the authorize URL; show it so the user
	// can open it by hand if no browser appears.
	StageOpeningBrowser Stage = iota
	// StageWaitingForBrowser: the browser program started (Progress.URL is
	// the same URL); the sign-in waits for its answer. A fast browser may
	// answer before this is reported.
	StageWaitingForBrowser
	// StageNoBrowser: no browser could be opened (Progress.Err says why);
	// the manual flow follows.
	StageNoBrowser
	// StageWaitingForCode: the manual flow; Progress.URL is to be opened
	// in any browser and the CODE#STATE it shows pasted into Input.
	StageWaitingForCode
	// StageExchanging: the code is being traded for tokens.
	StageExchanging
	// StageRateLimited: the token endpoint answered 429; the exchange is
	// retried after Progress.Delay.
	StageRateLimited
	// StageProfileUnavailable: the token answer lacked the account's email
	// or uuid and the profile lookup failed (Progress.Err); the sign-in
	// still succeeds.
	StageProfileUnavailable
)

// Progress reports a step of the sign-in. It never holds a token or code.
type Progress struct {
	Stage Stage
	URL   string        // the authorize URL, for StageOpeningBrowser, StageWaitingForBrowser and StageWaitingForCode
	Delay time.Duration // for StageRateLimited
	Err   error         // for StageNoBrowser and StageProfileUnavailable
}

// Result is what a successful sign-in produced.
type Result struct {
	// Tokens, account and organization, for credentials.Manager.SaveLogin.
	Tokens credentials.LoginTokens
	// Manual is true when the user pasted CODE#STATE.
	Manual bool
}

// flow is one sign-in in progress.
type flow struct {
	opts Options
	pkce pkce
}

func (f *flow) progress(p Progress) {
	if f.opts.Progress != nil {
		f.opts.Progress(p)
	}
}

// Run signs in: it opens the browser on the authorize URL and waits for the
// answer on a loopback listener, or (NoBrowser, or no browser could be
// opened) reads CODE#STATE from Input; then it exchanges the code for
// tokens. It writes nothing. It gives up after Timeout, or when ctx ends,
// with an error wrapping ErrTimeout or ErrCanceled; the listener is closed
// whenever Run returns. Other failures wrap one of the package's Err…
// values where one fits.
func Run(ctx context.Context, opts Options) (Result, error) {
	o := opts.withDefaults()
	ctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, ErrTimeout)
	defer cancel()
	f := &flow{opts: o, pkce: newPKCE()}
	res, err := f.run(ctx)
	if err != nil {
		return Result{}, f.explain(ctx, err)
	}
	f.fillIdentity(ctx, &res.Tokens)
	return res, nil
}

func (f *flow) run(ctx context.Context) (Result, error) {
	if !f.opts.NoBrowser {
		res, err := f.loopback(ctx)
		if err == nil || !errors.Is(err, ErrNoBrowser) || ctx.Err() != nil {
			return res, err
		}
		if f.opts.Input == nil {
			return Result{}, err
		}
		f.progress(Progress{Stage: StageNoBrowser, Err: err})
		f.pkce = newPKCE() // the manual flow starts afresh
	}
	if f.opts.Input == nil {
		return Result{}, errors.New("the sign-in without a browser needs terminal input to paste the code into")
	}
	return f.manual(ctx)
}

// explain turns the end of ctx into ErrTimeout or ErrCanceled.
func (f *flow) explain(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrTimeout) || errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("%w (waited %v)", ErrTimeout, f.opts.Timeout)
	}
	return ErrCanceled
}

// fillIdentity looks the account up on the profile endpoint when the token
// answer did not name it.
func (f *flow) fillIdentity(ctx context.Context, t *credentials.LoginTokens) {
	if t.AccountUUID != "" && t.Email != "" {
		return
	}
	p, err := FetchProfile(ctx, f.opts.HTTPClient, f.opts.APIURL, t.AccessToken)
	if err != nil {
		f.progress(Progress{Stage: StageProfileUnavailable, Err: err})
		return
	}
	if t.AccountUUID == "" {
		t.AccountUUID = p.AccountUUID
	}
	if t.Email == "" {
		t.Email = p.Email
	}
	if t.OrgUUID == "" {
		t.OrgUUID, t.OrgName = p.OrgUUID, p.OrgName
	}
}
