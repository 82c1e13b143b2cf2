// Package clip puts a model bundle to work: it opens the bundle's sessions,
// tokenizer and preprocessing, and turns images and prompts into embeddings
// and zero-shot probabilities.
package clip

import (
	"fmt"
	"image"
	"log/slog"
	"math"

	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
)

// Options select what to load and how to run it.
type Options struct {
	Variant string // "" or "fp32", "fp16", "int8", ... as the bundle holds
	Session engine.SessionOptions
	// NoText skips the text encoder, for processes that only read cached prompt embeddings.
	NoText bool
	// NoVision skips the image encoder.
	NoVision bool
}

// Model is an opened bundle ready to embed.
type Model struct {
	Bundle     *bundle.Bundle
	Variant    string
	Digest     string
	LogitScale float64
	Vision     *engine.Vision // nil with NoVision
	Text       *engine.Text   // nil with NoText
	Tokenizer  *tokenizer.Tokenizer
	Preprocess *preprocess.Preprocessor

	files   bundle.Files
	session engine.SessionOptions
}

// Open loads a bundle variant. ONNX Runtime must be initialised (engine.Init).
func Open(dir string, opts Options) (*Model, error) {
	log := opts.Session.Logger
	if log == nil {
		log = slog.Default()
	}
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	variant := opts.Variant
	if variant == "" {
		variant = bundle.FP32
	}
	files, err := b.Files(variant)
	if err != nil {
		return nil, err
	}
	digest, err := b.Digest(variant)
	if err != nil {
		return nil, err
	}
	m := &Model{Bundle: b, Variant: variant, Digest: digest, files: files, session: opts.Session}
	if b.Provenance.Synthetic {
		log.Warn("this model has seeded random weights: its verdicts mean nothing. Import a real CLIP checkpoint with `linesight model import` (docs/models.md)",
			"bundle", dir, "preset", b.Provenance.Preset)
	}
	var recorded bool
	m.LogitScale, recorded = b.Config.TrainedLogitScale()
	if !recorded {
		log.Warn("bundle config records no trained logit_scale; using CLIP's 100", "bundle", dir)
	}
	if !opts.NoVision {
		if m.Vision, err = engine.OpenVision(files.Vision, opts.Session); err != nil {
			return nil, err
		}
		h, w := m.Vision.InputSize()
		if p := b.Preprocess; p.CropHeight != h || p.CropWidth != w {
			m.Close()
			return nil, fmt.Errorf("model bundle %s: %s crops %dx%d but the vision model takes %dx%d",
				dir, bundle.PreprocessorFile, p.CropWidth, p.CropHeight, w, h)
		}
		m.Preprocess = preprocess.New(b.Preprocess)
	}
	if !opts.NoText {
		if m.Tokenizer, err = b.Tokenizer(); err != nil {
			m.Close()
			return nil, err
		}
		if err := m.openText(); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

func (m *Model) openText() (err error) {
	m.Text, err = engine.OpenText(m.files.Text, m.Bundle.Config.TextConfig.MaxPositionEmbeddings, m.session)
	return err
}

// ReleaseText closes the text encoder to free its memory; EmbedTexts opens it
// again when next needed.
func (m *Model) ReleaseText() {
	if m.Text != nil {
		m.Text.Close()
		m.Text = nil
	}
}

// Close releases the sessions.
func (m *Model) Close() {
	if m.Vision != nil {
		m.Vision.Close()
	}
	if m.Text != nil {
		m.Text.Close()
	}
	if m.Preprocess != nil {
		m.Preprocess.Close()
	}
}

// EmbedImages preprocesses and encodes images in one batch, returning one
// projected (not normalised) embedding per image, in order.
func (m *Model) EmbedImages(imgs []image.Image) ([][]float32, error) {
	if m.Vision == nil {
		return nil, fmt.Errorf("embed images: the vision model is not loaded")
	}
	if len(imgs) == 0 {
		return nil, nil
	}
	batch := preprocess.NewBatch(len(imgs), m.Bundle.Preprocess)
	for i, img := range imgs {
		if err := m.Preprocess.Image(img, batch.Slot(i)); err != nil {
			return nil, fmt.Errorf("preprocess image %d: %w", i, err)
		}
	}
	batch.SetLen(len(imgs))
	out, err := m.Vision.Embed(batch.Data(), len(imgs))
	if err != nil {
		return nil, err
	}
	return split(out, len(imgs), m.Vision.Dim()), nil
}

// EmbedTexts tokenises and encodes prompts, returning one projected (not
// normalised) embedding per prompt, in order.
func (m *Model) EmbedTexts(texts []string) ([][]float32, error) {
	if m.Text == nil {
		if m.Tokenizer == nil {
			return nil, fmt.Errorf("embed texts: the model was opened without its text encoder")
		}
		if err := m.openText(); err != nil {
			return nil, fmt.Errorf("embed texts: reopen the text encoder: %w", err)
		}
	}
	rows := make([][]int64, len(texts))
	for i, t := range texts {
		ids, err := m.Tokenizer.Tokenize(t, m.Text.Context())
		if err != nil {
			return nil, fmt.Errorf("tokenize prompt %d %q: %w", i, t, err)
		}
		rows[i] = ids
	}
	out, err := m.Text.Embed(rows)
	if err != nil {
		return nil, err
	}
	return split(out, len(texts), m.Text.Dim()), nil
}

func split(flat []float32, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = append([]float32(nil), flat[i*dim:(i+1)*dim]...)
	}
	return out
}

// Probabilities is CLIP's zero-shot classifier: the softmax over classes of
// logitScale * cos(image, class).
func Probabilities(image []float32, classes [][]float32, logitScale float64) []float64 {
	logits := make([]float64, len(classes))
	for i, c := range classes {
		logits[i] = logitScale * Cosine(image, c)
	}
	return Softmax(logits)
}

// Cosine is the cosine similarity of two vectors, in float64.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Softmax is a numerically stable softmax.
func Softmax(logits []float64) []float64 {
	if len(logits) == 0 {
		return nil
	}
	m := logits[0]
	for _, l := range logits {
		m = math.Max(m, l)
	}
	out := make([]float64, len(logits))
	var sum float64
	for i, l := range logits {
		out[i] = math.Exp(l - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
