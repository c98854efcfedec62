package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
)

func (p *Proxy) health() Health {
	p.track.sync() // health is read rarely; show the store as it is now
	now := p.now()
	sessions := p.aff.counts()
	h := Health{
		Mode:          p.cfg.Mode,
		Upstream:      p.upstream,
		Strategy:      p.cfg.Strategy,
		Listen:        p.addr(),
		UptimeSeconds: int64(now.Sub(p.started).Seconds()),
		Accounts:      []AccountHealth{},
	}
	for _, n := range sessions {
		h.Sessions += n
	}
	t := p.track
	t.mu.Lock()
	h.TotalRequests, h.TotalErrors, h.TotalFailovers = t.total, t.totalErr, t.totalFO
	for _, a := range t.accounts {
		state, until := a.status(now)
		ah := AccountHealth{
			ID:                  a.info.ID,
			Email:               a.info.Email,
			State:               state,
			UsableAt:            until,
			Usable:              state == StateOK,
			Enabled:             a.info.Enabled,
			ExpiresAt:           a.info.ExpiresAt,
			RateLimitStatus:     a.rl.Status,
			Status5h:            a.rl.Status5h,
			Status7d:            a.rl.Status7d,
			RepresentativeClaim: a.rl.Claim,
			Utilization5h:       a.rl.effective5h(now),
			Utilization7d:       a.rl.effective7d(now),
			Reset5h:             a.rl.Reset5h,
			Reset7d:             a.rl.Reset7d,
			SessionLimitPercent: a.info.SessionLimitPercent,
			WeeklyLimitPercent:  a.info.WeeklyLimitPercent,
			Requests:            a.requests,
			Failovers:           a.failovers,
			Tokens:              a.usage,
			Sessions:            sessions[a.info.ID],
			LastUsed:            a.lastUsed,
		}
		if !a.info.ExpiresAt.IsZero() {
			ah.ExpiresInSeconds = int64(a.info.ExpiresAt.Sub(now).Seconds())
		}
		if now.Before(a.coolUntil) {
			ah.CoolingUntil, ah.CoolingReason = a.coolUntil, a.coolReason
		}
		for code, n := range a.errors {
			if ah.ErrorsByStatus == nil {
				ah.ErrorsByStatus = make(map[string]int64, len(a.errors))
			}
			ah.ErrorsByStatus[strconv.Itoa(code)] = n
			ah.Errors += n
		}
		if state == StateNeedsLogin {
			ah.StateReason = a.info.StateReason
		}
		if ah.Usable {
			h.UsableAccounts++
		}
		h.Accounts = append(h.Accounts, ah)
	}
	t.mu.Unlock()
	h.Status = "degraded"
	if h.UsableAccounts > 0 {
		h.Status = "ok"
	}
	return h
}

func (p *Proxy) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeAPIError(w, http.StatusMethodNotAllowed, errInvalidRequest, "cc-router: health is read with GET")
		return
	}
	b, err := json.MarshalIndent(p.health(), "", "  ")
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, errAPI, "cc-router: health: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
