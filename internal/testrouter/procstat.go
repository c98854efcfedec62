// Package testrouter runs a built cc-router binary as a separate process
// (`cc-router serve`) for benchmarks and end-to-end tests, and reads that
// process's resource use from /proc.
package testrouter

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat. It is 100 on every Linux platform Go supports.
const clockTicks = 100

// ProcStats is a snapshot of a process's resource use.
type ProcStats struct {
	PeakRSSKB  int64   // VmHWM: peak resident set since start or the last ResetPeakRSS
	RSSKB      int64   // VmRSS: resident set now
	CPUSeconds float64 // user + system CPU time since start
	Threads    int64
	FDs        int // open file descriptors
}

// ReadProcStats reads pid's figures from /proc (Linux only).
func ReadProcStats(pid int) (ProcStats, error) {
	var st ProcStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmHWM":
			st.PeakRSSKB = n
		case "VmRSS":
			st.RSSKB = n
		case "Threads":
			st.Threads = n
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) may hold spaces; fields after its closing
	// parenthesis start at field 3 (state). utime and stime are 14 and 15.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(f))
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	st.CPUSeconds = float64(utime+stime) / clockTicks
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		st.FDs = len(ents)
	}
	return st, nil
}

// ResetPeakRSS resets pid's VmHWM to its current RSS (writing 5 to
// /proc/<pid>/clear_refs), so the next reading is the peak of what follows.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
