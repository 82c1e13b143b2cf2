package app

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/inspect"
)

// ReloadStatus is what status shows of the defect-class file.
type ReloadStatus struct {
	// DefectsHash is the hash of the defect-class file in use. ConfigHash
	// holds the same under its first name: deprecated, kept for API
	// readers; it is not the appliance configuration's hash.
	DefectsHash string    `json:"defects_hash"`
	ConfigHash  string    `json:"config_hash"`
	LoadedAt    time.Time `json:"loaded_at"`
	// Error is the last failed reload; the appliance keeps running on the
	// classes of DefectsHash until a valid file replaces it.
	Error    string    `json:"error,omitempty"`
	FailedAt time.Time `json:"failed_at,omitempty"`
}

type reloadStatus struct {
	mu sync.Mutex
	s  ReloadStatus
}

func (r *reloadStatus) set(hash string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.s.Error, r.s.FailedAt = err.Error(), time.Now()
		return
	}
	r.s = ReloadStatus{DefectsHash: hash, ConfigHash: hash, LoadedAt: time.Now()}
}

func (r *reloadStatus) get() ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s
}

// reloadPoll is how often the defect file is checked for changes.
const reloadPoll = time.Second

// watchDefects reloads the defect-class file when it changes: it validates
// the new file and prepares its scorers first, and only then swaps them in,
// between frames. A file that does not validate is reported and ignored.
func (a *App) watchDefects(ctx context.Context) {
	path := a.Config.Defects
	last := fileStamp(path)
	tick := time.NewTicker(reloadPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		stamp := fileStamp(path)
		if stamp == last {
			continue
		}
		last = stamp
		a.ReloadDefects()
	}
}

// ReloadDefects reads the defect file again and swaps in its scorers when it
// is valid. It returns the error that kept the old classes in place.
func (a *App) ReloadDefects() error {
	path := a.Config.Defects
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if st := a.State(); st != StateReady {
		return fmt.Errorf("reload defect classes: the appliance is %s", st)
	}
	classes, err := defects.Load(path)
	if err == nil {
		if err = a.judgeWith(classes, a.startRecipe(classes, a.Recipe())); err == nil {
			a.Log.Info("defect classes reloaded", "file", path, "defects_hash", classes.Hash())
			return nil
		}
	}
	a.reload.set("", err)
	a.Log.Error("defect classes not reloaded; still running on the previous ones", "file", path, "err", err)
	return err
}

// prepareScorers builds scorers for a defect file with the running model.
// The text encoder may be opened for new prompts and, when configured,
// released again; textMu keeps two preparations (the file watcher and the
// dashboard) from opening and releasing it under each other.
func (a *App) prepareScorers(classes *defects.File) (inspect.Scorers, error) {
	a.textMu.Lock()
	defer a.textMu.Unlock()
	scorers, err := PrepareScorers(a.Config, classes, a.model, a.cache)
	if a.Config.Model.CloseTextAfterWarmup {
		a.model.ReleaseText()
	}
	return scorers, err
}

// fileStamp changes when a file is written or replaced.
func fileStamp(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return st.ModTime().String() + "/" + strconv.FormatInt(st.Size(), 10)
}

// prepareDetectors builds the anomaly detectors of a defect file's sets and
// keeps their status for Status.
func (a *App) prepareDetectors(classes *defects.File, scorers inspect.Scorers) inspect.Detectors {
	a.goldenSets(classes, scorers)
	if a.golden != nil {
		a.golden.begin()
	}
	dets, st := PrepareDetectors(a.Config, classes, a.model, scorers, a.Golden, a.Log)
	a.mu.Lock()
	a.anomaly, a.classes, a.scorers = st, classes, scorers
	a.mu.Unlock()
	return dets
}

// swappedDetectors is called once the loop has new detectors.
func (a *App) swappedDetectors() {
	if a.golden != nil {
		a.golden.swapped()
	}
}

// currentClasses is the defect file the loop judges with.
func (a *App) currentClasses() *defects.File {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.classes
}

// refreshDetectors rebuilds the detectors of the classes in use (a golden
// bank changed) and swaps them in.
func (a *App) refreshDetectors() {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.mu.Lock()
	classes, scorers := a.classes, a.scorers
	a.mu.Unlock()
	a.loop.SetDetectors(a.prepareDetectors(classes, scorers))
	a.swappedDetectors()
	a.Log.Info("anomaly detectors updated from the golden samples")
}
