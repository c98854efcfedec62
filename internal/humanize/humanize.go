// Package humanize formats durations and counts for people: the tray menu
// and the status table share it so the two always read alike.
package humanize

import (
	"fmt"
	"math"
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

// Count renders a count compactly: 950, 12.3k, 4.5M, 2.0G, in the smallest
// unit that keeps the rounded value under 1000 (999,999 is 1.0M, not
// 1000.0k).
func Count(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d", n)
	}
	v, unit := float64(n)/1000, "k"
	for _, next := range []string{"M", "G"} {
		if math.Round(v*10) < 10000 {
			break
		}
		v, unit = v/1000, next
	}
	return fmt.Sprintf("%.1f%s", v, unit)
}
