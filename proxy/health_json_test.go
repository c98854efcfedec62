package proxy

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAccountHealthJSONKeepsTheNodeToolsFieldNames(t *testing.T) {
	reset := time.Unix(1_800_000_000, 0)
	used := time.UnixMilli(1_799_999_000_123)
	a := AccountHealth{
		ID: "work-max", State: StateOK, Usable: true, Enabled: true, ExpiresInSeconds: 90,
		RateLimitStatus: "allowed_warning", Utilization5h: 0.8, Utilization7d: 0.3, Reset5h: reset,
		RepresentativeClaim: "five_hour", Requests: 7, Errors: 2, LastUsed: used,
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	want := map[string]any{
		"id": "work-max", "provider": "anthropic_subscription", "healthy": true, "enabled": true,
		"requestCount": 7.0, "errorCount": 2.0, "expiresInMs": 90000.0, "lastUsedMs": 1_799_999_000_123.0,
		"utilization5h": 0.8, "state": "ok",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	rl, _ := got["rateLimits"].(map[string]any)
	if rl["status"] != "allowed_warning" || rl["fiveHourUtil"] != 0.8 || rl["fiveHourReset"] != 1.8e9 || rl["claim"] != "five_hour" || rl["sevenDayReset"] != 0.0 {
		t.Errorf("rateLimits = %v", rl)
	}

	// The document reads back into the struct (cc-router status does this).
	var back AccountHealth
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Requests != 7 || back.Errors != 2 || !back.Usable || !back.Reset5h.Equal(reset) {
		t.Errorf("round trip lost fields: %+v", back)
	}
}
