package offline

import (
	"context"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
)

// Embedder turns decoded images into embeddings, one per image in order;
// *clip.Model is one.
type Embedder interface {
	EmbedImages(imgs []image.Image) ([][]float32, error)
}

// Inspector scores image files with one camera's defect classes, as the
// appliance would score that camera's frames.
type Inspector struct {
	Embedder Embedder
	Scorer   *defects.Scorer
	// Camera names the camera whose classes score the images; it goes into
	// every verdict.
	Camera string
	// BatchSize is how many images one model call takes (at least 1).
	BatchSize int
	// Load decodes an image file; nil means cvmat.LoadImageFile (JPEG
	// decoded as Pillow does).
	Load func(path string) (image.Image, error)
	// Progress, when set, is called after each batch with the images done.
	Progress func(done int)
	// Anomaly, when set, also makes each image's anomaly map, from the same
	// model run as its embedding; images then run one at a time.
	Anomaly *AnomalyMaps
}

// PatchEmbedder runs images with their patch outputs; *clip.Model is one.
type PatchEmbedder interface {
	EmbedPatches(imgs []image.Image) ([]clip.Patches, error)
}

// AnomalyMaps is what an Inspector makes anomaly maps with.
type AnomalyMaps struct {
	Model    PatchEmbedder
	Detector anomaly.Detector
}

// Item is the inspection of one image file.
type Item struct {
	Path string
	// Seq is the image's position in the run, from 1; Verdict.Seq too.
	Seq int
	// Verdict is set when Err is nil.
	Verdict defects.Verdict
	// DefectScore is the probability that the part is defective: the score
	// to rank images by. NaN when there is none: Err is set, or the
	// embedding could not be scored (an UNCERTAIN verdict with a reason).
	DefectScore float64
	// Size is the decoded image's size (zero when it could not be read).
	Size image.Point
	// Maps are the image's anomaly maps when the Inspector has Anomaly and
	// Err is nil.
	Maps *anomaly.Maps
	// Err says why the image could not be inspected (unreadable, not an
	// image, rejected by preprocessing).
	Err error
}

// Run inspects paths in order and hands each result to emit, in the same
// order. An image that cannot be inspected becomes an Item with Err and the
// run goes on; Run stops early only when ctx ends, emit fails, or the model
// fails on images it could read.
func (in *Inspector) Run(ctx context.Context, paths []string, emit func(Item) error) error {
	size := max(in.BatchSize, 1)
	load := in.Load
	if load == nil {
		load = cvmat.LoadImageFile
	}
	for start := 0; start < len(paths); start += size {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("inspect images: stopped after %d of %d: %w", start, len(paths), err)
		}
		end := min(start+size, len(paths))
		items, err := in.batch(paths[start:end], start, load)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := emit(it); err != nil {
				return err
			}
		}
		if in.Progress != nil {
			in.Progress(end)
		}
	}
	return nil
}

// batch inspects paths, the first of which is image number offset+1.
func (in *Inspector) batch(paths []string, offset int, load func(string) (image.Image, error)) ([]Item, error) {
	items := make([]Item, len(paths))
	var imgs []image.Image
	var slots []int // index in items of each decoded image
	loadedAt := time.Now()
	for i, p := range paths {
		items[i] = Item{Path: p, Seq: offset + i + 1, DefectScore: math.NaN()}
		img, err := load(p)
		if err != nil {
			items[i].Err = err
			continue
		}
		items[i].Size = img.Bounds().Size()
		imgs = append(imgs, img)
		slots = append(slots, i)
	}
	var embeds [][]float32
	var err error
	if in.Anomaly != nil {
		embeds = in.withMaps(imgs, slots, items)
	} else {
		embeds, err = in.Embedder.EmbedImages(imgs)
	}
	if err != nil {
		// One image the preprocessor refuses fails the whole batch: embed
		// them one at a time to tell which. If even single images fail the
		// model itself is broken, and going on would only repeat the error.
		embeds, err = in.oneByOne(imgs, slots, items)
		if err != nil {
			return nil, err
		}
	}
	inferredAt := time.Now()
	for k, i := range slots {
		if embeds[k] == nil {
			continue
		}
		r := in.Scorer.Score(embeds[k])
		c := defects.Capture{Camera: in.Camera, Seq: uint64(items[i].Seq), CapturedAt: loadedAt}
		items[i].Verdict = in.Scorer.NewVerdict(c, r, embeds[k], inferredAt)
		// An embedding the scorer cannot use has no scores and a zero defect
		// score, which would rank it as the best of parts: leave it unranked.
		if len(r.Scores) > 0 {
			items[i].DefectScore = r.DefectScore
		}
	}
	return items, nil
}

// oneByOne embeds images singly, recording each failure on its item and
// leaving its embedding nil. When several images all fail alone too, the
// model rather than an image is at fault, and it gives up.
func (in *Inspector) oneByOne(imgs []image.Image, slots []int, items []Item) ([][]float32, error) {
	embeds := make([][]float32, len(imgs))
	var lastErr error
	ok := 0
	for k, img := range imgs {
		e, err := in.Embedder.EmbedImages([]image.Image{img})
		if err != nil {
			items[slots[k]].Err = fmt.Errorf("embed image %q: %w", items[slots[k]].Path, err)
			lastErr = err
			continue
		}
		embeds[k] = e[0]
		ok++
	}
	if ok == 0 && len(imgs) > 1 {
		return nil, fmt.Errorf("embed images: every image of the batch failed: %w", lastErr)
	}
	return embeds, nil
}

// withMaps runs images one at a time with their patch outputs, setting each
// item's maps and returning the embeddings (nil for an image that failed,
// whose item gets the error).
func (in *Inspector) withMaps(imgs []image.Image, slots []int, items []Item) [][]float32 {
	embeds := make([][]float32, len(imgs))
	for k, img := range imgs {
		it := &items[slots[k]]
		out, err := in.Anomaly.Model.EmbedPatches([]image.Image{img})
		if err != nil {
			it.Err = fmt.Errorf("embed image %q: %w", it.Path, err)
			continue
		}
		p := out[0]
		var tokens [][]float32
		if bank := in.Anomaly.Detector.Bank; bank != nil {
			for _, l := range bank.Layers() {
				tokens = append(tokens, p.Tokens[l])
			}
		}
		maps, err := in.Anomaly.Detector.Maps(tokens, p.Dense, p.Grid*p.Grid)
		if err != nil {
			it.Err = fmt.Errorf("anomaly map of %q: %w", it.Path, err)
			continue
		}
		it.Maps = &maps
		embeds[k] = p.Embedding
	}
	return embeds
}
