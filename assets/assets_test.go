package assets

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/cc-router/cc-router/assets/internal/icongen"
)

func TestEmbeddedIconsMatchTheGenerator(t *testing.T) {
	for s, name := range icongen.Names {
		for _, template := range []bool{false, true} {
			got := Icon(name, template)
			img, err := png.Decode(bytes.NewReader(got))
			if err != nil {
				t.Fatalf("%s (template %v): %v", name, template, err)
			}
			want := icongen.Draw(icongen.State(s), template)
			if img.Bounds() != want.Bounds() {
				t.Fatalf("%s: bounds %v, want %v", name, img.Bounds(), want.Bounds())
			}
			nrgba, ok := img.(*image.NRGBA)
			if !ok || !bytes.Equal(nrgba.Pix, want.Pix) {
				t.Errorf("%s (template %v) differs from the generator; run go generate ./assets", name, template)
			}
		}
	}
}

func TestIconStatesLookDifferent(t *testing.T) {
	seen := map[string]string{}
	for _, name := range icongen.Names {
		for _, template := range []bool{false, true} {
			k := string(Icon(name, template))
			if other, dup := seen[k]; dup {
				t.Errorf("%s (template %v) is the same picture as %s", name, template, other)
			}
			seen[k] = name
		}
	}
}

func TestTemplateIconsAreBlackWithAlphaOnly(t *testing.T) {
	for s, name := range icongen.Names {
		img := icongen.Draw(icongen.State(s), true)
		for i := 0; i < len(img.Pix); i += 4 {
			if img.Pix[i] != 0 || img.Pix[i+1] != 0 || img.Pix[i+2] != 0 {
				t.Fatalf("%s template has a coloured pixel", name)
			}
		}
	}
}
