package inspect

import (
	"context"
	"log/slog"
	"sync"

	"github.com/linesight/linesight/defects"
)

// MemorySink keeps every verdict it is given, for tests and the offline
// commands. Safe for concurrent use.
type MemorySink struct {
	mu       sync.Mutex
	verdicts []defects.Verdict
	changed  chan struct{}
}

// NewMemorySink makes an empty memory sink.
func NewMemorySink() *MemorySink { return &MemorySink{changed: make(chan struct{}, 1)} }

func (m *MemorySink) Name() string { return "memory" }

func (m *MemorySink) Write(_ context.Context, r *Result) error {
	m.mu.Lock()
	m.verdicts = append(m.verdicts, r.Verdict)
	m.mu.Unlock()
	select {
	case m.changed <- struct{}{}:
	default:
	}
	return nil
}

// Verdicts returns a copy of what was written so far, in order.
func (m *MemorySink) Verdicts() []defects.Verdict {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]defects.Verdict(nil), m.verdicts...)
}

// Changed is signalled after writes (coalesced), for waiting without polling.
func (m *MemorySink) Changed() <-chan struct{} { return m.changed }

// LogSink logs each verdict: PASS at debug level, the rest at info.
type LogSink struct{ Log *slog.Logger }

func (s LogSink) Name() string { return "log" }

func (s LogSink) Write(ctx context.Context, r *Result) error {
	v := r.Verdict
	level := slog.LevelInfo
	if v.Outcome == defects.Pass {
		level = slog.LevelDebug
	}
	s.Log.Log(ctx, level, "verdict", "camera", v.Camera, "seq", v.Seq, "part_id", v.PartID,
		"outcome", v.Outcome, "action", v.Action, "class", v.Class, "confidence", v.Confidence,
		"latency", v.Latency, "reason", v.Reason)
	return nil
}
