package proxy

import (
	"bytes"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// failover is the reverse proxy's round tripper. It sends the request with
// a chosen account's token and, while nothing has reached the client yet,
// retries it on another account when the first is limited or its token is
// rejected. The response it returns is final.
type failover struct {
	p    *Proxy
	base http.RoundTripper
}

// verdict says what to do with an upstream answer.
type verdict int

const (
	deliver     verdict = iota // hand the response to the client
	coolAndNext                // bench the account, try another
	reauth                     // the token was rejected: refresh and retry
)

// RoundTrip implements http.RoundTripper.
func (f *failover) RoundTrip(out *http.Request) (*http.Response, error) {
	ex, _ := out.Context().Value(exchangeKey{}).(*exchange)
	if ex == nil {
		return f.base.RoundTrip(out)
	}
	p := f.p
	ctx := out.Context()
	now := p.now()
	p.track.maybeSync(now)

	preferred := ""
	if ex.session != "" {
		preferred = p.aff.get(ex.session, now)
	}
	var (
		refreshedFor string // the account whose token was already refreshed once
		forcedID     string // retry this account with forcedToken
		forcedToken  string
	)
	for {
		now = p.now()
		id, token := forcedID, forcedToken
		forcedID, forcedToken = "", ""
		if id == "" {
			var ok bool
			id, ok = p.track.pick(preferred, ex.skip, now)
			if !ok {
				return p.exhausted(out, ex, now), nil
			}
			var err error
			token, err = p.tokens.AccessToken(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				p.log.Warn("no token for account; trying another", "account", id, "err", err)
				ex.skip = append(ex.skip, id)
				p.track.failedOver(id)
				ex.failovers++
				continue
			}
		}

		resp, err := f.send(out, ex, id, token)
		if err != nil {
			return nil, err
		}
		v, cool, reason := f.judge(resp)
		switch v {
		case coolAndNext:
			p.track.coolDown(id, p.now().Add(cool), reason, false)
			p.pokeWatcher()
			ex.skip = append(ex.skip, id)
			ex.failovers++
			p.log.Info("failing over", "account", id, "reason", reason, "cooldown", cool.Round(time.Second).String(),
				"session", shortID(ex.session))
			continue
		case reauth:
			if refreshedFor != id {
				refreshedFor = id
				fresh, err := p.tokens.RefreshRejected(ctx, id, token)
				if err == nil {
					forcedID, forcedToken = id, fresh
					continue
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				p.log.Warn("token refresh after rejection failed; trying another account", "account", id, "err", err)
				p.track.coolDown(id, p.now().Add(p.cfg.AuthCooldown), "token rejected, refresh failed", true)
			} else {
				p.track.coolDown(id, p.now().Add(p.cfg.AuthCooldown), "token rejected after refresh", true)
			}
			p.pokeWatcher()
			ex.skip = append(ex.skip, id)
			ex.failovers++
			continue
		}

		ex.account, ex.status = id, resp.StatusCode
		if ex.session != "" && resp.StatusCode < 400 {
			p.aff.set(ex.session, id, p.now())
		}
		if kind := usageKindOf(ex, resp); kind != usageNone {
			resp.Body = newMeteredBody(resp.Body, kind, func(u Usage) {
				ex.usage = u
				p.track.addUsage(id, u)
			})
		}
		return resp, nil
	}
}

// send makes one upstream attempt with the account's token.
func (f *failover) send(out *http.Request, ex *exchange, id, token string) (*http.Response, error) {
	req := out.Clone(out.Context())
	req.Header.Set("Authorization", "Bearer "+token)
	if len(ex.body) > 0 {
		body := ex.body
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	} else {
		req.Body, req.GetBody, req.ContentLength = nil, nil, 0
	}
	f.p.track.attempt(id, f.p.now())
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if f.p.track.observe(id, resp.StatusCode, resp.Header, f.p.now()) {
		f.p.pokeWatcher()
	}
	return resp, nil
}

// judge decides whether resp goes to the client. When it does not, the
// response body is closed; when a streamed reply was peeked at, resp.Body
// is replaced by one that replays what was read.
func (f *failover) judge(resp *http.Response) (verdict, time.Duration, string) {
	p := f.p
	now := p.now()
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		cool := p.cooldownFromHeaders(resp.Header, now, p.cfg.Cooldown429, true)
		discard(resp)
		return coolAndNext, cool, "429 rate limited"
	case 529:
		cool := p.cooldownFromHeaders(resp.Header, now, p.cfg.Cooldown529, false)
		discard(resp)
		return coolAndNext, cool, "529 overloaded"
	case http.StatusUnauthorized:
		discard(resp)
		return reauth, 0, "401 token rejected"
	case http.StatusForbidden:
		peek, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorPeek))
		if bytes.Contains(bytes.ToLower(peek), []byte("revoked")) {
			discard(resp)
			return reauth, 0, "403 token revoked"
		}
		resp.Body = replayBody(peek, resp.Body)
		return deliver, 0, ""
	case http.StatusOK:
		if !isEventStream(resp.Header) {
			return deliver, 0, ""
		}
		held, name, data, err := readFirstEvent(resp.Body, maxFirstEventHoldSize)
		if err != nil && !errors.Is(err, io.EOF) {
			// Hand over what was read and the error with it: the reverse
			// proxy reports it the way it reports any broken body.
			resp.Body = replayBody(held, resp.Body)
			return deliver, 0, ""
		}
		if name == "error" {
			switch errorType(data) {
			case errOverloaded:
				discard(resp)
				return coolAndNext, p.cooldownFromHeaders(resp.Header, now, p.cfg.Cooldown529, false), "stream error overloaded_error"
			case errRateLimit:
				discard(resp)
				return coolAndNext, p.cooldownFromHeaders(resp.Header, now, p.cfg.Cooldown429, true), "stream error rate_limit_error"
			}
		}
		resp.Body = replayBody(held, resp.Body)
	}
	return deliver, 0, ""
}

