package shiftreport

import (
	"testing"
	"time"
)

var threeShifts = []int{6 * 60, 14 * 60, 22 * 60}

// The shift a time falls in, by the configured local start times: the
// latest start passed, else yesterday's last; it ends at the next start.
func TestShiftBounds(t *testing.T) {
	loc := time.FixedZone("line", 3600)
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, loc) }
	for _, c := range []struct {
		starts     []int
		now        time.Time
		start, end time.Time
	}{
		{threeShifts, day(3, 13, 59), day(3, 6, 0), day(3, 14, 0)},
		{threeShifts, day(3, 14, 0), day(3, 14, 0), day(3, 22, 0)},
		{threeShifts, day(3, 5, 0), day(2, 22, 0), day(3, 6, 0)},
		{threeShifts, day(3, 23, 0), day(3, 22, 0), day(4, 6, 0)},
		{[]int{7*60 + 30, 19*60 + 30}, day(3, 8, 0), day(3, 7, 30), day(3, 19, 30)},
		{[]int{7*60 + 30, 19*60 + 30}, day(3, 7, 29), day(2, 19, 30), day(3, 7, 30)},
		{[]int{0}, day(3, 23, 59), day(3, 0, 0), day(4, 0, 0)},
	} {
		if got := Start(c.now, c.starts); !got.Equal(c.start) {
			t.Errorf("starts %v at %v: start %v, want %v", c.starts, c.now, got, c.start)
		}
		if s, e := Bounds(c.now, c.starts); !s.Equal(c.start) || !e.Equal(c.end) {
			t.Errorf("starts %v at %v: bounds %v..%v, want %v..%v", c.starts, c.now, s, e, c.start, c.end)
		}
	}
}
