package tray

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Autostart installs or removes the entry that starts the tray app at
// login: an XDG autostart .desktop file on Linux, a LaunchAgent plist on
// macOS. Paths come from github.com/adrg/xdg (see DefaultAutostart).
type Autostart struct {
	// Path of the entry.
	Path string
	// Exe is the program to start (default: this executable).
	Exe string
	// render writes the entry for exe.
	render func(exe string) string
}

// Enabled reports whether the entry is installed.
func (a Autostart) Enabled() bool {
	_, err := os.Stat(a.Path)
	return err == nil
}

// Enable writes the entry atomically.
func (a Autostart) Enable() error {
	exe := a.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("start at login: cannot find this program: %w", err)
		}
	}
	render := a.render
	if render == nil {
		render = DefaultAutostart().render
	}
	return writeFileAtomic(a.Path, []byte(render(exe)), 0o644)
}

// Disable removes the entry; a missing one is not an error.
func (a Autostart) Disable() error {
	if err := os.Remove(a.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// desktopEntry is an XDG autostart entry running exe. Exec quoting follows
// the Desktop Entry spec: the path in double quotes, with ", `, $ and \
// escaped by a backslash, and every backslash doubled again because the
// value is itself an escaped string.
func desktopEntry(exe string) string {
	var q strings.Builder
	for _, r := range exe {
		switch r {
		case '"', '`', '$':
			q.WriteString(`\\`)
		case '\\':
			q.WriteString(`\\\\`)
			continue
		case '\n':
			continue
		}
		q.WriteRune(r)
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=cc-router\n" +
		"Comment=Route Claude Code across several Claude subscriptions\n" +
		"Exec=\"" + q.String() + "\"\n" +
		"Icon=network-server\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

// launchAgentLabel names the LaunchAgent.
const launchAgentLabel = "io.github.cc-router.tray"

// launchAgentPlist is a LaunchAgent that runs exe at login in the GUI
// session (the menu-bar app needs it).
func launchAgentPlist(exe string) string {
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(exe)) // a strings.Builder does not fail
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + launchAgentLabel + `</string>
	<key>ProgramArguments</key>
	<array>
		<string>` + esc.String() + `</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
</dict>
</plist>
`
}
