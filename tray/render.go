//go:build linux || (darwin && cgo)

package tray

import (
	"runtime"
	"strings"
	"sync"

	"fyne.io/systray"

	"github.com/cc-router/cc-router/assets"
)

// trayMenu puts a Menu on the real systray. It owns the systray items:
// when a new Menu has the same shape (the same keys in the same places) it
// updates labels and checks in place, so an open menu does not flicker;
// otherwise it rebuilds the whole menu. Each clickable item has a
// goroutine receiving on its ClickedCh from the moment it exists, because
// systray drops a click nobody is waiting for.
type trayMenu struct {
	onClick func(Action)

	mu      sync.Mutex
	shape   string
	items   map[string]*systray.MenuItem
	current map[string]Item
	icon    string
	tooltip string
}

func newTrayMenu(onClick func(Action)) *trayMenu {
	systray.SetTitle("cc-router")
	return &trayMenu{onClick: onClick}
}

// Render shows m.
func (r *trayMenu) Render(m Menu) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Icon != r.icon {
		if runtime.GOOS == "darwin" {
			systray.SetTemplateIcon(assets.Icon(m.Icon, true), assets.Icon(m.Icon, false))
		} else {
			systray.SetIcon(assets.Icon(m.Icon, false))
		}
		r.icon = m.Icon
	}
	if m.Tooltip != r.tooltip {
		systray.SetTooltip(m.Tooltip)
		r.tooltip = m.Tooltip
	}
	shape := menuShape(m.Items)
	if shape != r.shape {
		systray.ResetMenu()
		r.items = map[string]*systray.MenuItem{}
		r.current = map[string]Item{}
		r.add(nil, m.Items)
		r.shape = shape
		return
	}
	r.update(m.Items)
}

// menuShape is a string that changes when items are added, removed or
// moved, or when an item turns into a checkbox or a separator.
func menuShape(items []Item) string {
	var b strings.Builder
	var walk func([]Item, int)
	walk = func(items []Item, depth int) {
		for _, it := range items {
			b.WriteString(strings.Repeat(">", depth))
			b.WriteString(it.Key)
			if it.Checkable {
				b.WriteString("[]")
			}
			if it.Separator {
				b.WriteString("---")
			}
			b.WriteByte('\n')
			walk(it.Children, depth+1)
		}
	}
	walk(items, 0)
	return b.String()
}

func (r *trayMenu) add(parent *systray.MenuItem, items []Item) {
	for _, it := range items {
		if it.Separator {
			if parent == nil {
				systray.AddSeparator()
			} else {
				parent.AddSeparator()
			}
			continue
		}
		var mi *systray.MenuItem
		switch {
		case parent == nil && it.Checkable:
			mi = systray.AddMenuItemCheckbox(it.Label, it.Tooltip, it.Checked)
		case parent == nil:
			mi = systray.AddMenuItem(it.Label, it.Tooltip)
		case it.Checkable:
			mi = parent.AddSubMenuItemCheckbox(it.Label, it.Tooltip, it.Checked)
		default:
			mi = parent.AddSubMenuItem(it.Label, it.Tooltip)
		}
		if it.Disabled {
			mi.Disable()
		}
		r.items[it.Key] = mi
		r.current[it.Key] = it
		go r.listen(it.Key, mi.ClickedCh)
		r.add(mi, it.Children)
	}
}

func (r *trayMenu) update(items []Item) {
	for _, it := range items {
		if it.Separator {
			continue
		}
		mi, old := r.items[it.Key], r.current[it.Key]
		if mi == nil {
			continue
		}
		if it.Label != old.Label {
			mi.SetTitle(it.Label)
		}
		if it.Tooltip != old.Tooltip {
			mi.SetTooltip(it.Tooltip)
		}
		if it.Checked != old.Checked {
			if it.Checked {
				mi.Check()
			} else {
				mi.Uncheck()
			}
		}
		if it.Disabled != old.Disabled {
			if it.Disabled {
				mi.Disable()
			} else {
				mi.Enable()
			}
		}
		r.current[it.Key] = it
		r.update(it.Children)
	}
}

// listen forwards clicks on one item until the item is removed (systray
// closes its channel). The action is looked up at click time, so an item
// whose label flipped (Stop/Start routing) does what it now says.
func (r *trayMenu) listen(key string, clicked <-chan struct{}) {
	for range clicked {
		r.mu.Lock()
		it, ok := r.current[key]
		r.mu.Unlock()
		if ok && !it.Disabled && it.Action.Kind != ActionNone {
			r.onClick(it.Action)
		}
	}
}

// haveSystray: this build can show a tray icon.
const haveSystray = true

// runSystray runs the tray's event loop (on macOS it must own the main
// goroutine) until quitSystray.
func runSystray(onReady, onExit func()) { systray.Run(onReady, onExit) }

func quitSystray() { systray.Quit() }
