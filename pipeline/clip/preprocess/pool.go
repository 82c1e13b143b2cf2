package preprocess

import (
	"sync"
	"sync/atomic"
)

// bandFunc processes rows [lo, hi) as band number band; each band owns the
// scratch buffers with its index, so bands run concurrently without sharing.
type bandFunc func(band, lo, hi int)

type poolTask struct {
	fn       bandFunc
	band     int
	lo, hi   int
	finished *sync.WaitGroup
}

// workerPool runs the bands of one pass on long-lived goroutines, so a frame
// costs no goroutine starts and no allocations. The caller's goroutine runs
// band 0 itself; the pool has one goroutine per further band.
type workerPool struct {
	bands    int
	tasks    chan poolTask
	finished sync.WaitGroup
	stop     sync.Once
	exited   sync.WaitGroup // one count per worker goroutine
	live     atomic.Int32   // workers started and not yet returned
}

func newWorkerPool(bands int) *workerPool {
	p := &workerPool{bands: max(bands, 1), tasks: make(chan poolTask)}
	for range p.bands - 1 {
		p.exited.Add(1)
		p.live.Add(1)
		go p.work()
	}
	return p
}

func (p *workerPool) work() {
	defer p.exited.Done()
	defer p.live.Add(-1)
	for t := range p.tasks {
		t.fn(t.band, t.lo, t.hi)
		t.finished.Done()
	}
}

// run splits [0, total) into at most p.bands contiguous bands, or runs it as
// one band when serial is set, and returns when all are done.
func (p *workerPool) run(total int, serial bool, fn bandFunc) {
	bands := p.bands
	if serial || total < 2*bands {
		bands = 1
	}
	p.finished.Add(bands - 1)
	for b := 1; b < bands; b++ {
		p.tasks <- poolTask{fn: fn, band: b, lo: total * b / bands, hi: total * (b + 1) / bands, finished: &p.finished}
	}
	fn(0, 0, total/bands)
	p.finished.Wait()
}

// close stops the goroutines and returns once they have all returned, so a
// closed pool holds no goroutine; the pool must not be used afterwards.
func (p *workerPool) close() {
	p.stop.Do(func() { close(p.tasks) })
	p.exited.Wait()
}

// workers is how many of the pool's goroutines are running.
func (p *workerPool) workers() int { return int(p.live.Load()) }
