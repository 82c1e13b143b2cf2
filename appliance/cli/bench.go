package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/golden"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/inspect"
)

// benchReport is `linesight bench`'s result.
type benchReport struct {
	Duration       time.Duration `json:"duration_ns"`
	BatchSize      int           `json:"batch_size"`
	Threads        int           `json:"threads"`
	Provider       string        `json:"provider"`
	Variant        string        `json:"variant"`
	LoopImagesPerS float64       `json:"loop_images_per_s"`
	BareImagesPerS float64       `json:"bare_images_per_s"`
	Ratio          float64       `json:"ratio"`
	Verdicts       int           `json:"verdicts"`
	// Images counts what went through the model: one per verdict, or one
	// per region for cameras with regions.
	Images int `json:"images"`
	// Golden is the number of golden images of the anomaly banks; 0 when
	// the loop ran without anomaly detection.
	Golden int `json:"golden,omitempty"`
	// PLCPolls and PLCErrors count the Modbus and OPC UA clients' reads
	// during the measurement (--plc-load); PLCPolls 0 without it.
	PLCPolls   uint64        `json:"plc_polls,omitempty"`
	PLCErrors  uint64        `json:"plc_errors,omitempty"`
	Dropped    uint64        `json:"dropped"`
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP95 time.Duration `json:"latency_p95_ns"`
	LatencyP99 time.Duration `json:"latency_p99_ns"`
}

// latencySink keeps each verdict's capture-to-verdict latency.
type latencySink struct {
	mu        sync.Mutex
	from      time.Time
	latencies []time.Duration
	images    int // model images behind the verdicts kept: regions count each
}

func (s *latencySink) Name() string { return "bench" }

func (s *latencySink) Write(_ context.Context, r *inspect.Result) error {
	s.mu.Lock()
	if !s.from.IsZero() && r.Verdict.InferredAt.After(s.from) {
		s.latencies = append(s.latencies, r.Verdict.Latency)
		s.images += max(1, len(r.Verdict.Regions))
	}
	s.mu.Unlock()
	return nil
}

func (s *latencySink) start(t time.Time) {
	s.mu.Lock()
	s.from, s.latencies, s.images = t, nil, 0
	s.mu.Unlock()
}

// take returns the latencies kept and the images behind them.
func (s *latencySink) take() ([]time.Duration, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, images := s.latencies, s.images
	s.latencies, s.images = nil, 0
	return out, images
}

