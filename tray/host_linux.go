package tray

import (
	"os"

	"github.com/godbus/dbus/v5"
)

// trayHostAvailable reports whether the tray can be shown: a session bus
// is needed. With a bus but no StatusNotifierWatcher yet (a panel still
// starting at login) the tray still runs, since systray registers when a
// watcher appears; why then says so.
func trayHostAvailable() (ok bool, why string) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return false, "no tray host (DBUS_SESSION_BUS_ADDRESS is not set)"
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false, "no tray host (cannot reach the D-Bus session bus: " + err.Error() + ")"
	}
	defer conn.Close()
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has); err != nil || !has {
		return true, "no tray host on the session bus yet (no StatusNotifierWatcher)"
	}
	return true, ""
}
