package synthetic

import "math"

// Finishes of the sealing washer's steel ring: bright steel, yellow zinc.
var washerSteel = []col{{166, 170, 174}, {92, 160, 188}}

// shadeWasher draws a bonded sealing washer (r is the distance from its centre): a turned steel ring with a
// rubber seal vulcanised inside it. The missing component is the seal.
func shadeWasher(sc *scene, px, u, v, r, indent float64) (float64, col, bool) {
	const sealIn, steelIn = 0.40, 0.62
	dOuter := r - 1 + indent
	hole := sealIn
	if sc.defect == defectMissing {
		hole = steelIn
	}
	a := cover(dOuter, px) * cover(hole-r, px)
	if a == 0 {
		return 0, col{}, false
	}
	inv := 1 / math.Max(r, 1e-9)
	ndl := (u*sc.lu + v*sc.lv) * inv // radial direction against the light
	if r >= steelIn {
		// Turned surface: fine concentric marks and the bow-tie highlight
		// that a lathe finish shows along the light's axis.
		c2 := 2*ndl*ndl - 1
		hl := 0.0
		if c2 > 0 {
			hl = 75 * c2 * c2 * c2
		}
		c := washerSteel[sc.variant].scale(1 + 0.035*fastSin(r*170) + 0.04*sc.tint).add(hl - 12)
		if e := -dOuter; e < 0.06 { // outer chamfer
			c = c.add(55 * ndl * (1 - e/0.06))
		}
		if e := r - steelIn; e < 0.04 { // inner edge, facing inwards
			c = c.add(-45 * ndl * (1 - e/0.04)).scale(0.8 + 5*e)
		}
		return a, c, true
	}
	// The rubber seal is a torus: lit on the side facing the light.
	t := (r - (sealIn+steelIn)/2) / ((steelIn - sealIn) / 2)
	c := col{36, 37, 40}.add(30*t*ndl + 8*(1-t*t))
	return a, c, true
}

// Colours of the bottle caps: red, blue, green, white.
var capPlastic = []col{{38, 44, 186}, {168, 92, 34}, {58, 138, 48}, {218, 222, 226}}

// shadeCap draws a bottle cap seen from above (r is the distance from its centre): a glossy domed top with an
// embossed ring, a knurled skirt, and the tamper-evident band outside it,
// joined by thin bridges. The missing component is the band.
func shadeCap(sc *scene, px, u, v, r, indent float64) (float64, col, bool) {
	const top, body, bandIn = 0.76, 0.9, 0.925
	aBody := cover(r-body+indent, px)
	aBand := 0.0
	if sc.defect != defectMissing && r > body-px {
		aBand = cover(r-1+indent, px) * cover(bandIn-r, px)
		if r < bandIn+px { // bridges across the gap, every 15 degrees
			phi := math.Atan2(v, u) * (24 / (2 * math.Pi))
			if f := phi - math.Floor(phi); f < 0.12 {
				aBand = cover(r-1+indent, px)
			}
		}
	}
	a := math.Max(aBody, aBand)
	if a == 0 {
		return 0, col{}, false
	}
	inv := 1 / math.Max(r, 1e-9)
	ndl := (u*sc.lu + v*sc.lv) * inv
	base := capPlastic[sc.variant].scale(1 + 0.06*sc.tint)
	switch {
	case r > body: // band
		return a, base.scale(0.82).add(30 * ndl), true
	case r > top: // knurled skirt rolling off outwards
		phi := math.Atan2(v, u)
		rib := fastSin(phi * 90)
		k := (r - top) / (body - top)
		return a, base.scale(0.88 + 0.1*rib*k).add(45 * ndl * k), true
	}
	// Glossy dome: a broad gradient, a specular spot towards the light and an
	// embossed ring.
	c := base.add(20*ndl*r/top + 4)
	su, sv := u-0.38*sc.lu, v-0.38*sc.lv
	if s2 := su*su + sv*sv; s2 < 0.15 {
		c = c.add(70 * math.Exp(-s2/0.018))
	}
	if d := r - 0.52; math.Abs(d) < 0.025 {
		c = c.add(-35 * ndl * sign(d) * (1 - math.Abs(d)/0.025))
	}
	if e := top - r; e < 0.03 {
		c = c.scale(0.85 + 5*e)
	}
	return a, c, true
}
