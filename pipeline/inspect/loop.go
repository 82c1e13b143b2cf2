package inspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/metrics"
)

// Loop is the inspection loop. Create it with New, feed it with Submit and
// Trigger, run it with Run.
type Loop struct {
	opts  Options
	embed atomic.Pointer[embedderBox]
	pre   Preprocessor
	log   *slog.Logger
	// judges are the scorers and anomaly detectors, swapped together.
	judges   atomic.Pointer[judges]
	judgesMu sync.Mutex // orders SetScorers and SetDetectors
	geometry anomalyGeometry
	// noPatchesLogged: the missing patch outputs were logged (infer only).
	noPatchesLogged bool

	intakes map[string]*intake
	regions int       // the most images one frame makes (its regions), at least 1
	order   []*intake // round-robin order for fairness across cameras
	next    int
	ready   chan struct{} // a frame or a MISSED verdict is waiting

	// closeMu orders intake against shutdown: Submit and Trigger hold it
	// shared, shutdown exclusively, so nothing slips in after the last drain.
	closeMu sync.RWMutex
	closed  bool

	sinks []*sinkRunner

	// resolver, when set, sees verdicts before the sinks (SetResolver).
	resolver  Resolver
	resolving *resolveStage
	// parts, when set, fuses the views of parts several cameras see
	// (Options.Parts).
	parts *partStage

	// batchSize and batchWait may be changed while running (SetBatching).
	batchSize atomic.Int64
	batchWait atomic.Int64

	progress atomic.Uint64 // see Progress

	// Stage metrics.
	Preprocess    metrics.Histogram // per frame
	Inference     metrics.Histogram // vision encoder time per batch
	Batches       metrics.Counter
	InferenceErrs metrics.Counter
	// AnomalyErrs counts frames whose anomaly map could not be made; they
	// keep their image-level verdict.
	AnomalyErrs metrics.Counter
}

// judges is what the loop scores a batch with.
type judges struct {
	scorers   Scorers
	detectors Detectors
}

// New makes a loop. Scorers must be set (SetScorers) before frames arrive.
func New(opts Options, embed Embedder, pre Preprocessor, log *slog.Logger) (*Loop, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1
	}
	if opts.ImageSize <= 0 {
		return nil, errors.New("inspection loop: the model's image size is not set")
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Loop{
		opts: opts, pre: pre, log: log,
		intakes: map[string]*intake{},
		ready:   make(chan struct{}, 1),
	}
	for _, c := range opts.Cameras {
		if _, dup := l.intakes[c.ID]; dup {
			return nil, fmt.Errorf("inspection loop: camera %q configured twice", c.ID)
		}
		if c.Mode != FreeRun && c.Mode != Triggered {
			return nil, fmt.Errorf("inspection loop: camera %q: mode %q is neither %s nor %s", c.ID, c.Mode, FreeRun, Triggered)
		}
		in := newIntake(c)
		l.intakes[c.ID] = in
		l.regions = max(l.regions, 1, len(c.Regions))
		l.order = append(l.order, in)
	}
	if len(opts.Parts) > 0 {
		if err := l.setParts(opts.Parts); err != nil {
			return nil, fmt.Errorf("inspection loop: %w", err)
		}
	}
	l.geometry = anomalyGeometry{window: opts.Window, crop: opts.ImageSize}
	l.judges.Store(&judges{scorers: Scorers{}})
	l.SetEmbedder(embed)
	l.SetBatching(opts.BatchSize, opts.BatchWait)
	return l, nil
}

type embedderBox struct{ Embedder }

// SetEmbedder swaps the vision encoder (a lighter variant, say); the next
// batch uses it. Frames already batched are not lost.
func (l *Loop) SetEmbedder(e Embedder) { l.embed.Store(&embedderBox{e}) }

// SetBatching changes the batch size (1..Options.BatchSize, the buffers'
// capacity) and the longest wait to fill a batch; the next batch uses them.
func (l *Loop) SetBatching(size int, wait time.Duration) {
	l.batchSize.Store(int64(max(1, min(size, l.opts.BatchSize))))
	l.batchWait.Store(int64(max(0, wait)))
}

// Batching reports the batch size and wait in use.
func (l *Loop) Batching() (int, time.Duration) {
	return int(l.batchSize.Load()), time.Duration(l.batchWait.Load())
}

