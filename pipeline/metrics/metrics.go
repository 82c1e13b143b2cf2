// Package metrics holds the appliance's counters, gauges and latency
// histograms: lock-free to update on the per-frame path, read as snapshots by
// status pages and the Prometheus endpoint.
package metrics

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Counter only goes up.
type Counter struct{ v atomic.Uint64 }

func (c *Counter) Inc()          { c.v.Add(1) }
func (c *Counter) Add(n uint64)  { c.v.Add(n) }
func (c *Counter) Value() uint64 { return c.v.Load() }

// Gauge is a value that goes up and down.
type Gauge struct{ v atomic.Int64 }

func (g *Gauge) Set(v int64)  { g.v.Store(v) }
func (g *Gauge) Add(d int64)  { g.v.Add(d) }
func (g *Gauge) Value() int64 { return g.v.Load() }

// LatencyBuckets are the histogram upper bounds: 100 µs to about 52 s, each
// twice the last, wide enough for a GPU batch and a CPU ViT-L alike.
var LatencyBuckets = func() []time.Duration {
	var b []time.Duration
	for d := 100 * time.Microsecond; d < time.Minute; d *= 2 {
		b = append(b, d)
	}
	return b
}()

// Histogram counts durations into LatencyBuckets, keeping count, sum, min and max.
type Histogram struct {
	counts [32]atomic.Uint64 // len(LatencyBuckets)+1, the last for overflow
	count  atomic.Uint64
	sumNs  atomic.Int64
	minNs  atomic.Int64
	maxNs  atomic.Int64
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := sort.Search(len(LatencyBuckets), func(i int) bool { return d <= LatencyBuckets[i] })
	h.counts[i].Add(1)
	ns := int64(d)
	if h.count.Add(1) == 1 {
		h.minNs.Store(ns)
	}
	h.sumNs.Add(ns)
	for {
		m := h.minNs.Load()
		if ns >= m || h.minNs.CompareAndSwap(m, ns) {
			break
		}
	}
	for {
		m := h.maxNs.Load()
		if ns <= m || h.maxNs.CompareAndSwap(m, ns) {
			break
		}
	}
}

// HistogramSnapshot is a histogram at one moment.
type HistogramSnapshot struct {
	Count   uint64        `json:"count"`
	Sum     time.Duration `json:"sum_ns"`
	Min     time.Duration `json:"min_ns"`
	Max     time.Duration `json:"max_ns"`
	Buckets []BucketCount `json:"buckets,omitempty"`
}

// BucketCount is the number of observations at or below Le (cumulative).
type BucketCount struct {
	Le    time.Duration `json:"le_ns"` // math.MaxInt64 for +Inf
	Count uint64        `json:"count"`
}

// Snapshot reads the histogram; buckets are cumulative as Prometheus wants.
func (h *Histogram) Snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Count: h.count.Load(), Sum: time.Duration(h.sumNs.Load()),
		Min: time.Duration(h.minNs.Load()), Max: time.Duration(h.maxNs.Load())}
	var cum uint64
	for i := 0; i <= len(LatencyBuckets); i++ {
		cum += h.counts[i].Load()
		le := time.Duration(math.MaxInt64)
		if i < len(LatencyBuckets) {
			le = LatencyBuckets[i]
		}
		s.Buckets = append(s.Buckets, BucketCount{Le: le, Count: cum})
	}
	return s
}

// Mean is the average observation.
func (s HistogramSnapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Quantile estimates the q-quantile (0..1) as the upper bound of the bucket
// holding it: an upper estimate, within a factor of two.
func (s HistogramSnapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.Count)))
	for _, b := range s.Buckets {
		if b.Count >= rank {
			return min(b.Le, s.Max)
		}
	}
	return s.Max
}

// ExactQuantile is the nearest-rank q-quantile (0..1) of durations sorted
// in ascending order: an observed value, not a bucket's bound. Zero when
// there are none.
func ExactQuantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(len(sorted)-1, max(0, rank-1))]
}

// Rate measures events per second over a sliding window of whole seconds.
type Rate struct {
	mu     sync.Mutex
	window time.Duration
	stamps []time.Time
}

// NewRate measures over the given window.
func NewRate(window time.Duration) *Rate { return &Rate{window: window} }

// Mark records an event at t.
func (r *Rate) Mark(t time.Time) {
	r.mu.Lock()
	r.trim(t)
	r.stamps = append(r.stamps, t)
	r.mu.Unlock()
}

// PerSecond is the event rate over the window ending at now.
func (r *Rate) PerSecond(now time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trim(now)
	if len(r.stamps) < 2 {
		return 0
	}
	span := now.Sub(r.stamps[0])
	if span <= 0 {
		return 0
	}
	return float64(len(r.stamps)) / span.Seconds()
}

func (r *Rate) trim(now time.Time) {
	cut := 0
	for cut < len(r.stamps) && now.Sub(r.stamps[cut]) > r.window {
		cut++
	}
	if cut > 0 {
		r.stamps = append(r.stamps[:0], r.stamps[cut:]...)
	}
}
