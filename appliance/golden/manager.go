package golden

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
)

// SetConfig is what the manager needs of a class set.
type SetConfig struct {
	Name    string
	Anomaly *defects.AnomalySettings // nil: the set has no anomaly detection
	// Classes are the set's unit class embeddings, the good class first,
	// for the zero-shot map (defects.ClassEmbedding of each class's
	// prompts); nil when zero_shot is off.
	Classes [][]float32
}

// Set statuses, as the API shows them.
const (
	StatusReady    = "ready"
	StatusBuilding = "building"
	StatusEmpty    = "empty"
	StatusError    = "error"
)

// Progress is a bank build's images done out of total.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// SetStatus is a set's golden samples and their bank, as GET /api/v1/golden
// shows them.
type SetStatus struct {
	Set     string `json:"set"`
	Enabled bool   `json:"enabled"` // anomaly.golden is on
	// Threshold is the number in the file, or the calibrated one; nil
	// while auto has none (building, too few samples).
	Threshold *float64       `json:"threshold"`
	Auto      bool           `json:"auto"`
	Status    string         `json:"status"`
	Progress  Progress       `json:"progress"`
	Error     string         `json:"error"`
	Samples   []SampleStatus `json:"samples"`
	// Coreset is how the bank was bounded, per memory layer (MaxBankRows);
	// absent until built and for a set without golden samples.
	Coreset []anomaly.CoresetLayer `json:"coreset,omitempty"`
}

// SampleStatus is one sample with its leave-one-out score (nil until
// calibrated, and for a set of fewer than 2 samples).
type SampleStatus struct {
	ID       string    `json:"id"`
	AddedAt  time.Time `json:"added_at"`
	AddedBy  string    `json:"added_by"`
	Source   Source    `json:"source"`
	RecordID uint64    `json:"record_id,omitempty"`
	LOOScore *float64  `json:"loo_score"`
}

// Snapshot is a set's anomaly detection as built: what the loop scores a
// frame with. It stays valid until Release, even when a rebuild replaces
// it.
type Snapshot struct {
	Set string
	// Bank is the memory bank of the golden samples; nil when the set does
	// not use golden samples or has none. Its FewShot is for one caller at
	// a time.
	Bank    *anomaly.Bank
	Classes [][]float32 // for the zero-shot map; nil without it
	Scale   float64
	// Threshold is the anomaly score above which a frame FAILs; 0 when
	// there is none (auto with fewer than 2 samples): no anomaly FAILs.
	Threshold float64
	Layers    []int                  // the bank's memory layers
	Coreset   []anomaly.CoresetLayer // how the bank was bounded

	m       *Manager
	refs    int
	retired bool
}

// Detector is the snapshot's anomaly.Detector.
func (s *Snapshot) Detector() anomaly.Detector {
	return anomaly.Detector{Bank: s.Bank, Classes: s.Classes, Scale: s.Scale}
}

// Release gives the snapshot back; its bank is closed once it is replaced
// and released by everyone.
func (s *Snapshot) Release() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.refs--
	s.closeIfDone()
}

func (s *Snapshot) closeIfDone() {
	if s.retired && s.refs == 0 && s.Bank != nil {
		s.Bank.Close()
	}
}

type setState struct {
	cfg      SetConfig
	gen      uint64 // bumped by every change of the set, its samples or the model
	built    uint64 // the gen the state below is of
	building bool
	progress Progress
	err      string
	loo      map[string]float64 // by sample ID
	snap     *Snapshot
}

// Manager keeps every set's bank and threshold up to date with its golden
// samples, its settings and the model: Run rebuilds a set in the background
// whenever one of them changes, while the previous bank goes on serving.
type Manager struct {
	store *Store
	cache *Cache // nil: no cache
	log   *slog.Logger

	mu      sync.Mutex
	model   *Model
	sets    map[string]*setState
	kick    chan struct{} // a change is waiting for Run
	changed chan struct{} // closed and replaced when a build ends
	kept    string        // the digest the cache was last pruned to
	maxRows int           // the bound of a bank, per layer
}

