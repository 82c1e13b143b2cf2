package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"strconv"
	"strings"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/defects/anomaly"
	"github.com/linesight/linesight/pipeline/clip"
)

// anomalyLine is one image's line of `linesight model anomaly` output.
type anomalyLine struct {
	Image    string    `json:"image"`
	Grid     [2]int    `json:"grid"`
	FewShot  []float64 `json:"fewshot,omitempty"`
	ZeroShot []float64 `json:"zeroshot,omitempty"`
	Map      []float64 `json:"map"`
	Score    float64   `json:"score"`
}

func modelAnomaly(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("model anomaly", stdio)
	var ef engineFlags
	ef.register(fs)
	layersFlag := fs.String("layers", "", "memory layers of the few-shot map, e.g. 12,18 (default: floor(L/2) and floor(3L/4) of the bundle's L blocks)")
	var golden, good, defect stringList
	fs.Var(&golden, "golden", "a golden (good) sample image for the few-shot map (repeatable)")
	fs.Var(&good, "good", "a prompt of the good class for the zero-shot map (repeatable)")
	fs.Var(&defect, "defect", "NAME=PROMPT: a prompt of defect class NAME for the zero-shot map (repeatable; prompts of one NAME form one class)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("need at least one IMAGE")
	}
	classes, err := promptClasses(good, defect)
	if err != nil {
		return err
	}
	if len(golden) == 0 && classes == nil {
		return fmt.Errorf("nothing to compare with: give --golden IMAGE and/or --good and --defect NAME=PROMPT")
	}
	if len(golden) == 0 && *layersFlag != "" {
		return fmt.Errorf("--layers %s: the layers are the few-shot map's, which needs --golden IMAGE", *layersFlag)
	}

	m, err := ef.open(stdio, false, classes == nil)
	if err != nil {
		return err
	}
	defer m.Close()
	var layers []int
	if len(golden) > 0 {
		if layers, err = parseLayers(*layersFlag, m.Bundle.Config.VisionConfig.DefaultMemoryLayers()); err != nil {
			return err
		}
	}
	if err := m.CheckPatches(layers, classes != nil); err != nil {
		return err
	}
	patches := m.Vision.Grid() * m.Vision.Grid()

	d := anomaly.Detector{Scale: m.LogitScale}
	if len(golden) > 0 {
		if d.Bank, err = goldenBank(m, golden, layers, patches); err != nil {
			return err
		}
		defer d.Bank.Close()
	}
	if classes != nil {
		if d.Classes, err = embedClasses(m, classes); err != nil {
			return err
		}
	}

	enc := json.NewEncoder(stdio.Out)
	for _, path := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		imgs, err := loadImages([]string{path})
		if err != nil {
			return err
		}
		out, err := m.EmbedPatches(imgs)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		maps, err := d.Maps(layerTokens(out[0], layers), out[0].Dense, patches)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		g := out[0].Grid
		if err := enc.Encode(anomalyLine{Image: path, Grid: [2]int{g, g},
			FewShot: maps.FewShot, ZeroShot: maps.ZeroShot, Map: maps.Map, Score: maps.Score}); err != nil {
			return err
		}
	}
	return nil
}

// promptClass is a zero-shot class and its prompts.
type promptClass struct {
	name    string
	prompts []string
}

// promptClasses gathers --good and --defect NAME=PROMPT into classes: the
// good class first, then each defect NAME in order of first appearance with
// all its prompts. nil when no prompts were given.
func promptClasses(good, defect []string) ([]promptClass, error) {
	if len(good) == 0 && len(defect) == 0 {
		return nil, nil
	}
	if len(good) == 0 || len(defect) == 0 {
		return nil, fmt.Errorf("the zero-shot map needs both --good PROMPT and at least one --defect NAME=PROMPT")
	}
	classes := []promptClass{{name: "good", prompts: good}}
	index := map[string]int{}
	for _, d := range defect {
		name, prompt, ok := strings.Cut(d, "=")
		name, prompt = strings.TrimSpace(name), strings.TrimSpace(prompt)
		if !ok || name == "" || prompt == "" {
			return nil, fmt.Errorf("--defect %q: want NAME=PROMPT", d)
		}
		i, seen := index[name]
		if !seen {
			i = len(classes)
			index[name] = i
			classes = append(classes, promptClass{name: name})
		}
		classes[i].prompts = append(classes[i].prompts, prompt)
	}
	return classes, nil
}

// parseLayers reads --layers ("12,18"), without repeats; empty gives def.
func parseLayers(s string, def []int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	var layers []int
	for _, f := range parseList(s) {
		l, err := strconv.Atoi(f)
		if err != nil || l < 0 {
			return nil, fmt.Errorf("--layers %q: %q is not a layer number", s, f)
		}
		if !slices.Contains(layers, l) { // S is a set: a repeated layer counts once
			layers = append(layers, l)
		}
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("--layers %q: no layers", s)
	}
	return layers, nil
}

// goldenBank embeds the golden images into a memory bank of layers.
func goldenBank(m *clip.Model, paths []string, layers []int, patches int) (*anomaly.Bank, error) {
	bank, err := anomaly.NewBank(layers, patches, m.Vision.PatchWidth())
	if err != nil {
		return nil, err
	}
	bank.SetSearcher(func(rows []float32, width int) (anomaly.Searcher, error) { return m.NewBankSearch(rows, width) })
	for _, path := range paths {
		imgs, err := loadImages([]string{path})
		if err != nil {
			return nil, fmt.Errorf("golden image: %w", err)
		}
		out, err := m.EmbedPatches(imgs)
		if err != nil {
			return nil, fmt.Errorf("golden image %s: %w", path, err)
		}
		if err := bank.Add(layerTokens(out[0], layers)); err != nil {
			return nil, fmt.Errorf("golden image %s: %w", path, err)
		}
	}
	return bank, nil
}

func layerTokens(p clip.Patches, layers []int) [][]float32 {
	tokens := make([][]float32, len(layers))
	for i, l := range layers {
		tokens[i] = p.Tokens[l]
	}
	return tokens
}

// embedClasses makes each class's embedding from its prompts as the
// image-level scorer does.
func embedClasses(m *clip.Model, classes []promptClass) ([][]float32, error) {
	var prompts []string
	for _, c := range classes {
		prompts = append(prompts, c.prompts...)
	}
	rows, err := m.EmbedTexts(prompts)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(classes))
	for i, c := range classes {
		if out[i], err = defects.ClassEmbedding(rows[:len(c.prompts)]); err != nil {
			return nil, fmt.Errorf("class %q: %w", c.name, err)
		}
		rows = rows[len(c.prompts):]
	}
	return out, nil
}
