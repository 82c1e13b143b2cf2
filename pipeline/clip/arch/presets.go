package arch

import (
	"fmt"
	"sort"
	"strings"
)

func preset(proj, vW, vL, vH, img, patch, tW, tL, tH int) Config {
	c := Config{
		ProjectionDim: proj,
		VisionConfig: VisionConfig{
			HiddenSize: vW, IntermediateSize: 4 * vW, NumHiddenLayers: vL, NumAttentionHeads: vH,
			ImageSize: img, PatchSize: patch,
		},
		TextConfig: TextConfig{
			HiddenSize: tW, IntermediateSize: 4 * tW, NumHiddenLayers: tL, NumAttentionHeads: tH,
		},
	}
	c.applyDefaults()
	return c
}

// presets holds the shapes of OpenAI's published CLIP models, plus a tiny one
// for tests. Weights are not part of a preset.
var presets = map[string]Config{
	// tiny keeps the real vocabulary and context so real prompts tokenise into it.
	"tiny":         preset(16, 32, 2, 4, 32, 8, 32, 2, 4),
	"vit-b-32":     preset(512, 768, 12, 12, 224, 32, 512, 12, 8),
	"vit-b-16":     preset(512, 768, 12, 12, 224, 16, 512, 12, 8),
	"vit-l-14":     preset(768, 1024, 24, 16, 224, 14, 768, 12, 12),
	"vit-l-14-336": preset(768, 1024, 24, 16, 336, 14, 768, 12, 12),
}

// Preset returns the configuration of a named architecture.
func Preset(name string) (Config, error) {
	c, ok := presets[strings.ToLower(name)]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(PresetNames(), ", "))
	}
	return c, nil
}

// PresetNames lists the preset names in sorted order.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