// cooldownFromHeaders is how long to bench an account after a limit:
// retry-after when present; else, for rate limits, the reset time the
// response's own unified headers give, unless they say the account is
// still allowed (then no window ran out and its reset is hours away for
// a short limit); else def.
func (p *Proxy) cooldownFromHeaders(h http.Header, now time.Time, def time.Duration, useReset bool) time.Duration {
	d, ok := parseRetryAfter(h.Get("Retry-After"), now)
	if !ok && useReset {
		var rl rateLimit
		if rl.merge(h, now) && !rl.allows() {
			if t := rl.resetHint(now); !t.IsZero() {
				d, ok = t.Sub(now), true
			}
		}
	}
	if !ok || d <= 0 {
		d = def
	}
	return min(d, maxCooldown)
}

// exhausted is the answer when no account can serve: a 429 whose
// retry-after is the wait for the first account to become usable, or a
// 503 when waiting will not help (every account disabled or logged out).
func (p *Proxy) exhausted(req *http.Request, ex *exchange, now time.Time) *http.Response {
	ex.status = http.StatusTooManyRequests
	first := p.track.earliestUsable(now)
	if first.IsZero() {
		ex.status = http.StatusServiceUnavailable
		return apiErrorResponse(req, ex.status, errAPI,
			"cc-router: no account can serve: every account is disabled, needs a new login, or none is configured")
	}
	wait := first.Sub(now)
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	resp := apiErrorResponse(req, ex.status, errRateLimit,
		"cc-router: every account is rate limited or cooling down; the first is usable again in "+
			(time.Duration(secs)*time.Second).String())
	resp.Header.Set("Retry-After", strconv.FormatInt(secs, 10))
	return resp
}

// usageKindOf says whether and how the response carries token usage.
func usageKindOf(ex *exchange, resp *http.Response) usageKind {
	if !ex.isMessage || resp.StatusCode != http.StatusOK {
		return usageNone
	}
	if isEventStream(resp.Header) {
		return usageSSE
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/json" {
		return usageJSONBody
	}
	return usageNone
}

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// discard drains a little of a body we will not deliver, so the
// connection can be reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, maxErrorPeek)
	_ = resp.Body.Close()
}

// replayBody is a body that first yields held, then the rest of rc.
func replayBody(held []byte, rc io.ReadCloser) io.ReadCloser {
	if len(held) == 0 {
		return rc
	}
	return &replayReader{held: held, rc: rc}
}

type replayReader struct {
	held []byte
	rc   io.ReadCloser
}

func (r *replayReader) Read(p []byte) (int, error) {
	if len(r.held) > 0 {
		n := copy(p, r.held)
		r.held = r.held[n:]
		return n, nil
	}
	return r.rc.Read(p)
}

func (r *replayReader) Close() error { return r.rc.Close() }
