package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/linesight/linesight/pipeline/clip"
)

// classification is one image's line of `linesight classify` output.
type classification struct {
	Image         string    `json:"image"`
	Prompts       []string  `json:"prompts"`
	Probabilities []float64 `json:"probabilities"`
	Best          string    `json:"best"`
	Model         string    `json:"model"`
}

func classify(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("classify", stdio)
	var ef engineFlags
	ef.register(fs)
	var prompts stringList
	fs.Var(&prompts, "prompt", "a class prompt (repeat for each class)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(prompts) < 2 || fs.NArg() == 0 {
		return fmt.Errorf("need at least two --prompt and one IMAGE")
	}
	m, err := ef.open(stdio, false, false)
	if err != nil {
		return err
	}
	defer m.Close()
	classes, err := m.EmbedTexts(prompts)
	if err != nil {
		return err
	}
	imgs, err := loadImages(fs.Args())
	if err != nil {
		return err
	}
	embeds, err := m.EmbedImages(imgs)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdio.Out)
	for i, e := range embeds {
		probs := clip.Probabilities(e, classes, m.LogitScale)
		best := 0
		for j, p := range probs {
			if p > probs[best] {
				best = j
			}
		}
		if err := enc.Encode(classification{
			Image: fs.Arg(i), Prompts: prompts, Probabilities: probs, Best: prompts[best], Model: m.Digest,
		}); err != nil {
			return err
		}
	}
	return nil
}
