package tuning

import (
	"errors"
	"fmt"
	"strings"
)

// Candidate is a model variant Select may load, with its estimate.
type Candidate struct {
	Variant  string
	Estimate Estimate
}

// Loaded is a model opened for a trial: Warm runs one batch of n images.
type Loaded interface {
	Warm(n int) error
	Close()
}

// Selector chooses the heaviest variant and the largest batch that fit a
// memory cap. Load, RSS and Peak are seams for tests; Select fills RSS and
// Peak from /proc/self/status when they are nil.
type Selector struct {
	Cap        int64       // bytes of resident memory the process may use
	MaxBatch   int         // the configured batch size, never exceeded
	Candidates []Candidate // heaviest first
	Load       func(variant string) (Loaded, error)
	// RSS is the resident memory now; Peak the highest since the last
	// ResetPeak (ok false when the peak cannot be reset).
	RSS       func() (int64, error)
	ResetPeak func() bool
	Peak      func() (int64, error)
	// Trim returns freed memory to the system before each measurement, so
	// a closed trial or a parsed model file is not counted.
	Trim func()
}

// Plan is Select's choice and its evidence, for the log and status.
type Plan struct {
	Variant string `json:"variant"`
	Batch   int    `json:"batch"`
	CapMB   int64  `json:"cap_mb"`
	// BaseMB is resident memory before loading, LoadedMB after loading,
	// PeakMB after the warm-up batch; EstimatedMB was the estimate.
	BaseMB      int64  `json:"base_mb"`
	EstimatedMB int64  `json:"estimated_mb"`
	LoadedMB    int64  `json:"loaded_mb"`
	PeakMB      int64  `json:"peak_mb"`
	Reason      string `json:"reason"`
	// Rejected says why each heavier choice was not taken.
	Rejected []string `json:"rejected,omitempty"`

	model Loaded
}

// Model is the loaded model of the plan; the caller owns it.
func (p *Plan) Model() Loaded { return p.model }

// headroom keeps the warm-up peak this far under the cap, for what grows
// after start-up: frames in queues, verdicts waiting for sinks, Go's heap.
const headroom = 0.9

// Select tries the candidates heaviest first: for each it takes the largest
// batch whose estimate fits, loads it and measures, then warms up a batch
// and measures again, shrinking the batch (reloading, since ONNX Runtime's
// arena keeps what it grew to) until the peak fits. The first that fits is
// returned loaded.
func (s Selector) Select() (*Plan, error) {
	if s.RSS == nil {
		s.RSS = ReadRSS
		if s.Trim == nil {
			s.Trim = trimMemory
		}
	}
	if s.Trim == nil {
		s.Trim = func() {}
	}
	if s.Peak == nil {
		s.Peak, s.ResetPeak = readPeak, resetPeak
	}
	if s.MaxBatch < 1 {
		s.MaxBatch = 1
	}
	limit := int64(float64(s.Cap) * headroom)
	s.Trim()
	base, err := s.RSS()
	if err != nil {
		return nil, err
	}
	p := &Plan{CapMB: s.Cap / MB, BaseMB: base / MB}
	reject := func(format string, args ...any) { p.Rejected = append(p.Rejected, fmt.Sprintf(format, args...)) }
	for _, c := range s.Candidates {
		batch := s.MaxBatch
		for batch > 0 && base+c.Estimate.Batch(batch) > limit {
			batch--
		}
		if batch == 0 {
			reject("%s: estimated %d MB at batch 1 with %d MB in use, over %d MB (90%% of the cap)", c.Variant, (base+c.Estimate.Batch(1))/MB, base/MB, limit/MB)
			continue
		}
		est := base + c.Estimate.Batch(batch)
		for batch > 0 {
			m, loaded, peak, err := s.trial(c.Variant, batch)
			if err != nil {
				return nil, err
			}
			if loaded > limit {
				m.Close()
				s.Trim()
				reject("%s: %d MB resident after loading, over %d MB", c.Variant, loaded/MB, limit/MB)
				break
			}
			if peak <= limit {
				p.Variant, p.Batch, p.model = c.Variant, batch, m
				p.EstimatedMB, p.LoadedMB, p.PeakMB = est/MB, loaded/MB, peak/MB
				p.Reason = fmt.Sprintf("%s at batch %d peaks at %d MB after warm-up, within %d MB (90%% of the %d MB cap)", c.Variant, batch, peak/MB, limit/MB, s.Cap/MB)
				if len(p.Rejected) > 0 {
					p.Reason += "; not taken: " + strings.Join(p.Rejected, "; ")
				}
				return p, nil
			}
			m.Close()
			s.Trim()
			// The measured cost per image sets the next batch to try.
			perImage := max(1, (peak-loaded)/int64(batch))
			next := min(batch-1, int((limit-loaded)/perImage))
			reject("%s at batch %d: peaked at %d MB, over %d MB", c.Variant, batch, peak/MB, limit/MB)
			batch = next
		}
	}
	if len(s.Candidates) == 0 {
		return nil, errors.New("choose model: no variant to choose from")
	}
	return nil, fmt.Errorf("choose model: nothing fits model.max_memory_mb %d: %s", s.Cap/MB, strings.Join(p.Rejected, "; "))
}

// trial loads a variant and warms it up with one batch, returning the
// resident memory after loading and the peak of the warm-up.
func (s Selector) trial(variant string, batch int) (Loaded, int64, int64, error) {
	m, err := s.Load(variant)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("choose model: load %s: %w", variant, err)
	}
	s.Trim()
	loaded, err := s.RSS()
	if err != nil {
		m.Close()
		return nil, 0, 0, err
	}
	reset := s.ResetPeak != nil && s.ResetPeak()
	if err := m.Warm(batch); err != nil {
		m.Close()
		return nil, 0, 0, fmt.Errorf("choose model: warm up %s at batch %d: %w", variant, batch, err)
	}
	peak, err := s.RSS()
	if err != nil {
		m.Close()
		return nil, 0, 0, err
	}
	if reset {
		if hwm, err := s.Peak(); err == nil {
			peak = max(peak, hwm)
		}
	}
	return m, loaded, peak, nil
}
