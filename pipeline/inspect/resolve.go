package inspect

import (
	"context"
	"sync"

	"github.com/linesight/linesight/defects"
)

// Resolver may replace a verdict before the sinks see it: escalation sends
// an UNCERTAIN frame to a larger model elsewhere and waits, up to its
// deadline, for that model's verdict.
type Resolver interface {
	// Wants reports whether the verdict should be resolved.
	Wants(v *defects.Verdict) bool
	// Resolve returns the verdict to publish. The frame is valid until it
	// returns. It must return by its own deadline.
	Resolve(ctx context.Context, r *Result) defects.Verdict
}

// resolveQueue is how many verdicts of one camera may wait behind one being
// resolved before inference waits too.
const resolveQueue = 64

// SetResolver installs a resolver; call it before Run. Verdicts then pass
// through one queue per camera, so a camera's verdicts keep their order (a
// resolved one delays those behind it, by at most the resolver's deadline)
// while other cameras' verdicts go on.
func (l *Loop) SetResolver(r Resolver) { l.resolver = r }

// resolveStage runs the resolver, one goroutine per camera.
type resolveStage struct {
	queues map[string]chan Result
	wg     sync.WaitGroup
}

func (l *Loop) startResolver() *resolveStage {
	st := &resolveStage{queues: map[string]chan Result{}}
	for _, in := range l.order {
		q := make(chan Result, resolveQueue)
		st.queues[in.opts.ID] = q
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			// Resolution outlives the loop's context, so verdicts accepted
			// before shutdown are still resolved; the resolver bounds it.
			ctx := context.Background()
			for r := range q {
				if l.resolver.Wants(&r.Verdict) {
					r.Verdict = l.resolver.Resolve(ctx, &r)
				}
				l.fanOut(r)
				r.Frame.Release()
			}
		}()
	}
	return st
}

// offer queues a result for its camera, holding a frame reference.
func (st *resolveStage) offer(r Result) bool {
	q, ok := st.queues[r.Verdict.Camera]
	if !ok {
		return false
	}
	r.Frame.Retain()
	q <- r
	return true
}

// stop lets the queues drain and waits.
func (st *resolveStage) stop() {
	for _, q := range st.queues {
		close(q)
	}
	st.wg.Wait()
}
