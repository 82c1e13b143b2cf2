package offline

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
)

// GoodFolder is the folder of defect-free test images in the MVTec AD layout.
const GoodFolder = "good"

// layoutHelp says what a dataset must look like; every layout error ends with it.
const layoutHelp = "expected the MVTec AD layout: <category>/test/good/*.png for good parts and " +
	"<category>/test/<defect>/*.png for each defect kind (train/ and ground_truth/ are ignored); " +
	"DIR may be the dataset root holding the categories or a single category"

// Labelled is one test image of a dataset with its ground truth.
type Labelled struct {
	Path string
	// Defect is the defect folder's name; empty for a good part.
	Defect string
}

// Good reports whether the image shows a defect-free part.
func (l Labelled) Good() bool { return l.Defect == "" }

// Category is one object type of a dataset (MVTec AD's "bottle", "screw").
type Category struct {
	Name string
	// Dir is the category's folder, the one holding test/ (and train/,
	// ground_truth/ where the dataset has them).
	Dir    string
	Images []Labelled // good first, then defect folders, each sorted by path
}

// ReadDataset lists the labelled test images of a dataset in the MVTec AD
// layout. dir is either the root, whose sub-folders with a test/ folder are
// the categories (sorted by name), or one category itself. Folders that are
// not categories (readme, licence, split files) are ignored.
func ReadDataset(dir string, log *slog.Logger) ([]Category, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("read dataset: %s is not a directory; %s", dir, layoutHelp)
	}
	if isDir(filepath.Join(dir, "test")) {
		c, err := readCategory(filepath.Base(filepath.Clean(dir)), dir, log)
		if err != nil {
			return nil, err
		}
		return []Category{c}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	var cats []Category
	for _, e := range entries { // ReadDir sorts by name
		sub := filepath.Join(dir, e.Name())
		if hidden(e.Name()) || !isDir(sub) || !isDir(filepath.Join(sub, "test")) {
			continue
		}
		c, err := readCategory(e.Name(), sub, log)
		if err != nil {
			return nil, err
		}
		cats = append(cats, c)
	}
	if len(cats) == 0 {
		return nil, fmt.Errorf("read dataset: %s has no category folder with a test/ folder inside; %s", dir, layoutHelp)
	}
	return cats, nil
}

// readCategory lists dir/test/<label>/ images.
func readCategory(name, dir string, log *slog.Logger) (Category, error) {
	c := Category{Name: name, Dir: dir}
	testDir := filepath.Join(dir, "test")
	entries, err := os.ReadDir(testDir)
	if err != nil {
		return c, fmt.Errorf("read dataset category %q: %w", name, err)
	}
	var labels []string
	for _, e := range entries {
		p := filepath.Join(testDir, e.Name())
		switch {
		case hidden(e.Name()):
		case isDir(p):
			labels = append(labels, e.Name())
		case isImageName(e.Name()):
			// An image outside a label folder has no label: say so rather
			// than guess, but do not fail a whole run for it.
			log.Warn("image outside a label folder is ignored", "image", p, "category", name)
		}
	}
	// Good images first, so a report reads from the reference outwards.
	sort.SliceStable(labels, func(i, j int) bool { return labels[i] == GoodFolder && labels[j] != GoodFolder })
	for _, label := range labels {
		paths, err := imagesIn(filepath.Join(testDir, label))
		if err != nil {
			return c, fmt.Errorf("read dataset category %q: %w", name, err)
		}
		defect := label
		if label == GoodFolder {
			defect = ""
		}
		for _, p := range paths {
			c.Images = append(c.Images, Labelled{Path: p, Defect: defect})
		}
	}
	if len(c.Images) == 0 {
		return c, fmt.Errorf("read dataset category %q: %s holds no images in label folders; %s", name, testDir, layoutHelp)
	}
	if len(labels) > 0 && labels[0] != GoodFolder {
		log.Warn("category has no test/good folder: AUROC needs good images and will be n/a", "category", name)
	}
	return c, nil
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
