package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// anomalyClasses is the test line's defect file with anomaly maps on:
// zero-shot from the prompts, and the golden samples once there are any.
// THRESHOLD is replaced by a number chosen from the scores the line gives
// (random weights say nothing about where a threshold belongs).
const anomalyClasses = `version: 1
templates:
  - "a photo of a {} metal part on a conveyor belt"
sets:
  parts:
    uncertain: reject
    good: {states: [flawless, clean, perfect], threshold: 0.5}
    defects:
      - {name: scratch, states: [scratched], threshold: 0.5}
      - {name: dent, states: [dented], threshold: 0.5}
    anomaly: {zero_shot: true, golden: GOLDEN, threshold: THRESHOLD}
cameras:
  default: parts
`

// anomalyFile is the defect file with golden samples on or off and a
// threshold: a number, or "auto" (calibrated from the golden samples).
func anomalyFile(golden bool, threshold string) string {
	return strings.NewReplacer("GOLDEN", fmt.Sprint(golden), "THRESHOLD", threshold).Replace(anomalyClasses)
}

// rect is a window or box of an anomaly_map.
type rect struct{ X, Y, W, H int }

func (r rect) String() string { return fmt.Sprintf("%d,%d,%d,%d", r.X, r.Y, r.W, r.H) }

// anomalyRecord is what the test reads of a journal record.
type anomalyRecord struct {
	ID         uint64  `json:"id"`
	Camera     string  `json:"camera"`
	Seq        uint64  `json:"seq"`
	PartID     string  `json:"part_id"`
	Outcome    string  `json:"outcome"`
	Class      string  `json:"class"`
	Confidence float64 `json:"confidence"`
	HasImage   bool    `json:"has_image"`
	Anomaly    *struct {
		Score     float64 `json:"score"`
		Threshold float64 `json:"threshold"`
		Region    *rect   `json:"region"`
	} `json:"anomaly"`
	AnomalyMap *struct {
		Grid   int   `json:"grid"`
		Values []int `json:"values"`
		Window rect  `json:"window"`
		Box    *rect `json:"box"`
	} `json:"anomaly_map"`
	Label *struct {
		Correct bool   `json:"correct"`
		Class   string `json:"class"`
		By      string `json:"by"`
	} `json:"label"`
}

func (a *appliance) records(t *testing.T, q string) []anomalyRecord {
	t.Helper()
	var page struct {
		Records []anomalyRecord `json:"records"`
	}
	if code := a.api(t, "GET", "/history?"+q, nil, &page); code != 200 {
		t.Fatalf("history?%s: HTTP %d", q, code)
	}
	return page.Records
}

// overlayOf reads the anomaly overlay under a CSS selector: its viewBox,
// heat image and region box, and where the box's corners are on screen.
const overlayOf = `((sel) => {
	const s = document.querySelector(sel);
	if (!s) return null;
	const heat = s.querySelector("image.heat"), box = s.querySelector("rect.region");
	const attrs = (e) => e ? ["x","y","width","height"].map(k => e.getAttribute(k)).join(",") : "";
	const r = box ? box.getBoundingClientRect() : null;
	// Where the window is on screen, and where it should be: the picture's
	// box, scaled from the viewBox's pixels (the picture keeps its shape).
	const img = s.previousElementSibling, ir = img.getBoundingClientRect(), hr = heat.getBoundingClientRect();
	const [, , vw, vh] = s.getAttribute("viewBox").split(" ").map(Number);
	const k = Math.min(ir.width / vw, ir.height / vh), ox = ir.left + (ir.width - k * vw) / 2, oy = ir.top + (ir.height - k * vh) / 2;
	const w = heat.getAttribute("x") * 1, y = heat.getAttribute("y") * 1;
	return { viewBox: s.getAttribute("viewBox"), heat: attrs(heat), box: attrs(box),
		screen: r ? [r.left, r.top, r.right, r.bottom] : [],
		heatScreen: [hr.left, hr.top, hr.width, hr.height],
		heatWant: [ox + k * w, oy + k * y, k * heat.getAttribute("width"), k * heat.getAttribute("height")] };
})`

type overlayDOM struct {
	ViewBox    string    `json:"viewBox"`
	Heat       string    `json:"heat"`
	Box        string    `json:"box"`
	Screen     []float64 `json:"screen"`
	HeatScreen []float64 `json:"heatScreen"`
	HeatWant   []float64 `json:"heatWant"`
}

