package tray

import (
	"os/exec"
	"strings"
)

// copyToClipboard uses /usr/bin/pbcopy.
func copyToClipboard(text string) error {
	cmd := exec.Command("/usr/bin/pbcopy")
	cmd.Stdin = strings.NewReader(text)
	return cmd.Run()
}

// openPath opens a folder in the Finder.
func openPath(path string) error {
	return exec.Command("/usr/bin/open", path).Run()
}
