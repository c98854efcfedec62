package signin

import (
	"errors"
	"strings"

	"github.com/cc-router/cc-router/credentials"
)

// Errors a caller can match with errors.Is. Each message is written for the
// person signing in; the error Run returns wraps one of them with detail
// (never a token or a code).
var (
	// ErrStateMismatch: the browser's answer carried a state other than the
	// one this sign-in sent, so it belongs to another sign-in (an old tab)
	// or was forged.
	ErrStateMismatch = errors.New("the sign-in answer does not belong to this sign-in (state mismatch); start the sign-in again and use only the newest browser tab")
	// ErrAccessDenied: the user declined (or the server refused) the
	// authorization in the browser.
	ErrAccessDenied = errors.New("access was denied in the browser; nothing was saved")
	// ErrCodeRejected: the token endpoint said the code was already used or
	// has expired (invalid_grant).
	ErrCodeRejected = errors.New("the sign-in code was already used or has expired; start the sign-in again")
	// ErrVerifierRejected: the token endpoint rejected the PKCE verifier.
	ErrVerifierRejected = errors.New("the token endpoint rejected this sign-in's PKCE verifier; start the sign-in again")
	// ErrRedirectMismatch: the token endpoint said the redirect URI differs
	// from the one the code was issued for.
	ErrRedirectMismatch = errors.New("the token endpoint says the redirect URI does not match the one the code was issued for")
	// ErrRateLimited: the token endpoint kept answering 429.
	ErrRateLimited = errors.New("the token endpoint is rate-limiting sign-ins (HTTP 429)")
	// ErrHTMLAnswer: the token endpoint answered with a web page, which in
	// practice is a Cloudflare challenge.
	ErrHTMLAnswer = errors.New("the token endpoint answered with a web page instead of JSON, most likely a Cloudflare challenge; try again later, or import Claude Code's login instead")
	// ErrTimeout: no sign-in arrived in time.
	ErrTimeout = errors.New("timed out waiting for the sign-in; nothing was saved")
	// ErrCanceled: the sign-in was cancelled (Ctrl-C or the caller).
	ErrCanceled = errors.New("sign-in cancelled; nothing was saved")
	// ErrNoBrowser: no browser could be opened and there is no terminal
	// input to fall back to the manual flow.
	ErrNoBrowser = errors.New("no browser could be opened")
	// ErrBadCode: the pasted text is not of the form CODE#STATE.
	ErrBadCode = errors.New("that is not a sign-in code of the form CODE#STATE")
)

// redact makes server text and errors fit to show: tokens and the given
// secrets (code, verifier) reduced by credentials.Scrub, whitespace folded,
// and the result shortened to a readable length.
func redact(s string, secrets ...string) string {
	s = strings.Join(strings.Fields(credentials.Scrub(s, secrets...)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
