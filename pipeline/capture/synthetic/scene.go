package synthetic

import (
	"math"
	"math/rand/v2"
)

// scene is everything random about one frame: which part, where, how lit, and
// the geometry of its defect. Distances are in the part's local units (its
// outline has a radius of about 1) unless named px.
type scene struct {
	part    int
	defect  int // index into DefectKinds, -1 for a good part
	variant int // colour/finish variant of the part
	tint    float64

	cx, cy   float64 // part centre in pixels
	scale    float64 // pixels per local unit
	cos, sin float64 // part rotation
	lu, lv   float64 // unit vector towards the light, in local coordinates
	gain     float64 // overall brightness

	beltOffset int // conveyor texture phase, pixels

	def defectGeom
}

const maxSpots = 7

type defectGeom struct {
	qu, qv, radius, depth float64 // dent, discolouration, contamination: centre and size
	au, av, bu, bv        float64 // scratch end points
	nu, nv, bend, width   float64 // scratch: unit normal, bow, half width
	spots                 [maxSpots][3]float64
	nspots                int
	missing               [2]int // missing pins or nuts
	nmissing              int
}

// partInfo describes what the renderer needs to know about each part type.
type partInfo struct {
	extent   float64 // radius of the bounding circle, local units
	hu, hv   float64 // half extents of the bounding box, local units
	variants int
	round    bool // free rotation; otherwise guided along the belt
	metal    bool
}

var partInfos = [...]partInfo{
	{extent: 1.0, hu: 1, hv: 1, variants: len(washerSteel), round: true, metal: true}, // washer
	{extent: 1.17, hu: 1, hv: 0.58, variants: len(bracketZinc), metal: true},          // bracket
	{extent: 1.27, hu: 1.21, hv: 0.54, variants: len(connectorPlastic)},               // connector
	{extent: 1.0, hu: 1, hv: 1, variants: len(capPlastic), round: true},               // bottle cap
}

// newScene draws a frame's variation for a given part and defect.
func newScene(rng *rand.Rand, part, defect, w, h int) scene {
	info := partInfos[part]
	sc := scene{part: part, defect: defect}
	sc.variant = rng.IntN(info.variants)
	sc.tint = rng.Float64()*2 - 1
	short := float64(min(w, h))
	sc.scale = short * 0.36 / info.extent * (0.93 + 0.12*rng.Float64())
	sc.cx = float64(w)/2 + (rng.Float64()-0.5)*0.12*float64(w)
	sc.cy = float64(h)/2 + (rng.Float64()-0.5)*0.10*float64(h)

	angle := rng.Float64() * 2 * math.Pi
	if !info.round { // guides keep it roughly square to the belt, either way round
		angle = (rng.Float64() - 0.5) * 0.5
		if rng.IntN(2) == 1 {
			angle += math.Pi
		}
	}
	sc.cos, sc.sin = math.Cos(angle), math.Sin(angle)

	// Light from the upper left, moving a little as a real line's lamps and
	// reflections do.
	la := math.Atan2(-0.83, -0.55) + (rng.Float64()-0.5)*0.6
	lx, ly := math.Cos(la), math.Sin(la)
	sc.lu, sc.lv = sc.cos*lx+sc.sin*ly, -sc.sin*lx+sc.cos*ly
	sc.gain = 0.82 + 0.33*rng.Float64()

	sc.beltOffset = rng.IntN(beltPeriod)
	if defect >= 0 {
		sc.def = newDefectGeom(rng, part, defect, sc.scale)
	}
	return sc
}

func newDefectGeom(rng *rand.Rand, part, defect int, scale float64) defectGeom {
	var g defectGeom
	g.qu, g.qv = surfacePoint(rng, part)
	switch DefectKinds[defect] {
	case Scratch:
		a := rng.Float64() * 2 * math.Pi
		l := 0.5 + 0.5*rng.Float64()
		g.au, g.av = g.qu-math.Cos(a)*l/2, g.qv-math.Sin(a)*l/2
		g.bu, g.bv = g.qu+math.Cos(a)*l/2, g.qv+math.Sin(a)*l/2
		g.nu, g.nv = -math.Sin(a), math.Cos(a)
		g.bend = (rng.Float64() - 0.5) * 0.16
		g.width = (1.1 + 0.9*rng.Float64()) / scale
	case Dent:
		g.radius = 0.15 + 0.08*rng.Float64()
		g.depth = 0.05 + 0.04*rng.Float64()
		if rng.IntN(2) == 0 { // on the rim, where it also bends the outline
			g.qu, g.qv = rimPoint(rng, part)
		}
	case MissingComponent:
		switch PartTypes[part] {
		case Bracket:
			g.missing[0], g.nmissing = rng.IntN(2), 1
		case Connector:
			g.missing[0], g.nmissing = rng.IntN(connectorPins), 1
			if rng.IntN(3) == 0 {
				g.missing[1], g.nmissing = rng.IntN(connectorPins), 2
			}
		}
	case Discolouration:
		g.radius = 0.28 + 0.2*rng.Float64()
	case Contamination:
		g.radius = 0.1 + 0.08*rng.Float64() // the smear
		g.nspots = 3 + rng.IntN(maxSpots-2)
		for i := 0; i < g.nspots; i++ {
			a := rng.Float64() * 2 * math.Pi
			d := 0.3 * math.Sqrt(rng.Float64())
			g.spots[i] = [3]float64{g.qu + d*math.Cos(a), g.qv + d*math.Sin(a), 0.018 + 0.04*rng.Float64()}
		}
	}
	return g
}

// surfacePoint picks a point on the part's main material.
func surfacePoint(rng *rand.Rand, part int) (u, v float64) {
	switch PartTypes[part] {
	case Washer:
		a, r := rng.Float64()*2*math.Pi, 0.7+0.22*rng.Float64()
		return r * math.Cos(a), r * math.Sin(a)
	case BottleCap:
		a, r := rng.Float64()*2*math.Pi, 0.65*math.Sqrt(rng.Float64())
		return r * math.Cos(a), r * math.Sin(a)
	case Bracket: // between the nuts, clear of the slot
		u, v = (rng.Float64()-0.5)*0.8, 0.15+0.25*rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		return u, v
	default: // connector housing
		return (rng.Float64() - 0.5) * 1.5, (rng.Float64() - 0.5) * 0.6
	}
}

// rimPoint picks a point on the part's outline.
func rimPoint(rng *rand.Rand, part int) (u, v float64) {
	switch PartTypes[part] {
	case Bracket:
		return (rng.Float64() - 0.5) * 1.4, 0.58 * sideSign(rng)
	case Connector:
		return (rng.Float64() - 0.5) * 1.5, 0.40 * sideSign(rng)
	default:
		a := rng.Float64() * 2 * math.Pi
		r := 1.0
		if PartTypes[part] == BottleCap {
			r = 0.9
		}
		return r * math.Cos(a), r * math.Sin(a)
	}
}

func sideSign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}
