package tuning

import (
	"fmt"
	"time"
)

// Settings are what the controller turns: the batch size, the longest wait
// to fill a batch, and the variant (an index into Limits.Variants, 0 the
// heaviest allowed).
type Settings struct {
	Batch   int           `json:"batch"`
	Wait    time.Duration `json:"wait_ns"`
	Variant int           `json:"variant"`
}

// Limits bound the controller; the configured settings are its ceiling.
type Limits struct {
	MaxBatch int
	MaxWait  time.Duration
	// Variants are the variants it may run, heaviest first; the first is
	// the one chosen at start-up. More than one only with swap_variants.
	Variants []string
	Deadline time.Duration // 0: none
	Headroom float64       // step back below Headroom x Deadline
	Settle   int           // windows with room in a row before stepping back
	MemCap   int64         // bytes; 0: no cap
}

// Sample is what the monitor saw over one window.
type Sample struct {
	At      time.Time
	Window  time.Duration
	Latency time.Duration // the configured quantile of capture-to-verdict latency
	Frames  uint64        // inspected in the window
	Batches uint64
	Busy    time.Duration // time the encoder spent in the window
	Backlog int           // frames waiting for inference at the end of the window
	Dropped uint64        // free-run frames dropped because inference fell behind
	RSS     int64
}

// Change is one decision, for the log, the metric and status.
type Change struct {
	At     time.Time `json:"at"`
	From   Settings  `json:"from"`
	To     Settings  `json:"to"`
	Reason string    `json:"reason"`
}

// Memory bands: above memHigh of the cap the controller sheds memory;
// it steps back towards heavier settings only below memLow.
const (
	memHigh = 0.9
	memLow  = 0.75
	// busyHigh is the encoder utilisation that counts as saturated.
	busyHigh = 0.9
)

// Controller decides, once per window, at most one change of settings.
// It is a pure function of its inputs and state, so it is tested with
// synthetic samples; Monitor feeds it and applies what it decides.
type Controller struct {
	lim  Limits
	cur  Settings
	calm int // windows with room in a row
}

// NewController starts at the configured settings.
func NewController(lim Limits) *Controller {
	lim.MaxBatch = max(1, lim.MaxBatch)
	if len(lim.Variants) == 0 {
		lim.Variants = []string{""}
	}
	lim.Settle = max(1, lim.Settle)
	return &Controller{lim: lim, cur: Settings{Batch: lim.MaxBatch, Wait: lim.MaxWait}}
}

// Settings are the current settings.
func (c *Controller) Settings() Settings { return c.cur }

// Revert undoes a change that could not be applied (a variant that failed
// to load).
func (c *Controller) Revert(ch Change) { c.cur = ch.From }

// Decide looks at one window and returns the change to make, if any. The
// rules, first match wins:
//
//  1. memory short (RSS over 90% of the cap): halve the batch; at batch 1
//     take a lighter variant.
//  2. deadline missed (the latency quantile over the deadline): halve the
//     wait; else, if the encoder is saturated, double the batch (queueing
//     is the problem and batches raise throughput); else halve the batch
//     (the batch's own compute is the problem); else a lighter variant.
//  3. saturated (a batch's worth waiting, frames dropped, or the encoder
//     busy 90% of the window with full batches): double the batch.
//  4. light load (batches fill less than half, encoder mostly idle):
//     shrink the batch to what arrives, which waits for nothing.
//  5. room (latency under Headroom x Deadline, memory under 75% of the
//     cap) for Settle windows in a row: a heavier variant first, then the
//     configured wait back.
func (c *Controller) Decide(s Sample) (Change, bool) {
	from := c.cur
	to, reason := c.rule(s)
	if reason == "" || to == from {
		return Change{}, false
	}
	c.cur, c.calm = to, 0
	return Change{At: s.At, From: from, To: to, Reason: reason}, true
}

func (c *Controller) rule(s Sample) (Settings, string) {
	cur, lim := c.cur, c.lim
	lighter := c.cur.Variant+1 < len(lim.Variants)
	util := 0.0
	if s.Window > 0 {
		util = float64(s.Busy) / float64(s.Window)
	}
	meanBatch := 0.0
	if s.Batches > 0 {
		meanBatch = float64(s.Frames) / float64(s.Batches)
	}
	saturated := s.Backlog >= cur.Batch || s.Dropped > 0 ||
		(util >= busyHigh && meanBatch >= 0.75*float64(cur.Batch))
	memShort := lim.MemCap > 0 && float64(s.RSS) > memHigh*float64(lim.MemCap)
	memRoom := lim.MemCap == 0 || float64(s.RSS) < memLow*float64(lim.MemCap)
	missed := lim.Deadline > 0 && s.Frames > 0 && s.Latency > lim.Deadline

	mb := func(b int64) int64 { return b / MB }
	switch {
	case memShort && cur.Batch > 1:
		cur.Batch /= 2
		return cur, fmt.Sprintf("memory: %d MB resident, over 90%% of the %d MB cap: smaller batches", mb(s.RSS), mb(lim.MemCap))
	case memShort && lighter:
		cur.Variant++
		return cur, fmt.Sprintf("memory: %d MB resident at batch 1, over 90%% of the %d MB cap: lighter variant %s", mb(s.RSS), mb(lim.MemCap), lim.Variants[cur.Variant])
	case missed:
		c.calm = 0
		late := fmt.Sprintf("deadline: latency %s over %s", s.Latency, lim.Deadline)
		switch {
		case cur.Wait > 0:
			cur.Wait /= 2
			if cur.Wait < time.Millisecond {
				cur.Wait = 0
			}
			return cur, late + ": shorter batch wait"
		case saturated && cur.Batch < lim.MaxBatch && memRoom:
			cur.Batch = min(lim.MaxBatch, cur.Batch*2)
			return cur, late + " with the encoder saturated: larger batches for throughput"
		case !saturated && cur.Batch > 1:
			cur.Batch /= 2
			return cur, late + ": smaller batches"
		case lighter:
			cur.Variant++
			return cur, late + ": lighter variant " + lim.Variants[cur.Variant]
		}
		return cur, ""
	case saturated && cur.Batch < lim.MaxBatch && memRoom:
		cur.Batch = min(lim.MaxBatch, cur.Batch*2)
		return cur, fmt.Sprintf("load: %d frames waiting, %d dropped, encoder %.0f%% busy: larger batches", s.Backlog, s.Dropped, 100*util)
	case s.Frames > 0 && !saturated && util < 0.5 && meanBatch < 0.5*float64(cur.Batch):
		cur.Batch = max(1, int(meanBatch+0.999))
		return cur, fmt.Sprintf("light load: %.1f frames a batch: batch %d, which waits for no one", meanBatch, cur.Batch)
	}
	room := (lim.Deadline == 0 || s.Latency < time.Duration(lim.Headroom*float64(lim.Deadline))) && memRoom
	if !room {
		c.calm = 0
		return cur, ""
	}
	c.calm++
	if c.calm < lim.Settle {
		return cur, ""
	}
	switch {
	case cur.Variant > 0:
		cur.Variant--
		return cur, fmt.Sprintf("room: latency %s for %d windows: heavier variant %s", s.Latency, c.calm, lim.Variants[cur.Variant])
	case cur.Wait < lim.MaxWait && cur.Batch > 1:
		cur.Wait = min(lim.MaxWait, max(time.Millisecond, 2*cur.Wait))
		return cur, fmt.Sprintf("room: latency %s for %d windows: longer batch wait", s.Latency, c.calm)
	}
	return cur, ""
}
