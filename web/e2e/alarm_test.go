package e2e

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linesight/linesight/internal/testenv"
)

// troubleClasses give station2 a set of its own whose crack class fails
// nearly every part (a threshold of 1 %), so FAIL verdicts fall in more than
// one class: missing_component on the conveyor, crack on station2.
const troubleClasses = `version: 1
templates:
  - "a photo of a {} metal part on a conveyor belt"
sets:
  parts:
    uncertain: reject
    good: {states: [flawless, clean, perfect], threshold: 0.5}
    defects:
      - {name: scratch, states: [scratched], threshold: 0.5}
      - {name: missing_component, states: [incomplete], threshold: 0.5}
  station:
    uncertain: reject
    good: {states: [flawless, clean, perfect], threshold: 0.5}
    defects:
      - {name: crack, states: [incomplete], threshold: 0.01}
cameras:
  default: parts
  e2e/station2: station
`

// TestDashboardOnALineInTrouble runs the appliance with a broker that never
// accepts a session and a camera that is unplugged, so two critical alarms
// stand, and FAIL verdicts of two classes, and looks at it as the 1366x768
// panel at the line shows it.
func TestDashboardOnALineInTrouble(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an appliance and Chromium")
	}
	chromiumPath(t)
	// It takes TCP connections and closes them: MQTT never connects.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	accepting := make(chan struct{})
	t.Cleanup(func() {
		testenv.Close(t, "the broker's listener", ln)
		<-accepting // so that it cannot report after the test
	})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				if err := c.Close(); err != nil {
					t.Errorf("closing a broker connection: %v", err)
				}
			}
		}
	}()
	a := startApplianceWith(t, applianceOptions{
		Config:  fmt.Sprintf("mqtt:\n  broker: tcp://%s\n  reconnect: {min: 200ms, max: 1s}\n", ln.Addr()),
		Classes: troubleClasses,
		// A camera whose device is gone: a second critical alarm.
		Cameras: "  - id: gate\n    source: {kind: device, device: /dev/linesight-e2e-unplugged}\n",
	})
	ctx := newBrowser(t, 1366, 768)

	t.Run("alarm on the panel", func(t *testing.T) {
		do(t, ctx, "open live with the alarm showing",
			chromedp.Navigate(a.URL+"/"),
			waitJS(`document.querySelector('#alarms li[data-alarm="broker_down"]') !== null`),
			waitJS(`document.querySelector('#alarms li[data-alarm="camera_down:gate"]') !== null`),
			waitJS(`document.querySelectorAll("#feed li").length >= 5`))

		// The page fits the panel with the alarm shown, and no verdict's
		// class is cut off in the feed.
		height := eval[int](t, ctx, "measure the page", `document.documentElement.scrollHeight`)
		if height > 768 {
			t.Errorf("the live view is %d px tall with an alarm shown, want at most 768", height)
		}
		clipped := eval[[]string](t, ctx, "look for cut text in the feed", `[...document.querySelectorAll("#feed li .what")]
			.filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
			.map((e) => e.textContent)`)
		if len(clipped) > 0 {
			t.Errorf("the feed cuts %d verdicts, such as %q", len(clipped), clipped[0])
		}
		withClass := eval[int](t, ctx, "count classes in the feed", `[...document.querySelectorAll("#feed li .what")].filter((e) => /scratch|missing_component|good/.test(e.textContent)).length`)
		if withClass == 0 {
			t.Error("no verdict in the feed names its class")
		}

		// The top bar shows the worst active alarm, not a green READY (the
		// state is polled every few seconds).
		do(t, ctx, "see the alarm in the top bar",
			waitJS(`document.querySelector("#app-state").classList.contains("critical")`))
		state := eval[string](t, ctx, "read the state", `document.querySelector("#app-state").textContent`)
		if !strings.Contains(strings.ToLower(state), "critical") || !strings.Contains(state, "broker") {
			t.Errorf("top bar state %q during a critical broker alarm, want it named", state)
		}
	})

	t.Run("every Pareto bar labelled", func(t *testing.T) {
		// Parts on station2 until one fails: its class is crack, so the
		// Pareto has two classes at least.
		deadline := time.Now().Add(60 * time.Second)
		for i := 1; ; i++ {
			var p struct {
				Classes []struct{ Class string } `json:"classes"`
			}
			a.api(t, "GET", "/stats/pareto?from=1h", nil, &p)
			if len(p.Classes) >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %d parts on station2 the Pareto has %d classes, want 2", i, len(p.Classes))
			}
			if code := a.api(t, "POST", "/cameras/station2/trigger", map[string]string{"part_id": fmt.Sprintf("T-%d", i)}, nil); code != 202 {
				t.Fatalf("trigger: HTTP %d", code)
			}
			time.Sleep(300 * time.Millisecond) // a part every few frames of station2
		}
		do(t, ctx, "log in",
			chromedp.Navigate(a.URL+"/#/login"),
			chromedp.WaitVisible("#login-form"),
			chromedp.SendKeys("#login-name", a.User),
			chromedp.SendKeys("#login-password", a.Password),
			submit("#login-form"),
			waitJS(`[...document.querySelectorAll("#nav a")].some(a => a.textContent === "Users")`))
		do(t, ctx, "open statistics",
			chromedp.Navigate(a.URL+"/#/stats"),
			waitJS(`window.Chart && window.Chart.getChart(document.getElementById("chart-pareto"))?.data.labels.length >= 2`))
		labels := eval[[]int](t, ctx, "count the Pareto's labels", `(() => {
			const c = window.Chart.getChart(document.getElementById("chart-pareto"));
			return [c.data.labels.length, c.scales.x.getLabelItems().length];
		})()`)
		if labels[1] != labels[0] {
			t.Errorf("the Pareto labels %d of its %d classes, want every one", labels[1], labels[0])
		}
	})
}
