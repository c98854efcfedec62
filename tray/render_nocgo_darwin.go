//go:build darwin && !cgo

package tray

// A macOS build without cgo has no menu bar (fyne.io/systray needs cgo
// there); the app then runs headless and says why.

const haveSystray = false

type trayMenu struct{}

func newTrayMenu(func(Action)) *trayMenu { return &trayMenu{} }

func (*trayMenu) Render(Menu) {}

func runSystray(onReady, onExit func()) { panic("tray: built without systray") }

func quitSystray() {}
