package synthetic

import "math"

func (g *defectGeom) isMissing(i int) bool {
	for k := 0; k < g.nmissing; k++ {
		if g.missing[k] == i {
			return true
		}
	}
	return false
}

// indent is how far a dent pushes the outline inwards at (u, v).
func (g *defectGeom) indent(u, v float64) float64 {
	du, dv := u-g.qu, v-g.qv
	q := (du*du + dv*dv) / (g.radius * g.radius)
	if q >= 1 {
		return 0
	}
	return g.depth * (1 - q) * (1 - q)
}

// applyDefect changes the colour of a part's surface at (u, v).
func applyDefect(sc *scene, px, u, v float64, c col) col {
	g := &sc.def
	metal := partInfos[sc.part].metal
	switch sc.defect {
	case defectScratch:
		d, t := segmentDist(u, v, g.au, g.av, g.bu, g.bv)
		if d > 4*g.width+g.bend {
			return c
		}
		bow := g.bend * 4 * t * (1 - t) // bend the line into a shallow arc
		d, t = segmentDist(u-g.nu*bow, v-g.nv*bow, g.au, g.av, g.bu, g.bv)
		taper := smoothstep(0, 0.15, t) * smoothstep(1, 0.85, t)
		s := clamp01(1.5-d/g.width) * taper
		if metal { // bright bare metal with a dark burr along it
			halo := clamp01(1-math.Abs(d-1.8*g.width)/g.width) * taper
			return mix(c.scale(1-0.35*halo), col{250, 250, 252}, 0.85*s)
		}
		return mix(c, col{205, 208, 210}, 0.7*s) // stress-whitened plastic
	case defectDent:
		du, dv := u-g.qu, v-g.qv
		l := math.Sqrt(du*du + dv*dv)
		rho := l / g.radius
		if rho >= 1 {
			return c
		}
		// A bowl: the wall nearest the light is in shade, the far one lit.
		slope := 4 * rho * (1 - rho*rho)
		facing := (du*sc.lu + dv*sc.lv) / math.Max(l, 1e-9)
		return c.add(-120 * g.depth / 0.07 * slope * facing * 0.6).scale(1 - 0.08*(1-rho*rho))
	case defectDiscolour:
		du, dv := u-g.qu, v-g.qv
		rho := math.Sqrt(du*du+dv*dv)/g.radius + 0.4*(valueNoise(u*6+20, v*6+20, 0, 3)-0.5)
		if rho >= 1 {
			return c
		}
		m := smoothstep(1, 0.5, rho)
		if metal { // heat tint: straw-brown core, blue temper fringe
			fringe := clamp01(1 - math.Abs(rho-0.8)/0.15)
			return mix(mix(c, col{40, 92, 150}, 0.6*m), col{150, 90, 55}, 0.45*fringe)
		}
		if lum(c) > 120 { // light plastic yellows
			return mix(c, col{70, 160, 205}, 0.55*m)
		}
		return mix(c, col{135, 150, 165}, 0.55*m) // dark plastic blooms pale
	case defectContamination:
		// Grit and an oily smear; on dark parts it shows as pale dust.
		grit, smear := col{18, 24, 30}, col{28, 40, 48}
		if lum(c) < 90 {
			grit, smear = col{168, 174, 180}, col{110, 118, 124}
		}
		du, dv := u-g.qu, v-g.qv
		if q := (du*du + dv*dv) / (g.radius * g.radius); q < 1 {
			c = mix(c, smear, 0.4*(1-q))
		}
		for i := 0; i < g.nspots; i++ {
			s := &g.spots[i]
			su, sv := u-s[0], v-s[1]
			if m := cover(math.Sqrt(su*su+sv*sv)-s[2], px); m > 0 {
				c = mix(c, grit, 0.9*m)
			}
		}
	}
	return c
}

func lum(c col) float64 { return 0.114*c.b + 0.587*c.g + 0.299*c.r }
