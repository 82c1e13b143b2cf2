package journal

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/frame/jpegcv"
)

// encodeJPEG scales a BGR frame down so its longer side is at most maxSide
// (0: as captured) and encodes it with OpenCV's libjpeg-turbo, about four
// times faster than image/jpeg (BenchmarkEncodeJPEG). It runs on the
// journal's own sink goroutine, off the inference path.
func encodeJPEG(f *frame.Frame, maxSide, quality int) ([]byte, error) {
	return jpegcv.Encode(f.Pix, f.Width, f.Height, f.Stride, maxSide, quality)
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
// record never points at an image lost with the page cache. It writes a
// temporary file and renames it, removing it when the write fails, so a
// full disk leaves no empty or truncated image behind.
func writeImage(dir, rel string, data []byte) error {
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create image folder: %w", err)
	}
	tmp := path + tmpSuffix
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write image: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}

// tmpSuffix marks an image being written; one left by a crash is removed
// at the next Open.
const tmpSuffix = ".tmp"

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
		if d.IsDir() || !(strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".jpg"+tmpSuffix)) {
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