// heatMatches checks, pixel by pixel, that the heat image the overlay shows
// under sel is the record's map in the dashboard's colours.
const heatMatches = `(async (sel, values, threshold) => {
	const a = await import("/ui/js/anomaly.js");
	const img = new Image();
	img.src = document.querySelector(sel + " image.heat").getAttribute("href");
	await img.decode();
	const c = document.createElement("canvas");
	c.width = img.naturalWidth; c.height = img.naturalHeight;
	const g = c.getContext("2d");
	g.drawImage(img, 0, 0);
	const d = g.getImageData(0, 0, c.width, c.height).data;
	if (c.width * c.height !== values.length) return "heat image is " + c.width + "x" + c.height + " for " + values.length + " values";
	for (let i = 0; i < values.length; i++) {
		const want = a.heatColour(values[i], threshold);
		// Canvas colours are stored premultiplied by alpha: a colour comes
		// back within 255/alpha steps of what was put.
		const slack = Math.ceil(255 / Math.max(1, want[3])) + 2;
		for (let k = 0; k < 4; k++) if (Math.abs(d[4*i+k] - want[k]) > (k === 3 ? 1 : slack)) return "cell " + i + ": " + [...d.slice(4*i, 4*i+4)] + ", want " + want;
	}
	return "";
})`