func bench(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("bench", stdio)
	cfgPath := fs.String("config", "", "appliance configuration: its cameras feed the loop (use fast synthetic or folder sources)")
	duration := fs.Duration("duration", 20*time.Second, "how long to measure each of the loop and the bare session")
	warmup := fs.Duration("warmup", 3*time.Second, "run time before measuring")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	plcLoadOn := fs.Bool("plc-load", false, fmt.Sprintf("serve Modbus TCP and OPC UA on loopback with a client of each reading every camera's last verdict %d times a second", pollRate))
	golden := fs.Int("golden", 0, "detect anomalies on every set with a bank of N golden images (random images: this measures cost, not quality) and the zero-shot map, at threshold 0.5")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return fmt.Errorf("need --config FILE")
	}
	cfg, err := config.LoadAppliance(*cfgPath)
	if err != nil {
		return err
	}
	if *golden < 0 || *golden > defects.MaxGolden {
		return fmt.Errorf("--golden %d: give 1 to %d golden images, or 0 for none", *golden, defects.MaxGolden)
	}
	log := logger(stdio)
	r := benchReport{BatchSize: cfg.Pipeline.BatchSize, Threads: cfg.Model.Threads, Duration: *duration, Golden: *golden}

	// 1. The whole loop: cameras -> preprocess -> batches -> encoder -> verdicts.
	a := app.New(cfg, log)
	if *golden > 0 {
		for _, set := range cfg.Classes().Sets {
			set.Anomaly = &defects.AnomalySettings{Golden: true, ZeroShot: true, Threshold: 0.5}
		}
		a.Golden = benchGolden{n: *golden}
	}
	sink := &latencySink{}
	a.AddSink(sink, inspect.SinkOptions{Lossless: true, Queue: 4096})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	for a.State() == app.StateStarting {
		time.Sleep(10 * time.Millisecond)
	}
	if a.State() != app.StateReady {
		stop()
		return <-done
	}
	var load *plcLoad
	if *plcLoadOn {
		var err error
		if load, err = startPLCLoad(runCtx, a, cfg.Line, log); err != nil {
			stop()
			<-done
			return err
		}
	}
	fmt.Fprintf(stdio.Err, "loop: warming up %s, measuring %s\n", *warmup, *duration)
	sleepCtx(ctx, *warmup)
	before := a.Status()
	var pollsBefore, errsBefore uint64
	if load != nil {
		pollsBefore, errsBefore = load.polls.Load(), load.errs.Load()
	}
	start := time.Now()
	sink.start(start)
	sleepCtx(ctx, *duration)
	elapsed := time.Since(start)
	lat, images := sink.take()
	after := a.Status()
	if load != nil {
		r.PLCPolls, r.PLCErrors = load.polls.Load()-pollsBefore, load.errs.Load()-errsBefore
		load.stop()
	}
	r.Provider, r.Variant = after.Model.Provider, after.Model.Variant
	if *golden > 0 && (len(after.Anomaly) == 0 || !after.Anomaly[0].Active) {
		stop()
		<-done
		return fmt.Errorf("--golden: anomaly detection did not start: %+v", after.Anomaly)
	}
	stop()
	if err := <-done; err != nil {
		return err
	}
	r.Verdicts, r.Images = len(lat), images
	r.LoopImagesPerS = float64(images) / elapsed.Seconds()
	for i := range after.Cameras {
		r.Dropped += after.Cameras[i].Dropped - before.Cameras[i].Dropped
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.LatencyP50, r.LatencyP95, r.LatencyP99 = percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99)

	// 2. The bare vision session on the same model, batch and threads.
	model, err := app.OpenModel(cfg.Model, log)
	if err != nil {
		return err
	}
	defer model.Close()
	size := model.Bundle.Preprocess.CropHeight
	pixels := make([]float32, r.BatchSize*3*size*size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range pixels {
		pixels[i] = float32(rng.NormFloat64())
	}
	fmt.Fprintf(stdio.Err, "bare session: batch %d, measuring %s\n", r.BatchSize, *duration)
	if _, err := model.Vision.Embed(pixels, r.BatchSize); err != nil {
		return err
	}
	images = 0
	start = time.Now()
	for time.Since(start) < *duration && ctx.Err() == nil {
		if _, err := model.Vision.Embed(pixels, r.BatchSize); err != nil {
			return err
		}
		images += r.BatchSize
	}
	r.BareImagesPerS = float64(images) / time.Since(start).Seconds()
	if r.BareImagesPerS > 0 {
		r.Ratio = r.LoopImagesPerS / r.BareImagesPerS
	}

	if *asJSON {
		return json.NewEncoder(stdio.Out).Encode(r)
	}
	fmt.Fprintf(stdio.Out, "model      %s on %s, batch %d, threads %d\n", r.Variant, r.Provider, r.BatchSize, r.Threads)
	if r.Golden > 0 {
		fmt.Fprintf(stdio.Out, "anomaly    zero-shot and few-shot maps, %d golden images\n", r.Golden)
	}
	fmt.Fprintf(stdio.Out, "loop       %8.2f images/s  (%d verdicts, %d images in %s, %d frames dropped)\n", r.LoopImagesPerS, r.Verdicts, r.Images, elapsed.Round(time.Millisecond), r.Dropped)
	fmt.Fprintf(stdio.Out, "bare       %8.2f images/s\n", r.BareImagesPerS)
	if r.PLCPolls > 0 || r.PLCErrors > 0 {
		fmt.Fprintf(stdio.Out, "plc load   %d Modbus and OPC UA reads, %d failed\n", r.PLCPolls, r.PLCErrors)
	}
	fmt.Fprintf(stdio.Out, "ratio      %8.1f %%  (target: at least 95 %%)\n", 100*r.Ratio)
	fmt.Fprintf(stdio.Out, "latency    p50 %s  p95 %s  p99 %s  (capture to verdict)\n",
		r.LatencyP50.Round(time.Microsecond), r.LatencyP95.Round(time.Microsecond), r.LatencyP99.Round(time.Microsecond))
	return nil
}

// percentile of sorted durations, by the nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// benchGolden builds each set's bank from n random images, bounded as the
// appliance bounds it (golden.MaxBankRows): the few-shot map's cost depends
// on the bank's size, not on what the images show.
type benchGolden struct{ n int }

func (g benchGolden) Bank(set *defects.ClassSet, m *clip.Model) (*anomaly.Bank, float64, error) {
	layers := m.Bundle.Config.VisionConfig.DefaultMemoryLayers()
	bank, err := anomaly.NewBank(layers, m.Vision.Grid()*m.Vision.Grid(), m.Vision.PatchWidth())
	if err != nil {
		return nil, 0, err
	}
	bank.SetSearcher(func(rows []float32, width int) (anomaly.Searcher, error) { return m.NewBankSearch(rows, width) })
	rng := rand.New(rand.NewPCG(uint64(g.n), 3))
	for i := range g.n {
		img := image.NewRGBA(image.Rect(0, 0, 256, 256))
		for j := range img.Pix {
			img.Pix[j] = uint8(rng.UintN(256))
		}
		out, err := m.EmbedPatches([]image.Image{img})
		if err != nil {
			return nil, 0, fmt.Errorf("golden image %d: %w", i, err)
		}
		if err := bank.Add(layerTokens(out[0], layers)); err != nil {
			return nil, 0, fmt.Errorf("golden image %d: %w", i, err)
		}
	}
	if _, err := bank.Coreset(golden.MaxBankRows); err != nil {
		return nil, 0, err
	}
	return bank, 0.5, nil
}
