package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/inspect"
)

// OpenGolden opens the golden samples of the data directory and the manager
// that keeps their banks; the appliance gives it the model and sets when it
// starts (UseGolden). close releases the patch cache.
func OpenGolden(dataDir string, log *slog.Logger) (m *golden.Manager, close func(), err error) {
	cache, err := golden.OpenCache(dataDir)
	if err != nil {
		return nil, nil, err
	}
	return golden.NewManager(golden.NewStore(dataDir, time.Now), cache, log), func() { cache.Close() }, nil
}

// goldenState is the golden-sample manager and the snapshots the loop's
// detectors hold.
type goldenState struct {
	mgr *golden.Manager
	mu  sync.Mutex
	// held are the snapshots of the detectors in the loop; previous those
	// of the detectors before them, released at the next swap, when no
	// batch can still be using them.
	held, previous []*golden.Snapshot
	seen           map[string]*golden.Snapshot // set -> snapshot in use
}

// UseGolden makes the appliance build its sets' few-shot maps from the
// manager's banks; call before Run.
func (a *App) UseGolden(m *golden.Manager) {
	a.golden = &goldenState{mgr: m, seen: map[string]*golden.Snapshot{}}
	a.Golden = a.golden
}

// Bank takes the set's current snapshot from the manager.
func (g *goldenState) Bank(set *defects.ClassSet, _ *clip.Model) (*anomaly.Bank, float64, error) {
	snap := g.mgr.Acquire(set.Name)
	if snap == nil {
		return nil, 0, fmt.Errorf("no bank yet for set %s: it is building, or the set has no golden samples", set.Name)
	}
	g.mu.Lock()
	g.held = append(g.held, snap)
	g.seen[set.Name] = snap
	g.mu.Unlock()
	if snap.Bank == nil {
		return nil, 0, fmt.Errorf("set %s has no golden samples", set.Name)
	}
	if set.Anomaly.Auto() && snap.Threshold == 0 {
		return nil, 0, fmt.Errorf("set %s: threshold auto needs at least 2 golden samples to calibrate", set.Name)
	}
	return snap.Bank, snap.Threshold, nil
}

// swapped releases the snapshots of the detectors before the ones just
// replaced, and starts a new generation.
func (g *goldenState) swapped() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.previous {
		s.Release()
	}
	g.previous, g.held = g.held, nil
}

// begin starts collecting the snapshots of a new set of detectors.
func (g *goldenState) begin() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = map[string]*golden.Snapshot{}
}

// changed reports whether a set's snapshot is no longer the one in use.
func (g *goldenState) changed(sets []string) bool {
	g.mu.Lock()
	seen := g.seen
	g.mu.Unlock()
	for _, name := range sets {
		s := g.mgr.Acquire(name)
		if s != nil {
			s.Release()
		}
		if s != seen[name] {
			return true
		}
	}
	return false
}

// goldenSets tells the manager the model and the sets of a defect file.
func (a *App) goldenSets(classes *defects.File, scorers inspect.Scorers) {
	if a.golden == nil {
		return
	}
	byName := map[string]*defects.Scorer{}
	for _, cam := range a.Config.Cameras {
		if len(cam.Regions) > 0 {
			continue // regions judge without anomaly maps
		}
		if set, err := classes.SetFor(cam.Name(a.Config.Line)); err == nil {
			byName[set.Name] = scorers[cam.ID]
		}
	}
	var sets []golden.SetConfig
	for name, set := range classes.Sets {
		c := golden.SetConfig{Name: name, Anomaly: set.Anomaly}
		if set.Anomaly != nil && set.Anomaly.ZeroShot && byName[name] != nil {
			c.Classes = byName[name].ClassEmbeddings()
		}
		sets = append(sets, c)
	}
	a.golden.mgr.SetSets(sets)
}

// runGolden builds banks in the background and, whenever a set's bank or
// threshold changes, swaps the loop's detectors for new ones between
// batches. The line never waits for a build.
func (a *App) runGolden(ctx context.Context) {
	if a.golden == nil {
		return
	}
	go a.golden.mgr.Run(ctx)
	tick := time.NewTicker(reloadPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var names []string
		for name, set := range a.currentClasses().Sets {
			if set.Anomaly != nil && set.Anomaly.Golden {
				names = append(names, name)
			}
		}
		if len(names) > 0 && a.golden.changed(names) {
			a.refreshDetectors()
		}
	}
}
