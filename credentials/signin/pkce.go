package signin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// pkce holds one sign-in's secrets: the PKCE verifier (sent only to the
// token endpoint), its S256 challenge (sent in the authorize URL) and the
// state that ties the browser's answer to this sign-in.
type pkce struct {
	verifier  string
	challenge string
	state     string
}

// newPKCE draws a fresh verifier and state: each is the unpadded base64url
// form of 32 random bytes, and the challenge is base64url(SHA-256(verifier)).
func newPKCE() pkce {
	v := randomString()
	return pkce{verifier: v, challenge: challengeOf(v), state: randomString()}
}

// randomString returns base64url (no padding) of 32 bytes from crypto/rand.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// challengeOf returns the S256 code challenge of a verifier.
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeURL returns the URL that starts a sign-in in the browser: base
// with the parameters Claude Code sends, in its order, and login_hint last
// when loginHint is not empty.
func AuthorizeURL(base, redirectURI, challenge, state, loginHint string) string {
	params := [][2]string{
		{"code", "true"},
		{"client_id", clientID},
		{"response_type", "code"},
		{"redirect_uri", redirectURI},
		{"scope", AuthorizeScope},
		{"code_challenge", challenge},
		{"code_challenge_method", "S256"},
		{"state", state},
	}
	if loginHint != "" {
		params = append(params, [2]string{"login_hint", loginHint})
	}
	var b strings.Builder
	b.WriteString(base)
	if strings.Contains(base, "?") {
		b.WriteByte('&')
	} else {
		b.WriteByte('?')
	}
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	return b.String()
}
