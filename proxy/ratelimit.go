package proxy

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The unified rate-limit headers Anthropic sends on subscription traffic.
const (
	hdrUnifiedStatus   = "Anthropic-Ratelimit-Unified-Status"
	hdrUnifiedReset    = "Anthropic-Ratelimit-Unified-Reset"
	hdrUnifiedClaim    = "Anthropic-Ratelimit-Unified-Representative-Claim"
	hdrUnified5hUtil   = "Anthropic-Ratelimit-Unified-5h-Utilization"
	hdrUnified5hReset  = "Anthropic-Ratelimit-Unified-5h-Reset"
	hdrUnified5hStatus = "Anthropic-Ratelimit-Unified-5h-Status"
	hdrUnified7dUtil   = "Anthropic-Ratelimit-Unified-7d-Utilization"
	hdrUnified7dReset  = "Anthropic-Ratelimit-Unified-7d-Reset"
	hdrUnified7dStatus = "Anthropic-Ratelimit-Unified-7d-Status"
)

// Values of the unified status headers.
const (
	statusAllowed        = "allowed"
	statusAllowedWarning = "allowed_warning"
	statusRejected       = "rejected"
)

// rateLimit is an account's rate-limit view as the upstream last reported
// it. Fields a response did not carry keep their previous value.
type rateLimit struct {
	Status   string // allowed, allowed_warning, rejected; "" when never seen
	Status5h string
	Status7d string
	Claim    string // representative claim: five_hour, seven_day, …
	Util5h   float64
	Util7d   float64
	Reset    time.Time
	Reset5h  time.Time
	Reset7d  time.Time
	Seen     time.Time // when a unified header was last seen
}

// merge folds the unified headers of h into r and reports whether h held
// any of them.
func (r *rateLimit) merge(h http.Header, now time.Time) bool {
	seen := false
	str := func(key string, dst *string) {
		if v := h.Get(key); v != "" {
			*dst = strings.ToLower(strings.TrimSpace(v))
			seen = true
		}
	}
	num := func(key string, dst *float64) {
		if v := h.Get(key); v != "" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
				*dst = f
				seen = true
			}
		}
	}
	unix := func(key string, dst *time.Time) {
		if v := h.Get(key); v != "" {
			if t, ok := parseUnixSeconds(v); ok {
				*dst = t
				seen = true
			}
		}
	}
	str(hdrUnifiedStatus, &r.Status)
	str(hdrUnified5hStatus, &r.Status5h)
	str(hdrUnified7dStatus, &r.Status7d)
	str(hdrUnifiedClaim, &r.Claim)
	num(hdrUnified5hUtil, &r.Util5h)
	num(hdrUnified7dUtil, &r.Util7d)
	unix(hdrUnifiedReset, &r.Reset)
	unix(hdrUnified5hReset, &r.Reset5h)
	unix(hdrUnified7dReset, &r.Reset7d)
	if seen {
		r.Seen = now
	}
	return seen
}

// maxUnixSeconds is the last second of year 9999: later times do not fit
// in the health document's JSON (and are not reset times).
const maxUnixSeconds = 253402300799

// parseUnixSeconds reads a Unix time in seconds (fractions allowed).
func parseUnixSeconds(v string) (time.Time, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 || f > maxUnixSeconds {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// effective5h and effective7d are the utilizations that still hold at now:
// once a window's reset time has passed, its utilization is stale and
// counts as zero.
func (r *rateLimit) effective5h(now time.Time) float64 {
	if !r.Reset5h.IsZero() && !now.Before(r.Reset5h) {
		return 0
	}
	return r.Util5h
}

func (r *rateLimit) effective7d(now time.Time) float64 {
	if !r.Reset7d.IsZero() && !now.Before(r.Reset7d) {
		return 0
	}
	return r.Util7d
}

// staleRejection is how long a "rejected" status without any reset time
// keeps an account out before one request may probe it again.
const staleRejection = time.Minute

// rejectedUntil is when a rejection reported by the headers ends, or the
// zero time when the headers do not reject the account (any more) at now.
func (r *rateLimit) rejectedUntil(now time.Time) time.Time {
	var until time.Time
	later := func(t time.Time) {
		if t.After(until) {
			until = t
		}
	}
	if r.Status5h == statusRejected {
		later(r.Reset5h)
	}
	if r.Status7d == statusRejected {
		later(r.Reset7d)
	}
	if r.Status == statusRejected {
		switch {
		case !r.Reset.IsZero():
			later(r.Reset)
		case r.Claim == "five_hour":
			later(r.Reset5h)
		case strings.HasPrefix(r.Claim, "seven_day"):
			later(r.Reset7d)
		}
		if until.IsZero() {
			later(r.Seen.Add(staleRejection))
		}
	}
	if (r.Status5h == statusRejected || r.Status7d == statusRejected) && until.IsZero() {
		later(r.Seen.Add(staleRejection))
	}
	if !now.Before(until) {
		return time.Time{}
	}
	return until
}

// allows reports whether the headers say the account may still be used:
// nothing is rejected and some status (overall or a window's) says
// allowed. Headers without any status do not say so.
func (r *rateLimit) allows() bool {
	if r.Status == statusRejected || r.Status5h == statusRejected || r.Status7d == statusRejected {
		return false
	}
	allowed := func(s string) bool { return s == statusAllowed || s == statusAllowedWarning }
	return allowed(r.Status) || allowed(r.Status5h) || allowed(r.Status7d)
}

// resetHint is the reset time that best explains a 429 or 529 from an
// account whose headers are r: the rejected window's reset, else the
// representative claim's, else the overall one. Zero when none is in the
// future.
func (r *rateLimit) resetHint(now time.Time) time.Time {
	var candidates [3]time.Time
	n := 0
	if r.Status5h == statusRejected {
		candidates[n] = r.Reset5h
		n++
	}
	if r.Status7d == statusRejected {
		candidates[n] = r.Reset7d
		n++
	}
	if n == 0 {
		switch {
		case r.Claim == "five_hour":
			candidates[n] = r.Reset5h
		case strings.HasPrefix(r.Claim, "seven_day"):
			candidates[n] = r.Reset7d
		default:
			candidates[n] = r.Reset
		}
		n++
	}
	var best time.Time
	for _, t := range candidates[:n] {
		if t.After(now) && t.After(best) {
			best = t
		}
	}
	if best.IsZero() && r.Reset.After(now) {
		best = r.Reset
	}
	return best
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date. ok is false when it is absent or unreadable.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
