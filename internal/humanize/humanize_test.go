package humanize

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	cases := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"seconds read as under a minute", 59 * time.Second, "under a minute"},
		{"minutes alone", 12*time.Minute + 30*time.Second, "12m"},
		{"hours pad minutes", 6*time.Hour + 8*time.Minute, "6h 08m"},
		{"days drop minutes", 50*time.Hour + 59*time.Minute, "2d 2h"},
	}
	for _, c := range cases {
		if got := Duration(c.in); got != c.want {
			t.Errorf("%s: Duration(%v) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestCount(t *testing.T) {
	cases := map[int64]string{0: "0", 999: "999", 1000: "1.0k", 12345: "12.3k", 999_949: "999.9k", 999_999: "1.0M",
		4_500_000: "4.5M", 999_999_999: "1.0G", 2_000_000_000: "2.0G", 5_000_000_000_000: "5000.0G"}
	for in, want := range cases {
		if got := Count(in); got != want {
			t.Errorf("Count(%d) = %q, want %q", in, got, want)
		}
	}
}