// NewManager manages the samples of store, caching embeddings in cache
// (nil: none). Give it the model and the sets, then Run it.
func NewManager(store *Store, cache *Cache, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{store: store, cache: cache, log: log, sets: map[string]*setState{},
		kick: make(chan struct{}, 1), changed: make(chan struct{}), maxRows: MaxBankRows}
}

// SetMaxBankRows changes the bound of every bank, per layer (MaxBankRows
// by default), for the banks built after it: a bigger CPU can search more.
func (m *Manager) SetMaxBankRows(n int) {
	m.mu.Lock()
	m.maxRows = max(1, n)
	m.mu.Unlock()
}

// Store is the manager's store.
func (m *Manager) Store() *Store { return m.store }

// SetModel installs the model every bank is built with; a new digest
// rebuilds every set.
func (m *Manager) SetModel(model Model) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.model != nil && m.model.Digest == model.Digest && reflect.DeepEqual(m.model.Layers, model.Layers) {
		m.model = &model
		return
	}
	m.model = &model
	for _, st := range m.sets {
		st.gen++
	}
	m.wake()
}

// SetSets installs the class sets (after a load or reload of the
// defect-class file); a set whose anomaly settings or classes changed is
// rebuilt, one that is gone is dropped.
func (m *Manager) SetSets(sets []SetConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range sets {
		seen[c.Name] = true
		st := m.sets[c.Name]
		if st == nil {
			m.sets[c.Name] = &setState{cfg: c, gen: 1}
			continue
		}
		if !reflect.DeepEqual(st.cfg, c) {
			st.cfg = c
			st.gen++
		}
	}
	for name, st := range m.sets {
		if !seen[name] {
			m.retire(st)
			delete(m.sets, name)
		}
	}
	m.wake()
}

