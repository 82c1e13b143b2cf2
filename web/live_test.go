package web

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
)

// frameVerdict fetches a camera's frame and the verdict it says it shows.
func frameVerdict(t *testing.T, c *client, camera string) (int, string, *defects.Verdict) {
	t.Helper()
	resp, body := c.do("GET", "/api/v1/cameras/"+camera+"/frame.jpg", "")
	raw := resp.Header.Get(VerdictHeader)
	if raw == "" {
		return resp.StatusCode, body, nil
	}
	js, err := url.PathUnescape(raw)
	if err != nil {
		t.Fatalf("%s header %q: %v", VerdictHeader, raw, err)
	}
	var v defects.Verdict
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("%s header %q: %v", VerdictHeader, js, err)
	}
	return resp.StatusCode, body, &v
}

func TestLiveFrameNamesTheVerdictItShows(t *testing.T) {
	// One frame kept per 1000 s: every verdict after the first is too soon.
	live := NewLive(LiveOptions{MaxFPS: 0.001})
	h := newHarness(t, func(o *Options) { o.Live = live })
	c := h.login("olga")
	if code, _, v := frameVerdict(t, c, "cam0"); code != 404 || v != nil {
		t.Fatalf("before any verdict: %d %+v, want 404 without a verdict", code, v)
	}

	first := verdict(1, defects.Fail, "scratch", time.Now())
	first.PartID = "P-ü 1" // not ASCII: the header must carry it intact
	must(t, live.Write(context.Background(), &inspect.Result{Verdict: first, Frame: bgrFrame(640, 480)}))
	code, jpg, v := frameVerdict(t, c, "cam0")
	if code != 200 || v == nil || v.Seq != 1 || v.PartID != "P-ü 1" || v.Outcome != defects.Fail || v.Class != "scratch" {
		t.Fatalf("frame of the first verdict: %d %+v", code, v)
	}

	// The second verdict comes before another frame may be kept: the frame
	// is still the first part's and says so, though the feed has moved on.
	second := verdict(2, defects.Pass, "good", time.Now())
	must(t, live.Write(context.Background(), &inspect.Result{Verdict: second, Frame: bgrFrame(640, 480)}))
	code, jpg2, v := frameVerdict(t, c, "cam0")
	if code != 200 || v == nil || v.Seq != 1 || jpg2 != jpg {
		t.Fatalf("after a verdict whose frame was not kept: %d, verdict %+v, same picture %v", code, v, jpg2 == jpg)
	}
	if cams := c.expect("GET", "/api/v1/cameras", "", 200); !strings.Contains(cams, `"seq":2`) {
		t.Fatalf("cameras: %s", cams)
	}

	// A verdict without a frame (MISSED) leaves no picture of another part.
	missed := defects.Verdict{Camera: "cam0", Seq: 3, PartID: "P-3", Outcome: defects.Missed, Reason: "no frame"}
	must(t, live.Write(context.Background(), &inspect.Result{Verdict: missed}))
	if code, _, v := frameVerdict(t, c, "cam0"); code != 404 || v == nil || v.Outcome != defects.Missed || v.PartID != "P-3" {
		t.Fatalf("after a MISSED verdict: %d %+v, want 404 naming the MISSED verdict", code, v)
	}
}

