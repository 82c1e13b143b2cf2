// Package offline inspects image files instead of camera frames: archived
// images, a folder of samples, or a labelled dataset. It is what a quality
// engineer runs to try prompts and thresholds before they go live.
package offline

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
)

// imageExts are the file name endings taken from a directory; the decoder
// itself decides by content (cvmat.LoadImageFile).
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

func isImageName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range imageExts {
		if ext == e {
			return true
		}
	}
	return false
}

// hidden names are skipped when walking: dot files include the "._x.png"
// metadata twins macOS leaves on USB sticks, which are not images.
func hidden(name string) bool { return strings.HasPrefix(name, ".") && name != "." && name != ".." }

// ImageFiles expands paths into the image files to inspect, in order: a
// file is taken as given (whatever its name, so a wrong file is reported
// rather than skipped); a directory contributes the image files below it,
// recursively, in lexical order of their paths.
func ImageFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		found, err := imagesIn(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("list images: %s holds no image files (%s)", p, strings.Join(imageExts, ", "))
		}
		out = append(out, found...)
	}
	return out, nil
}

// imagesIn walks dir; WalkDir visits entries in lexical order, so the result
// is sorted by path. The trailing separator makes a symlinked dir count as
// the directory it points at (WalkDir does not follow links).
func imagesIn(dir string) ([]string, error) {
	var out []string
	root := filepath.Clean(dir) + string(filepath.Separator)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isImageName(d.Name()) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list images in %s: %w", dir, err)
	}
	return out, nil
}

// Pixels loads image files and preprocesses each as the model sees it (p:
// the bundle's preprocessing), one after another into one buffer of
// len(paths) x 3 x height x width: what calibration and distillation feed
// the towers. progress, when set, hears after each image.
func Pixels(paths []string, p preprocess.Params, progress func(done, total int)) ([]float32, error) {
	pre := preprocess.New(p)
	defer pre.Close()
	per := 3 * p.CropHeight * p.CropWidth
	out := make([]float32, len(paths)*per)
	for i, path := range paths {
		img, err := cvmat.LoadImageFile(path)
		if err != nil {
			return nil, err
		}
		if err := pre.Image(img, out[i*per:(i+1)*per]); err != nil {
			return nil, fmt.Errorf("preprocess %s: %w", path, err)
		}
		if progress != nil {
			progress(i+1, len(paths))
		}
	}
	return out, nil
}