// SetNames are the names of the sets, sorted.
func (m *Manager) SetNames() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.sets))
	for n := range m.sets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckSet refuses a set that is not one of names (the sets of the
// defect-class file).
func CheckSet(names []string, set string) error {
	if slices.Contains(names, set) {
		return nil
	}
	if len(names) == 0 {
		return fmt.Errorf("set %q: %w (it has none)", set, ErrBadSet)
	}
	return fmt.Errorf("set %q: %w (it has %v)", set, ErrBadSet, names)
}

func (m *Manager) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Add adds a golden sample to set (Store.Add's rules) and rebuilds the
// set's bank.
func (m *Manager) Add(set string, data []byte, o Origin) (Sample, error) {
	if err := CheckSet(m.SetNames(), set); err != nil {
		return Sample{}, fmt.Errorf("add golden sample: %w", err)
	}
	smp, err := m.store.Add(set, data, o)
	if err != nil {
		return smp, err
	}
	m.touched(set)
	m.log.Info("golden sample added", "set", set, "id", smp.ID, "by", o.By, "source", o.Source)
	return smp, nil
}

// Remove removes a golden sample from set and rebuilds the set's bank.
func (m *Manager) Remove(set, id string) (Sample, error) {
	if err := CheckSet(m.SetNames(), set); err != nil {
		return Sample{}, fmt.Errorf("remove golden sample: %w", err)
	}
	smp, err := m.store.Remove(set, id)
	if err != nil {
		return smp, err
	}
	m.touched(set)
	m.log.Info("golden sample removed", "set", set, "id", id)
	return smp, nil
}

// List is set's samples.
func (m *Manager) List(set string) ([]Sample, error) {
	if err := CheckSet(m.SetNames(), set); err != nil {
		return nil, err
	}
	return m.store.List(set)
}

// Image is a sample's image file.
func (m *Manager) Image(set, id string) (Sample, []byte, error) {
	if err := CheckSet(m.SetNames(), set); err != nil {
		return Sample{}, nil, err
	}
	return m.store.Image(set, id)
}

func (m *Manager) touched(set string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.sets[set]; st != nil {
		st.gen++
	}
	m.wake()
}

// Acquire is set's current anomaly detection, or nil when the set has none
// ready (no anomaly settings, nothing built yet). Release it when done.
func (m *Manager) Acquire(set string) *Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.sets[set]
	if st == nil || st.snap == nil {
		return nil
	}
	st.snap.refs++
	return st.snap
}

func (m *Manager) retire(st *setState) {
	if st.snap != nil {
		st.snap.retired = true
		st.snap.closeIfDone()
		st.snap = nil
	}
}

// Status is every set's samples and bank, sorted by set.
func (m *Manager) Status() ([]SetStatus, error) {
	m.mu.Lock()
	type view struct {
		name string
		st   setState
	}
	var views []view
	for name, st := range m.sets {
		views = append(views, view{name, *st})
	}
	hasModel := m.model != nil
	m.mu.Unlock()
	sort.Slice(views, func(i, j int) bool { return views[i].name < views[j].name })

	out := make([]SetStatus, 0, len(views))
	for _, v := range views {
		samples, err := m.store.List(v.name)
		if err != nil {
			return nil, err
		}
		st := v.st
		s := SetStatus{Set: v.name, Samples: make([]SampleStatus, len(samples)), Progress: st.progress}
		current := st.built == st.gen
		for i, smp := range samples {
			s.Samples[i] = SampleStatus{ID: smp.ID, AddedAt: smp.AddedAt, AddedBy: smp.AddedBy, Source: smp.Source, RecordID: smp.RecordID}
			if score, ok := st.loo[smp.ID]; ok {
				s.Samples[i].LOOScore = &score
			}
		}
		a := st.cfg.Anomaly
		if a != nil {
			s.Enabled, s.Auto = a.Golden, a.Golden && a.Auto()
			if !a.Auto() {
				t := a.Threshold
				s.Threshold = &t
			} else if current && st.snap != nil && st.snap.Threshold > 0 {
				t := st.snap.Threshold
				s.Threshold = &t
			}
		}
		if current && st.snap != nil {
			s.Coreset = st.snap.Coreset
		}
		switch {
		case !s.Enabled && len(samples) == 0:
			s.Status = StatusEmpty
		case !s.Enabled:
			s.Status = StatusReady
		case !hasModel:
			s.Status, s.Error = StatusBuilding, "waiting for the model"
		case len(samples) == 0:
			s.Status = StatusEmpty
			s.Error = "golden samples are on and the set has none: add 8 to 16 images of good parts"
		case !current || st.building:
			s.Status = StatusBuilding
		case st.err != "":
			s.Status, s.Error = StatusError, st.err
		default:
			s.Status = StatusReady
		}
		out = append(out, s)
	}
	return out, nil
}

// job is one build: a set's settings, samples and the model, as of gen.
type job struct {
	set     string
	gen     uint64
	cfg     SetConfig
	model   Model
	samples []Sample
}

// result is what a build leaves: a snapshot, the leave-one-out scores and
// the reason there is no threshold or no bank.
type result struct {
	snap *Snapshot
	loo  map[string]float64
	err  string
}

var errStale = errors.New("the set changed during the build")

// Run rebuilds sets as they change, one at a time, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	for {
		j, ok := m.next()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-m.kick:
				continue
			}
		}
		start := time.Now()
		res, err := m.build(ctx, j)
		if errors.Is(err, errStale) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			continue // the changed set is built again at once
		}
		if err != nil {
			res = result{err: err.Error()}
			m.log.Warn("golden samples: bank not built", "set", j.set, "error", err)
		} else {
			m.log.Info("golden samples: bank built", "set", j.set, "samples", len(j.samples), "threshold", thresholdOf(res.snap),
				"took", time.Since(start).Round(time.Millisecond))
			if res.err != "" {
				m.log.Warn("golden samples: no anomaly threshold", "set", j.set, "reason", res.err)
			}
		}
		m.install(j, res)
	}
}