// A verdict whose frame comes sooner than the rate cap allows is shown
// when it allows: a triggered camera may have no next frame, and its last
// part must not stay hidden behind the one before. Synctest's clock makes
// "when it allows" exact.
func TestLiveShowsATooSoonFrameWhenTheRateAllows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		live := NewLive(LiveOptions{MaxFPS: 5}) // one frame per 200 ms
		sub := live.bus.subscribe("")
		defer live.bus.unsubscribe(sub)
		pool := frame.NewPool(4)
		write := func(seq uint64) *frame.Frame {
			t.Helper()
			f := pool.Get(64, 48, 3*64)
			f.Camera, f.Seq, f.Width, f.Height = "cam0", seq, 64, 48
			must(t, live.Write(context.Background(), &inspect.Result{Verdict: verdict(seq, defects.Pass, "good", time.Now()), Frame: f}))
			f.Release() // the loop's reference ends when Write returns
			return f
		}
		shows := func(when string, want uint64) {
			t.Helper()
			f, ok, err := live.frame("cam0")
			if err != nil || !ok || f.jpeg == nil || f.verdict.Seq != want {
				t.Fatalf("%s: ok %v err %v, picture of %+v, want verdict %d's", when, ok, err, f.verdict, want)
			}
		}
		events := func() (out []string) {
			for {
				select {
				case ev := <-sub.ch:
					out = append(out, strings.SplitN(string(ev), "\n", 2)[0]+" "+strings.SplitN(string(ev), "data: ", 2)[1][:40])
				default:
					return out
				}
			}
		}

		write(1)
		shows("the first verdict", 1)
		time.Sleep(50 * time.Millisecond)
		write(2)
		held := write(3) // 3 replaces 2 while both wait
		shows("verdicts 2 and 3, 50 ms after 1", 1)
		if got := pool.Get(64, 48, 3*64); got == held {
			t.Fatal("the frame of verdict 3 went back to its pool while it waits to be shown")
		}
		events() // the three verdicts

		time.Sleep(149 * time.Millisecond)
		synctest.Wait()
		shows("199 ms after verdict 1", 1)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		shows("200 ms after verdict 1", 3)
		if got := events(); len(got) != 1 || !strings.HasPrefix(got[0], "event: frame") || !strings.Contains(got[0], `"seq":3`) {
			t.Fatalf("events when verdict 3's picture is shown: %q, want one frame event naming it", got)
		}
		if got := pool.Get(64, 48, 3*64); got != held {
			t.Error("the frame of verdict 3 did not go back to its pool once shown")
		}

		// A verdict without a frame (MISSED) is shown at once, in place of
		// the one waiting: the timer then shows nothing older.
		time.Sleep(100 * time.Millisecond)
		held = write(4)
		missed := defects.Verdict{Camera: "cam0", Seq: 5, PartID: "P-5", Outcome: defects.Missed, Reason: "no frame"}
		must(t, live.Write(context.Background(), &inspect.Result{Verdict: missed}))
		if got := pool.Get(64, 48, 3*64); got != held {
			t.Error("the frame of verdict 4 did not go back to its pool when the MISSED verdict replaced it")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if f, ok, err := live.frame("cam0"); err != nil || !ok || f.jpeg != nil || f.verdict.Seq != 5 {
			t.Fatalf("a second after the MISSED verdict: ok %v err %v, jpeg %d bytes, verdict %+v; want verdict 5 without a picture", ok, err, len(f.jpeg), f.verdict)
		}
		if got := events(); len(got) != 2 || !strings.HasPrefix(got[0], "id: cam0/4 ") || !strings.HasPrefix(got[1], "id: cam0/5 ") {
			t.Fatalf("events: %q, want the verdicts 4 and 5 and no frame event", got)
		}
	})
}

