// Package e2e drives the dashboard in headless Chromium against an appliance
// running on the synthetic line, as an operator and an engineer would.
package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/linesight/linesight/internal/testenv"
)

func TestDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an appliance and Chromium")
	}
	chromiumPath(t)
	a := startAppliance(t)
	shots := screenshotDir(t)
	ctx := newBrowser(t, 1366, 768)

	// Kiosk: the live view works without login; verdicts arrive pushed.
	t.Run("kiosk live view", func(t *testing.T) {
		do(t, ctx, "open the dashboard",
			chromedp.Navigate(a.URL+"/"),
			chromedp.WaitVisible("#figures"),
			waitJS(`document.querySelectorAll("#feed li").length >= 2`),
			waitJS(`document.querySelectorAll("#cameras .camera").length === 2`))
		navLinks := eval[int](t, ctx, "read the nav", `document.querySelectorAll("#nav a").length`)
		if navLinks != 1 {
			t.Errorf("kiosk nav shows %d pages, want only Live", navLinks)
		}
		// The triggered camera has no part yet: its tile is black and says
		// so, with no broken-image icon or alt text over it.
		tile := eval[map[string]any](t, ctx, "read the waiting tile", `(() => {
			const t = document.querySelector('#cameras [data-camera="station2"]');
			const img = t.querySelector("img");
			const box = img.parentElement;
			return {
				brokenImage: getComputedStyle(img).visibility !== "hidden" && !(img.complete && img.naturalWidth > 0),
				background: getComputedStyle(box).backgroundColor,
				text: t.innerText,
			};
		})()`)
		if tile["brokenImage"] == true || tile["background"] != "rgb(0, 0, 0)" || !strings.Contains(tile["text"].(string), "waiting for first part") {
			t.Errorf("station2 before its first part: %v; want a black tile saying \"waiting for first part\"", tile)
		}
		// The test model has random weights: every page says so (once the
		// first status has arrived).
		do(t, ctx, "wait for the status", waitJS(`document.querySelector("#app-state").textContent !== "connecting"`))
		banner := eval[string](t, ctx, "read the banner", `(() => { const b = document.querySelector("#model-banner"); return b && !b.hidden && b.offsetHeight > 0 ? b.textContent : ""; })()`)
		if !strings.Contains(banner, "random weights") {
			t.Errorf("banner %q, want it to say the model has random weights", banner)
		}
	})

	t.Run("login", func(t *testing.T) {
		do(t, ctx, "ask for history without login",
			chromedp.Navigate(a.URL+"/#/history"),
			chromedp.WaitVisible("#login-form"))
		screenshot(t, ctx, shots, "login")
		do(t, ctx, "log in",
			chromedp.SendKeys("#login-name", a.User),
			chromedp.SendKeys("#login-password", a.Password),
			submit("#login-form"),
			chromedp.WaitVisible("#history-filters"),
			waitJS(`[...document.querySelectorAll("#nav a")].some(a => a.textContent === "Users")`))
	})

	t.Run("live verdicts without reload", func(t *testing.T) {
		do(t, ctx, "open live",
			chromedp.Navigate(a.URL+"/#/live"),
			waitJS(`document.querySelectorAll("#feed li").length >= 1`),
			js(`window.__e2eMarker = 1`))
		before := eval[int](t, ctx, "count inspected", `Number(document.querySelector('[data-figure="inspected"] .value').textContent.replace(/\D/g, ""))`)
		// A triggered part shows up in the feed and on its camera.
		if code := a.api(t, "POST", "/cameras/station2/trigger", map[string]string{"part_id": "E2E-1"}, nil); code != 202 {
			t.Fatalf("trigger: HTTP %d", code)
		}
		do(t, ctx, "see the triggered verdict",
			waitJS(`document.querySelector('#feed li[data-part="E2E-1"]') !== null`),
			waitJS(`document.querySelector('#cameras [data-camera="station2"]')?.className.match(/PASS|FAIL|UNCERTAIN|MISSED/)`),
			waitJS(`Number(document.querySelector('[data-figure="inspected"] .value')?.textContent.replace(/\D/g, "")) > `+strconv.Itoa(before)),
			waitJS(`(() => { const i = [...document.querySelectorAll("#cameras img")]; return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0); })()`))
		// The tile's picture is the part its caption names: the bytes shown
		// are the frame the appliance serves for E2E-1, and the caption is
		// that frame's verdict.
		do(t, ctx, "see E2E-1 captioned on its tile",
			waitJS(`document.querySelector('#cameras [data-camera="station2"]')?.dataset.part === "E2E-1"`))
		served, fv := a.liveFrame(t, "station2")
		if fv["part_id"] != "E2E-1" {
			t.Fatalf("station2's frame shows %v, want part E2E-1", fv)
		}
		same := evalAsync[bool](t, ctx, "compare the shown picture with E2E-1's frame", `(async () => {
			const pixels = (img) => {
				const c = document.createElement("canvas");
				c.width = img.naturalWidth; c.height = img.naturalHeight;
				const g = c.getContext("2d");
				g.drawImage(img, 0, 0);
				return g.getImageData(0, 0, c.width, c.height).data;
			};
			const shown = document.querySelector('#cameras [data-camera="station2"] .frame img');
			const served = new Image();
			served.src = "data:image/jpeg;base64,`+base64.StdEncoding.EncodeToString(served)+`";
			await served.decode();
			const a = pixels(shown), b = pixels(served);
			return a.length > 0 && a.length === b.length && a.every((x, i) => x === b[i]);
		})()`)
		if !same {
			t.Error("station2 shows a picture that is not E2E-1's frame")
		}
		caption := eval[string](t, ctx, "read the caption", `document.querySelector('#cameras [data-camera="station2"] .meta').innerText`)
		if !strings.Contains(caption, "part E2E-1") {
			t.Errorf("station2 caption %q, want part E2E-1", caption)
		}
		// Two parts back to back: the second's frame comes sooner than the
		// live frame rate allows, and with no part after it, it must still
		// reach the tile.
		for _, part := range []string{"E2E-2", "E2E-3"} {
			if code := a.api(t, "POST", "/cameras/station2/trigger", map[string]string{"part_id": part}, nil); code != 202 {
				t.Fatalf("trigger %s: HTTP %d", part, code)
			}
		}
		do(t, ctx, "see E2E-3, the last of two quick parts, on its tile",
			waitJS(`document.querySelector('#cameras [data-camera="station2"]')?.dataset.part === "E2E-3"`))
		marker := eval[int](t, ctx, "check no reload", `window.__e2eMarker || 0`)
		if marker != 1 {
			t.Error("the page reloaded")
		}
		// A 1366x768 panel at the line shows the whole page, and the yield
		// and each camera's verdict are big enough to read from two metres.
		if msg := liveOverflow(t, ctx); msg != "" {
			t.Errorf("the live view is taller than a 1366x768 panel: %s", msg)
		}
		for _, sel := range []string{`[data-figure="yield"] .value`, `#cameras [data-camera="station2"] .verdict`} {
			px := eval[float64](t, ctx, "measure "+sel, `parseFloat(getComputedStyle(document.querySelector(`+jsString(sel)+`)).fontSize)`)
			if px < 40 {
				t.Errorf("%s is %.0f px high, want at least 40 px", sel, px)
			}
		}
		screenshot(t, ctx, shots, "live")
	})

	t.Run("history filters", func(t *testing.T) {
		do(t, ctx, "filter by part id",
			chromedp.Navigate(a.URL+"/#/history"),
			waitJS(`document.querySelectorAll("#history tbody tr[data-id]").length > 0`),
			chromedp.SendKeys("#f-part", "E2E-1"),
			submit("#history-filters"),
			waitJS(`(() => { const r = document.querySelectorAll("#history tbody tr[data-id]"); return r.length === 1 && r[0].textContent.includes("E2E-1"); })()`))
		do(t, ctx, "filter by camera",
			// The camera options arrive after the page.
			waitJS(`document.querySelector('#f-camera option[value="conveyor"]') !== null`),
			setValue("#f-part", ""),
			setValue("#f-camera", "conveyor"),
			submit("#history-filters"),
			waitJS(`(() => { const r = [...document.querySelectorAll("#history tbody tr[data-id]")]; return r.length > 0 && r.every(x => x.children[2].textContent === "conveyor"); })()`))
		csv := value(t, ctx, "read the CSV link", chromedp.AttributeValue("#csv", "href")).Value
		if !strings.Contains(csv, "/api/v1/history.csv?") || !strings.Contains(csv, "camera=conveyor") {
			t.Errorf("CSV link %q does not carry the filters", csv)
		}
		screenshotScreen(t, ctx, shots, "history")
		do(t, ctx, "open a record",
			setValue("#f-camera", ""),
			setValue("#f-outcome", "FAIL"),
			submit("#history-filters"),
			waitJS(`(() => { const r = [...document.querySelectorAll("#history tbody tr[data-id]")]; return r.length > 0 && r.every(x => x.dataset.outcome === "FAIL"); })()`),
			chromedp.Click("#history tbody tr[data-id]"),
			waitJS(`document.querySelector("#detail")?.open && document.querySelector("#detail .verdict.FAIL") !== null`),
			waitJS(`(() => { const i = document.querySelector("#detail img"); return i !== null && i.complete && i.naturalWidth > 0; })()`))
		screenshotScreen(t, ctx, shots, "history-detail")
		// One numbering: the record is named by its id in the title and in
		// the facts; the camera's frame number is labelled as such.
		ids := eval[map[string]string](t, ctx, "read the record's numbers", `(() => {
			const d = document.querySelector("#detail");
			const facts = [...d.querySelectorAll("dt")].find((x) => x.textContent === "Record");
			return { title: d.querySelector("h2").textContent, record: facts ? facts.nextElementSibling.textContent : "" };
		})()`)
		if ids["record"] == "" || !strings.Contains(ids["title"], "Record "+ids["record"]) || strings.Contains(ids["title"], "#") {
			t.Errorf("detail title %q and facts (Record %q) name the record differently", ids["title"], ids["record"])
		}
		// No confidence reads higher than it is: 0.9899 is never "99%", so a
		// score under a 0.99 threshold never seems to reach it.
		do(t, ctx, "list every verdict", chromedp.Click("#detail button"), setValue("#f-outcome", ""), submit("#history-filters"),
			waitJS(`document.querySelectorAll("#history tbody tr[data-id]").length >= 10`))
		over := evalAsync[[]string](t, ctx, "compare shown confidences", `(async () => {
			const bad = [];
			let checked = 0;
			for (const tr of document.querySelectorAll("#history tbody tr[data-id]")) {
				const shown = tr.children[6].textContent.trim();
				if (!shown) continue;
				const r = await (await fetch("/api/v1/history/" + tr.dataset.id)).json();
				checked++;
				if (parseFloat(shown) > 100 * r.confidence + 1e-9) bad.push(tr.dataset.id + ": " + shown + " for " + r.confidence);
			}
			if (checked < 10) bad.push("only " + checked + " confidences shown");
			return bad;
		})()`)
		if len(over) > 0 {
			t.Errorf("confidences shown above their value: %v", over)
		}
	})

	t.Run("statistics", func(t *testing.T) {
		do(t, ctx, "open statistics",
			chromedp.Navigate(a.URL+"/#/stats"),
			waitJS(`document.querySelectorAll("#stats-summary .figure").length > 0`))
		// The line has run for a minute: the default range is the last hour,
		// not a day with the data squeezed into its last minutes.
		if got := eval[string](t, ctx, "read the range", `document.querySelector("#stats-range").value`); got != "1h" {
			t.Errorf("default range %q, want 1h for a minute of data", got)
		}
		pass := eval[string](t, ctx, "read the pass figure", `document.querySelector('#stats-summary [data-figure="pass"] .value')?.textContent || ""`)
		if !regexp.MustCompile(`^[1-9][\d,]*$`).MatchString(pass) {
			t.Errorf("PASS figure %q, want the count of PASS verdicts", pass)
		}
		charts := eval[bool](t, ctx, "check charts", `!!window.Chart`)
		if charts {
			do(t, ctx, "wait for the charts", waitJS(`["chart-yield","chart-pareto","chart-latency"].every(id => window.Chart.getChart(document.getElementById(id)))`))
			// The yield chart starts where the data does, not at an empty edge.
			if first := eval[bool](t, ctx, "read the yield chart", `window.Chart.getChart(document.getElementById("chart-yield")).data.datasets[0].data[0] !== null`); !first {
				t.Error("the yield chart starts with steps without inspections")
			}
			// The line has run for a minute at most: the last hour shows it.
			do(t, ctx, "show the last hour",
				js(`window.__e2eChart = window.Chart.getChart(document.getElementById("chart-yield"))`),
				setValue("#stats-range", "1h"),
				waitJS(`(() => { const c = window.Chart.getChart(document.getElementById("chart-yield")); return c && c !== window.__e2eChart; })()`))
		} else if testenv.Required() {
			t.Error("Chart.js is not embedded: run make assets before the tests")
		} else {
			t.Log("Chart.js not embedded (make assets not run): charts not checked")
		}
		screenshot(t, ctx, shots, "statistics")
	})

	t.Run("edit defect classes", func(t *testing.T) {
		oldHash := a.defectsHash(t)
		do(t, ctx, "open defect classes",
			chromedp.Navigate(a.URL+"/#/classes"),
			waitJS(`document.querySelector("#classes-yaml")?.value.includes("states: [incomplete]")`),
			waitJS(`document.querySelector("#classes-hash")?.dataset.hash === `+jsString(oldHash)))
		do(t, ctx, "edit a prompt and try it",
			js(`(() => { const y = document.querySelector("#classes-yaml"); y.value = y.value.replace("states: [incomplete]", "states: [incomplete, broken]"); })()`),
			setValue("#try-last", "100"),
			chromedp.Click("#try"),
			waitJS(`document.querySelector("#flipped, #classes-msg .error") !== null`))
		if msg := eval[string](t, ctx, "read the preview", `document.querySelector("#classes-msg").textContent`); msg != "" {
			t.Fatalf("try it: %s", msg)
		}
		// The line has run for seconds, so fewer than 100 may be stored.
		if got := eval[string](t, ctx, "read the preview", `document.querySelector("#flipped").textContent`); !regexp.MustCompile(`^\d+ of [1-9]\d* verdicts would change$`).MatchString(got) {
			t.Errorf("try it says %q, want stored verdicts rescored", got)
		}
		over := eval[[]string](t, ctx, "compare the flips' confidences", `[...document.querySelectorAll("#flips .conf")]
			.filter((e) => parseFloat(e.textContent) > 100 * Number(e.dataset.value) + 1e-9)
			.map((e) => e.textContent + " for " + e.dataset.value)`)
		if len(over) > 0 {
			t.Errorf("try it shows confidences above their value: %v", over)
		}
		screenshot(t, ctx, shots, "classes")
		do(t, ctx, "save",
			chromedp.SendKeys("#save-comment", "e2e: broaden missing component"),
			chromedp.Click("#save"),
			chromedp.WaitVisible("#save-ok"),
			waitJS(`document.querySelector("#classes-hash").dataset.hash !== `+jsString(oldHash)),
			waitJS(`document.querySelector("#audit").textContent.includes("e2e: broaden missing component")`))
		shown := eval[string](t, ctx, "read the new hash", `document.querySelector("#classes-hash").dataset.hash`)
		if got := a.defectsHash(t); got != shown || got == oldHash {
			t.Errorf("appliance defects hash %q after save, page shows %q, was %q", got, shown, oldHash)
		}
		// The reload took effect: new verdicts carry the new hash.
		do(t, ctx, "see the new hash on the system page",
			chromedp.Navigate(a.URL+"/#/system"),
			waitJS(`document.querySelector("#system-defects-hash")?.textContent === `+jsString(shown)),
			waitJS(`document.querySelector("#system-config-hash")?.textContent.startsWith("sha256:")`),
			waitJS(`document.querySelector("#system-weights")?.textContent.includes("random")`))
		if cfgHash := eval[string](t, ctx, "read the config hash", `document.querySelector("#system-config-hash").textContent`); cfgHash == shown {
			t.Errorf("the system page shows the defect file's hash %q as the configuration's", shown)
		}
		screenshot(t, ctx, shots, "system")

		do(t, ctx, "save an invalid file",
			chromedp.Navigate(a.URL+"/#/classes"),
			waitJS(`document.querySelector("#classes-yaml")?.value.length > 0`),
			js(`document.querySelector("#classes-yaml").value += "\n  bogus: [\n"`),
			chromedp.Click("#save"),
			waitJS(`document.querySelector("#classes-msg .error") !== null`))
		if got := a.defectsHash(t); got != shown {
			t.Errorf("an invalid save changed the running hash to %q", got)
		}
	})

	// The System page's firmware panel: a file that is not a signed bundle
	// is handed to the installer, which fails or is refused (no RAUC
	// service here, or RAUC rejects it); the panel shows the outcome and
	// the history, and the running slot is never touched.
	t.Run("firmware update", func(t *testing.T) {
		junk := filepath.Join(t.TempDir(), "not-a-bundle.raucb")
		must(t, os.WriteFile(junk, []byte("not a RAUC bundle"), 0o644))
		do(t, ctx, "install a file that is not a bundle",
			chromedp.Navigate(a.URL+"/#/system"),
			chromedp.WaitVisible("#firmware-source"),
			js(`window.confirm = () => true`),
			chromedp.SendKeys("#firmware-source", junk),
			chromedp.Click("#firmware-start"),
			waitJS(`["failed", "refused"].includes(document.querySelector("#firmware-last")?.dataset.outcome)`),
			waitJS(`document.querySelectorAll("#firmware-history tbody tr").length >= 1`))
		last := eval[string](t, ctx, "read the outcome", `document.querySelector("#firmware-last").textContent`)
		row := eval[string](t, ctx, "read the history", `document.querySelector("#firmware-history tbody tr").textContent`)
		if !strings.Contains(last, "Last install: ") || !strings.Contains(row, "admin") {
			t.Errorf("firmware panel: %q, history row %q", last, row)
		}
		do(t, ctx, "show the panel", chromedp.ScrollIntoView("#firmware"))
		screenshotScreen(t, ctx, shots, "system-firmware")
		do(t, ctx, "a missing file is refused at once",
			js(`document.querySelector("#firmware-source").value = ""`),
			chromedp.SendKeys("#firmware-source", junk+".gone"),
			chromedp.Click("#firmware-start"),
			waitJS(`document.querySelector("#firmware-msg .error")?.textContent.includes("no such file")`))
	})

	t.Run("users", func(t *testing.T) {
		do(t, ctx, "add a user",
			chromedp.Navigate(a.URL+"/#/users"),
			chromedp.WaitVisible("#user-add"),
			chromedp.SendKeys("#user-name", "olga"),
			setValue("#user-role", "operator"),
			chromedp.SendKeys("#user-password", "olga-password-1"),
			submit("#user-add"),
			waitJS(`document.querySelector('#users tr[data-user="olga"]') !== null`))
		screenshot(t, ctx, shots, "users")
	})

	t.Run("phone", func(t *testing.T) {
		phone := newBrowser(t, 390, 844)
		do(t, phone, "live on a phone",
			chromedp.Navigate(a.URL+"/"),
			waitJS(`document.querySelectorAll("#feed li").length >= 1`),
			waitJS(`(() => { const i = [...document.querySelectorAll("#cameras img")]; return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0); })()`))
		overflow := eval[bool](t, phone, "check width", `document.documentElement.scrollWidth > window.innerWidth + 1`)
		if overflow {
			t.Error("the live view is wider than a phone screen")
		}
		screenshot(t, phone, shots, "live-phone")
	})
}