func thresholdOf(s *Snapshot) float64 {
	if s == nil {
		return 0
	}
	return s.Threshold
}

// next picks a set whose build is out of date.
func (m *Manager) next() (job, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.model == nil {
		return job{}, false
	}
	if m.cache != nil && m.kept != m.model.Digest {
		if n, err := m.cache.Keep(m.model.Digest); err != nil {
			m.log.Warn("golden patch cache: could not drop other models' entries", "error", err)
		} else if n > 0 {
			m.log.Info("golden patch cache: dropped other models' entries", "entries", n)
		}
		m.kept = m.model.Digest
	}
	names := make([]string, 0, len(m.sets))
	for n := range m.sets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		st := m.sets[name]
		if st.built == st.gen {
			continue
		}
		samples, err := m.store.List(name)
		if err != nil {
			st.built, st.err = st.gen, err.Error()
			continue
		}
		st.building = true
		st.progress = Progress{Total: len(samples)}
		return job{set: name, gen: st.gen, cfg: st.cfg, model: *m.model, samples: samples}, true
	}
	return job{}, false
}

// stale reports whether j's set changed since j was made.
func (m *Manager) stale(j job) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.sets[j.set]
	return st == nil || st.gen != j.gen
}

func (m *Manager) setProgress(j job, done int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.sets[j.set]; st != nil && st.gen == j.gen {
		st.progress.Done = done
	}
}

// install makes a build's result the set's state, unless the set changed
// meanwhile.
func (m *Manager) install(j job, res result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.sets[j.set]
	if st == nil || st.gen != j.gen {
		if res.snap != nil && res.snap.Bank != nil {
			res.snap.Bank.Close()
		}
		return
	}
	m.retire(st)
	st.snap, st.loo, st.err, st.built, st.building = res.snap, res.loo, res.err, j.gen, false
	close(m.changed)
	m.changed = make(chan struct{})
}