// AddSink registers a sink before Run.
func (l *Loop) AddSink(s Sink, o SinkOptions) *SinkStats {
	r := newSinkRunner(s, o, l.log)
	l.sinks = append(l.sinks, r)
	return r.stats
}

// SetScorers replaces the scorers; the next batch uses them.
func (l *Loop) SetScorers(s Scorers) {
	l.judgesMu.Lock()
	defer l.judgesMu.Unlock()
	l.judges.Store(&judges{scorers: s, detectors: l.judges.Load().detectors})
}

// SetDetectors replaces the anomaly detectors; the next batch uses them.
// A batch with a detector for one of its frames runs the encoder for its
// patch outputs too (one run: PatchEmbedder).
func (l *Loop) SetDetectors(d Detectors) {
	l.judgesMu.Lock()
	defer l.judgesMu.Unlock()
	l.judges.Store(&judges{scorers: l.judges.Load().scorers, detectors: d})
}

// SetJudges replaces the scorers and the anomaly detectors in one step, so
// no batch pairs the new of one with the old of the other (hot reload).
func (l *Loop) SetJudges(s Scorers, d Detectors) {
	l.judgesMu.Lock()
	defer l.judgesMu.Unlock()
	l.judges.Store(&judges{scorers: s, detectors: d})
}

// CameraStats returns a camera's counters, or nil for an unknown camera.
func (l *Loop) CameraStats(camera string) *CameraStats {
	if in := l.intakes[camera]; in != nil {
		return in.stats
	}
	return nil
}

// Submit hands over a frame from a camera; the loop owns it from here and
// releases it when done. Frames of unknown cameras, or after Run has
// stopped, are released at once.
func (l *Loop) Submit(f *frame.Frame) {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	in := l.intakes[f.Camera]
	if in == nil || l.closed {
		f.Release()
		return
	}
	in.submit(f)
	l.wake()
}

// Trigger asks for one inspection of a part on a triggered camera: the first
// frame captured at or after at.
func (l *Loop) Trigger(camera, partID string, at time.Time) error {
	return l.trigger(camera, partID, at, false)
}

// TriggerAt asks for the part whose PLC time is at (when it passed the
// sensor, by the PLC's clock): the frame captured nearest to at, within
// the camera's trigger window, is judged, and a trigger that arrives after
// its frame (network latency) is served from the camera's recent frames.
// The PLC's clock and the appliance's must agree (NTP or PTP).
func (l *Loop) TriggerAt(camera, partID string, at time.Time) error {
	return l.trigger(camera, partID, at, true)
}

func (l *Loop) trigger(camera, partID string, at time.Time, nearest bool) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	in := l.intakes[camera]
	if in == nil {
		return fmt.Errorf("trigger: no camera %q", camera)
	}
	if l.closed {
		return errors.New("trigger: the inspection loop is stopping")
	}
	if err := in.trigger(partID, at, nearest); err != nil {
		return err
	}
	l.wake()
	return nil
}

func (l *Loop) wake() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// popNext takes the next item round-robin across cameras.
func (l *Loop) popNext() (item, bool) {
	for range l.order {
		in := l.order[l.next]
		l.next = (l.next + 1) % len(l.order)
		if it, ok := in.pop(); ok {
			return it, true
		}
	}
	return item{}, false
}

// Run runs the loop until ctx is cancelled, then stops intake, inspects the
// frames already accepted, turns waiting triggers into MISSED verdicts,
// drains the sinks and returns.
func (l *Loop) Run(ctx context.Context) error {
	var sinkWG sync.WaitGroup
	for _, s := range l.sinks {
		sinkWG.Add(1)
		go s.run(&sinkWG)
	}
	batches := make(chan *batch, 1)
	free := make(chan *batch, 2)
	for i := 0; i < 2; i++ {
		free <- newBatch(l.opts.BatchSize, l.regions, l.opts.ImageSize)
	}

	if l.resolver != nil {
		l.resolving = l.startResolver()
	}
	if l.parts != nil {
		l.parts.start()
	}
	var stages sync.WaitGroup
	stages.Add(2)
	go func() { defer stages.Done(); l.collect(ctx, batches, free) }()
	go func() { defer stages.Done(); l.infer(batches, free) }()

	<-ctx.Done()
	stages.Wait()
	if l.resolving != nil {
		l.resolving.stop()
	}
	if l.parts != nil {
		l.parts.stop() // after the last views, before the sinks close
	}
	for _, s := range l.sinks {
		s.close()
	}
	sinkWG.Wait()
	return nil
}
