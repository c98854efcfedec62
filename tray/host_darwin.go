package tray

import "os"

// trayHostAvailable: the menu bar is there in a GUI login session, not in
// an SSH session (where AppKit has no window server to talk to).
func trayHostAvailable() (ok bool, why string) {
	if os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "" {
		return false, "no menu bar in an SSH session"
	}
	return true, ""
}
