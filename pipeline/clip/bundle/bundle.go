// Package bundle reads and writes CLIP model bundles in the Hugging Face /
// Optimum layout, so a model downloaded from a hub drops straight in:
//
//	config.json                 the CLIPModel config
//	preprocessor_config.json    image size, mean and std
//	tokenizer files             tokenizer.json, vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz
//	onnx/vision_model.onnx      pixel_values -> image_embeds
//	onnx/text_model.onnx        input_ids [+ attention_mask] -> text_embeds
//	onnx/vision_model_fp16.onnx variants by suffix (_fp16, _int8, _quantized, ...)
package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
)

// File and directory names of the layout.
const (
	ConfigFile       = "config.json"
	ProvenanceFile   = "linesight.json"
	PreprocessorFile = "preprocessor_config.json"
	ModelDir         = "onnx"
	visionStem       = "vision_model"
	textStem         = "text_model"
)

// FP32 is the variant name of the unsuffixed models.
const FP32 = "fp32"

// Files are the two model files of one variant.
type Files struct {
	Vision string
	Text   string
}

// Bundle is an opened model bundle.
type Bundle struct {
	Dir        string
	Config     arch.Config
	Preprocess preprocess.Params
	// Provenance says where the weights came from, for bundles LineSight
	// wrote; zero for others.
	Provenance Provenance
	variants   map[string]Files
}

// Provenance records how a bundle was made.
type Provenance struct {
	// Synthetic bundles have seeded random weights: their verdicts mean nothing.
	Synthetic bool   `json:"synthetic,omitempty"`
	Preset    string `json:"preset,omitempty"`
	Seed      uint64 `json:"seed,omitempty"`
	// ImportedFrom is the checkpoint directory an imported bundle came from.
	ImportedFrom string `json:"imported_from,omitempty"`
	// PatchLayers are the layers whose patch tokens (patch_tokens.<l>) the
	// vision models return for golden-sample anomaly maps; the models' own
	// outputs are what the engine goes by.
	PatchLayers []int `json:"patch_layers,omitempty"`
	// Distilled says how a distilled student was made; nil for others.
	Distilled *Distillation `json:"distilled,omitempty"`
	// CalibrationImages is how many images calibrated the int8static
	// variant's input ranges; 0 without that variant.
	CalibrationImages int `json:"calibration_images,omitempty"`
}

// Distillation is a student bundle's provenance: whose embeddings it
// learned, from how many images, in how many steps (docs/distill.md).
type Distillation struct {
	Teacher        string  `json:"teacher"`         // the teacher's bundle directory
	TeacherDigest  string  `json:"teacher_digest"`  // its vision model's digest, the variant taught with
	TeacherVariant string  `json:"teacher_variant"` // that variant
	Student        string  `json:"student"`         // the student's architecture: preset or spec
	Init           string  `json:"init,omitempty"`  // the checkpoint it started from; empty: random
	Images         int     `json:"images"`          // trained on
	HeldOut        int     `json:"held_out"`        // never trained on
	Steps          int     `json:"steps"`
	CosineAfter    float64 `json:"cosine_after"` // held-out mean cosine to the teacher
}

// Open reads a bundle's configs and finds its variants. It does not load models.
func Open(dir string) (*Bundle, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open model bundle: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open model bundle %s: not a directory", dir)
	}
	b := &Bundle{Dir: dir}
	b.Config, err = arch.LoadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("open model bundle %s: %w", dir, err)
	}
	b.Preprocess, err = loadPreprocess(dir, b.Config)
	if err != nil {
		return nil, fmt.Errorf("open model bundle %s: %w", dir, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, ProvenanceFile)); err == nil {
		if err := json.Unmarshal(data, &b.Provenance); err != nil {
			return nil, fmt.Errorf("open model bundle %s: %s: %w", dir, ProvenanceFile, err)
		}
	}
	b.variants, err = findVariants(filepath.Join(dir, ModelDir))
	if err != nil {
		return nil, fmt.Errorf("open model bundle %s: %w", dir, err)
	}
	return b, nil
}

