package inspect

import (
	"fmt"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/metrics"
)

// PartOptions are a part stage: cameras that see the same part (top and
// side, say), whose verdicts for one part id are fused into the part's
// verdict, published as if from a camera named Name (docs/pipeline.md).
type PartOptions struct {
	Name    string
	Cameras []string
	// Deadline is how long after the part's first view the others may
	// come; a camera without a view by then is a MISSED view.
	Deadline     time.Duration
	MissedAction defects.Action
}

// Part stage bounds.
const (
	// maxPendingParts is how many parts of one stage may wait for views;
	// beyond it the oldest is decided at once with the views it has.
	maxPendingParts = 1024
	// decidedMemory is how many decided part ids a stage remembers, to
	// tell a view that came after its part's deadline from a new part.
	decidedMemory = 256
	partQueue     = 1024
)

// PartStats count a part stage's work.
type PartStats struct {
	Parts      metrics.Counter // part verdicts made
	Incomplete metrics.Counter // of which decided at the deadline, a view missing
	Late       metrics.Counter // views that came after their part was decided
	Duplicate  metrics.Counter // second views of one camera for one part
}

// setParts installs the part stages (Options.Parts). A camera belongs to
// at most one stage, and a stage's name is not a camera's.
func (l *Loop) setParts(parts []PartOptions) error {
	st := &partStage{l: l, groups: map[string]*partGroup{}, in: make(chan defects.Verdict, partQueue),
		stats: map[string]*PartStats{}, now: time.Now}
	for _, p := range parts {
		if l.intakes[p.Name] != nil {
			return fmt.Errorf("part stage %q: a camera has that name", p.Name)
		}
		if len(p.Cameras) < 2 || p.Deadline <= 0 {
			return fmt.Errorf("part stage %q: needs two or more cameras and a deadline", p.Name)
		}
		g := &partGroup{opts: p, pending: map[string]*pendingPart{}, decided: map[string]bool{}}
		st.stats[p.Name] = &g.stats
		for _, cam := range p.Cameras {
			if l.intakes[cam] == nil {
				return fmt.Errorf("part stage %q: no camera %q", p.Name, cam)
			}
			if other, dup := st.groups[cam]; dup {
				return fmt.Errorf("part stage %q: camera %q is already in part stage %q", p.Name, cam, other.opts.Name)
			}
			st.groups[cam] = g
		}
	}
	l.parts = st
	return nil
}

// PartStats returns a part stage's counters, or nil for an unknown one.
func (l *Loop) PartStats(name string) *PartStats {
	if l.parts == nil {
		return nil
	}
	return l.parts.stats[name]
}

// partStage fuses views on its own goroutine: the loop hands it every
// verdict of a camera in a stage after the sinks got it, and it hands the
// part verdicts to the sinks.
type partStage struct {
	l      *Loop
	groups map[string]*partGroup // by camera
	stats  map[string]*PartStats // by stage
	in     chan defects.Verdict
	done   chan struct{}
	now    func() time.Time
}

type partGroup struct {
	opts    PartOptions
	pending map[string]*pendingPart
	order   []string // pending part ids, oldest first
	decided map[string]bool
	recent  []string // decided part ids, oldest first, at most decidedMemory
	stats   PartStats
}

type pendingPart struct {
	views    []defects.Verdict
	deadline time.Time
}

// offer hands a camera's verdict to its stage; verdicts without a part id
// (free-run) or of cameras in no stage pass by.
func (st *partStage) offer(v defects.Verdict) {
	if v.PartID == "" || st.groups[v.Camera] == nil {
		return
	}
	v.Embedding = nil
	st.in <- v
}

func (st *partStage) start() {
	st.done = make(chan struct{})
	go st.run()
}

// stop decides every part still waiting, with the views it has, and waits.
func (st *partStage) stop() {
	close(st.in)
	<-st.done
}

func (st *partStage) run() {
	defer close(st.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case v, ok := <-st.in:
			if !ok {
				st.expire(time.Time{}) // all
				return
			}
			st.add(v)
		case <-timer.C:
			st.expire(st.now())
		}
		timer.Reset(st.untilNext())
	}
}

func (st *partStage) add(v defects.Verdict) {
	g := st.groups[v.Camera]
	if g.decided[v.PartID] {
		g.stats.Late.Inc()
		st.l.log.Warn("view came after its part was decided; the part verdict stands", "part_stage", g.opts.Name, "camera", v.Camera, "part_id", v.PartID)
		return
	}
	p := g.pending[v.PartID]
	if p == nil {
		if len(g.order) >= maxPendingParts {
			st.decide(g, g.order[0])
		}
		p = &pendingPart{deadline: st.now().Add(g.opts.Deadline)}
		g.pending[v.PartID] = p
		g.order = append(g.order, v.PartID)
	}
	for _, have := range p.views {
		if have.Camera == v.Camera {
			g.stats.Duplicate.Inc()
			st.l.log.Warn("second view of one camera for one part; the first counts", "part_stage", g.opts.Name, "camera", v.Camera, "part_id", v.PartID)
			return
		}
	}
	p.views = append(p.views, v)
	if len(p.views) == len(g.opts.Cameras) {
		st.decide(g, v.PartID)
	}
}

// expire decides the parts whose deadline has passed by now (every part
// when now is zero).
func (st *partStage) expire(now time.Time) {
	for _, g := range st.uniqueGroups() {
		for len(g.order) > 0 {
			id := g.order[0]
			if !now.IsZero() && g.pending[id].deadline.After(now) {
				break
			}
			st.decide(g, id)
		}
	}
}

// untilNext is the time to the earliest deadline.
func (st *partStage) untilNext() time.Duration {
	next := time.Hour
	now := st.now()
	for _, g := range st.uniqueGroups() {
		if len(g.order) > 0 {
			next = min(next, max(0, g.pending[g.order[0]].deadline.Sub(now)))
		}
	}
	return next
}

func (st *partStage) uniqueGroups() []*partGroup {
	var out []*partGroup
	seen := map[*partGroup]bool{}
	for _, g := range st.groups {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// decide makes and dispatches a part's verdict and forgets the part.
func (st *partStage) decide(g *partGroup, id string) {
	p := g.pending[id]
	delete(g.pending, id)
	for i, o := range g.order {
		if o == id {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	g.decided[id] = true
	g.recent = append(g.recent, id)
	if len(g.recent) > decidedMemory {
		delete(g.decided, g.recent[0])
		g.recent = g.recent[1:]
	}
	v := defects.FusePart(g.opts.Name, id, g.opts.Cameras, p.views, g.opts.MissedAction, st.now())
	g.stats.Parts.Inc()
	if len(p.views) < len(g.opts.Cameras) {
		g.stats.Incomplete.Inc()
	}
	st.l.fanOut(Result{Verdict: v})
}
