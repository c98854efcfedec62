package testrouter

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestReadProcStatsSeesThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	st, err := ReadProcStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PeakRSSKB <= 0 || st.RSSKB <= 0 || st.PeakRSSKB < st.RSSKB {
		t.Errorf("peak RSS %d KB, RSS %d KB: want both positive and peak >= current", st.PeakRSSKB, st.RSSKB)
	}
	if st.Threads < 1 || st.FDs < 3 {
		t.Errorf("threads %d, fds %d: want at least 1 and 3", st.Threads, st.FDs)
	}
	// Burn some CPU and check that the reading grows.
	before := st.CPUSeconds
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := ReadProcStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.CPUSeconds <= before {
		t.Errorf("CPU seconds did not grow after a busy loop: %v -> %v", before, after.CPUSeconds)
	}
}
