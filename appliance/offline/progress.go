package offline

import (
	"log/slog"
	"time"
)

// Progress logs how far a long run is, at most once per Every and once at
// the end, so a batch job shows it is alive without flooding the log.
type Progress struct {
	Log   *slog.Logger
	Total int
	What  string // e.g. "inspect"
	Every time.Duration

	start, last time.Time
}

// NewProgress starts timing a run of total images.
func NewProgress(log *slog.Logger, what string, total int) *Progress {
	now := time.Now()
	return &Progress{Log: log, Total: total, What: what, Every: 5 * time.Second, start: now, last: now}
}

// Done records that done images are finished.
func (p *Progress) Done(done int) {
	now := time.Now()
	if done < p.Total && now.Sub(p.last) < p.Every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	args := []any{"done", done, "total", p.Total, "images_per_s", float64(int(rate*10)) / 10, "elapsed", elapsed.Round(time.Millisecond)}
	if done < p.Total && rate > 0 {
		eta := time.Duration(float64(p.Total-done) / rate * float64(time.Second))
		args = append(args, "eta", eta.Round(time.Second))
	}
	p.Log.Info(p.What+" progress", args...)
}
