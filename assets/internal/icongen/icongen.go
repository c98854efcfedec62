// Package icongen draws cc-router's tray icons. The PNGs embedded by
// package assets are its output (go generate ./assets); a test checks that
// the committed files still match what it draws.
package icongen

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
)

// State is one of the four looks of the tray icon.
type State int

// The icon states, in the order the files are named.
const (
	Healthy  State = iota // routing, every account usable
	Degraded              // routing, some account needs attention
	Unusable              // routing, no account usable
	Off                   // routing stopped
)

// Names are the file stems of the states.
var Names = [...]string{"healthy", "degraded", "unusable", "off"}

// Size is the icon's width and height in pixels (drawn at 2x for HiDPI).
const Size = 44

var colors = [...]color.NRGBA{
	{0x2e, 0xa0, 0x43, 0xff}, // green
	{0xd9, 0x8e, 0x04, 0xff}, // amber
	{0xcf, 0x22, 0x2e, 0xff}, // red
	{0x8c, 0x95, 0x9f, 0xff}, // grey
}

// Draw returns the icon for s. A template icon (macOS) is black with alpha
// only, so the system can tint it for light and dark menu bars; the states
// then differ by shape alone, which the coloured icons share.
func Draw(s State, template bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, Size, Size))
	c := colors[s]
	if template {
		c = color.NRGBA{0, 0, 0, 0xff}
	}
	const (
		center = Size / 2.0
		outer  = Size/2.0 - 2
		ring   = 4.0
	)
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			d := math.Hypot(px-center, py-center)
			var cover float64
			switch s {
			case Healthy: // filled disc with a hollow centre dot
				cover = disc(d, outer) - disc(d, outer/3)
			case Degraded: // ring with the left half filled
				cover = ringCover(d, outer, ring)
				if px < center {
					cover = disc(d, outer)
				}
			case Unusable: // ring with a diagonal cross
				cover = math.Max(ringCover(d, outer, ring), crossCover(px, py, center, outer*0.55, ring/2))
			case Off: // thin ring only
				cover = ringCover(d, outer, ring*0.6)
			}
			if cover <= 0 {
				continue
			}
			a := uint8(math.Round(float64(c.A) * math.Min(cover, 1)))
			img.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, a})
		}
	}
	return img
}

// PNG encodes Draw(s, template).
func PNG(s State, template bool) []byte {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, Draw(s, template)); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return b.Bytes()
}

// disc is the antialiased coverage of a pixel at distance d from the
// centre of a disc of radius r.
func disc(d, r float64) float64 { return clamp(r - d + 0.5) }

func ringCover(d, r, width float64) float64 { return disc(d, r) - disc(d, r-width) }

func crossCover(px, py, c, half, w float64) float64 {
	dx, dy := px-c, py-c
	if math.Abs(dx) > half || math.Abs(dy) > half {
		return 0
	}
	d1 := math.Abs(dx-dy) / math.Sqrt2
	d2 := math.Abs(dx+dy) / math.Sqrt2
	return clamp(w - math.Min(d1, d2) + 0.5)
}

func clamp(v float64) float64 { return math.Max(0, math.Min(1, v)) }
