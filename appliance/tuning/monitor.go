package tuning

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/linesight/linesight/pipeline/metrics"
)

// Reading is the cumulative state of the pipeline at one moment; the
// monitor turns two readings into a Sample.
type Reading struct {
	Latency metrics.HistogramSnapshot // capture to verdict, every camera
	Batches uint64
	Busy    time.Duration // the encoder's total time
	Backlog int           // frames queued for inference now
	Dropped uint64
	RSS     int64
}

// Target is what the monitor tunes: the inspection loop's batching, and a
// variant swap (open the named variant, hand it to the loop, close the old).
type Target struct {
	Batching    func() (int, time.Duration)
	SetBatching func(int, time.Duration)
	SwapVariant func(variant string) error
}

// Monitor runs the Controller once per window against live readings.
type Monitor struct {
	ctl      *Controller
	lim      Limits // as the controller completed them
	quantile float64
	window   time.Duration
	read     func() Reading
	target   Target
	log      *slog.Logger
	now      func() time.Time

	stepMu sync.Mutex // one Step at a time; the controller is not shared

	mu      sync.Mutex // guards what Status reads
	cur     Settings
	last    Reading
	lastAt  time.Time
	changes []Change // the most recent, oldest first
	sample  Sample

	// Metrics: every change counts; the gauges are the settings in force.
	Changes      metrics.Counter
	SwapFailures metrics.Counter
	BatchGauge   metrics.Gauge
	WaitGauge    metrics.Gauge // nanoseconds
	VariantGauge metrics.Gauge // index into the variants, 0 the heaviest
}

// keepChanges is how many changes status shows.
const keepChanges = 20

// NewMonitor makes a monitor; now is its clock (time.Now in production).
func NewMonitor(lim Limits, quantile float64, window time.Duration, read func() Reading, t Target, log *slog.Logger, now func() time.Time) *Monitor {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	ctl := NewController(lim)
	m := &Monitor{ctl: ctl, lim: ctl.lim, quantile: quantile, window: window, read: read, target: t, log: log, now: now}
	m.last, m.lastAt, m.cur = read(), now(), m.ctl.Settings()
	m.publish(m.cur)
	return m
}

// Run decides once per window until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	tick := time.NewTicker(m.window)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.Step()
		}
	}
}

// Step takes a reading, decides and applies. Run calls it each window;
// tests call it with a fake clock.
func (m *Monitor) Step() (Change, bool) {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	r, at := m.read(), m.now()
	m.mu.Lock()
	s := sampleOf(m.last, r, m.lastAt, at, m.quantile)
	m.last, m.lastAt, m.sample = r, at, s
	m.mu.Unlock()

	ch, ok := m.ctl.Decide(s)
	if !ok {
		return Change{}, false
	}
	if ch.To.Variant != ch.From.Variant {
		name := m.lim.Variants[ch.To.Variant]
		if m.target.SwapVariant == nil {
			m.ctl.Revert(ch)
			return Change{}, false
		}
		if err := m.target.SwapVariant(name); err != nil {
			m.ctl.Revert(ch)
			m.SwapFailures.Inc()
			m.log.Error("tuning: variant swap failed; keeping the current one", "variant", name, "err", err)
			return Change{}, false
		}
	}
	if ch.To.Batch != ch.From.Batch || ch.To.Wait != ch.From.Wait {
		m.target.SetBatching(ch.To.Batch, ch.To.Wait)
	}
	m.Changes.Inc()
	m.publish(ch.To)
	m.mu.Lock()
	m.cur = ch.To
	m.changes = append(m.changes, ch)
	if len(m.changes) > keepChanges {
		m.changes = m.changes[1:]
	}
	m.mu.Unlock()
	m.log.Info("tuning: "+ch.Reason, "batch", ch.To.Batch, "batch_wait", ch.To.Wait,
		"variant", m.lim.Variants[ch.To.Variant], "was_batch", ch.From.Batch, "was_wait", ch.From.Wait,
		"was_variant", m.lim.Variants[ch.From.Variant])
	return ch, true
}

func (m *Monitor) publish(s Settings) {
	m.BatchGauge.Set(int64(s.Batch))
	m.WaitGauge.Set(int64(s.Wait))
	m.VariantGauge.Set(int64(s.Variant))
}

// sampleOf is what happened between two readings.
func sampleOf(prev, cur Reading, from, to time.Time, q float64) Sample {
	d := diff(prev.Latency, cur.Latency)
	return Sample{
		At: to, Window: to.Sub(from),
		Latency: d.Quantile(q), Frames: d.Count,
		Batches: cur.Batches - prev.Batches, Busy: cur.Busy - prev.Busy,
		Backlog: cur.Backlog, Dropped: cur.Dropped - prev.Dropped, RSS: cur.RSS,
	}
}

// diff is the histogram of the observations between two snapshots. Its
// maximum is the later snapshot's, an upper bound.
func diff(prev, cur metrics.HistogramSnapshot) metrics.HistogramSnapshot {
	d := metrics.HistogramSnapshot{Count: cur.Count - prev.Count, Max: cur.Max, Sum: cur.Sum - prev.Sum}
	for i, b := range cur.Buckets {
		if i < len(prev.Buckets) {
			b.Count -= prev.Buckets[i].Count
		}
		d.Buckets = append(d.Buckets, b)
	}
	return d
}

// Status is the monitor for the status API.
type Status struct {
	Variant  string   `json:"variant"`
	Settings Settings `json:"settings"`
	// Last is the most recent window's measurements.
	Last struct {
		Latency time.Duration `json:"latency_ns"`
		Frames  uint64        `json:"frames"`
		Busy    float64       `json:"busy"` // fraction of the window
		Backlog int           `json:"backlog"`
		RSSMB   int64         `json:"rss_mb"`
	} `json:"last"`
	Changes      []Change `json:"changes"`
	ChangeCount  uint64   `json:"change_count"`
	SwapFailures uint64   `json:"swap_failures"`
}

// Status reports the settings in force and the recent changes.
func (m *Monitor) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.cur
	st := Status{Variant: m.lim.Variants[set.Variant], Settings: set,
		Changes: append([]Change(nil), m.changes...), ChangeCount: m.Changes.Value(), SwapFailures: m.SwapFailures.Value()}
	s := m.sample
	st.Last.Latency, st.Last.Frames, st.Last.Backlog, st.Last.RSSMB = s.Latency, s.Frames, s.Backlog, s.RSS/MB
	if s.Window > 0 {
		st.Last.Busy = float64(s.Busy) / float64(s.Window)
	}
	return st
}

// String describes settings for logs.
func (s Settings) String() string {
	return fmt.Sprintf("batch %d, wait %s, variant #%d", s.Batch, s.Wait, s.Variant)
}
