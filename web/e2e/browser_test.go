package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Chromium; without one the tests skip, unless
// LINESIGHT_REQUIRE_REFERENCE=1 (CI), where they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LINESIGHT_REQUIRE_REFERENCE") == "1" {
		t.Fatal("Chromium not found (install Debian's chromium: make setup); LINESIGHT_REQUIRE_REFERENCE=1 requires it")
	}
	t.Skip("Chromium not found; install Debian's chromium to run the dashboard tests")
	return ""
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
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// do runs actions with a deadline, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Run(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS polls a JavaScript expression until it is truthy.
func waitJS(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second))
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

// screenshot saves a full-page PNG.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	// Let images and charts settle before the picture.
	do(t, ctx, "screenshot "+name, chromedp.Sleep(500*time.Millisecond), chromedp.FullScreenshot(&png, 100))
	path := filepath.Join(dir, name+".png")
	must(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot %s (%d KB)", path, len(png)>>10)
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }
