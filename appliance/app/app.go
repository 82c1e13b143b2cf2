package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/appliance/trigger"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/capture"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
)

// States of the appliance, as status reports them.
const (
	StateStarting = "starting" // loading the model and preparing prompts
	StateReady    = "ready"    // inspecting
	StateStopping = "stopping" // finishing in-flight frames
	StateStopped  = "stopped"
	StateFailed   = "failed" // could not start; see the error
)

// App is one running appliance.
type App struct {
	Config *config.Config
	Log    *slog.Logger
	// Golden gives the sets' golden-sample banks; set it before Run. Nil:
	// sets that enable golden samples run without them.
	Golden GoldenBanks
	// Audit records what people and PLCs changed (a recipe); set it before
	// Run. Nil: changes are only logged.
	Audit func(user, action, detail string) error
	// Version, Journal and Broker complete the status (Status); set them
	// before Run. Nil Journal or Broker: the status has none to show.
	Version string
	Journal StatusJournal
	Broker  Broker

	state   atomic.Value // string
	startAt time.Time
	// configHash is Config.Hash(), computed once: the configuration does
	// not change while the appliance runs.
	configHash string
	warmup     atomic.Int64  // time from start to ready, ns
	lastErr    atomic.Value  // string
	ready      chan struct{} // closed when ready (see Ready)

	mu      sync.Mutex // guards the fields below once Run has set them
	model   *clip.Model
	cache   *defects.Cache
	loop    *inspect.Loop
	cameras []*capture.Camera
	sinks   []sinkSpec
	// degraders are the sinks that can say they are degraded (the journal).
	degraders []Degrader
	reload    reloadStatus
	// reloadMu serialises reloads; textMu guards the text encoder, which a
	// preparation may open and release.
	reloadMu sync.Mutex
	textMu   sync.Mutex
	tune     tuningState
	// anomaly is each set's anomaly detection as last prepared.
	anomaly []AnomalyStatus
	golden  *goldenState
	// classes and scorers are what the loop judges with now: file as the
	// active recipe lays it out.
	file          *defects.File
	recipe        string
	classes       *defects.File
	scorers       inspect.Scorers
	esc           escalationState
	processAlarms *processalarm.Monitor // the process alarms' rules on the verdicts
	board         *plc.Board            // each camera's last verdict, for the PLC protocols
}

type sinkSpec struct {
	sink inspect.Sink
	opts inspect.SinkOptions
}

// New prepares an appliance for a validated configuration.
func New(cfg *config.Config, log *slog.Logger) *App {
	if log == nil {
		log = slog.Default()
	}
	a := &App{Config: cfg, Log: log, startAt: time.Now(), ready: make(chan struct{})}
	a.configHash = cfg.Hash()
	a.state.Store(StateStarting)
	a.lastErr.Store("")
	a.processAlarms = processalarm.New(processRules(cfg.Alarms), nil)
	a.AddSink(a.processAlarms, a.processAlarms.SinkOptions())
	var ids []string
	for _, c := range cfg.Cameras {
		ids = append(ids, c.ID)
	}
	a.board = plc.NewBoard(ids)
	a.AddSink(a.board, a.board.SinkOptions())
	return a
}

// Board is each camera's last verdict and counters, for the PLC protocol
// servers (OPC UA, Modbus) to poll.
func (a *App) Board() *plc.Board { return a.board }

// Degrader is a part of the appliance that can keep working while it
// cannot keep its promises: the journal on a full disk.
type Degrader interface {
	// Degraded says why, or "" when it works as it should.
	Degraded() string
}

// AddSink adds a verdict sink; call before Run. A sink that is a Degrader
// is reported in Status.
func (a *App) AddSink(s inspect.Sink, o inspect.SinkOptions) {
	a.sinks = append(a.sinks, sinkSpec{s, o})
	if d, ok := s.(Degrader); ok {
		a.degraders = append(a.degraders, d)
	}
}

// Degraded lists why the appliance, while inspecting, does not work as it
// should; empty when it does.
func (a *App) Degraded() []string {
	var out []string
	for _, d := range a.degraders {
		if why := d.Degraded(); why != "" {
			out = append(out, why)
		}
	}
	return out
}

// State is the appliance's lifecycle state.
func (a *App) State() string { return a.state.Load().(string) }

// Run loads the model, prepares the prompts, starts the cameras and the
// inspection loop, and runs until ctx ends. Then it stops the cameras first,
// lets the loop finish the frames it accepted and the sinks drain, and
// releases the model. A finite source running out does not stop the others.
func (a *App) Run(ctx context.Context) error {
	if err := a.start(); err != nil {
		a.lastErr.Store(err.Error())
		a.state.Store(StateFailed)
		return err
	}
	defer a.release()
	a.warmup.Store(int64(time.Since(a.startAt)))
	a.state.Store(StateReady)
	a.Log.Info("appliance ready", "line", a.Config.Line, "cameras", len(a.cameras), "warmup", time.Since(a.startAt).Round(time.Millisecond))
	close(a.ready)

	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan error, 1)
	go func() { loopDone <- a.loop.Run(loopCtx) }()

	camCtx, stopCameras := context.WithCancel(ctx)
	var cams sync.WaitGroup
	for _, c := range a.cameras {
		cams.Add(1)
		go func(c *capture.Camera) {
			defer cams.Done()
			if err := c.Run(camCtx, a.loop.Submit); err != nil && !errors.Is(err, io.EOF) {
				a.Log.Error("camera stopped", "camera", c.Name(), "err", err)
			}
		}(c)
	}
	var watch sync.WaitGroup
	watch.Add(3)
	go func() { defer watch.Done(); a.runGolden(camCtx) }()
	go func() { defer watch.Done(); a.watchDefects(camCtx) }()
	go func() { defer watch.Done(); a.runTuning(camCtx) }()

	<-ctx.Done()
	a.state.Store(StateStopping)
	a.Log.Info("stopping: capture first, then in-flight frames, then sinks")
	stopCameras()
	cams.Wait()
	watch.Wait()
	stopLoop()
	err := <-loopDone
	a.state.Store(StateStopped)
	a.Log.Info("stopped")
	return err
}

