package tray

import (
	"path/filepath"

	"github.com/adrg/xdg"
)

// DefaultAutostart is ~/Library/LaunchAgents/io.github.cc-router.tray.plist.
func DefaultAutostart() Autostart {
	return Autostart{Path: filepath.Join(xdg.Home, "Library", "LaunchAgents", launchAgentLabel+".plist"), render: launchAgentPlist}
}
