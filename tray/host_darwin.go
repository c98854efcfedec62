package tray

// trayHostAvailable: the macOS menu bar is always there in a GUI session.
func trayHostAvailable() (ok bool, why string) { return true, "" }
