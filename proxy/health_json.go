package proxy

import (
	"encoding/json"
	"time"
)

// MarshalJSON writes the account's health with, besides its own fields,
// the names the Node.js cc-router's /cc-router/health used for the same
// facts (provider, healthy, expiresInMs, lastUsedMs, rateLimits), so tools
// written against that endpoint keep working. They are derived here, at
// the edge, rather than kept twice in the struct.
func (a AccountHealth) MarshalJSON() ([]byte, error) {
	type own AccountHealth // without this method
	return json.Marshal(struct {
		own
		Provider    string         `json:"provider"`
		Healthy     bool           `json:"healthy"`
		ExpiresInMs int64          `json:"expiresInMs"`
		LastUsedMs  int64          `json:"lastUsedMs"`
		RateLimits  nodeRateLimits `json:"rateLimits"`
	}{
		own:         own(a),
		Provider:    "anthropic_subscription",
		Healthy:     a.Usable,
		ExpiresInMs: a.ExpiresInSeconds * 1000,
		LastUsedMs:  unixMilli(a.LastUsed),
		RateLimits: nodeRateLimits{
			Status:        a.RateLimitStatus,
			FiveHourUtil:  a.Utilization5h,
			FiveHourReset: unixSeconds(a.Reset5h),
			SevenDayUtil:  a.Utilization7d,
			SevenDayReset: unixSeconds(a.Reset7d),
			Claim:         a.RepresentativeClaim,
		},
	})
}

// nodeRateLimits is the Node tool's rateLimits object; resets are Unix
// seconds, as the unified rate-limit headers give them.
type nodeRateLimits struct {
	Status        string  `json:"status"`
	FiveHourUtil  float64 `json:"fiveHourUtil"`
	FiveHourReset int64   `json:"fiveHourReset"`
	SevenDayUtil  float64 `json:"sevenDayUtil"`
	SevenDayReset int64   `json:"sevenDayReset"`
	Claim         string  `json:"claim"`
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
