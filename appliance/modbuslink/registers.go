// Package modbuslink serves the appliance to simple PLCs over Modbus TCP
// (github.com/simonvetter/modbus): each camera's last verdict and
// counters in input registers, a trigger coil and part-id registers per
// camera, and the recipe register (docs/plc.md#modbus-tcp).
package modbuslink

import (
	"time"

	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/defects"
)

// The register map (docs/plc.md). Addresses are the protocol's, from 0.
// Every camera has a block of CameraBlock registers from CameraBase, in the
// configuration's order, so adding a camera never moves another's.
const (
	MapVersion = 1

	// Input registers (function 04), global.
	InMapVersion   = 0
	InState        = 1 // plc.StateCode
	InHeartbeat    = 2 // +1 every second while the appliance is ready
	InAlarms       = 3 // process alarms that hold
	InRecipe       = 4 // the active recipe's index; NoIndex without recipes
	InRecipeCount  = 5
	InCameraCount  = 6
	InRecipeResult = 7 // the last recipe change's RecipeResult

	// Input registers per camera, at CameraBase + i*CameraBlock + offset.
	InCount      = 0  // 2 registers: verdicts so far (uint32, high word first)
	InSeq        = 2  // 2 registers: the last verdict's frame seq (uint32)
	InOutcome    = 4  // plc.Code of the last verdict; 0 before any
	InAction     = 5  // plc.ActionCode
	InClass      = 6  // the deciding class's index in its set; NoIndex for none
	InConfidence = 7  // the deciding class's probability x1000
	InPass       = 8  // 2 registers each: counters since start
	InFail       = 10 //
	InUncertain  = 12 //
	InMissed     = 14 //
	InTrigger    = 16 // the last trigger's TriggerResult
	InPartID     = 20 // PartIDRegisters registers: the last verdict's part id

	// Holding registers (03 read, 06/16 write).
	HoldRecipe = 0 // write an index to change the recipe; reads the active one
	// Per camera, at CameraBase + i*CameraBlock: the part id the next
	// trigger coil pulse inspects.
	HoldPartID = 0

	// Coils (01 read, 05/15 write): coil i triggers camera i.

	CameraBase      = 100
	CameraBlock     = 50
	PartIDRegisters = 16 // 32 ASCII bytes, two a register, high byte first
	NoIndex         = 0xFFFF
)

// TriggerResult says what became of a camera's last trigger coil pulse.
type TriggerResult uint16

// Trigger results.
const (
	TriggerNone     TriggerResult = 0
	TriggerAccepted TriggerResult = 1
	TriggerRefused  TriggerResult = 2 // not ready, not a triggered camera, too many waiting
	TriggerNoPartID TriggerResult = 3 // the part-id registers are empty or not printable ASCII
)

// RecipeResult says what became of the last write of the recipe register.
type RecipeResult uint16

// Recipe results.
const (
	RecipeNone    RecipeResult = 0
	RecipePending RecipeResult = 1 // being prepared; the next batch uses it
	RecipeDone    RecipeResult = 2
	RecipeUnknown RecipeResult = 3 // no recipe of that index
	RecipeRefused RecipeResult = 4 // the appliance refused (not ready, ...)
)

// camBase is the first register of camera i's block.
func camBase(i int) int { return CameraBase + i*CameraBlock }

// putU32 writes v high word first.
func putU32(regs []uint16, at int, v uint64) {
	regs[at] = uint16(v >> 16)
	regs[at+1] = uint16(v)
}

// putASCII writes s, two bytes a register, high byte first, padded with
// NUL; longer text is cut.
func putASCII(regs []uint16, at, n int, s string) {
	for i := 0; i < n; i++ {
		var hi, lo byte
		if 2*i < len(s) {
			hi = s[2*i]
		}
		if 2*i+1 < len(s) {
			lo = s[2*i+1]
		}
		regs[at+i] = uint16(hi)<<8 | uint16(lo)
	}
}

// readASCII reads what putASCII wrote: up to the first NUL. ok is false
// for a byte outside printable ASCII.
func readASCII(regs []uint16) (string, bool) {
	var b []byte
	for _, r := range regs {
		for _, c := range []byte{byte(r >> 8), byte(r)} {
			if c == 0 {
				return string(b), true
			}
			if c < 0x20 || c > 0x7e {
				return "", false
			}
			b = append(b, c)
		}
	}
	return string(b), true
}

// cameraInputs fills camera i's block of input registers.
func cameraInputs(regs []uint16, base int, last plc.Last, c plc.Counters, trig TriggerResult) {
	v := last.Verdict
	putU32(regs, base+InCount, last.Count)
	putU32(regs, base+InSeq, v.Seq)
	regs[base+InOutcome] = uint16(plc.OutcomeCode(v.Outcome))
	regs[base+InAction] = uint16(plc.ActionCode(v.Action))
	regs[base+InClass] = NoIndex
	if last.ClassIndex >= 0 {
		regs[base+InClass] = uint16(last.ClassIndex)
	}
	regs[base+InConfidence] = confidence(v)
	putU32(regs, base+InPass, c.Pass)
	putU32(regs, base+InFail, c.Fail)
	putU32(regs, base+InUncertain, c.Uncertain)
	putU32(regs, base+InMissed, c.Missed)
	regs[base+InTrigger] = uint16(trig)
	putASCII(regs, base+InPartID, PartIDRegisters, v.PartID)
}

func confidence(v defects.Verdict) uint16 {
	return uint16(min(1000, max(0, int(v.Confidence*1000+0.5))))
}

// heartbeatPeriod is how often the heartbeat register counts up.
const heartbeatPeriod = time.Second
