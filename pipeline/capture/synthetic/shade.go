package synthetic

import "math"

// col is a BGR colour in 0..255 floats, BGR to match the frame layout.
type col struct{ b, g, r float64 }

func (c col) add(k float64) col   { return col{c.b + k, c.g + k, c.r + k} }
func (c col) scale(k float64) col { return col{c.b * k, c.g * k, c.r * k} }

func mix(a, b col, t float64) col {
	return col{a.b + (b.b-a.b)*t, a.g + (b.g-a.g)*t, a.r + (b.r-a.r)*t}
}

func clamp01(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// cover turns a signed distance (negative inside, local units) into an
// anti-aliased coverage, px being the size of one pixel in local units.
func cover(d, px float64) float64 { return clamp01(0.5 - d/px) }

func smoothstep(e0, e1, x float64) float64 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

// roundRect is the signed distance to a rectangle of half extents hx, hy with
// corner radius rad, and the outward normal at the nearest edge.
func roundRect(u, v, hx, hy, rad float64) (d, nu, nv float64) {
	qx := math.Abs(u) - hx + rad
	qy := math.Abs(v) - hy + rad
	sx, sy := sign(u), sign(v)
	switch {
	case qx > 0 && qy > 0:
		l := math.Sqrt(qx*qx + qy*qy)
		return l - rad, sx * qx / l, sy * qy / l
	case qx > qy:
		return qx - rad, sx, 0
	default:
		return qy - rad, 0, sy
	}
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// hexagon is the signed distance to a regular hexagon with inradius ri and
// flat sides facing ±v.
func hexagon(u, v, ri float64) float64 {
	const kx, ky, kz = -0.866025404, 0.5, 0.577350269
	u, v = math.Abs(u), math.Abs(v)
	dot := kx*v + ky*u
	if dot < 0 {
		v -= 2 * dot * kx
		u -= 2 * dot * ky
	}
	v -= clampF(v, -kz*ri, kz*ri)
	u -= ri
	return math.Sqrt(u*u+v*v) * sign(u)
}

func clampF(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}

// segmentDist is the distance from p to the segment a-b and the position
// along it (0 at a, 1 at b).
func segmentDist(pu, pv, au, av, bu, bv float64) (d, t float64) {
	du, dv := bu-au, bv-av
	t = clamp01(((pu-au)*du + (pv-av)*dv) / (du*du + dv*dv))
	eu, ev := pu-au-t*du, pv-av-t*dv
	return math.Sqrt(eu*eu + ev*ev), t
}

// hash2 is a cheap integer hash of a lattice point to [0, 1).
func hash2(x, y int32, seed uint32) float64 {
	h := uint32(x)*0x8da6b343 ^ uint32(y)*0xd8163841 ^ seed*0xcb1ab31f
	h ^= h >> 13
	h *= 0x5bd1e995
	h ^= h >> 15
	return float64(h&0xffffff) / 0x1000000
}

// valueNoise is smooth noise in [0, 1) with a lattice of one unit, periodic
// in x with period px (lattice units).
func valueNoise(x, y float64, px int32, seed uint32) float64 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int32(x0), int32(y0)
	ix1 := ix + 1
	if px > 0 {
		ix, ix1 = mod(ix, px), mod(ix1, px)
	}
	a := hash2(ix, iy, seed)
	b := hash2(ix1, iy, seed)
	c := hash2(ix, iy+1, seed)
	d := hash2(ix1, iy+1, seed)
	sx := fx * fx * (3 - 2*fx)
	sy := fy * fy * (3 - 2*fy)
	return a + (b-a)*sx + (c-a)*sy + (a-b-c+d)*sx*sy
}

func mod(a, m int32) int32 {
	a %= m
	if a < 0 {
		a += m
	}
	return a
}

// sinTable backs fastSin, which is plenty for surface textures.
var sinTable = func() (t [1024]float64) {
	for i := range t {
		t[i] = math.Sin(float64(i) * 2 * math.Pi / 1024)
	}
	return t
}()

func fastSin(x float64) float64 {
	return sinTable[int(x*(1024/(2*math.Pi)))&1023]
}
