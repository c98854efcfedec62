package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/adrg/xdg"
)

// TestServiceInstallWritesTheUnitAndStartsItThenUninstallRemovesIt runs
// `cc-router service install` and `uninstall` against a stand-in systemctl
// that records how it was called.
func TestServiceInstallWritesTheUnitAndStartsItThenUninstallRemovesIt(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd user unit is Linux's; launchd's agent is tested in internal/service")
	}
	dir := t.TempDir()
	t.Cleanup(xdg.Reload) // after the environment is restored
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	xdg.Reload()
	bin, calls := filepath.Join(dir, "bin"), filepath.Join(dir, "calls")
	os.MkdirAll(bin, 0o700)
	script := "#!/bin/sh\necho \"systemctl $*\" >> \"" + calls + "\"\n"
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	unit := filepath.Join(dir, "config", "systemd", "user", "cc-router.service")

	var out, errOut bytes.Buffer
	if code := run([]string{"service", "install", "--", "--listen", "127.0.0.1:4000"}, &out, &errOut); code != 0 {
		t.Fatalf("install exited %d: %s", code, errOut.String())
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatalf("no unit at %s: %v\n%s", unit, err, out.String())
	}
	if !strings.Contains(string(b), `"serve" "--listen" "127.0.0.1:4000"`) {
		t.Errorf("the unit does not run serve with the arguments after --:\n%s", b)
	}
	want := "systemctl --user daemon-reload\nsystemctl --user enable --now cc-router.service\n"
	if got, _ := os.ReadFile(calls); string(got) != want {
		t.Errorf("install ran:\n%s\nwant:\n%s", got, want)
	}

	os.Remove(calls)
	out.Reset()
	if code := run([]string{"service", "uninstall"}, &out, &errOut); code != 0 {
		t.Fatalf("uninstall exited %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("the unit is still there after uninstall: %v", err)
	}
	if got, _ := os.ReadFile(calls); !strings.HasPrefix(string(got), "systemctl --user disable --now cc-router.service\n") {
		t.Errorf("uninstall ran:\n%s", got)
	}
}

func TestServiceInstallNoStartOnlySaysWhatToRun(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd user unit is Linux's")
	}
	dir := t.TempDir()
	t.Cleanup(xdg.Reload) // after the environment is restored
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("PATH", filepath.Join(dir, "no-such-bin")) // any systemctl run would fail
	xdg.Reload()
	var out, errOut bytes.Buffer
	if code := run([]string{"service", "install", "--no-start"}, &out, &errOut); code != 0 {
		t.Fatalf("install --no-start exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "to apply it, run: systemctl --user enable --now cc-router.service") {
		t.Errorf("install --no-start does not say what to run:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "systemd", "user", "cc-router.service")); err != nil {
		t.Errorf("no unit written: %v", err)
	}
}