// start opens everything Run needs, in order, undoing it all on failure.
func (a *App) start() (err error) {
	cfg := a.Config
	defer func() {
		if err != nil {
			a.release()
		}
	}()
	if a.model, err = a.openModel(); err != nil {
		return err
	}
	if a.cache, err = openCacheRepaired(cfg.DataDir, a.Log); err != nil {
		return err
	}
	if a.golden != nil {
		a.golden.mgr.SetModel(golden.ModelOf(a.model))
	}
	recipe := a.startRecipe(cfg.Classes(), "")
	view, err := cfg.Classes().ForRecipe(recipe)
	if err != nil {
		return err
	}
	scorers, err := a.prepareScorers(view)
	if err != nil {
		return err
	}
	detectors := a.prepareDetectors(view, scorers)
	a.file, a.recipe = cfg.Classes(), recipe
	if cfg.Model.CloseTextAfterWarmup {
		a.Log.Info("text encoder released after warm-up; a changed defect file reopens it")
	}
	a.reload.set(cfg.Classes().Hash(), nil)

	size := a.model.Bundle.Preprocess.CropHeight
	opts := inspect.Options{BatchSize: a.batchSize(), BatchWait: cfg.Pipeline.BatchWait, ImageSize: size,
		Window: a.model.Bundle.Preprocess.SourceWindow}
	pool := frame.NewPool(4 * (len(cfg.Cameras)*cfg.Pipeline.QueueSize + 2*cfg.Pipeline.BatchSize))
	for _, c := range cfg.Cameras {
		opts.Cameras = append(opts.Cameras, inspect.CameraOptions{
			ID: c.ID, Mode: inspect.Mode(c.Mode), Rate: c.Rate, Queue: cfg.Pipeline.QueueSize,
			TriggerTimeout: c.TriggerTimeout, TriggerWindow: c.TriggerWindow, MissedAction: defects.ActionReject,
			Regions: regionOptions(c.Regions),
		})
		cam, err := capture.NewCamera(c.ID, c.CameraConfig, pool, capture.WithLogger(a.Log))
		if err != nil {
			return fmt.Errorf("camera %q: %w", c.ID, err)
		}
		a.cameras = append(a.cameras, cam)
	}
	for _, p := range cfg.Parts {
		opts.Parts = append(opts.Parts, inspect.PartOptions{Name: p.Name, Cameras: p.Cameras, Deadline: p.Deadline, MissedAction: defects.ActionReject})
	}
	if a.loop, err = inspect.New(opts, a.encoder(), a.model.Preprocess, a.Log); err != nil {
		return err
	}
	a.startTuning()
	if err := a.startEscalation(); err != nil {
		return err
	}
	a.loop.SetJudges(scorers, detectors)
	a.swappedDetectors()
	a.loop.AddSink(inspect.LogSink{Log: a.Log}, inspect.SinkOptions{Queue: cfg.Pipeline.SinkQueue})
	for _, s := range a.sinks {
		if s.opts.Queue == 0 {
			s.opts.Queue = cfg.Pipeline.SinkQueue
		}
		a.loop.AddSink(s.sink, s.opts)
	}
	return nil
}

func (a *App) release() {
	a.releaseTuning()
	// Under mu: Status may be reading the model while Run returns.
	a.mu.Lock()
	model := a.model
	a.model = nil
	a.mu.Unlock()
	if model != nil {
		model.Close()
	}
	if a.cache != nil {
		a.cache.Close()
		a.cache = nil
	}
}

// Trigger asks for an inspection of a part on a triggered camera, as the PLC
// link and the HTTP API do.
func (a *App) Trigger(camera, partID string, at time.Time) error {
	if a.State() != StateReady {
		return fmt.Errorf("trigger: the appliance is %s", a.State())
	}
	return a.loop.Trigger(camera, partID, at)
}

// TriggerAt asks for the inspection of a part the PLC saw at its own time
// at: the frame captured nearest to at, within the camera's trigger window
// (inspect.Loop.TriggerAt).
func (a *App) TriggerAt(camera, partID string, at time.Time) error {
	if a.State() != StateReady {
		return fmt.Errorf("trigger: the appliance is %s", a.State())
	}
	return a.loop.TriggerAt(camera, partID, at)
}

// TriggerPart serves a decoded trigger that arrived at arrived: by the
// PLC's time when it gives one, else by its arrival. The PLC link and the
// HTTP API both use it.
func (a *App) TriggerPart(camera string, t trigger.Trigger, arrived time.Time) error {
	if !t.At.IsZero() {
		return a.TriggerAt(camera, t.PartID, t.At)
	}
	return a.Trigger(camera, t.PartID, arrived)
}

// regionOptions are a camera's regions as the inspection loop takes them.
func regionOptions(regions []config.Region) []inspect.RegionOptions {
	var out []inspect.RegionOptions
	for _, r := range regions {
		out = append(out, inspect.RegionOptions{Name: r.Name,
			Box: defects.Region{X: r.ROI.X, Y: r.ROI.Y, W: r.ROI.Width, H: r.ROI.Height}})
	}
	return out
}
