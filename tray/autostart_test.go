package tray

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAutostartEnableAndDisable(t *testing.T) {
	for name, render := range map[string]func(string) string{"desktop entry": desktopEntry, "launch agent": launchAgentPlist} {
		t.Run(name, func(t *testing.T) {
			a := Autostart{Path: filepath.Join(t.TempDir(), "autostart", "entry"), Exe: "/opt/cc router/cc-router", render: render}
			if a.Enabled() {
				t.Fatal("enabled before Enable")
			}
			if err := a.Enable(); err != nil {
				t.Fatal(err)
			}
			if !a.Enabled() {
				t.Fatal("not enabled after Enable")
			}
			b, _ := os.ReadFile(a.Path)
			if !strings.Contains(string(b), "/opt/cc router/cc-router") {
				t.Errorf("entry does not run the program:\n%s", b)
			}
			if err := a.Disable(); err != nil || a.Enabled() {
				t.Fatalf("Disable: %v, enabled %v", err, a.Enabled())
			}
			if err := a.Disable(); err != nil {
				t.Errorf("disabling twice: %v", err)
			}
		})
	}
}

func TestDesktopEntryQuotesTheProgramPath(t *testing.T) {
	got := desktopEntry(`/home/a "b"/$x/cc-router`)
	if !strings.Contains(got, "Exec=\"/home/a \\\\\"b\\\\\"/\\\\$x/cc-router\"\n") {
		t.Errorf("Exec line not quoted per the Desktop Entry spec:\n%s", got)
	}
}

func TestLaunchAgentPlistIsWellFormedXML(t *testing.T) {
	doc := launchAgentPlist("/Applications/A&B <x>.app/Contents/MacOS/cc-router")
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	var strs []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			strs = append(strs, string(cd))
		}
	}
	want := "/Applications/A&B <x>.app/Contents/MacOS/cc-router"
	found := false
	for _, s := range strs {
		found = found || s == want
	}
	if !found {
		t.Errorf("program path not recoverable from the plist: %q", strs)
	}
}
