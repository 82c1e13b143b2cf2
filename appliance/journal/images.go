package journal

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
)

// encodeJPEG scales a BGR frame down so its longer side is at most maxSide
// (0: as captured) and encodes it. It uses Go's image/jpeg rather than
// OpenCV so that the journal builds and is tested without cgo; it runs on
// the journal's own sink goroutine, off the inference path, and its cost is
// in BenchmarkWriteWithImages.
func encodeJPEG(f *frame.Frame, maxSide, quality int) ([]byte, error) {
	if f.Width <= 0 || f.Height <= 0 || f.Stride < 3*f.Width || len(f.Pix) < (f.Height-1)*f.Stride+3*f.Width {
		return nil, fmt.Errorf("frame %dx%d stride %d with %d bytes is not a BGR image", f.Width, f.Height, f.Stride, len(f.Pix))
	}
	img := downscaleBGR(f.Pix, f.Width, f.Height, f.Stride, maxSide)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode JPEG: %w", err)
	}
	return buf.Bytes(), nil
}

// downscaleBGR converts to RGBA, averaging each output pixel over the
// source pixels it covers (an area filter: no aliasing, unlike sampling).
func downscaleBGR(pix []byte, w, h, stride, maxSide int) *image.RGBA {
	ow, oh := w, h
	if maxSide > 0 && max(w, h) > maxSide {
		if w >= h {
			ow, oh = maxSide, max(1, h*maxSide/w)
		} else {
			ow, oh = max(1, w*maxSide/h), maxSide
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	if ow == w && oh == h {
		for y := range h {
			src, out := pix[y*stride:], dst.Pix[y*dst.Stride:]
			for x := range w {
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = src[3*x+2], src[3*x+1], src[3*x], 255
			}
		}
		return dst
	}
	for oy := range oh {
		y0, y1 := oy*h/oh, max((oy+1)*h/oh, oy*h/oh+1)
		out := dst.Pix[oy*dst.Stride:]
		for ox := range ow {
			x0, x1 := ox*w/ow, max((ox+1)*w/ow, ox*w/ow+1)
			var b, g, r int
			for y := y0; y < y1; y++ {
				row := pix[y*stride:]
				for x := x0; x < x1; x++ {
					b += int(row[3*x])
					g += int(row[3*x+1])
					r += int(row[3*x+2])
				}
			}
			n := (y1 - y0) * (x1 - x0)
			out[4*ox], out[4*ox+1], out[4*ox+2], out[4*ox+3] = byte((r+n/2)/n), byte((g+n/2)/n), byte((b+n/2)/n), 255
		}
	}
	return dst
}

// imagePath names a record's image relative to the images folder: one
// folder per UTC day keeps folders small and old days easy to see.
func imagePath(at time.Time, camera string, id uint64) string {
	return filepath.Join(at.UTC().Format("2006-01-02"), strconv.FormatUint(id, 10)+"-"+safeName(camera)+".jpg")
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// writeImage writes the file without syncing it: the writer syncs the
// batch's files before the batch's transaction commits, so a committed
// record never points at an image lost with the page cache.
func writeImage(dir, rel string, data []byte) error {
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create image folder: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}

// removeImage deletes an image file and its day folder once empty.
func removeImage(dir, rel string) error {
	path := filepath.Join(dir, rel)
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	_ = os.Remove(filepath.Dir(path)) // fails while other images are there
	return nil
}

// sweepOrphans deletes image files that no record refers to: those written
// for a batch that a crash kept from committing, or evicted just before one.
func sweepOrphans(dir string, known map[string]bool) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".jpg") {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || known[rel] {
			return err
		}
		n++
		return removeImage(dir, rel)
	})
	return n, err
}
