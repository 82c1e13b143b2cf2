package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/linesight/linesight/web/ui"
)

// overlayPage is a bare page with the dashboard's stylesheet and one
// picture in a positioned box, as the live tiles and History hold theirs.
const overlayPage = `<!doctype html><html><head><link rel="stylesheet" href="/ui/css/app.css"></head>
<body style="margin:0"><div id="holder" style="position:relative;width:640px;margin:20px"><img id="pic" style="display:block;width:100%"></div></body></html>`

// serveUI serves the dashboard's own files under /ui/, the test page at /
// and a flat grey picture of w x h at /grey.png.
func serveUI(t *testing.T, w, h int) string {
	t.Helper()
	static, err := fs.Sub(ui.FS, "static")
	must(t, err)
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui/", http.FileServerFS(static)))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if _, err := fmt.Fprint(w, overlayPage); err != nil {
			t.Errorf("serving the test page: %v", err)
		}
	})
	mux.HandleFunc("/grey.png", func(rw http.ResponseWriter, r *http.Request) {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = 128
			if i%4 == 3 {
				img.Pix[i] = 255
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Errorf("encoding grey.png: %v", err) // a handler's goroutine: t.Fatal must not run here
			return
		}
		rw.Header().Set("Content-Type", "image/png")
		if _, err := rw.Write(buf.Bytes()); err != nil {
			t.Errorf("serving grey.png: %v", err)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// screenPixels is what the screen shows now, as an image in CSS pixels
// (the browsers here run at a device scale of 1).
func screenPixels(t *testing.T, ctx context.Context) image.Image {
	t.Helper()
	data := value(t, ctx, "capture the screen", chromedp.CaptureScreenshot())
	img, err := png.Decode(bytes.NewReader(data))
	must(t, err)
	return img
}

func rgb(c color.Color) (r, g, b int) {
	r32, g32, b32, _ := c.RGBA()
	return int(r32 >> 8), int(g32 >> 8), int(b32 >> 8)
}

// The overlay draws an anomaly map over exactly its window of the picture,
// hot where the map is above the threshold, the region box on top, in the
// picture's pixels whatever size the picture is shown at; the heat map
// switches off and on, and the choice outlives a reload.
func TestAnomalyOverlayDrawsTheMapOnItsWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	chromiumPath(t)
	// The picture (320x240 pixels) is shown 640 wide: 2 screen pixels a pixel.
	ctx := newBrowser(t, 800, 600)
	// A 4x4 map over the window (80,40)-(240,200); one cell, the third of
	// the second row, is at 255, the rest 0; threshold 0.3. That cell covers
	// picture pixels x 160..200, y 80..120. The box is (150,70) 60x60.
	const draw = `(async () => {
		const a = await import("/ui/js/anomaly.js");
		const img = document.querySelector("#pic");
		img.src = "/grey.png";
		await img.decode();
		const values = new Array(16).fill(0); values[6] = 255;
		const map = { grid: 4, values, window: { x: 80, y: 40, w: 160, h: 160 }, box: { x: 150, y: 70, w: 60, h: 60 } };
		window.__svg = await a.attach(document.querySelector("#holder"), img, { score: 1, threshold: 0.3 }, map, SIZE);
		document.body.append(a.heatToggle());
		a.applyHeat();
		const r = img.getBoundingClientRect();
		return { left: r.left, top: r.top, width: r.width };
	})()`
	for _, tc := range []struct {
		name, size string
		picW, picH int
	}{
		{"picture at the map's size", "undefined", 320, 240},
		// A live frame is a scaled copy: the map is placed in the frame's pixels.
		{"scaled copy of the picture", "{ w: 320, h: 240 }", 160, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := serveUI(t, tc.picW, tc.picH)
			do(t, ctx, "open the page", chromedp.Navigate(url+"/"), js(`localStorage.clear()`), chromedp.Navigate(url+"/"))
			box := evalAsync[map[string]float64](t, ctx, "draw the overlay", replaceSize(draw, tc.size))
			if box["width"] != 640 {
				t.Fatalf("picture shown %v wide, want 640", box["width"])
			}
			geom := eval[map[string]string](t, ctx, "read the overlay", `(() => {
				const s = window.__svg, heat = s.querySelector("image.heat"), rect = s.querySelector("rect.region");
				return { viewBox: s.getAttribute("viewBox"),
					heat: ["x","y","width","height"].map(k => heat.getAttribute(k)).join(","),
					box: ["x","y","width","height"].map(k => rect.getAttribute(k)).join(",") };
			})()`)
			if geom["viewBox"] != "0 0 320 240" || geom["heat"] != "80,40,160,160" || geom["box"] != "150,70,60,60" {
				t.Errorf("overlay %v, want viewBox 0 0 320 240, heat on 80,40,160,160, box 150,70,60,60", geom)
			}
			// Screen point of a picture pixel.
			at := func(img image.Image, x, y float64) (int, int, int) {
				return rgb(img.At(int(box["left"]+2*x), int(box["top"]+2*y)))
			}
			shot := screenPixels(t, ctx)
			if r, g, b := at(shot, 180, 100); r < 200 || g > 90 || b > 90 {
				t.Errorf("the hot cell's middle is rgb(%d,%d,%d), want red", r, g, b)
			}
			if r, g, b := at(shot, 30, 20); abs(r-128) > 3 || abs(g-128) > 3 || abs(b-128) > 3 {
				t.Errorf("outside the window: rgb(%d,%d,%d), want the picture's grey", r, g, b)
			}
			if r, g, b := at(shot, 100, 180); !(b > r+8 && r < 128) {
				t.Errorf("a cold cell: rgb(%d,%d,%d), want a faint blue over the grey", r, g, b)
			}
			if r, g, b := at(shot, 150, 100); r < 200 || g > 100 || b < 150 {
				t.Errorf("the box's left edge: rgb(%d,%d,%d), want its magenta", r, g, b)
			}
			if r, g, b := at(shot, 180, 130); r < 200 || g > 100 || b < 150 {
				t.Errorf("the box's bottom edge: rgb(%d,%d,%d), want its magenta", r, g, b)
			}

			// Heat off: the picture shows through, the box stays; remembered.
			do(t, ctx, "switch the heat map off", chromedp.Click("input.heat-toggle"),
				waitJS(`document.documentElement.classList.contains("no-heat")`))
			do(t, ctx, "reload", chromedp.Navigate(url+"/"))
			evalAsync[map[string]float64](t, ctx, "draw again", replaceSize(draw, tc.size))
			shot = screenPixels(t, ctx)
			if r, g, b := at(shot, 180, 100); abs(r-128) > 3 || abs(g-128) > 3 || abs(b-128) > 3 {
				t.Errorf("heat map off after a reload: the hot cell is rgb(%d,%d,%d), want the grey", r, g, b)
			}
			if r, _, b := at(shot, 150, 100); r < 200 || b < 150 {
				t.Errorf("heat map off: the box's edge is rgb(%d,_,%d), want it still drawn", r, b)
			}
			if on := eval[bool](t, ctx, "read the toggle", `document.querySelector("input.heat-toggle").checked`); on {
				t.Error("the toggle shows the heat map on after it was switched off")
			}
		})
	}
}

func replaceSize(js, size string) string {
	return string(bytes.Replace([]byte(js), []byte("SIZE"), []byte(size), 1))
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