// loadPreprocess reads preprocessor_config.json; a bundle without one gets
// OpenAI's transform at the model's image size.
func loadPreprocess(dir string, cfg arch.Config) (preprocess.Params, error) {
	path := filepath.Join(dir, PreprocessorFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		p := preprocess.DefaultParams()
		p.ShortestEdge = cfg.VisionConfig.ImageSize
		p.CropHeight, p.CropWidth = cfg.VisionConfig.ImageSize, cfg.VisionConfig.ImageSize
		return p, nil
	}
	if err != nil {
		return preprocess.Params{}, fmt.Errorf("read %s: %w", PreprocessorFile, err)
	}
	p, err := preprocess.ParseProcessorConfig(data)
	if err != nil {
		return preprocess.Params{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// findVariants pairs onnx/vision_model<suffix>.onnx with text_model<suffix>.onnx.
func findVariants(modelDir string) (map[string]Files, error) {
	entries, err := os.ReadDir(modelDir)
	if err != nil {
		return nil, fmt.Errorf("list models: %w (a bundle keeps its models in %s/)", err, ModelDir)
	}
	visions := map[string]string{}
	texts := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".onnx") {
			continue
		}
		stem := strings.TrimSuffix(name, ".onnx")
		switch {
		case strings.HasPrefix(stem, visionStem):
			visions[variantName(strings.TrimPrefix(stem, visionStem))] = filepath.Join(modelDir, name)
		case strings.HasPrefix(stem, textStem):
			texts[variantName(strings.TrimPrefix(stem, textStem))] = filepath.Join(modelDir, name)
		}
	}
	vs := map[string]Files{}
	for v, vision := range visions {
		if text, ok := texts[v]; ok {
			vs[v] = Files{Vision: vision, Text: text}
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no model pair in %s: want %s.onnx and %s.onnx (or the same with a variant suffix)", modelDir, visionStem, textStem)
	}
	return vs, nil
}

// variantName maps a file suffix to a variant: "" is fp32, "_fp16" is fp16.
func variantName(suffix string) string {
	if suffix == "" {
		return FP32
	}
	return strings.TrimPrefix(suffix, "_")
}

// Suffix is the file-name suffix of a variant.
func Suffix(variant string) string {
	if variant == FP32 || variant == "" {
		return ""
	}
	return "_" + variant
}

// Variants lists the variants present, fp32 first.
func (b *Bundle) Variants() []string {
	var vs []string
	for v := range b.variants {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if (vs[i] == FP32) != (vs[j] == FP32) {
			return vs[i] == FP32
		}
		return vs[i] < vs[j]
	})
	return vs
}

// Files returns the model files of a variant ("" means fp32).
func (b *Bundle) Files(variant string) (Files, error) {
	if variant == "" {
		variant = FP32
	}
	f, ok := b.variants[variant]
	if !ok {
		return Files{}, fmt.Errorf("model bundle %s has no variant %q (it has: %s)", b.Dir, variant, strings.Join(b.Variants(), ", "))
	}
	return f, nil
}

// Tokenizer loads the bundle's tokenizer files.
func (b *Bundle) Tokenizer() (*tokenizer.Tokenizer, error) {
	t, err := tokenizer.FromDir(b.Dir)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", b.Dir, err)
	}
	return t, nil
}

// Check says what a bundle lacks for a variant, without loading any model:
// the folder, a readable config.json (and preprocessor_config.json when
// present), the variant's two model files, and tokenizer files. Every
// problem is reported, one error each, joined.
func Check(dir, variant string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("model bundle folder %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("model bundle folder %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("model bundle %s is not a folder", dir)
	}
	var problems []error
	cfg, err := arch.LoadConfig(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		problems = append(problems, fmt.Errorf("model bundle %s has no %s", dir, ConfigFile))
	} else if err != nil {
		problems = append(problems, fmt.Errorf("model bundle %s: %w", dir, err))
	} else if _, err := loadPreprocess(dir, cfg); err != nil {
		problems = append(problems, fmt.Errorf("model bundle %s: %w", dir, err))
	}
	if variant == "" {
		variant = FP32
	}
	modelDir := filepath.Join(dir, ModelDir)
	if st, err := os.Stat(modelDir); err != nil || !st.IsDir() {
		problems = append(problems, fmt.Errorf("model bundle %s has no %s/ folder for its model files", dir, ModelDir))
	} else {
		var missing []string
		for _, stem := range []string{visionStem, textStem} {
			name := stem + Suffix(variant) + ".onnx"
			if !fileExists(filepath.Join(modelDir, name)) {
				missing = append(missing, filepath.Join(ModelDir, name))
			}
		}
		if len(missing) > 0 {
			have := "none"
			if vs, err := findVariants(modelDir); err == nil {
				have = strings.Join((&Bundle{variants: vs}).Variants(), ", ")
			}
			problems = append(problems, fmt.Errorf("model bundle %s lacks %s of variant %s (variants present: %s)",
				dir, strings.Join(missing, " and "), variant, have))
		}
	}
	if err := tokenizer.CheckDir(dir); err != nil {
		problems = append(problems, fmt.Errorf("model bundle: %w", err))
	}
	return errors.Join(problems...)
}

// ModelFile is the name, in ModelDir, of a tower's model of the variant
// whose file suffix is suffix ("" for fp32; Suffix).
func ModelFile(tower arch.Tower, suffix string) string {
	stem := visionStem
	if tower == arch.Text {
		stem = textStem
	}
	return stem + suffix + ".onnx"
}
