package web

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/linesight/linesight/defects"
)

// outcomeColor is the border colour an operator reads at a glance.
func outcomeColor(o defects.Outcome) color.RGBA {
	switch o {
	case defects.Pass:
		return color.RGBA{0x1e, 0xa0, 0x3c, 0xff}
	case defects.Fail:
		return color.RGBA{0xd0, 0x1e, 0x1e, 0xff}
	case defects.Uncertain:
		return color.RGBA{0xf0, 0xa0, 0x00, 0xff}
	}
	return color.RGBA{0x80, 0x80, 0x80, 0xff}
}

// caption is the text drawn on a live frame.
func caption(v defects.Verdict) string {
	s := string(v.Outcome)
	if v.Class != "" {
		s += fmt.Sprintf(" %s %.2f", v.Class, v.Confidence)
	}
	s += fmt.Sprintf(" #%d", v.Seq)
	if v.PartID != "" {
		s += " " + v.PartID
	}
	return s
}

// drawVerdict draws a border in the outcome's colour and a caption bar.
func drawVerdict(img *image.RGBA, v defects.Verdict) {
	b := img.Bounds()
	col := image.NewUniform(outcomeColor(v.Outcome))
	t := max(4, b.Dx()/160)
	for _, r := range []image.Rectangle{
		image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+t), image.Rect(b.Min.X, b.Max.Y-t, b.Max.X, b.Max.Y),
		image.Rect(b.Min.X, b.Min.Y, b.Min.X+t, b.Max.Y), image.Rect(b.Max.X-t, b.Min.Y, b.Max.X, b.Max.Y),
	} {
		draw.Draw(img, r.Intersect(b), col, image.Point{}, draw.Src)
	}
	face := basicfont.Face7x13
	text := caption(v)
	bar := image.Rect(b.Min.X+t, b.Min.Y+t, min(b.Max.X-t, b.Min.X+t+8+7*len(text)), min(b.Max.Y, b.Min.Y+t+18))
	draw.Draw(img, bar, col, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.White, Face: face,
		Dot: fixed.P(bar.Min.X+4, bar.Min.Y+14)}
	d.DrawString(text)
}
