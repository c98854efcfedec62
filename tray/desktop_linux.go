package tray

import (
	"errors"
	"os"
	"os/exec"
	"strings"
)

// copyToClipboard tries wl-copy (Wayland), then xclip and xsel (X11).
func copyToClipboard(text string) error {
	var tries [][]string
	if os.Getenv("WAYLAND_DISPLAY") != "" {
		tries = append(tries, []string{"wl-copy"})
	}
	tries = append(tries, []string{"xclip", "-selection", "clipboard"}, []string{"xsel", "--clipboard", "--input"})
	var errs []error
	for _, args := range tries {
		path, err := exec.LookPath(args[0])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cmd := exec.Command(path, args[1:]...)
		cmd.Stdin = strings.NewReader(text)
		if err := cmd.Run(); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

// openPath opens a folder in the file manager.
func openPath(path string) error {
	return exec.Command("xdg-open", path).Run()
}