func TestLiveFrameIsInPlaceWhenItsVerdictIsAnnounced(t *testing.T) {
	live := NewLive(LiveOptions{MaxFPS: 1e9}) // every frame is kept
	sub := live.bus.subscribe("")
	defer live.bus.unsubscribe(sub)
	const n = 5
	written := make(chan error, 1) // the writer's outcome, checked on the test's goroutine
	go func() {
		for i := uint64(1); i <= n; i++ {
			if err := live.Write(context.Background(), &inspect.Result{Verdict: verdict(i, defects.Pass, "good", time.Now()), Frame: bgrFrame(1920, 1080)}); err != nil {
				written <- fmt.Errorf("writing verdict %d: %w", i, err)
				return
			}
		}
		written <- nil
	}()
	for i := 1; i <= n; i++ {
		var ev []byte
		select {
		case ev = <-sub.ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no event for verdict %d", i)
		}
		// A client fetches the frame as soon as it hears of the verdict.
		f, ok, err := live.frame("cam0")
		if err != nil || !ok {
			t.Fatalf("frame after event %q: ok %v err %v", ev, ok, err)
		}
		if want := "id: cam0/" + strconv.Itoa(i) + "\n"; !strings.HasPrefix(string(ev), want) {
			t.Fatalf("event %q, want %q", ev, want)
		}
		if f.verdict.Seq < uint64(i) {
			t.Fatalf("verdict %d announced while the frame shows verdict %d", i, f.verdict.Seq)
		}
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
}

// TestCaptionBandIsLegible: the caption burned into a frame is white on a
// black band at the bottom, large enough to read on a tile.
func TestCaptionBandIsLegible(t *testing.T) {
	const w, hgt = 960, 720
	img := image.NewRGBA(image.Rect(0, 0, w, hgt))
	for i := range img.Pix {
		img.Pix[i] = 0x80 // mid grey, the worst background for red text
	}
	v := verdict(7628, defects.Fail, "missing_component", time.Now())
	drawVerdict(img, v)

	border := max(4, w/160)
	isBlack := func(c color.RGBA) bool { return c.R < 0x20 && c.G < 0x20 && c.B < 0x20 }
	isWhite := func(c color.RGBA) bool { return c.R > 0xe0 && c.G > 0xe0 && c.B > 0xe0 }
	bandRows, textTop, textBottom := 0, -1, -1
	for y := hgt - border - 1; y >= 0; y-- {
		black, white := 0, 0
		for x := border; x < w-border; x++ {
			switch c := img.RGBAAt(x, y); {
			case isBlack(c):
				black++
			case isWhite(c):
				white++
			}
		}
		if black+white != w-2*border || black == 0 {
			break // the band ends where the picture shows
		}
		bandRows++
		if white > 0 {
			if textBottom < 0 {
				textBottom = y
			}
			textTop = y
		}
	}
	if bandRows < hgt/20 {
		t.Fatalf("caption band is %d px high on a %d px frame, want at least %d (white on black, at the bottom)", bandRows, hgt, hgt/20)
	}
	if textTop < 0 || textBottom-textTop+1 < hgt/30 {
		t.Fatalf("caption text is %d px high, want at least %d", textBottom-textTop+1, hgt/30)
	}
}

func TestLatencyFiguresAreObservedQuantiles(t *testing.T) {
	h := newHarness(t)
	start := time.Now().Add(-10 * time.Minute)
	// 39 verdicts took 52-55 ms, one 300 ms: the median is about 53 ms, not
	// the 102 ms edge of the histogram bucket that holds it.
	for i := uint64(1); i <= 40; i++ {
		v := verdict(i, defects.Pass, "good", start.Add(time.Duration(i)*time.Second))
		v.Latency = time.Duration(52+i%4) * time.Millisecond
		if i == 40 {
			v.Latency = 300 * time.Millisecond
		}
		h.record(v)
	}
	var got struct {
		P50 time.Duration `json:"p50_ns"`
		P90 time.Duration `json:"p90_ns"`
		P99 time.Duration `json:"p99_ns"`
		Max time.Duration `json:"max_ns"`
	}
	body := h.login("olga").expect("GET", "/api/v1/stats/latency?from=1h", "", 200)
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		name string
		d    time.Duration
	}{{"p50", got.P50}, {"p90", got.P90}} {
		if q.d < 52*time.Millisecond || q.d > 55*time.Millisecond {
			t.Errorf("%s is %v, want an observed latency of 52-55 ms: %s", q.name, q.d, body)
		}
	}
	if got.P99 != 300*time.Millisecond || got.Max != 300*time.Millisecond {
		t.Errorf("p99 %v max %v, want the observed 300 ms", got.P99, got.Max)
	}
}
