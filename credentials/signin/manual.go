package signin

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/url"
	"strings"
)

// manual runs the sign-in with the manual redirect: the user opens the URL
// in any browser and pastes the CODE#STATE the page shows into Input.
func (f *flow) manual(ctx context.Context) (Result, error) {
	redirectURI := f.opts.ManualRedirectURI
	authURL := AuthorizeURL(f.opts.AuthorizeURL, redirectURI, f.pkce.challenge, f.pkce.state, f.opts.LoginHint)
	f.progress(Progress{Stage: StageWaitingForCode, URL: authURL})

	type line struct {
		text string
		err  error
	}
	lines := make(chan line, 1)
	go func() { // left blocked on a terminal when the sign-in ends first
		br := bufio.NewReader(f.opts.Input)
		for {
			s, err := br.ReadString('\n')
			if strings.TrimSpace(s) == "" && err == nil {
				continue
			}
			lines <- line{s, err}
			return
		}
	}()

	var in line
	select {
	case in = <-lines:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	if strings.TrimSpace(in.text) == "" {
		if in.err == nil || in.err == io.EOF {
			return Result{}, errors.New("no sign-in code was entered")
		}
		return Result{}, in.err
	}
	code, state, err := parseCode(in.text)
	if err != nil {
		return Result{}, err
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(f.pkce.state)) != 1 {
		return Result{}, ErrStateMismatch
	}
	tokens, err := f.exchange(ctx, code, redirectURI)
	if err != nil {
		return Result{}, err
	}
	return Result{Tokens: tokens, Manual: true}, nil
}

// parseCode splits what the user pasted into code and state: CODE#STATE
// split on the last '#', or a callback URL with code and state parameters.
func parseCode(s string) (code, state string, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		if u, perr := url.Parse(s); perr == nil {
			q := u.Query()
			if q.Get("code") != "" && q.Get("state") != "" {
				return q.Get("code"), q.Get("state"), nil
			}
		}
		return "", "", ErrBadCode
	}
	i := strings.LastIndex(s, "#")
	if i <= 0 || i == len(s)-1 {
		return "", "", ErrBadCode
	}
	return s[:i], s[i+1:], nil
}
