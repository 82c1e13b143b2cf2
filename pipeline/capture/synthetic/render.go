package synthetic

import "math"

const (
	beltPeriod = 128 // the conveyor texture repeats every this many pixels
	vigLevels  = 64  // steps of the vignette
)

// renderer draws scenes into BGR buffers of one size. Everything that does
// not change between frames (belt texture, vignette, noise) is made once.
type renderer struct {
	w, h       int
	belt       []byte // (w+beltPeriod) x h BGR, periodic in x
	beltStride int
	vignette   []uint8 // per pixel level, 0 (centre) to vigLevels-1 (corners)
	luts       [vigLevels][256]byte
}

func newRenderer(w, h int) *renderer {
	r := &renderer{w: w, h: h, beltStride: (w + beltPeriod) * 3}
	r.belt = make([]byte, r.beltStride*h)
	r.drawBelt()
	r.vignette = make([]uint8, w*h)
	cx, cy := float64(w)/2, float64(h)/2
	norm := 1 / (cx*cx + cy*cy)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			r.vignette[y*w+x] = uint8((dx*dx + dy*dy) * norm * (vigLevels - 1))
		}
	}
	return r
}

// drawBelt paints the conveyor: a dark rubber belt with transverse ribs
// between two brushed aluminium guide rails.
func (r *renderer) drawBelt() {
	w, h := r.w+beltPeriod, r.h
	rail := max(h*8/100, 3)
	for y := 0; y < h; y++ {
		row := r.belt[y*r.beltStride:]
		railY := y // distance into the rail from the outside
		if y >= h-rail {
			railY = h - 1 - y
		}
		for x := 0; x < w; x++ {
			xp := int32(x % beltPeriod)
			var c col
			if railY < rail {
				streak := hash2(0, int32(y), 5)*18 + (hash2(xp, int32(y), 6)-0.5)*10
				c = col{158, 154, 150}.add(streak)
				switch {
				case railY >= rail-2:
					c = col{58, 58, 60}
				case railY >= rail-4:
					c = col{218, 216, 214}
				}
				if bx, by := float64(x%(beltPeriod/2)-beltPeriod/4), float64(railY)-float64(rail)/2+1; bx*bx+by*by < float64(rail*rail)/12 {
					c = col{100, 100, 104}.add(-by * 12) // bolt head
				}
			} else {
				n := valueNoise(float64(xp)/8, float64(y)/8, beltPeriod/8, 1)
				c = col{52, 56, 55}.scale(0.85 + 0.3*n).add((hash2(xp, int32(y), 2) - 0.5) * 9)
				switch xp % 32 {
				case 0, 1:
					c = c.scale(0.7)
				case 2:
					c = c.scale(1.12)
				}
				if d := railY - rail; d < 10 { // shadow of the rail on the belt
					c = c.scale(0.55 + 0.045*float64(d))
				}
			}
			row[x*3], row[x*3+1], row[x*3+2] = toByte(c.b), toByte(c.g), toByte(c.r)
		}
	}
}

// render draws a scene into dst (BGR, stride bytes per row, the renderer's
// size).
func (r *renderer) render(dst []byte, stride int, sc *scene) {
	off := sc.beltOffset * 3
	for y := 0; y < r.h; y++ {
		copy(dst[y*stride:y*stride+r.w*3], r.belt[y*r.beltStride+off:])
	}
	r.drawPart(dst, stride, sc)
	r.finish(dst, stride, sc)
}

