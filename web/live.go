package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/pipeline/metrics"
)

// LiveOptions configure the live sink.
type LiveOptions struct {
	// MaxSide scales frames down to this longest side (default 960).
	MaxSide int
	// MaxFPS caps how often a camera's frame is copied (default 5).
	MaxFPS float64
	// Quality is the JPEG quality (default 80).
	Quality int
	// Rejects is how many FAIL and UNCERTAIN parts the strip keeps
	// (default 12), ThumbSide their pictures' longest side (default 240).
	Rejects   int
	ThumbSide int
}

// Live is a lossy inspect.Sink that feeds the dashboard: every verdict goes
// to the SSE stream, and each camera's latest frame is kept, scaled down
// with the verdict drawn on it, at a capped rate. JPEG encoding happens only
// when someone asks for the frame, once per new frame.
type Live struct {
	o       LiveOptions
	bus     *broadcaster
	mu      sync.Mutex
	cams    map[string]*liveCamera
	written metrics.Counter
	// verdicts counts what the dashboard saw, by camera and outcome.
	verdicts map[string]map[defects.Outcome]uint64
	// rejects are the newest FAIL and UNCERTAIN parts of all cameras, the
	// newest last, for the live view's strip; rejectID numbers them.
	rejects  []*liveReject
	rejectID uint64
}

// liveReject is one FAIL or UNCERTAIN part kept for the strip: its verdict
// and a small copy of its frame, encoded on first request.
type liveReject struct {
	id      uint64
	verdict defects.Verdict
	// width, height are the frame's size: the anomaly map's window and box
	// are in its pixels, the thumbnail is smaller.
	width, height int
	thumb         *image.RGBA
	encOnce       sync.Once
	jpeg          []byte
	err           error
}

type liveCamera struct {
	verdict defects.Verdict // the newest verdict, shown or not
	// frameAt is when the newest frame was taken for the picture: the rate
	// cap counts from it.
	frameAt time.Time
	// arrived numbers the camera's verdicts as Write gets them, announced
	// is the number of the last one published, shownN that of the shown
	// one, so an older picture never replaces a newer one.
	arrived, announced, shownN uint64
	// pending is the newest verdict whose frame came sooner than the rate
	// cap allows, with its frame held until a timer shows it or a newer
	// verdict replaces it: a triggered camera may have no next frame, and
	// its last part must not stay hidden behind the one before. timerGen
	// tells the armed timer from one stopped too late.
	pending  *pendingPicture
	timer    *time.Timer
	timerGen uint64
	// shown is the verdict the camera's picture belongs to: the picture, the
	// caption drawn on it and the caption the dashboard writes beside it all
	// come from it, so they are replaced together.
	shown *defects.Verdict
	gen   uint64      // increases with each new shown verdict
	img   *image.RGBA // shown's frame with the overlay; nil when it had none
	// srcW, srcH are the size of shown's frame before scaling: the anomaly
	// map's window and box are in its pixels.
	srcW, srcH int
	// clean is shown's frame as scaled, without the overlay: what a golden
	// sample taken from the live view is made of.
	clean   *image.RGBA
	changed chan struct{}

	encMu   sync.Mutex // one encoder per camera
	jpeg    []byte
	jpegGen uint64
}

// pendingPicture is a verdict waiting for the rate cap, with its frame
// (retained: the loop's reference ends when Write returns).
type pendingPicture struct {
	n       uint64
	verdict defects.Verdict
	frame   *frame.Frame
}

// NewLive makes a live sink.
func NewLive(o LiveOptions) *Live {
	if o.MaxSide <= 0 {
		o.MaxSide = 960
	}
	if o.MaxFPS <= 0 {
		o.MaxFPS = 5
	}
	if o.Quality <= 0 {
		o.Quality = 80
	}
	if o.Rejects <= 0 {
		o.Rejects = 12
	}
	if o.ThumbSide <= 0 {
		o.ThumbSide = 240
	}
	return &Live{o: o, bus: newBroadcaster(), cams: map[string]*liveCamera{}, verdicts: map[string]map[defects.Outcome]uint64{}}
}

