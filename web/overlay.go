package web

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

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

// percentDown shows a probability as a percentage with one decimal,
// rounded down: a score below a threshold never reads as reaching it
// (0.9899 is 98.9 %, not 99 %). The dashboard's score() does the same.
func percentDown(p float64) string {
	return fmt.Sprintf("%.1f%%", math.Floor(p*1000+1e-9)/10)
}

// caption is the text drawn on a live frame.
func caption(v defects.Verdict) string {
	s := string(v.Outcome)
	if v.Class != "" {
		s += fmt.Sprintf(" %s %s", v.Class, percentDown(v.Confidence))
	}
	s += fmt.Sprintf(" #%d", v.Seq)
	if v.PartID != "" {
		s += " " + v.PartID
	}
	return s
}

// Caption band: white text on an opaque black band along the bottom edge,
// where the dashboard covers nothing. The 7x13 font is scaled up by whole
// pixels so the text is about a sixteenth of the picture's height.
const (
	glyphW, glyphH = 7, 13
	bandPad        = 2 // band padding, in font pixels
)

var bandColor = color.RGBA{0, 0, 0, 0xff}

// drawVerdict draws a border in the outcome's colour and the caption band.
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
	drawCaption(img, image.Rect(b.Min.X+t, b.Min.Y+t, b.Max.X-t, b.Max.Y-t), caption(v))
}

// drawCaption draws text on a band at the bottom of area, as large as the
// area's height suggests and its width allows; text that does not fit even
// at the smallest size is cut at the end.
func drawCaption(img *image.RGBA, area image.Rectangle, text string) {
	runes := []rune(text)
	scale := max(1, (area.Dy()+8*glyphH)/(16*glyphH))
	for scale > 1 && (len(runes)+2*bandPad)*glyphW*scale > area.Dx() {
		scale--
	}
	if fit := area.Dx()/(glyphW*scale) - 2*bandPad; len(runes) > fit {
		runes = runes[:max(0, fit)]
	}
	if len(runes) == 0 {
		return
	}
	bandH := (glyphH + 2*bandPad) * scale
	band := image.Rect(area.Min.X, max(area.Min.Y, area.Max.Y-bandH), area.Max.X, area.Max.Y)
	draw.Draw(img, band, image.NewUniform(bandColor), image.Point{}, draw.Src)

	// Draw at 1x into a small mask, then scale it up by whole pixels: the
	// bitmap font stays crisp.
	small := image.NewAlpha(image.Rect(0, 0, len(runes)*glyphW, glyphH))
	d := font.Drawer{Dst: small, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, basicfont.Face7x13.Ascent)}
	d.DrawString(string(runes))
	x0, y0 := band.Min.X+bandPad*scale, band.Min.Y+bandPad*scale
	for y := 0; y < glyphH; y++ {
		for x := 0; x < small.Rect.Dx(); x++ {
			if small.AlphaAt(x, y).A < 0x80 {
				continue
			}
			r := image.Rect(x0+x*scale, y0+y*scale, x0+(x+1)*scale, y0+(y+1)*scale).Intersect(band)
			draw.Draw(img, r, image.White, image.Point{}, draw.Src)
		}
	}
}
