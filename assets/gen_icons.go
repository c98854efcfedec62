//go:build ignore

// gen_icons writes the tray icons of package assets. Run: go generate ./assets
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/cc-router/cc-router/assets/internal/icongen"
)

func main() {
	for s, name := range icongen.Names {
		for _, template := range []bool{false, true} {
			file := name + ".png"
			if template {
				file = name + "-template.png"
			}
			data := icongen.PNG(icongen.State(s), template)
			if err := os.WriteFile(filepath.Join("icons", file), data, 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}
}