// SinkOptions are how the live sink should be added to the loop: lossy, so
// the dashboard never slows inspection.
func (l *Live) SinkOptions() inspect.SinkOptions { return inspect.SinkOptions{Queue: 16} }

func (l *Live) Name() string { return "live" }

// Write keeps the verdict and, when the camera's rate allows, its frame as
// the camera's picture, then publishes the verdict. The picture is in place
// before the verdict is announced, so a client that fetches the frame on the
// announcement never gets the previous part's. A frame that comes too soon
// is shown when the rate allows, unless a newer verdict replaces it first,
// and a "frame" event announces it. It never blocks on clients.
func (l *Live) Write(_ context.Context, r *inspect.Result) error {
	v := r.Verdict
	data, err := json.Marshal(liveVerdict{Verdict: v, AnomalyMap: v.Anomaly.MapView()})
	if err != nil {
		return fmt.Errorf("encode verdict for the live feed: %w", err)
	}
	l.mu.Lock()
	cam := l.camera(v.Camera)
	cam.verdict = v
	cam.arrived++
	n := cam.arrived
	if l.verdicts[v.Camera] == nil {
		l.verdicts[v.Camera] = map[defects.Outcome]uint64{}
	}
	l.verdicts[v.Camera][v.Outcome]++
	// A verdict without a frame (MISSED) replaces the picture with none: the
	// previous part's frame must not stand for it.
	due := r.Frame == nil || l.untilDue(cam) <= 0
	replaced := cam.pending
	cam.pending = nil
	if !due {
		r.Frame.Retain()
		cam.pending = &pendingPicture{n: n, verdict: v, frame: r.Frame}
	} else {
		if r.Frame != nil {
			cam.frameAt = time.Now()
		}
		if cam.timer != nil {
			cam.timer.Stop()
			cam.timer = nil
		}
	}
	l.mu.Unlock()
	if replaced != nil {
		replaced.frame.Release()
	}
	if due {
		l.show(cam, n, v, r.Frame)
	}
	if (v.Outcome == defects.Fail || v.Outcome == defects.Uncertain) && r.Frame != nil {
		// Every reject is kept, whatever the frame rate: the strip must not
		// skip the part the operator has to look at.
		rj := &liveReject{verdict: v, width: r.Frame.Width, height: r.Frame.Height, thumb: scaleBGR(r.Frame, l.o.ThumbSide)}
		rj.verdict.Scores, rj.verdict.Embedding, rj.verdict.Truth = nil, nil, nil
		l.mu.Lock()
		l.rejectID++
		rj.id = l.rejectID
		l.rejects = append(l.rejects, rj)
		if extra := len(l.rejects) - l.o.Rejects; extra > 0 {
			l.rejects = slices.Delete(l.rejects, 0, extra)
		}
		l.mu.Unlock()
	}
	l.bus.publish(sseEvent(fmt.Sprintf("%s/%d", v.Camera, v.Seq), "verdict", data), v.Camera)
	// The timer is armed once the verdict is out, so its frame event never
	// comes before it.
	l.mu.Lock()
	cam.announced = n
	if cam.pending != nil && cam.timer == nil {
		cam.timerGen++
		gen := cam.timerGen
		cam.timer = time.AfterFunc(max(0, l.untilDue(cam)), func() { l.showPending(cam, gen) })
	}
	l.mu.Unlock()
	l.written.Inc()
	return nil
}

// untilDue is how long until the rate cap allows the camera's next frame.
func (l *Live) untilDue(cam *liveCamera) time.Duration {
	return time.Duration(float64(time.Second)/l.o.MaxFPS) - time.Since(cam.frameAt)
}