// TestDashboardAnomaly runs the synthetic line with anomaly maps and
// checks that the live view and History draw the map and region of the
// verdicts the appliance journals, that an engineer labels a verdict and
// adds golden samples, and that the defect-class page shows the score
// distributions with their thresholds.
func TestDashboardAnomaly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an appliance and Chromium")
	}
	chromiumPath(t)
	// A threshold of 0.99 first: the maps are computed, hardly any part
	// fails on them, and the test reads how the scores spread.
	a := startApplianceWith(t, applianceOptions{Classes: anomalyFile(false, "0.99")})
	shots := screenshotDir(t)
	ctx := newBrowser(t, 1366, 768)

	// The threshold goes to the median score, so that about half the parts
	// have a region: each is then drawn on some pictures and not others.
	var scores []float64
	deadline := time.Now().Add(90 * time.Second)
	for len(scores) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s, %d records with an anomaly score and map; want 20 (the appliance journals anomaly fields)", len(scores))
		}
		scores = scores[:0]
		for _, r := range a.records(t, "limit=200&camera=conveyor") {
			if r.Anomaly != nil && r.AnomalyMap != nil {
				scores = append(scores, r.Anomaly.Score)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	sort.Float64s(scores)
	threshold := scores[len(scores)/2]
	t.Logf("anomaly scores %.4f..%.4f; threshold %.4f", scores[0], scores[len(scores)-1], threshold)
	hash := a.defectsHash(t)
	var saved map[string]any
	if code := a.api(t, "PUT", "/classes", map[string]string{"yaml": anomalyFile(false, fmt.Sprintf("%.4f", threshold)), "base_hash": hash, "comment": "anomaly threshold at the median"}, &saved); code != 200 {
		t.Fatalf("save the defect file with threshold %.4f: HTTP %d", threshold, code)
	}

	do(t, ctx, "log in",
		chromedp.Navigate(a.URL+"/#/login"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#login-name", a.User),
		chromedp.SendKeys("#login-password", a.Password),
		submit("#login-form"),
		waitJS(`[...document.querySelectorAll("#nav a")].some(a => a.textContent === "Users")`))

	t.Run("live heat map and region", func(t *testing.T) {
		do(t, ctx, "open live", chromedp.Navigate(a.URL+"/#/live"), js(`localStorage.removeItem("linesight.heatmap")`),
			chromedp.Navigate(a.URL+"/#/live"), waitJS(`document.querySelectorAll("#cameras .camera").length === 2`))
		// station2 is triggered: its picture stays until the next trigger,
		// so the test can look at it. Parts until one has a region.
		var v map[string]any
		for i := 1; ; i++ {
			if i > 40 {
				t.Fatal("40 parts on station2 and none with an anomaly region")
			}
			part := fmt.Sprintf("AN-%d", i)
			if code := a.api(t, "POST", "/cameras/station2/trigger", map[string]string{"part_id": part}, nil); code != 202 {
				t.Fatalf("trigger: HTTP %d", code)
			}
			do(t, ctx, "see "+part+" on station2", waitJS(`document.querySelector('#cameras [data-camera="station2"]')?.dataset.part === `+jsString(part)))
			_, v = a.liveFrame(t, "station2")
			if am, _ := v["anomaly_map"].(map[string]any); am != nil && am["box"] != nil {
				break
			}
		}
		am := v["anomaly_map"].(map[string]any)
		win, box := jsonRect(t, am["window"]), jsonRect(t, am["box"])
		sel := `#cameras [data-camera="station2"] svg.anomaly-overlay`
		do(t, ctx, "see the overlay", waitJS(`document.querySelector(`+jsString(sel+" rect.region")+`) !== null`))
		got := eval[*overlayDOM](t, ctx, "read the overlay", overlayOf+`(`+jsString(sel)+`)`)
		if got.ViewBox != "0 0 320 240" || got.Heat != win.String() || got.Box != box.String() {
			t.Errorf("live overlay %+v; want viewBox 0 0 320 240 (the camera's frame), heat on %v, box %v (the verdict's anomaly_map)", got, win, box)
		}
		values := jsonInts(t, am["values"])
		thr := v["anomaly"].(map[string]any)["threshold"].(float64)
		if msg := evalAsync[string](t, ctx, "compare the heat map's pixels", heatMatches+`(`+jsString(sel)+`, `+mustJSON(t, values)+`, `+fmt.Sprint(thr)+`)`); msg != "" {
			t.Errorf("live heat map: %s", msg)
		}
		checkOnScreen(t, ctx, got, sel)
		// The strip lists the newest FAIL and UNCERTAIN parts; the anomaly
		// FAILs among them with their region.
		do(t, ctx, "see the strip", waitJS(`document.querySelectorAll("#rejects li[data-outcome]").length > 0`))
		strip := eval[[]string](t, ctx, "read the strip", `[...document.querySelectorAll("#rejects li[data-outcome]")].map(li => li.dataset.outcome + " " + li.querySelector(".cls").textContent + " " + (li.querySelector("rect.region") ? "region" : ""))`)
		for _, s := range strip {
			if !strings.HasPrefix(s, "FAIL ") && !strings.HasPrefix(s, "UNCERTAIN ") {
				t.Errorf("strip entry %q is neither FAIL nor UNCERTAIN", s)
			}
		}
		if msg := liveOverflow(t, ctx); msg != "" {
			t.Errorf("the live view with the strip is taller than a 1366x768 panel: %s", msg)
		}
		screenshotScreen(t, ctx, shots, "live-anomaly")
	})

	var shown anomalyRecord
	t.Run("history heat map, region and label", func(t *testing.T) {
		recs := a.records(t, "limit=100&outcome=FAIL&class=anomaly")
		for _, r := range recs {
			if r.HasImage && r.AnomalyMap != nil && r.AnomalyMap.Box != nil {
				shown = r
				break
			}
		}
		if shown.ID == 0 {
			t.Fatalf("no anomaly FAIL with an image and a region among %d records", len(recs))
		}
		// History lists anomaly FAILs under their class; a record's address
		// opens it (the line keeps adding records, so it may be off the
		// first page by now).
		do(t, ctx, "list anomaly FAILs",
			chromedp.Navigate(a.URL+"/#/history"),
			waitJS(`document.querySelector('#f-class option[value="anomaly"]') !== null`),
			setValue("#f-class", "anomaly"),
			submit("#history-filters"),
			waitJS(`(() => { const r = [...document.querySelectorAll("#history tbody tr[data-id]")]; return r.length > 0 && r.every(x => x.children[5].textContent.startsWith("anomaly")); })()`))
		do(t, ctx, "open the record",
			chromedp.Navigate(a.URL+fmt.Sprintf("/#/history/%d", shown.ID)),
			waitJS(`document.querySelector("#detail")?.open && document.querySelector("#detail-title")?.textContent.includes("Record `+fmt.Sprint(shown.ID)+`")`),
			waitJS(`document.querySelector("#detail-pic svg.anomaly-overlay rect.region") !== null`))
		sel := "#detail-pic svg.anomaly-overlay"
		got := eval[*overlayDOM](t, ctx, "read the overlay", overlayOf+`(`+jsString(sel)+`)`)
		m := shown.AnomalyMap
		if got.Heat != m.Window.String() || got.Box != m.Box.String() {
			t.Errorf("History overlay %+v; want heat on %v and box %v (record %d)", got, m.Window, *m.Box, shown.ID)
		}
		if msg := evalAsync[string](t, ctx, "compare the heat map's pixels", heatMatches+`(`+jsString(sel)+`, `+mustJSON(t, m.Values)+`, `+fmt.Sprint(shown.Anomaly.Threshold)+`)`); msg != "" {
			t.Errorf("History heat map: %s", msg)
		}
		if txt := eval[string](t, ctx, "read the anomaly facts", `document.querySelector("#detail-anomaly")?.textContent || ""`); !strings.Contains(txt, fmt.Sprintf("score %.3f", shown.Anomaly.Score)) {
			t.Errorf("the record's facts say %q, want its score %.3f", txt, shown.Anomaly.Score)
		}
		checkOnScreen(t, ctx, got, sel)
		screenshotScreen(t, ctx, shots, "history-anomaly")

		// The engineer says the part was good after all.
		do(t, ctx, "label it good",
			setValue("#label-class", "good"),
			chromedp.Click("#label-wrong"),
			waitJS(`document.querySelector("#label-shown")?.dataset.class === "good"`))
		var rec anomalyRecord
		a.api(t, "GET", fmt.Sprintf("/history/%d", shown.ID), nil, &rec)
		if rec.Label == nil || rec.Label.Correct || rec.Label.Class != "good" || rec.Label.By != a.User {
			t.Errorf("record %d's label after marking it wrong (good): %+v", shown.ID, rec.Label)
		}
		if txt := eval[string](t, ctx, "read the label", `document.querySelector("#label-shown").textContent`); !strings.Contains(txt, "Wrong") || !strings.Contains(txt, "good") {
			t.Errorf("label shown %q, want it wrong with true class good", txt)
		}
	})

	t.Run("score distributions", func(t *testing.T) {
		do(t, ctx, "open defect classes",
			chromedp.Navigate(a.URL+"/#/classes"),
			waitJS(`document.querySelector('#dist-charts .dist[data-class="anomaly score"] canvas') !== null`))
		if eval[bool](t, ctx, "check charts", `!!window.Chart`) {
			info := eval[map[string]float64](t, ctx, "read the anomaly chart", `(() => {
				const c = window.Chart.getChart(document.querySelector('#dist-charts .dist[data-class="anomaly score"] canvas'));
				const sum = (d) => d.data.reduce((s, x) => s + x, 0);
				return { threshold: c.options.plugins.threshold.value, recent: sum(c.data.datasets[0]), bins: c.data.labels.length, charts: document.querySelectorAll("#dist-charts canvas").length };
			})()`)
			if math.Abs(info["threshold"]-threshold) > 1e-3 || math.Abs(info["recent"]-100) > 0.01 || info["bins"] != 20 || info["charts"] != 4 {
				t.Errorf("distributions %v; want the anomaly score's threshold %.4f marked, its recent shares summing to 100 %% over 20 bins, and 4 charts (3 classes and anomaly)", info, threshold)
			}
			// The threshold line is drawn where the threshold is on the axis.
			px := eval[[]float64](t, ctx, "locate the threshold line", `(() => {
				const c = window.Chart.getChart(document.querySelector('#dist-charts .dist[data-class="anomaly score"] canvas'));
				const r = c.canvas.getBoundingClientRect(), a = c.chartArea;
				c.canvas.scrollIntoView({ block: "center" });
				const r2 = c.canvas.getBoundingClientRect();
				return [r2.left + a.left + c.options.plugins.threshold.value * (a.right - a.left), r2.top + (a.top + a.bottom) / 2];
			})()`)
			shot := screenPixels(t, ctx)
			if !near(shot, int(px[0]), int(px[1]), 2, func(r, g, b int) bool { return r > 200 && g > 140 && g < 200 && b < 80 }) {
				r, g, b := rgb(shot.At(int(px[0]), int(px[1])))
				t.Errorf("no threshold line (amber) at the anomaly threshold on the chart: rgb(%d,%d,%d)", r, g, b)
			}
		} else if os.Getenv("LINESIGHT_REQUIRE_REFERENCE") == "1" {
			t.Error("Chart.js is not embedded: run make assets before the tests")
		}
		do(t, ctx, "show the distributions", js(`document.querySelector("#distributions").scrollIntoView()`))
		screenshotScreen(t, ctx, shots, "classes-distribution")
	})

	t.Run("golden samples", func(t *testing.T) {
		testGolden(t, a, ctx, shots, shown)
	})
}

// testGolden adds golden samples from the live view, a file and a record
// labelled good, removes one, and checks the page shows the bank's state.
func testGolden(t *testing.T, a *appliance, ctx context.Context, shots string, labelled anomalyRecord) {
	// Golden samples on, the threshold calibrated from them.
	var saved map[string]any
	if code := a.api(t, "PUT", "/classes", map[string]string{"yaml": anomalyFile(true, "auto"), "base_hash": a.defectsHash(t), "comment": "golden samples, threshold auto"}, &saved); code != 200 {
		t.Fatalf("save the defect file with golden samples: HTTP %d", code)
	}
	var g struct {
		Sets []struct {
			Set     string `json:"set"`
			Samples []struct {
				ID       string `json:"id"`
				Source   string `json:"source"`
				RecordID uint64 `json:"record_id"`
			} `json:"samples"`
			Status string `json:"status"`
		} `json:"sets"`
	}
	if code := a.api(t, "GET", "/golden", nil, &g); code != 200 {
		t.Fatalf("GET /golden: HTTP %d (the golden API)", code)
	}
	count := func() int {
		a.api(t, "GET", "/golden", nil, &g)
		for _, s := range g.Sets {
			if s.Set == "parts" {
				return len(s.Samples)
			}
		}
		return -1
	}
	// From the live view: the engineer's Golden button on the conveyor.
	do(t, ctx, "use a live frame",
		chromedp.Navigate(a.URL+"/#/live"),
		waitJS(`document.querySelector('#cameras [data-camera="conveyor"] button.golden') !== null`),
		js(`window.confirm = () => true`),
		chromedp.Click(`#cameras [data-camera="conveyor"] button.golden`),
		waitJS(`document.querySelector("#golden-msg .ok, #golden-msg .error") !== null`))
	if msg := eval[string](t, ctx, "read the message", `document.querySelector("#golden-msg").textContent`); !strings.Contains(msg, "added") {
		t.Fatalf("golden sample from live: %q", msg)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d golden samples after one from the live view, want 1", n)
	}
	// From a file: a frame of station2 saved as JPEG.
	jpeg, _ := a.liveFrame(t, "station2")
	file := filepath.Join(t.TempDir(), "good.jpg")
	must(t, os.WriteFile(file, jpeg, 0o644))
	do(t, ctx, "upload a file",
		chromedp.Navigate(a.URL+"/#/golden/parts"),
		waitJS(`document.querySelector('.golden-set[data-set="parts"] input[type=file]') !== null`),
		chromedp.SetUploadFiles(`.golden-set[data-set="parts"] input[type=file]`, []string{file}),
		chromedp.Click(`.golden-set[data-set="parts"] button.primary`),
		waitJS(`document.querySelectorAll('.golden-set[data-set="parts"] .samples li').length === 2`))
	// From History: the record labelled good, in one click.
	do(t, ctx, "add the labelled record",
		chromedp.Navigate(a.URL+fmt.Sprintf("/#/history/%d", labelled.ID)),
		chromedp.WaitVisible("#golden-add"),
		chromedp.Click("#golden-add"))
	deadline := time.Now().Add(20 * time.Second)
	for count() != 3 {
		if time.Now().After(deadline) {
			msg := eval[string](t, ctx, "read the message", `document.querySelector("#label-msg")?.textContent || ""`)
			t.Fatalf("%d golden samples after adding the labelled record, want 3 (the page says %q)", count(), msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var fromRecord bool
	for _, s := range g.Sets[0].Samples {
		fromRecord = fromRecord || (s.Source == "record" && s.RecordID == labelled.ID)
	}
	if !fromRecord {
		t.Errorf("no golden sample from record %d: %+v", labelled.ID, g.Sets)
	}
	// The page shows them, the bank built, the threshold and each sample's
	// leave-one-out score.
	do(t, ctx, "see the bank ready",
		chromedp.Navigate(a.URL+"/#/golden/parts"),
		waitJS(`document.querySelectorAll('.golden-set[data-set="parts"] .samples li').length === 3`),
		waitJS(`document.querySelector('.golden-set[data-set="parts"] [data-status]')?.dataset.status === "ready"`),
		waitJS(`[...document.querySelectorAll('.golden-set[data-set="parts"] .samples img')].every(i => i.complete && i.naturalWidth > 0)`),
		// The loop takes the new bank between batches: then the set's
		// anomaly detection is on, and the alarm that it was off clears.
		waitJS(`!document.querySelector("#app-state").textContent.includes("anomaly detection of set parts is off")`))
	thr := eval[string](t, ctx, "read the threshold", `document.querySelector('.golden-set[data-set="parts"] .threshold').textContent`)
	if !strings.Contains(thr, "auto") || !regexp.MustCompile(`^\d\.\d{4}`).MatchString(thr) {
		t.Errorf("threshold shown %q, want the calibrated number, marked auto", thr)
	}
	loo := eval[[]string](t, ctx, "read the LOO scores", `[...document.querySelectorAll('.golden-set[data-set="parts"] .loo')].map(e => e.dataset.value)`)
	if len(loo) != 3 || slices.Contains(loo, "") {
		t.Errorf("LOO scores %q, want a number per sample", loo)
	}
	screenshot(t, ctx, shots, "golden")
	do(t, ctx, "remove one",
		js(`window.confirm = () => true`),
		chromedp.Click(`.golden-set[data-set="parts"] .samples li button.remove`),
		waitJS(`document.querySelectorAll('.golden-set[data-set="parts"] .samples li').length === 2`))
	if n := count(); n != 2 {
		t.Errorf("%d golden samples after removing one, want 2", n)
	}
}

// checkOnScreen looks at the screen: the region box is drawn in its
// colour along its edges, and switching the heat map off changes the
// picture inside the window and nothing outside the box's surroundings.
func checkOnScreen(t *testing.T, ctx context.Context, o *overlayDOM, sel string) {
	t.Helper()
	if len(o.Screen) != 4 {
		t.Fatalf("no region box on screen under %s", sel)
	}
	// The heat map lies on its window of the picture as shown.
	for i := range o.HeatWant {
		if math.Abs(o.HeatScreen[i]-o.HeatWant[i]) > 1.5 {
			t.Errorf("the heat map is at %v on screen (left, top, width, height), want %v: the window of the picture as shown", o.HeatScreen, o.HeatWant)
			break
		}
	}
	magenta := func(r, g, b int) bool { return r > 200 && g < 110 && b > 160 }
	left, top, right, bottom := o.Screen[0], o.Screen[1], o.Screen[2], o.Screen[3]
	shot := screenPixels(t, ctx)
	midX, midY := int((left+right)/2), int((top+bottom)/2)
	for _, p := range [][2]int{{int(left), midY}, {int(right), midY}, {midX, int(top)}, {midX, int(bottom)}} {
		if !near(shot, p[0], p[1], 2, magenta) {
			r, g, b := rgb(shot.At(p[0], p[1]))
			t.Errorf("the region box's edge at (%d,%d) is rgb(%d,%d,%d), want its magenta", p[0], p[1], r, g, b)
		}
	}
	do(t, ctx, "switch the heat map off", chromedp.Click("input.heat-toggle"),
		waitJS(`document.documentElement.classList.contains("no-heat")`))
	off := screenPixels(t, ctx)
	do(t, ctx, "switch the heat map on", chromedp.Click("input.heat-toggle"),
		waitJS(`!document.documentElement.classList.contains("no-heat")`))
	// Inside the box the map is above the threshold somewhere: the heat map
	// changes those pixels.
	changed := 0
	for y := int(top) + 3; y < int(bottom)-3; y++ {
		for x := int(left) + 3; x < int(right)-3; x++ {
			r1, g1, b1 := rgb(shot.At(x, y))
			r2, g2, b2 := rgb(off.At(x, y))
			if abs(r1-r2)+abs(g1-g2)+abs(b1-b2) > 30 {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("switching the heat map off changes nothing inside the region box")
	}
	if still := eval[bool](t, ctx, "box with heat off", `document.querySelector(`+jsString(sel+" rect.region")+`) !== null`); !still {
		t.Error("the region box went with the heat map")
	}
}

// near says whether a pixel within d of (x, y) satisfies ok.
func near(img image.Image, x, y, d int, ok func(r, g, b int) bool) bool {
	for dy := -d; dy <= d; dy++ {
		for dx := -d; dx <= d; dx++ {
			if ok(rgb(img.At(x+dx, y+dy))) {
				return true
			}
		}
	}
	return false
}

func jsonRect(t *testing.T, v any) rect {
	t.Helper()
	var r rect
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	must(t, json.Unmarshal(b, &r))
	return r
}

func jsonInts(t *testing.T, v any) []int {
	t.Helper()
	var out []int
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	must(t, json.Unmarshal(b, &out))
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}
