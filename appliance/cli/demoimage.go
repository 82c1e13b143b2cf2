package cli

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// demoImage draws a machined part on a conveyor belt with a scratch across
// it: something to hand the model when no camera is attached.
func demoImage(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("demo-image", stdio)
	out := fs.String("out", "part.png", "PNG file to write")
	width := fs.Int("width", 640, "image width")
	height := fs.Int("height", 480, "image height")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *width < 16 || *height < 16 {
		return fmt.Errorf("image must be at least 16x16, got %dx%d", *width, *height)
	}
	img := image.NewRGBA(image.Rect(0, 0, *width, *height))
	cx, cy := float64(*width)/2, float64(*height)/2
	r := 0.35 * math.Min(cx, cy) * 2
	for y := 0; y < *height; y++ {
		for x := 0; x < *width; x++ {
			// Belt: dark grey with stripes; part: a lit metal disc with a bore.
			c := color.RGBA{40, 42, 45, 255}
			if (x/24)%2 == 0 {
				c = color.RGBA{48, 50, 53, 255}
			}
			dx, dy := float64(x)-cx, float64(y)-cy
			d := math.Hypot(dx, dy)
			if d < r && d > 0.3*r {
				shade := uint8(150 + 80*(1-d/r)*(0.5+0.5*dx/r))
				c = color.RGBA{shade, shade, uint8(float64(shade) * 0.97), 255}
				// The scratch: a thin dark line across the disc.
				if math.Abs(dy-0.4*dx) < 1.5 {
					c = color.RGBA{70, 60, 55, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", *out, err)
	}
	return f.Close()
}
