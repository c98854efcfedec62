package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adrg/xdg"
)

func TestTheSystemdUnitRunsServeWithLiteralArguments(t *testing.T) {
	s := Spec{GOOS: "linux", Binary: "/opt/cc router/cc-router", Args: []string{"--listen", "127.0.0.1:3456", "--secret-file", `/etc/$HOME/%s"x`}}
	b, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	want := `ExecStart="/opt/cc router/cc-router" "serve" "--listen" "127.0.0.1:3456" "--secret-file" "/etc/$$HOME/%%s\"x"`
	if !strings.Contains(unit, want) {
		t.Fatalf("unit lacks %s:\n%s", want, unit)
	}
	for _, w := range []string{"[Install]", "WantedBy=default.target", "Restart=on-failure"} {
		if !strings.Contains(unit, w) {
			t.Errorf("unit lacks %q", w)
		}
	}
}

func TestTheLaunchdPlistEscapesArguments(t *testing.T) {
	s := Spec{GOOS: "darwin", Binary: "/Applications/cc-router", Args: []string{"--upstream", "http://a/?x=1&y=<2>"}, Home: "/Users/me"}
	b, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	p := string(b)
	for _, w := range []string{"<string>com.cc-router.serve</string>", "<string>serve</string>", "http://a/?x=1&amp;y=&lt;2&gt;", "/Users/me/Library/Logs/cc-router.log", "<key>RunAtLoad</key>",
		"<key>ExitTimeOut</key>\n\t<integer>40</integer>"} {
		if !strings.Contains(p, w) {
			t.Errorf("plist lacks %q:\n%s", w, p)
		}
	}
	path, _ := s.Path()
	if path != "/Users/me/Library/LaunchAgents/com.cc-router.serve.plist" {
		t.Errorf("path %s", path)
	}
}

func TestInstallThenUninstallOnLinux(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(xdg.Reload) // after the environment is restored
	t.Setenv("XDG_CONFIG_HOME", dir)
	xdg.Reload()
	s := Spec{GOOS: "linux", Binary: "/usr/local/bin/cc-router"}
	path, err := Install(s)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "systemd", "user", "cc-router.service") {
		t.Fatalf("installed at %s", path)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("stat %v %v", st, err)
	}
	if _, err := Uninstall(s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("unit still there after uninstall")
	}
	if _, err := Uninstall(s); err != nil {
		t.Fatalf("second uninstall: %v", err)
	}
}

func TestARelativeBinaryIsRefused(t *testing.T) {
	if _, err := (Spec{GOOS: "linux", Binary: "cc-router"}).Render(); err == nil {
		t.Fatal("relative binary accepted")
	}
}
