package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linesight/linesight/internal/testenv"
)

// chromiumPath finds Chromium; without one the tests skip, unless
// LINESIGHT_REQUIRE_REFERENCE=1 (CI), where they fail: testenv.RequireChromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	return testenv.RequireChromium(t)
}

// newBrowser starts a headless Chromium with a fresh profile; each call is
// a new browser, so cookies do not carry over.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	// The first action starts the browser; it must run on the context
	// without a deadline, or the deadline would end the browser.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}

	// Keep the page's console and uncaught errors for a failing test.
	console := &syncBuffer{}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(console, "%s %s: %s (%s:%d)\n", m.Time.Format("15:04:05.000"), m.Type, m.Text, m.URL, m.Line+1); err != nil {
				t.Errorf("keeping the browser console: %v", err) // the cleanup waits for this goroutine
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		<-done
		if t.Failed() && console.String() != "" {
			t.Logf("browser console:\n%s", console.String())
		}
	})
	return ctx
}

// stepTimeout bounds one group of browser steps.
const stepTimeout = 45 * time.Second

// do runs steps in order with a deadline, failing the test with what was
// being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value, with a deadline.
func value[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(tctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, what, expr string) T {
	t.Helper()
	return value(t, ctx, what, chromedp.Evaluate[T](expr))
}

// evalAsync evaluates a JavaScript expression whose value is a promise and
// decodes what the promise resolves to.
func evalAsync[T any](t *testing.T, ctx context.Context, what, expr string) T {
	t.Helper()
	return value(t, ctx, what, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// js is a step that runs a JavaScript expression in the page for its
// effect; its value is dropped in the page, so it may be any object.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void]("void (" + expr + ")")
}

// submit submits a form the way pressing Enter in it does: the browser
// checks the fields and the page's submit handler runs. (chromedp.Submit
// calls form.submit(), which skips both and loads the form's action.)
func submit(form string) chromedp.Action[chromedp.Void] {
	return js(`document.querySelector(` + jsString(form) + `).requestSubmit()`)
}

// setValue sets a form field's value and fires input and change, as an
// edit by hand does; it fails when the field refuses the value (a select
// without that option). chromedp.SetValue cannot set an empty value.
func setValue(field, v string) chromedp.Action[chromedp.Void] {
	return js(`(() => {
		const e = document.querySelector(` + jsString(field) + `);
		e.value = ` + jsString(v) + `;
		e.dispatchEvent(new Event("input", { bubbles: true }));
		e.dispatchEvent(new Event("change", { bubbles: true }));
		if (e.value !== ` + jsString(v) + `) throw new Error("` + field + ` refused the value");
	})()`)
}

// waitJS polls a JavaScript expression until it is truthy.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second))
}

// screenshotDir is docs/dashboard with LINESIGHT_SCREENSHOTS=1, else a
// temporary folder.
func screenshotDir(t *testing.T) string {
	if os.Getenv("LINESIGHT_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "..", "docs", "dashboard")
		must(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.TempDir()
}

// screenshot saves the whole page, scrolled parts included, as a PNG.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	savePNG(t, ctx, dir, name, chromedp.FullScreenshot(100))
}

// screenshotScreen saves what the screen shows, as a PNG: for a long page,
// or one with a dialog over it.
func screenshotScreen(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	savePNG(t, ctx, dir, name, chromedp.CaptureScreenshot())
}

func savePNG(t *testing.T, ctx context.Context, dir, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	// Let images and charts settle before the picture.
	do(t, ctx, "settle before screenshot "+name, chromedp.Sleep(500*time.Millisecond))
	png := value(t, ctx, "screenshot "+name, capture)
	path := filepath.Join(dir, name+".png")
	must(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot %s (%d KB)", path, len(png)>>10)
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

// liveOverflow is empty when the page fits the window's height, else where
// each block of the live view lies (top+height), to tell which one grew.
func liveOverflow(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, "check height", `document.documentElement.scrollHeight <= window.innerHeight + 1 ? "" :
		"window " + window.innerHeight + " px, page " + document.documentElement.scrollHeight + " px: " +
		[...document.querySelectorAll("body > *, main > *, .live-layout > *, .live-aside > *, #cameras > *")]
			.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "") + " " + Math.round(e.getBoundingClientRect().top) + "+" + Math.round(e.getBoundingClientRect().height))
			.join(", ")`)
}
