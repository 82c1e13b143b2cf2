package mqttlink

import (
	"context"
	"fmt"
)

// SetShiftReport hands the link a shift report's JSON (shiftreport): it is
// published, retained, on linesight/<line>/shift_report, now or once the
// broker is back; a newer report replaces one not yet published.
func (l *Link) SetShiftReport(data []byte) {
	l.shiftReport.Store(&data)
}

// publishShiftReport publishes the last report handed over when it was
// not published yet on this connection (or ever, with force).
func (l *Link) publishShiftReport(ctx context.Context, s *session, force bool) error {
	p := l.shiftReport.Load()
	if p == nil || (!force && p == l.lastShiftReport) {
		return nil
	}
	if err := wait(ctx, s.client.Publish(l.topics.ShiftReport(), 1, true, *p), s.lost); err != nil {
		return fmt.Errorf("publish shift report: %w", err)
	}
	l.lastShiftReport = p
	return nil
}
