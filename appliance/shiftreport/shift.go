// Package shiftreport makes the report of each shift when it ends:
// counters per camera, yield, the Pareto of defect classes and the alarms
// raised, from the journal, saved as JSON and a self-contained HTML page
// in the data directory and handed to the PLC link (docs/alarms.md).
package shiftreport

import "time"

// Start is the start of the shift now falls in, given the local start
// times (minutes after midnight, in order): by the wall clock, so a
// daylight-saving change keeps 06:00 at 06:00.
func Start(now time.Time, starts []int) time.Time {
	at := func(day time.Time, m int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, now.Location())
	}
	last := starts[len(starts)-1]
	start := at(now.AddDate(0, 0, -1), last) // yesterday's last
	for _, m := range starts {
		if t := at(now, m); !t.After(now) {
			start = t
		}
	}
	return start
}

// Bounds is the shift t falls in: its start and the next shift's start.
func Bounds(t time.Time, starts []int) (start, end time.Time) {
	start = Start(t, starts)
	// The next start after start: try each start of the day and the next.
	for d := 0; d <= 1; d++ {
		day := start.AddDate(0, 0, d)
		for _, m := range starts {
			c := time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, t.Location())
			if c.After(start) {
				return start, c
			}
		}
	}
	return start, start.AddDate(0, 0, 1) // one shift a day
}
