// Package synthetic generates a production line in pure Go: parts passing on a
// conveyor belt under a camera, with lighting and pose variation and injected
// defects whose ground truth travels with every frame. It stands in for a real
// camera in demos and tests, and writes labelled datasets.
package synthetic

import (
	"fmt"

	"github.com/linesight/linesight/defects"
)

// Part types on the line.
const (
	Washer    = "washer"     // bonded sealing washer: steel ring with a rubber seal
	Bracket   = "bracket"    // zinc-plated mounting plate with two clinch nuts
	Connector = "connector"  // plastic connector housing with a row of gold pins
	BottleCap = "bottle_cap" // knurled plastic cap with a tamper-evident band
)

// Defect kinds that can be injected.
const (
	Scratch          = "scratch"
	Dent             = "dent"
	MissingComponent = "missing_component" // seal, clinch nut, pin or tamper band
	Discolouration   = "discolouration"
	Contamination    = "contamination"
)

// PartTypes lists every part type, in a fixed order.
var PartTypes = []string{Washer, Bracket, Connector, BottleCap}

// DefectKinds lists every defect kind, in a fixed order.
var DefectKinds = []string{Scratch, Dent, MissingComponent, Discolouration, Contamination}

// truths holds one immutable Truth per (part, defect) so frames can point at
// them without allocating. Index defect+1; 0 is a good part.
var truths = func() [][]defects.Truth {
	t := make([][]defects.Truth, len(PartTypes))
	for p, name := range PartTypes {
		t[p] = make([]defects.Truth, len(DefectKinds)+1)
		t[p][0] = defects.Truth{PartType: name}
		for d, defect := range DefectKinds {
			t[p][d+1] = defects.Truth{PartType: name, Defect: defect}
		}
	}
	return t
}()

// truthFor returns the shared Truth of a part and defect (-1 for good). Frames
// must treat it as read-only.
func truthFor(part, defect int) *defects.Truth { return &truths[part][defect+1] }

func partIndex(name string) (int, error) {
	for i, p := range PartTypes {
		if p == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown part type %q (accepted: %v)", name, PartTypes)
}

// defectIndex returns -1 for "" or "good".
func defectIndex(name string) (int, error) {
	if name == "" || name == "good" {
		return -1, nil
	}
	for i, d := range DefectKinds {
		if d == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown defect %q (accepted: good, %v)", name, DefectKinds)
}

// Indices into PartTypes and DefectKinds, for the renderer's inner loops.
const (
	partWasher = iota
	partBracket
	partConnector
	partCap
)

const (
	defectScratch = iota
	defectDent
	defectMissing
	defectDiscolour
	defectContamination
)
