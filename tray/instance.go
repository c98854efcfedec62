//go:build unix

package tray

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Instance is the lock that makes the tray app single-instance per user:
// an exclusive flock on a file in the user's runtime directory, which also
// says where the holder runs. The kernel drops the lock when the process
// dies, so a crash never leaves a stale lock behind.
type Instance struct {
	f *os.File
}

// AlreadyRunningError is returned by AcquireInstance when another process
// holds the lock. Info is what that process wrote (pid and address).
type AlreadyRunningError struct {
	Path string // the lock file
	Info string // what the running instance wrote into it
}

// Error says that another instance runs and, when known, where.
func (e *AlreadyRunningError) Error() string {
	if e.Info == "" {
		return "cc-router is already running (lock " + e.Path + ")"
	}
	return "cc-router is already running: " + e.Info
}

// AcquireInstance takes the lock at path, creating its directory.
func AcquireInstance(path string) (*Instance, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			b, _ := io.ReadAll(io.LimitReader(f, 4096))
			return nil, &AlreadyRunningError{Path: path, Info: strings.TrimSpace(string(b))}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &Instance{f: f}, nil
}

// SetInfo replaces what a second instance is told (e.g. "pid 42, routing
// on 127.0.0.1:3456").
func (i *Instance) SetInfo(info string) error {
	if err := i.f.Truncate(0); err != nil {
		return err
	}
	_, err := i.f.WriteAt([]byte(info+"\n"), 0)
	return err
}

// Release drops the lock.
func (i *Instance) Release() error {
	i.f.Truncate(0)
	return i.f.Close()
}
