package tray

import (
	"path/filepath"

	"github.com/adrg/xdg"
)

// DefaultAutostart is $XDG_CONFIG_HOME/autostart/cc-router.desktop.
func DefaultAutostart() Autostart {
	return Autostart{Path: filepath.Join(xdg.ConfigHome, "autostart", "cc-router.desktop"), render: desktopEntry}
}