// WaitBuilt waits until every set is built as of now, or ctx ends.
func (m *Manager) WaitBuilt(ctx context.Context) error {
	for {
		m.mu.Lock()
		pending := m.model == nil
		for _, st := range m.sets {
			if st.built != st.gen {
				pending = true
			}
		}
		ch := m.changed
		m.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// layersOf are the memory layers of a set: its own, else the model's.
func layersOf(a *defects.AnomalySettings, model Model) []int {
	if a != nil && len(a.Layers) > 0 {
		return slices.Clone(a.Layers)
	}
	return slices.Clone(model.Layers)
}

// build embeds j's samples (from the cache where it has them), makes the
// bank and calibrates the threshold.
func (m *Manager) build(ctx context.Context, j job) (result, error) {
	a := j.cfg.Anomaly
	snap := &Snapshot{Set: j.set, Scale: j.model.Scale, m: m}
	if a == nil {
		return result{}, nil // no anomaly detection: nothing to serve
	}
	if a.ZeroShot {
		snap.Classes = j.cfg.Classes
	}
	snap.Threshold = a.Threshold
	if !a.Golden || len(j.samples) == 0 {
		if a.Golden && a.Auto() {
			snap.Threshold = 0
			return result{snap: snap, err: "golden samples are on and the set has none: add 8 to 16 images of good parts"}, nil
		}
		if snap.Classes == nil {
			return result{}, nil
		}
		return result{snap: snap}, nil
	}
	layers := layersOf(a, j.model)
	snap.Layers = layers
	if err := j.model.Embedder.CheckPatches(layers, snap.Classes != nil); err != nil {
		return result{}, err
	}
	embs := make([]Embedding, len(j.samples))
	embedded := 0
	for i, smp := range j.samples {
		e, err := m.embed(ctx, j, layers, smp)
		if err != nil {
			return result{}, err
		}
		embs[i] = e.Embedding
		if e.ran {
			embedded++
		}
		m.setProgress(j, i+1)
		m.log.Debug("golden samples: embedding", "set", j.set, "done", i+1, "total", len(j.samples), "cached", !e.ran)
		if m.stale(j) {
			return result{}, errStale
		}
	}
	if snap.Classes != nil {
		for i, e := range embs {
			if e.Dense == nil {
				return result{}, fmt.Errorf("golden sample %s: the model gives no dense patch embeddings for the zero-shot map", j.samples[i].ID)
			}
		}
	}
	bank, err := anomaly.NewBank(layers, j.model.Patches, j.model.Width)
	if err != nil {
		return result{}, err
	}
	bank.SetSearcher(j.model.NewSearcher)
	for i, e := range embs {
		if err := bank.Add(e.Tokens); err != nil {
			bank.Close()
			return result{}, fmt.Errorf("golden sample %s: %w", j.samples[i].ID, err)
		}
	}
	// Bound the search before the loop uses the bank (docs/anomaly.md);
	// the leave-one-out scores below are made against the bounded bank, as
	// the loop scores.
	m.mu.Lock()
	maxRows := m.maxRows
	m.mu.Unlock()
	if snap.Coreset, err = bank.Coreset(maxRows); err != nil {
		bank.Close()
		return result{}, err
	}
	// One search now makes the bank's searchers, so the loop's FewShot only
	// reads the bank.
	if err := bank.FewShot(embs[0].Tokens, make([]float64, j.model.Patches)); err != nil {
		bank.Close()
		return result{}, err
	}
	snap.Bank = bank
	res := result{snap: snap}
	if len(embs) >= MinAuto {
		loo, err := LeaveOneOut(bank, embs, snap.Classes, j.model.Scale)
		if err != nil {
			bank.Close()
			return result{}, err
		}
		res.loo = map[string]float64{}
		for i, smp := range j.samples {
			res.loo[smp.ID] = loo[i]
		}
		if a.Auto() {
			snap.Threshold, _ = AutoThreshold(loo)
		}
	} else if a.Auto() {
		snap.Threshold = 0
		res.err = fmt.Sprintf("%v, the set has %d: until it has, no part FAILs as an anomaly. Add another good part, or give a number as anomaly.threshold", ErrTooFewForAuto, len(embs))
	}
	m.log.Debug("golden samples: embedded", "set", j.set, "ran", embedded, "cached", len(embs)-embedded)
	return res, nil
}

type embedded struct {
	Embedding
	ran bool // the model ran (not from the cache)
}

func (m *Manager) embed(ctx context.Context, j job, layers []int, smp Sample) (embedded, error) {
	if m.cache != nil {
		e, ok, err := m.cache.Get(j.model.Digest, layers, smp.SHA256)
		if err != nil {
			m.log.Warn("golden patch cache: read failed; embedding again", "error", err)
		}
		if ok {
			return embedded{Embedding: e}, nil
		}
	}
	img, err := m.store.Decode(j.set, smp)
	if err != nil {
		return embedded{}, err
	}
	e, err := j.model.Embedder.Embed(ctx, img, layers)
	if err != nil {
		return embedded{}, fmt.Errorf("embed golden sample %s: %w", smp.ID, err)
	}
	if err := checkEmbedding(e, layers, j.model); err != nil {
		return embedded{}, fmt.Errorf("embed golden sample %s: %w", smp.ID, err)
	}
	if m.cache != nil {
		if err := m.cache.Put(j.model.Digest, layers, smp.SHA256, e); err != nil {
			m.log.Warn("golden patch cache: write failed", "error", err)
		}
	}
	return embedded{Embedding: e, ran: true}, nil
}

func checkEmbedding(e Embedding, layers []int, model Model) error {
	if len(e.Tokens) != len(layers) {
		return fmt.Errorf("%d token sets for %d layers", len(e.Tokens), len(layers))
	}
	for i, t := range e.Tokens {
		if len(t) != model.Patches*model.Width {
			return fmt.Errorf("layer %d: %d values, want %d patches x %d", layers[i], len(t), model.Patches, model.Width)
		}
	}
	return nil
}
