// Package e2e drives the dashboard in headless Chromium against an appliance
// running on the synthetic line, as an operator and an engineer would.
package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
		var navLinks int
		do(t, ctx, "read the nav", chromedp.Evaluate(`document.querySelectorAll("#nav a").length`, &navLinks))
		if navLinks != 1 {
			t.Errorf("kiosk nav shows %d pages, want only Live", navLinks)
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
			chromedp.Submit("#login-form"),
			chromedp.WaitVisible("#history-filters"),
			waitJS(`[...document.querySelectorAll("#nav a")].some(a => a.textContent === "Users")`))
	})

	t.Run("live verdicts without reload", func(t *testing.T) {
		do(t, ctx, "open live",
			chromedp.Navigate(a.URL+"/#/live"),
			waitJS(`document.querySelectorAll("#feed li").length >= 1`),
			chromedp.Evaluate(`window.__e2eMarker = 1`, nil))
		var before int
		do(t, ctx, "count inspected", chromedp.Evaluate(`Number(document.querySelector('[data-figure="inspected"] .value').textContent.replace(/\D/g, ""))`, &before))
		// A triggered part shows up in the feed and on its camera.
		if code := a.api(t, "POST", "/cameras/station2/trigger", map[string]string{"part_id": "E2E-1"}, nil); code != 202 {
			t.Fatalf("trigger: HTTP %d", code)
		}
		do(t, ctx, "see the triggered verdict",
			waitJS(`document.querySelector('#feed li[data-part="E2E-1"]') !== null`),
			waitJS(`document.querySelector('#cameras [data-camera="station2"]').className.match(/PASS|FAIL|UNCERTAIN|MISSED/)`),
			waitJS(`Number(document.querySelector('[data-figure="inspected"] .value').textContent.replace(/\D/g, "")) > `+strconv.Itoa(before)),
			waitJS(`[...document.querySelectorAll("#cameras img")].every(i => i.complete && i.naturalWidth > 0)`))
		var marker int
		do(t, ctx, "check no reload", chromedp.Evaluate(`window.__e2eMarker || 0`, &marker))
		if marker != 1 {
			t.Error("the page reloaded")
		}
		screenshot(t, ctx, shots, "live")
	})

	t.Run("history filters", func(t *testing.T) {
		do(t, ctx, "filter by part id",
			chromedp.Navigate(a.URL+"/#/history"),
			waitJS(`document.querySelectorAll("#history tbody tr[data-id]").length > 0`),
			chromedp.SendKeys("#f-part", "E2E-1"),
			chromedp.Submit("#history-filters"),
			waitJS(`(() => { const r = document.querySelectorAll("#history tbody tr[data-id]"); return r.length === 1 && r[0].textContent.includes("E2E-1"); })()`))
		do(t, ctx, "filter by camera",
			chromedp.SetValue("#f-part", ""),
			chromedp.SetValue("#f-camera", "conveyor"),
			chromedp.Submit("#history-filters"),
			waitJS(`(() => { const r = [...document.querySelectorAll("#history tbody tr[data-id]")]; return r.length > 0 && r.every(x => x.children[2].textContent === "conveyor"); })()`))
		var csv string
		do(t, ctx, "read the CSV link", chromedp.AttributeValue("#csv", "href", &csv, nil))
		if !strings.Contains(csv, "/api/v1/history.csv?") || !strings.Contains(csv, "camera=conveyor") {
			t.Errorf("CSV link %q does not carry the filters", csv)
		}
		screenshot(t, ctx, shots, "history")
		do(t, ctx, "open a record",
			chromedp.SetValue("#f-camera", ""),
			chromedp.SetValue("#f-outcome", "FAIL"),
			chromedp.Submit("#history-filters"),
			waitJS(`document.querySelectorAll("#history tbody tr[data-id]").length > 0`),
			chromedp.Click("#history tbody tr[data-id]"),
			waitJS(`document.querySelector("#detail").open`),
			waitJS(`[...document.querySelectorAll("#detail img")].every(i => i.complete && i.naturalWidth > 0)`))
		screenshot(t, ctx, shots, "history-detail")
	})

	t.Run("statistics", func(t *testing.T) {
		do(t, ctx, "open statistics",
			chromedp.Navigate(a.URL+"/#/stats"),
			waitJS(`document.querySelectorAll("#stats-summary .figure").length > 0`))
		var charts bool
		do(t, ctx, "check charts", chromedp.Evaluate(`!!window.Chart`, &charts))
		if charts {
			do(t, ctx, "wait for the charts", waitJS(`["chart-yield","chart-pareto","chart-latency"].every(id => window.Chart.getChart(document.getElementById(id)))`))
		} else if os.Getenv("LINESIGHT_REQUIRE_REFERENCE") == "1" {
			t.Error("Chart.js is not embedded: run make assets before the tests")
		} else {
			t.Log("Chart.js not embedded (make assets not run): charts not checked")
		}
		screenshot(t, ctx, shots, "statistics")
	})

	t.Run("edit defect classes", func(t *testing.T) {
		oldHash := a.configHash(t)
		do(t, ctx, "open defect classes",
			chromedp.Navigate(a.URL+"/#/classes"),
			waitJS(`document.querySelector("#classes-yaml").value.includes("missing component")`),
			waitJS(`document.querySelector("#classes-hash").dataset.hash === `+jsString(oldHash)))
		do(t, ctx, "edit a prompt and try it",
			chromedp.Evaluate(`(() => { const y = document.querySelector("#classes-yaml"); y.value = y.value.replace("with a missing component", "with a broken or missing component"); })()`, nil),
			chromedp.Clear("#try-last"),
			chromedp.SendKeys("#try-last", "100"),
			chromedp.Click("#try"),
			chromedp.WaitVisible("#flipped"))
		screenshot(t, ctx, shots, "classes")
		do(t, ctx, "save",
			chromedp.SendKeys("#save-comment", "e2e: broaden missing component"),
			chromedp.Click("#save"),
			chromedp.WaitVisible("#save-ok"),
			waitJS(`document.querySelector("#classes-hash").dataset.hash !== `+jsString(oldHash)),
			waitJS(`document.querySelector("#audit").textContent.includes("e2e: broaden missing component")`))
		var shown string
		do(t, ctx, "read the new hash", chromedp.Evaluate(`document.querySelector("#classes-hash").dataset.hash`, &shown))
		if got := a.configHash(t); got != shown || got == oldHash {
			t.Errorf("appliance config hash %q after save, page shows %q, was %q", got, shown, oldHash)
		}
		// The reload took effect: new verdicts carry the new hash.
		do(t, ctx, "see the new hash on the system page",
			chromedp.Navigate(a.URL+"/#/system"),
			waitJS(`document.querySelector("#system-config-hash") && document.querySelector("#system-config-hash").textContent === `+jsString(shown)))
		screenshot(t, ctx, shots, "system")

		do(t, ctx, "save an invalid file",
			chromedp.Navigate(a.URL+"/#/classes"),
			waitJS(`document.querySelector("#classes-yaml").value.length > 0`),
			chromedp.Evaluate(`document.querySelector("#classes-yaml").value += "\n  bogus: [\n"`, nil),
			chromedp.Click("#save"),
			waitJS(`document.querySelector("#classes-msg .error") !== null`))
		if got := a.configHash(t); got != shown {
			t.Errorf("an invalid save changed the running hash to %q", got)
		}
	})

	t.Run("users", func(t *testing.T) {
		do(t, ctx, "add a user",
			chromedp.Navigate(a.URL+"/#/users"),
			chromedp.WaitVisible("#user-add"),
			chromedp.SendKeys("#user-name", "olga"),
			chromedp.SetValue("#user-role", "operator"),
			chromedp.SendKeys("#user-password", "olga-password-1"),
			chromedp.Submit("#user-add"),
			waitJS(`document.querySelector('#users tr[data-user="olga"]') !== null`))
		screenshot(t, ctx, shots, "users")
	})

	t.Run("phone", func(t *testing.T) {
		phone := newBrowser(t, 390, 844)
		do(t, phone, "live on a phone",
			chromedp.Navigate(a.URL+"/"),
			waitJS(`document.querySelectorAll("#feed li").length >= 1`),
			waitJS(`[...document.querySelectorAll("#cameras img")].every(i => i.complete && i.naturalWidth > 0)`))
		var overflow bool
		do(t, phone, "check width", chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow))
		if overflow {
			t.Error("the live view is wider than a phone screen")
		}
		screenshot(t, phone, shots, "live-phone")
	})
}