// drawPart composites the part and its soft shadow over the belt, touching
// only the pixels of its bounding box.
func (r *renderer) drawPart(dst []byte, stride int, sc *scene) {
	info := partInfos[sc.part]
	px := 1 / sc.scale
	// The shadow falls away from the light, offset and blurred.
	const shift, blur = 0.07, 0.07
	shu, shv := -sc.lu*shift, -sc.lv*shift
	hu, hv := info.hu+shift+blur, info.hv+shift+blur // beyond this nothing shows
	reach := (info.extent+shift+blur)*sc.scale + 2
	x0, x1 := max(int(sc.cx-reach), 0), min(int(sc.cx+reach)+1, r.w)
	y0, y1 := max(int(sc.cy-reach), 0), min(int(sc.cy+reach)+1, r.h)
	// Local coordinates advance by (du, dv) per pixel to the right.
	du, dv := sc.cos*px, -sc.sin*px
	for y := y0; y < y1; y++ {
		dx, dy := float64(x0)-sc.cx+0.5, float64(y)-sc.cy+0.5
		u := (sc.cos*dx + sc.sin*dy) * px
		v := (-sc.sin*dx + sc.cos*dy) * px
		row := dst[y*stride:]
		for x := x0; x < x1; x, u, v = x+1, u+du, v+dv {
			if u > hu || u < -hu || v > hv || v < -hv {
				continue
			}
			d := outline(sc.part, u, v)
			if d > shift+blur+px { // beyond the part and its shadow
				continue
			}
			shadow := 0.55 // deep inside, the shadow shows through holes
			if d > -shift-blur-px {
				shadow = 0
				if ds := outline(sc.part, u-shu, v-shv); ds < blur {
					shadow = 0.55 * smoothstep(blur, -blur, ds)
				}
			}
			if shadow == 0 && d > px {
				continue
			}
			a, c := 0.0, col{}
			if d <= px+0.1 { // a dent can push the outline out of reach
				indent := 0.0
				if sc.defect == defectDent {
					indent = sc.def.indent(u, v)
				}
				var surface bool
				a, c, surface = shadePart(sc, px, u, v, d, indent)
				if a > 0 && surface && sc.defect >= 0 {
					c = applyDefect(sc, px, u, v, c)
				}
			}
			i := x * 3
			k := (1 - shadow) * (1 - a)
			row[i] = toByte(float64(row[i])*k + c.b*a)
			row[i+1] = toByte(float64(row[i+1])*k + c.g*a)
			row[i+2] = toByte(float64(row[i+2])*k + c.r*a)
		}
	}
}

// finish applies the lens vignette and the frame's brightness through one
// lookup table per vignette level.
func (r *renderer) finish(dst []byte, stride int, sc *scene) {
	for l := range r.luts {
		k := sc.gain * (1 - 0.38*float64(l)/float64(vigLevels-1))
		for v := range r.luts[l] {
			r.luts[l][v] = toByte(float64(v) * k)
		}
	}
	for y := 0; y < r.h; y++ {
		row := dst[y*stride : y*stride+r.w*3]
		levels := r.vignette[y*r.w : (y+1)*r.w]
		for x, l := range levels {
			lut := &r.luts[l]
			p := row[x*3 : x*3+3 : x*3+3]
			p[0], p[1], p[2] = lut[p[0]], lut[p[1]], lut[p[2]]
		}
	}
}

func toByte(v float64) byte {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return byte(v + 0.5)
}

// outline is the signed distance to a part's silhouette, without holes; it
// casts the shadow and bounds the work per pixel.
func outline(part int, u, v float64) float64 {
	switch part {
	case partWasher, partCap:
		return math.Sqrt(u*u+v*v) - 1
	case partBracket:
		d, _, _ := roundRect(u, v, 1, 0.58, 0.16)
		return d
	default:
		return connectorOutline(u, v)
	}
}

// shadePart gives a part's coverage and colour at (u, v), and whether the
// point is on a surface a defect can mark. d is outline(part, u, v), which
// the shaders reuse rather than recompute.
func shadePart(sc *scene, px, u, v, d, indent float64) (float64, col, bool) {
	switch sc.part {
	case partWasher:
		return shadeWasher(sc, px, u, v, d+1, indent)
	case partBracket:
		return shadeBracket(sc, px, u, v, d, indent)
	case partConnector:
		return shadeConnector(sc, px, u, v, d, indent)
	default:
		return shadeCap(sc, px, u, v, d+1, indent)
	}
}
