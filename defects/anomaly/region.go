package anomaly

import (
	"image"
	"math"
)

// Upsample resizes a g x g map to w x h bilinearly, sampling at pixel
// centres and clamping at the edges (align_corners=False, as
// torch.nn.functional.interpolate and cv2.resize do): output pixel x reads
// the map at (x+0.5)*g/w - 0.5.
func Upsample(m []float64, g, w, h int) []float64 {
	out := make([]float64, w*h)
	xs0, xs1, xf := axisWeights(g, w)
	ys0, ys1, yf := axisWeights(g, h)
	for y := 0; y < h; y++ {
		r0, r1, fy := m[ys0[y]*g:], m[ys1[y]*g:], yf[y]
		row := out[y*w : (y+1)*w]
		for x := range row {
			a := r0[xs0[x]]*(1-xf[x]) + r0[xs1[x]]*xf[x]
			b := r1[xs0[x]]*(1-xf[x]) + r1[xs1[x]]*xf[x]
			row[x] = a*(1-fy) + b*fy
		}
	}
	return out
}

// axisWeights are, for each of n output positions along an axis of g map
// cells, the two cells it blends and the weight of the second.
func axisWeights(g, n int) (lo, hi []int, frac []float64) {
	lo, hi, frac = make([]int, n), make([]int, n), make([]float64, n)
	for i := range n {
		s := max(0, (float64(i)+0.5)*float64(g)/float64(n)-0.5)
		l := min(int(s), g-1)
		lo[i], hi[i], frac[i] = l, min(l+1, g-1), s-float64(l)
		if l == g-1 {
			frac[i] = 0
		}
	}
	return lo, hi, frac
}

// LargestRegion is the bounding box, in pixels of the w x h map m, of the
// largest 8-connected area of values at or above threshold; on a tie the one
// reached first in reading order. ok is false when no value reaches it.
func LargestRegion(m []float64, w, h int, threshold float64) (box image.Rectangle, ok bool) {
	seen := make([]bool, len(m))
	var stack []int
	best := 0
	for start, v := range m {
		if seen[start] || v < threshold {
			continue
		}
		// Flood the area from start.
		seen[start] = true
		stack = append(stack[:0], start)
		n := 0
		r := image.Rect(start%w, start/w, start%w+1, start/w+1)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := p%w, p/w
			r = r.Union(image.Rect(x, y, x+1, y+1))
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if !seen[q] && m[q] >= threshold {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		if n > best {
			best, box = n, r
		}
	}
	return box, best > 0
}

// Quantise stores a map of values in [0, 1] in 8 bits: 0 is 0, 255 is 1,
// rounded to nearest; values outside are clamped.
func Quantise(m []float64) []uint8 {
	out := make([]uint8, len(m))
	for i, v := range m {
		if math.IsNaN(v) {
			continue
		}
		out[i] = uint8(math.Round(min(1, max(0, v)) * 255))
	}
	return out
}