// show makes verdict v, the camera's n-th, and its frame (nil: none) the
// camera's picture, unless a newer one is shown already.
func (l *Live) show(cam *liveCamera, n uint64, v defects.Verdict, f *frame.Frame) bool {
	var img, clean *image.RGBA
	var srcW, srcH int
	if f != nil {
		srcW, srcH = f.Width, f.Height
		// Scale and draw outside the lock.
		img = scaleBGR(f, l.o.MaxSide)
		clean = &image.RGBA{Pix: bytes.Clone(img.Pix), Stride: img.Stride, Rect: img.Rect}
		drawVerdict(img, v)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= cam.shownN {
		return false
	}
	cam.shownN = n
	cam.shown, cam.img, cam.clean, cam.srcW, cam.srcH = &v, img, clean, srcW, srcH
	cam.gen++
	close(cam.changed)
	cam.changed = make(chan struct{})
	return true
}

// showPending shows the camera's pending picture once the rate cap allows
// it, and announces it with a "frame" event, as its verdict went out before.
func (l *Live) showPending(cam *liveCamera, gen uint64) {
	l.mu.Lock()
	if cam.timer == nil || cam.timerGen != gen {
		l.mu.Unlock()
		return // stopped after it fired
	}
	cam.timer = nil
	p := cam.pending
	if p == nil || p.n > cam.announced {
		// A newer verdict is on its way out: its Write arms the timer.
		l.mu.Unlock()
		return
	}
	cam.pending = nil
	cam.frameAt = time.Now()
	l.mu.Unlock()
	defer p.frame.Release()
	if !l.show(cam, p.n, p.verdict, p.frame) {
		return
	}
	data, err := json.Marshal(liveFrameEvent{Camera: p.verdict.Camera, Seq: p.verdict.Seq, PartID: p.verdict.PartID})
	if err != nil {
		return // three plain fields always encode
	}
	l.bus.publish(sseEvent("", "frame", data), p.verdict.Camera)
}

// liveFrameEvent tells the dashboard that a camera's picture changed after
// its verdict was announced.
type liveFrameEvent struct {
	Camera string `json:"camera"`
	Seq    uint64 `json:"seq"`
	PartID string `json:"part_id,omitempty"`
}

// liveVerdict is a verdict as the dashboard's live views get it: with the
// anomaly map, which the MQTT payload never carries.
type liveVerdict struct {
	defects.Verdict
	AnomalyMap *defects.AnomalyMap `json:"anomaly_map,omitempty"`
}

// RejectView is a kept FAIL or UNCERTAIN part as /live/rejects lists it:
// the verdict (without scores), its picture's address and the size of the
// frame its anomaly map refers to.
type RejectView struct {
	ID uint64 `json:"id"`
	liveVerdict
	ThumbURL    string `json:"thumb_url"`
	FrameWidth  int    `json:"frame_width"`
	FrameHeight int    `json:"frame_height"`
}

// recentRejects lists the kept rejects, the newest first.
func (l *Live) recentRejects() []RejectView {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RejectView, 0, len(l.rejects))
	for i := len(l.rejects) - 1; i >= 0; i-- {
		rj := l.rejects[i]
		out = append(out, RejectView{ID: rj.id, liveVerdict: liveVerdict{Verdict: rj.verdict, AnomalyMap: rj.verdict.Anomaly.MapView()}, ThumbURL: fmt.Sprintf("/api/v1/live/rejects/%d.jpg", rj.id),
			FrameWidth: rj.width, FrameHeight: rj.height})
	}
	return out
}

// rejectJPEG is a kept reject's picture; ok is false once it has left the strip.
func (l *Live) rejectJPEG(id uint64) (data []byte, ok bool, err error) {
	l.mu.Lock()
	var rj *liveReject
	for _, r := range l.rejects {
		if r.id == id {
			rj = r
		}
	}
	l.mu.Unlock()
	if rj == nil {
		return nil, false, nil
	}
	rj.encOnce.Do(func() {
		var buf bytes.Buffer
		if rj.err = jpeg.Encode(&buf, rj.thumb, &jpeg.Options{Quality: l.o.Quality}); rj.err == nil {
			rj.jpeg = buf.Bytes()
		}
	})
	if rj.err != nil {
		return nil, false, fmt.Errorf("encode the picture of reject %d: %w", id, rj.err)
	}
	return rj.jpeg, true, nil
}

func (l *Live) camera(id string) *liveCamera {
	cam := l.cams[id]
	if cam == nil {
		cam = &liveCamera{changed: make(chan struct{})}
		l.cams[id] = cam
	}
	return cam
}

// liveFrame is one encoded frame, the verdict it shows and how to wait for
// the next.
type liveFrame struct {
	jpeg    []byte // nil when the verdict came without a frame
	verdict *defects.Verdict
	gen     uint64
	changed <-chan struct{}
	// srcW, srcH: the size of the frame before it was scaled for the view.
	srcW, srcH int
}

