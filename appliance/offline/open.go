package offline

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/pipeline/clip"
)

// Setup is an inspector ready to run on the configuration's model and one
// camera's defect classes.
type Setup struct {
	Config    *config.Config
	Model     *clip.Model
	Inspector *Inspector
}

// Open loads the appliance configuration (the defect-class file with it),
// the model, and the prompt-embedding cache in the data directory, and
// prepares the scorer of camera, or of the first camera when camera is "".
func Open(configPath, camera string, log *slog.Logger) (*Setup, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	if cfg.Classes() == nil {
		return nil, fmt.Errorf("config %s: no defects file: set `defects:` to the defect-class file", configPath)
	}
	if len(cfg.Cameras) == 0 {
		return nil, fmt.Errorf("config %s: no cameras: images are scored with a camera's defect classes, so define at least one under `cameras:`", configPath)
	}
	camera, err = pickCamera(cfg, camera)
	if err != nil {
		return nil, err
	}
	model, err := app.OpenModel(cfg.Model, log)
	if err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	cache, err := app.OpenToolCache(cfg.DataDir, log)
	if err != nil {
		model.Close()
		return nil, err
	}
	// The cache is only needed while the prompts are embedded; closing it
	// at once lets a running appliance take the file lock again.
	scorers, err := app.PrepareScorers(cfg, cfg.Classes(), model, cache)
	if cerr := cache.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		model.Close()
		return nil, fmt.Errorf("prepare defect classes: %w", err)
	}
	model.ReleaseText()
	s := scorers[camera]
	log.Info("defect classes ready", "camera", camera, "set", s.Set().Name, "defects_hash", s.ConfigHash())
	return &Setup{
		Config: cfg,
		Model:  model,
		Inspector: &Inspector{
			Embedder:  model,
			Scorer:    s,
			Camera:    camera,
			BatchSize: cfg.Pipeline.BatchSize,
		},
	}, nil
}

// Close releases the model.
func (s *Setup) Close() { s.Model.Close() }

func pickCamera(cfg *config.Config, id string) (string, error) {
	if id == "" {
		return cfg.Cameras[0].ID, nil
	}
	ids := make([]string, len(cfg.Cameras))
	for i, c := range cfg.Cameras {
		if c.ID == id {
			return id, nil
		}
		ids[i] = c.ID
	}
	return "", fmt.Errorf("camera %q is not in config %s (cameras: %s)", id, cfg.File, strings.Join(ids, ", "))
}
