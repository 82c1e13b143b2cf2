package benchmodels

import (
	"fmt"
	"math"
	"os"

	"github.com/linesight/linesight/defects"
)

// builtinDefects is the generic class set used when no --defects file is
// given: the defect kinds of the synthetic line in words any part fits.
const builtinDefects = `version: 1
templates:
  - "a photo of a {} part"
  - "a close-up photo of a {} manufactured part"
sets:
  generic:
    uncertain: escalate
    good:
      states: [flawless, perfect, clean]
      threshold: 0.5
    defects:
      - name: scratch
        states: [scratched]
        threshold: 0.4
      - name: dent
        states: [dented]
        threshold: 0.4
      - name: missing_component
        prompts: ["a photo of a part with a missing component"]
        threshold: 0.4
      - name: discolouration
        states: [discoloured, stained]
        threshold: 0.4
      - name: contamination
        states: [dirty, contaminated]
        threshold: 0.4
cameras:
  default: generic
`

// loadClassSet reads the class set of a defect file: the set named set, or
// the one the file maps the default camera to. An empty path means the
// built-in generic set.
func loadClassSet(path, set string) (*defects.ClassSet, error) {
	var f *defects.File
	var err error
	if path == "" {
		f, err = defects.Parse("built-in generic classes", []byte(builtinDefects))
	} else {
		var data []byte
		if data, err = os.ReadFile(path); err == nil {
			f, err = defects.Parse(path, data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("defect classes for verdict agreement: %w", err)
	}
	if set == "" {
		set = f.Cameras[defects.DefaultCamera]
	}
	s, ok := f.Sets[set]
	if !ok {
		return nil, fmt.Errorf("defect classes %s: no set %q (name one with --set, or map the default camera)", f.Name, set)
	}
	return s, nil
}

// prompts lists every prompt of the set, class by class, as Prepare embeds them.
func prompts(set *defects.ClassSet) []string {
	var ps []string
	for _, c := range set.Classes {
		ps = append(ps, c.Prompts...)
	}
	return ps
}

// fixedEncoder answers EmbedTexts from embeddings computed in a child.
type fixedEncoder map[string][]float32

func (e fixedEncoder) EmbedTexts(texts []string) ([][]float32, error) {
	rows := make([][]float32, len(texts))
	for i, t := range texts {
		r, ok := e[t]
		if !ok {
			return nil, fmt.Errorf("no embedding for prompt %q", t)
		}
		rows[i] = r
	}
	return rows, nil
}

// Agreement is how closely a variant follows fp32 on the same images.
type Agreement struct {
	Images int `json:"images"`
	// CosineMean and CosineMin are over the images' embeddings, variant
	// against fp32.
	CosineMean float64 `json:"cosine_mean"`
	CosineMin  float64 `json:"cosine_min"`
	// VerdictAgreement is the fraction of images whose verdict (outcome and
	// deciding class) equals fp32's, each variant scoring with its own text
	// embeddings of the class prompts, as the appliance would.
	VerdictAgreement float64 `json:"verdict_agreement"`
}

// scorerFor builds the class scorer a variant would run with.
func scorerFor(set *defects.ClassSet, r *ChildResult) (*defects.Scorer, error) {
	ps := prompts(set)
	if len(r.PromptEmbeds) != len(ps) {
		return nil, fmt.Errorf("%d prompt embeddings for %d prompts", len(r.PromptEmbeds), len(ps))
	}
	enc := fixedEncoder{}
	for i, p := range ps {
		enc[p] = r.PromptEmbeds[i]
	}
	return defects.Prepare(set, nil, enc, r.Digest, r.LogitScale)
}

// agree compares a variant's embeddings and verdicts with fp32's. Images
// that either side could not read are left out.
func agree(set *defects.ClassSet, ref, got *ChildResult) (Agreement, error) {
	refScorer, err := scorerFor(set, ref)
	if err != nil {
		return Agreement{}, fmt.Errorf("fp32 scorer: %w", err)
	}
	gotScorer, err := scorerFor(set, got)
	if err != nil {
		return Agreement{}, fmt.Errorf("variant scorer: %w", err)
	}
	if len(ref.ImageEmbeds) != len(got.ImageEmbeds) {
		return Agreement{}, fmt.Errorf("%d embeddings against fp32's %d", len(got.ImageEmbeds), len(ref.ImageEmbeds))
	}
	a := Agreement{CosineMin: math.Inf(1)}
	var sum float64
	same := 0
	for i := range ref.ImageEmbeds {
		r, g := ref.ImageEmbeds[i], got.ImageEmbeds[i]
		if r == nil || g == nil {
			continue
		}
		c := cosine(r, g)
		sum += c
		a.CosineMin = math.Min(a.CosineMin, c)
		a.Images++
		rv, gv := refScorer.Score(r), gotScorer.Score(g)
		if rv.Outcome == gv.Outcome && rv.Class == gv.Class {
			same++
		}
	}
	if a.Images == 0 {
		return Agreement{}, fmt.Errorf("no image could be embedded by both")
	}
	a.CosineMean = sum / float64(a.Images)
	a.VerdictAgreement = float64(same) / float64(a.Images)
	return a, nil
}