// frame returns a camera's picture as JPEG with its verdict, encoding it on
// first use. ok is false before the camera's first verdict; jpeg is nil when
// the shown verdict had no frame.
func (l *Live) frame(camera string) (f liveFrame, ok bool, err error) {
	l.mu.Lock()
	cam := l.cams[camera]
	if cam == nil {
		l.mu.Unlock()
		return liveFrame{}, false, nil
	}
	shown, img, gen, changed, srcW, srcH := cam.shown, cam.img, cam.gen, cam.changed, cam.srcW, cam.srcH
	l.mu.Unlock()
	if shown == nil {
		return liveFrame{changed: changed}, false, nil
	}
	if img == nil {
		return liveFrame{verdict: shown, gen: gen, changed: changed}, true, nil
	}
	cam.encMu.Lock()
	defer cam.encMu.Unlock()
	if cam.jpegGen != gen || cam.jpeg == nil {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: l.o.Quality}); err != nil {
			return liveFrame{}, false, fmt.Errorf("encode live frame of %s: %w", camera, err)
		}
		cam.jpeg, cam.jpegGen = buf.Bytes(), gen
	}
	return liveFrame{jpeg: cam.jpeg, verdict: shown, gen: gen, changed: changed, srcW: srcW, srcH: srcH}, true, nil
}

// cleanFrame is the camera's shown frame without the overlay, and its
// verdict; ok is false when there is none.
func (l *Live) cleanFrame(camera string) (img *image.RGBA, v *defects.Verdict, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cam := l.cams[camera]
	if cam == nil || cam.clean == nil {
		return nil, nil, false
	}
	return cam.clean, cam.shown, true
}

// waitChange returns a channel closed at the camera's next frame.
func (l *Live) waitChange(camera string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.camera(camera).changed
}

// LastVerdict is the newest verdict the dashboard saw from a camera.
type LastVerdict struct {
	ID          string           `json:"id"`
	LastVerdict *defects.Verdict `json:"last_verdict,omitempty"`
	FrameAt     time.Time        `json:"frame_at,omitzero"`
}

func (l *Live) last(ids []string) []LastVerdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []LastVerdict{}
	for _, id := range ids {
		lv := LastVerdict{ID: id}
		if cam := l.cams[id]; cam != nil && cam.verdict.Camera != "" {
			v := cam.verdict
			lv.LastVerdict, lv.FrameAt = &v, cam.frameAt
		}
		out = append(out, lv)
	}
	return out
}

// counts returns the verdict counters in a stable order for /metrics.
func (l *Live) counts(f func(camera string, o defects.Outcome, n uint64)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cams := make([]string, 0, len(l.verdicts))
	for c := range l.verdicts {
		cams = append(cams, c)
	}
	sort.Strings(cams)
	for _, c := range cams {
		for _, o := range []defects.Outcome{defects.Pass, defects.Fail, defects.Uncertain, defects.Missed} {
			f(c, o, l.verdicts[c][o])
		}
	}
}

func (l *Live) closeStreams() { l.bus.closeAll() }

// scaleBGR copies a BGR frame into RGBA, scaled by nearest neighbour so the
// longest side is at most maxSide: cheap enough to run in the sink at a
// few frames per second, and a live view needs no better.
func scaleBGR(f *frame.Frame, maxSide int) *image.RGBA {
	w, h := f.Width, f.Height
	scale := 1.0
	if long := max(w, h); long > maxSide {
		scale = float64(maxSide) / float64(long)
	}
	dw, dh := max(1, int(float64(w)*scale)), max(1, int(float64(h)*scale))
	img := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		sy := min(h-1, int(float64(y)/scale))
		src := f.Pix[sy*f.Stride:]
		dst := img.Pix[y*img.Stride:]
		for x := 0; x < dw; x++ {
			sx := min(w-1, int(float64(x)/scale)) * 3
			d := dst[4*x : 4*x+4 : 4*x+4]
			d[0], d[1], d[2], d[3] = src[sx+2], src[sx+1], src[sx], 255
		}
	}
	return img
}
