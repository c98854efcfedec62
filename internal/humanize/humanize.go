// Package humanize formats durations and counts for people: the tray menu
// and the status table share it so the two always read alike.
package humanize

import (
	"fmt"
	"time"
)

// Duration renders a positive duration coarsely: "2d 3h", "6h 48m", "12m",
// "under a minute".
func Duration(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	d = d.Truncate(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %02dm", hours, mins)
	default:
		return fmt.Sprintf("%dm", mins)
	}
}

// Count renders a count compactly: 950, 12.3k, 4.5M.
func Count(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	}
}
