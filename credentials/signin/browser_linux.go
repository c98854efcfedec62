package signin

import (
	"os"
	"os/exec"
)

// platformOpeners returns xdg-open when a graphical session is present
// (DISPLAY or WAYLAND_DISPLAY is set) and xdg-open is installed. Without a
// display, xdg-open would start a text browser in our terminal, so the
// manual flow is used instead.
func platformOpeners() []string {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil
	}
	if p, err := exec.LookPath("xdg-open"); err == nil {
		return []string{p}
	}
	return nil
}

// noBrowserReason says why platformOpeners found nothing.
func noBrowserReason() string {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return "no graphical session (DISPLAY and WAYLAND_DISPLAY are unset) and BROWSER is not set"
	}
	return "xdg-open is not installed and BROWSER is not set"
}
