// Package service installs cc-router's headless router (`cc-router serve`)
// as a per-user service that starts at login: a systemd user unit on Linux,
// a launchd agent on macOS. It is for machines without a tray; the tray
// app's own "Start at login" lives in tray/.
package service

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/template"

	"github.com/adrg/xdg"

	"github.com/cc-router/cc-router/internal/atomicfile"
)

// SystemdUnit is the unit's file name on Linux; LaunchdLabel is the
// agent's label (and file name, with .plist) on macOS.
const (
	SystemdUnit  = "cc-router.service"
	LaunchdLabel = "com.cc-router.serve"
)

// Spec describes the service to install.
type Spec struct {
	GOOS   string   // runtime.GOOS by default
	Binary string   // absolute path of the cc-router binary
	Args   []string // arguments after "serve"
	Home   string   // user's home directory (macOS LaunchAgents and log paths)
}

// Path returns where the service file goes for spec.GOOS.
func (s Spec) Path() (string, error) {
	switch s.goos() {
	case "linux":
		return filepath.Join(xdg.ConfigHome, "systemd", "user", SystemdUnit), nil
	case "darwin":
		return filepath.Join(s.Home, "Library", "LaunchAgents", LaunchdLabel+".plist"), nil
	}
	return "", fmt.Errorf("installing a service is not supported on %s", s.goos())
}

func (s Spec) goos() string {
	if s.GOOS == "" {
		return runtime.GOOS
	}
	return s.GOOS
}

var unitTemplate = template.Must(template.New("unit").Parse(`# Installed by "cc-router service install"; remove with "cc-router service uninstall".
[Unit]
Description=cc-router: route Claude Code across several Claude subscriptions
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={{.Exec}}
Restart=on-failure
RestartSec=5
# Let in-flight streams finish on stop (cc-router serve drains on SIGTERM).
TimeoutStopSec=40
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=default.target
`))

var plistTemplate = template.Must(template.New("plist").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Installed by "cc-router service install"; remove with "cc-router service uninstall". -->
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{{.Label}}</string>
	<key>ProgramArguments</key>
	<array>
{{- range .Argv}}
		<string>{{.}}</string>
{{- end}}
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<!-- serve lets streams finish for 30s after SIGTERM; launchd's default is 20s. -->
	<key>ExitTimeOut</key>
	<integer>40</integer>
	<key>StandardErrorPath</key>
	<string>{{.Log}}</string>
	<key>StandardOutPath</key>
	<string>{{.Log}}</string>
</dict>
</plist>
`))

// Render returns the service file's content.
func (s Spec) Render() ([]byte, error) {
	if !filepath.IsAbs(s.Binary) {
		return nil, fmt.Errorf("the service needs the binary's absolute path, got %q", s.Binary)
	}
	argv := append([]string{s.Binary, "serve"}, s.Args...)
	var b bytes.Buffer
	switch s.goos() {
	case "linux":
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = systemdQuote(a)
		}
		err := unitTemplate.Execute(&b, map[string]string{"Exec": strings.Join(quoted, " ")})
		return b.Bytes(), err
	case "darwin":
		// text/template does not escape; escape for XML ourselves.
		esc := make([]string, len(argv))
		for i, a := range argv {
			esc[i] = xmlEscape(a)
		}
		err := plistTemplate.Execute(&b, map[string]any{
			"Label": LaunchdLabel, "Argv": esc,
			"Log": xmlEscape(filepath.Join(s.Home, "Library", "Logs", "cc-router.log")),
		})
		return b.Bytes(), err
	}
	return nil, fmt.Errorf("installing a service is not supported on %s", s.goos())
}

// systemdQuote quotes one ExecStart word: double quotes, with backslash,
// quote, dollar and percent escaped so systemd takes it literally.
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// xmlEscape escapes s for an XML text node.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// Install writes the service file (atomically, 0644) and returns its path.
func Install(s Spec) (string, error) {
	path, err := s.Path()
	if err != nil {
		return "", err
	}
	data, err := s.Render()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, atomicfile.WriteFile(path, data, 0o644)
}

// Uninstall removes the service file; a missing one is not an error.
func Uninstall(s Spec) (string, error) {
	path, err := s.Path()
	if err != nil {
		return "", err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return path, err
	}
	return path, nil
}

// ActivateCommands returns the commands that start (or, with stop, stop)
// the installed service, for the caller to run or print.
func ActivateCommands(s Spec, path string, stop bool) [][]string {
	switch s.goos() {
	case "linux":
		if stop {
			return [][]string{{"systemctl", "--user", "disable", "--now", SystemdUnit}, {"systemctl", "--user", "daemon-reload"}}
		}
		return [][]string{{"systemctl", "--user", "daemon-reload"}, {"systemctl", "--user", "enable", "--now", SystemdUnit}}
	case "darwin":
		target := fmt.Sprintf("gui/%d", os.Getuid())
		if stop {
			return [][]string{{"/bin/launchctl", "bootout", target + "/" + LaunchdLabel}}
		}
		return [][]string{{"/bin/launchctl", "bootstrap", target, path}}
	}
	return nil
}

// Run runs argv without a shell and returns its combined output on error.
func Run(argv []string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
