// Package assets holds the files embedded in the cc-router binary: the
// tray icons for each state, coloured (Linux) and template (macOS).
package assets

import (
	"embed"
	"fmt"
)

//go:generate go run gen_icons.go

//go:embed icons/*.png
var icons embed.FS

// Icon states, matching the file names under icons/.
const (
	Healthy  = "healthy"  // routing, every account usable
	Degraded = "degraded" // routing, some account needs attention
	Unusable = "unusable" // routing, no account usable
	Off      = "off"      // routing stopped
)

// Icon returns the PNG for state: the coloured one, or the black-and-alpha
// template one that macOS tints for light and dark menu bars. It panics on
// an unknown state, which is a programming error.
func Icon(state string, template bool) []byte {
	name := "icons/" + state + ".png"
	if template {
		name = "icons/" + state + "-template.png"
	}
	b, err := icons.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("assets: no icon %q", name))
	}
	return b
}
