package preprocess

import "math"

// Pillow's 8-bit resampling multiplies pixels by coefficients in fixed point
// with this many fractional bits, and rounds by starting each sum at one half.
const (
	precisionBits = 32 - 8 - 2
	roundingHalf  = 1 << (precisionBits - 1)
)

// bicubicSupport is the radius of the bicubic kernel at scale 1.
const bicubicSupport = 2.0

// bicubic is Pillow's cubic convolution kernel with a = -0.5. The explicit
// float64 conversions keep the compiler from fusing multiply-adds, so every
// platform rounds as Pillow's x86-64 build does.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

// axisCoeffs holds, for a run of consecutive output positions along one axis,
// the first input index each reads and its fixed-point weights.
type axisCoeffs struct {
	ksize   int     // weights stored per output position
	first   []int   // first input index read by each output position
	count   []int   // number of inputs read by each output position
	weights []int32 // ksize weights per output position
}

// compute fills c for output positions [from, from+n) of a resize from inSize
// to outSize, exactly as Pillow's precompute_coeffs and normalize_coeffs_8bpc
// do for the whole axis, so a run gives the same values as the full resize.
func (c *axisCoeffs) compute(inSize, outSize, from, n int) {
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1) // widen the kernel when downscaling: antialiasing
	support := bicubicSupport * filterScale
	c.ksize = int(math.Ceil(support))*2 + 1

	c.first = grow(c.first, n)
	c.count = grow(c.count, n)
	c.weights = grow(c.weights, n*c.ksize)
	raw := make([]float64, c.ksize) // only on a size change, never per frame
	invScale := 1 / filterScale
	for i := range n {
		center := float64(float64(from+i)+0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), inSize)
		count := hi - lo
		sum := 0.0
		for k := range count {
			w := bicubic(float64(float64(float64(k+lo)-center)+0.5) * invScale)
			raw[k] = w
			sum += w
		}
		ws := c.weights[i*c.ksize : (i+1)*c.ksize]
		for k := range ws {
			ws[k] = 0
			if k >= count {
				continue
			}
			w := raw[k]
			if sum != 0 {
				w /= sum
			}
			// Round half away from zero, as the C cast after adding ±0.5 does.
			if w < 0 {
				ws[k] = int32(-0.5 + w*(1<<precisionBits))
			} else {
				ws[k] = int32(0.5 + w*(1<<precisionBits))
			}
		}
		c.first[i] = lo
		c.count[i] = count
	}
}

// span is the range of input indices that the computed positions read.
func (c *axisCoeffs) span() (lo, hi int) {
	lo, hi = math.MaxInt, 0
	for i, f := range c.first {
		lo = min(lo, f)
		hi = max(hi, f+c.count[i])
	}
	return lo, hi
}

// clip8 turns a fixed-point sum into a pixel, saturating as Pillow does.
func clip8(sum int32) uint8 {
	v := sum >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// grow returns s with length n, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
