package metrics

import (
	"math"
	"testing"
	"time"
)

func TestHistogramCountsBucketsAndExtremes(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{150 * time.Microsecond, 150 * time.Microsecond, 3 * time.Millisecond, 2 * time.Minute} {
		h.Observe(d)
	}
	s := h.Snapshot()
	if s.Count != 4 || s.Min != 150*time.Microsecond || s.Max != 2*time.Minute {
		t.Fatalf("count %d min %v max %v", s.Count, s.Min, s.Max)
	}
	if s.Sum != 2*time.Minute+3*time.Millisecond+300*time.Microsecond {
		t.Errorf("sum %v", s.Sum)
	}
	// Buckets: 100µs, 200µs, 400µs, ... cumulative. 150µs falls in 200µs;
	// 3ms in 3.2ms; 2 minutes only in +Inf.
	want := map[time.Duration]uint64{100 * time.Microsecond: 0, 200 * time.Microsecond: 2, 1600 * time.Microsecond: 2, 3200 * time.Microsecond: 3}
	for _, b := range s.Buckets {
		if w, ok := want[b.Le]; ok && b.Count != w {
			t.Errorf("bucket le %v: %d, want %d", b.Le, b.Count, w)
		}
	}
	last := s.Buckets[len(s.Buckets)-1]
	if last.Le != time.Duration(math.MaxInt64) || last.Count != 4 {
		t.Errorf("+Inf bucket %+v", last)
	}
	if q := s.Quantile(0.5); q != 200*time.Microsecond {
		t.Errorf("median %v, want the 200µs bucket bound", q)
	}
	if q := s.Quantile(1); q != 2*time.Minute {
		t.Errorf("max quantile %v, want the observed max", q)
	}
}

func TestRate(t *testing.T) {
	r := NewRate(time.Second)
	t0 := time.Unix(0, 0)
	for i := 0; i < 11; i++ {
		r.Mark(t0.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	if got := r.PerSecond(t0.Add(time.Second)); math.Abs(got-11) > 0.01 {
		t.Errorf("rate %.2f/s, want 11 events in the last second", got)
	}
	if got := r.PerSecond(t0.Add(10 * time.Second)); got != 0 {
		t.Errorf("rate %.2f/s after the window, want 0", got)
	}
}
