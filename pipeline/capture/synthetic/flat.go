package synthetic

import "math"

// Finishes of the bracket: clear (blue) zinc, yellow zinc.
var bracketZinc = []col{{206, 199, 190}, {112, 172, 198}}

var brass = col{62, 148, 182}

// bracketHoles are the centres of the two clinch-nut holes.
var bracketHoles = [2]float64{-0.68, 0.68}

// shadeBracket draws a zinc-plated mounting plate with a central slot and two
// brass clinch nuts pressed in around its holes. The missing component is a
// nut.
func shadeBracket(sc *scene, px, u, v, d, indent float64) (float64, col, bool) {
	const holeR, nutRi, slotR = 0.11, 0.24, 0.065
	d += indent
	a := cover(d, px)
	if a == 0 {
		return 0, col{}, false
	}
	slot, _ := segmentDist(u, v, -0.22, 0, 0.22, 0)
	a *= cover(slotR-slot, px)
	for i, hu := range bracketHoles {
		hu2, hv := u-hu, v
		rh := math.Sqrt(hu2*hu2 + hv*hv)
		a *= cover(holeR-rh, px)
		if a == 0 {
			return 0, col{}, false
		}
		if rh > nutRi*1.2 || sc.defect == defectMissing && sc.def.isMissing(i) {
			if rh < holeR+0.03 { // punched edge of a bare hole
				return a, bracketZinc[sc.variant].scale(0.6), true
			}
			continue
		}
		if dh := hexagon(hu2, hv, nutRi); dh < 0 {
			ndl := (hu2*sc.lu + hv*sc.lv) / rh
			c := brass.scale(1 + 0.05*sc.tint).add(20 * ndl)
			if e := -dh; e < 0.035 {
				c = c.add(50 * ndl * (1 - e/0.035))
			}
			if rh < holeR+0.025 { // thread
				c = c.scale(0.55 + 0.1*fastSin(rh*300))
			}
			return cover(dh, px) * a, c, true
		}
	}
	// Brushed plate: fine streaks along its length and a broad reflection.
	c := bracketZinc[sc.variant].scale(0.97 + 0.07*valueNoise(u*3, v*220, 0, 9) + 0.04*sc.tint)
	c = c.add(22*(u*sc.lu+v*sc.lv) - 6)
	if e := -d; e < 0.035 {
		_, nu, nv := roundRect(u, v, 1, 0.58, 0.16)
		c = c.add(55 * (nu*sc.lu + nv*sc.lv) * (1 - e/0.035))
	}
	if e := slot - slotR; e < 0.03 { // punched edge of the slot
		c = c.scale(0.75 + 8*e)
	}
	return a, c, true
}

// Connector housings: black, natural nylon, grey.
var connectorPlastic = []col{{34, 34, 38}, {190, 210, 220}, {112, 110, 106}}

var gold = col{48, 168, 218}

const connectorPins = 8

func connectorOutline(u, v float64) float64 {
	d, _, _ := roundRect(u, v, 0.95, 0.40, 0.06)
	if d < -0.15 { // deeper inside the housing than the latch and ears reach
		return d
	}
	latch, _, _ := roundRect(u, v+0.46, 0.24, 0.08, 0.02)
	ear, _, _ := roundRect(math.Abs(u)-1.07, v, 0.14, 0.17, 0.05)
	return math.Min(d, math.Min(latch, ear))
}

// shadeConnector draws a wire-to-board connector from above: a moulded
// housing with a latch and mounting ears, and a row of gold pins in its
// recess. The missing component is one or two pins.
func shadeConnector(sc *scene, px, u, v, d, indent float64) (float64, col, bool) {
	const pinHalf, pitch = 0.055, 0.21
	d += indent
	a := cover(d, px)
	if ear := math.Abs(u) - 1.1; ear > -0.1 {
		a *= cover(0.055-math.Sqrt(ear*ear+v*v), px)
	}
	if a == 0 {
		return 0, col{}, false
	}
	base := connectorPlastic[sc.variant].scale(1 + 0.05*sc.tint)
	rec, ru, rv := roundRect(u, v, 0.84, 0.24, 0.04)
	if rec >= 0 { // top of the housing, latch or ears
		c := base.add(10*(u*sc.lu+v*sc.lv) + 10)
		if e := -d; e < 0.04 {
			dh, nu, nv := roundRect(u, v, 0.95, 0.40, 0.06)
			if dh > 0 { // latch and ears: use their outline's direction
				nu, nv = 0, sign(v)
			}
			c = c.add(40 * (nu*sc.lu + nv*sc.lv) * (1 - e/0.04))
		}
		return a, c, true
	}
	// In the recess: darker, with the wall on the light's side in shadow.
	c := base.scale(0.5)
	if e := -rec; e < 0.05 {
		c = c.add(-30 * (ru*sc.lu + rv*sc.lv) * (1 - e/0.05))
	}
	i := int(math.Floor((u + pitch*connectorPins/2) / pitch))
	if i < 0 || i >= connectorPins {
		return a, c, true
	}
	pu := u - (float64(i)-float64(connectorPins-1)/2)*pitch
	m := math.Max(math.Abs(pu), math.Abs(v))
	if m > pinHalf+px {
		return a, c, true
	}
	if sc.defect == defectMissing && sc.def.isMissing(i) { // empty socket
		return a, mix(c, col{12, 12, 14}, cover(m-pinHalf*0.8, px)), true
	}
	// A square pin with a pyramid tip: each facet lit by its own normal.
	fu, fv := sign(pu), 0.0
	if math.Abs(v) > math.Abs(pu) {
		fu, fv = 0, sign(v)
	}
	pin := gold.add(45*(fu*sc.lu+fv*sc.lv)*m/pinHalf + 15)
	return a, mix(c, pin, cover(m-pinHalf, px)), true
}
