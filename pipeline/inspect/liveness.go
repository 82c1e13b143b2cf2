package inspect

// Progress counts the loop's signs of life, for a watchdog: one per batch
// inferred and dispatched, and one per idle wake-up (about every 100 ms)
// while nothing is in flight. An idle line, with no parts coming, keeps it
// moving; a loop stuck in inference, in preprocessing, or behind a lossless
// sink that no longer takes verdicts does not.
func (l *Loop) Progress() uint64 { return l.progress.Load() }

// markBatchDone records that a batch's verdicts have all been dispatched.
func (l *Loop) markBatchDone() { l.progress.Add(1) }

// markIdle records a wake-up of the collector while it waits for a first
// frame. It counts only when the other batch buffer is back in free, that
// is when no batch is waiting for or in inference: a collector idling while
// inference hangs on an earlier batch is not progress.
func (l *Loop) markIdle(free chan *batch) {
	if len(free) > 0 {
		l.progress.Add(1)
	}
}
