//go:build unix

package tray

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestSecondInstanceIsToldWhereTheFirstRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "cc-router.lock")
	first, err := AcquireInstance(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SetInfo("pid 42, routing on 127.0.0.1:3456"); err != nil {
		t.Fatal(err)
	}
	_, err = AcquireInstance(path)
	var running *AlreadyRunningError
	if !errors.As(err, &running) {
		t.Fatalf("second acquire: %v, want AlreadyRunningError", err)
	}
	if running.Info != "pid 42, routing on 127.0.0.1:3456" {
		t.Errorf("info = %q", running.Info)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := AcquireInstance(path)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	again.Release()
}
