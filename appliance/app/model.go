// Package app wires the appliance together: it opens the model and the
// defect classes a configuration names, builds the cameras, the inspection
// loop and its sinks, and runs them as one group.
package app

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/boltfile"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/inspect"
)

// OpenModel loads ONNX Runtime and the configured model bundle variant.
func OpenModel(m config.Model, log *slog.Logger) (*clip.Model, error) {
	if err := engine.Init(m.ORTLibrary); err != nil {
		return nil, err
	}
	model, err := clip.Open(m.Bundle, clip.Options{
		Variant: m.Variant,
		Session: engine.SessionOptions{IntraOpThreads: m.Threads, Providers: m.Providers, Logger: log, SpinWait: m.SpinWait},
	})
	if err != nil {
		return nil, err
	}
	log.Info("model ready", "bundle", m.Bundle, "variant", model.Variant, "digest", model.Digest,
		"provider", model.Vision.Provider(), "onnxruntime", engine.Version())
	return model, nil
}

// OpenCache opens the prompt-embedding cache in the data directory. A
// damaged file (bbolt would crash on it) is refused with what to do; the
// appliance's start removes and rebuilds it (RepairCache).
func OpenCache(dataDir string) (*defects.Cache, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dataDir, CacheFile)
	if err := preflightCache(path); err != nil {
		return nil, err
	}
	return defects.OpenCache(path)
}

// preflightCache refuses a damaged cache file before bbolt maps it.
func preflightCache(path string) error {
	if err := boltfile.Preflight(path); err != nil {
		return fmt.Errorf("open text-embedding cache: %w; it holds only what can be computed again: delete it, or start the appliance, which rebuilds it", err)
	}
	return nil
}

// OpenToolCache opens the prompt-embedding cache for a command that may run
// beside the appliance on the same data directory (inspect, eval, journal
// rescore): while a running appliance holds the file, the command gets a
// cache in memory (see defects.OpenCacheOrMemory).
func OpenToolCache(dataDir string, log *slog.Logger) (*defects.Cache, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dataDir, CacheFile)
	if err := preflightCache(path); err != nil {
		return nil, err
	}
	return defects.OpenCacheOrMemory(path, log)
}

// PrepareScorers builds each camera's scorer from the defect classes, taking
// prompt embeddings from the cache and encoding only the new ones.
func PrepareScorers(cfg *config.Config, classes *defects.File, model *clip.Model, cache *defects.Cache) (inspect.Scorers, error) {
	scorers := inspect.Scorers{}
	byCamera := map[string]*defects.Scorer{} // one scorer per set, shared
	for _, cam := range cfg.Cameras {
		for _, r := range cam.Regions {
			set, err := cam.RegionSet(classes, cfg.Line, r)
			if err != nil {
				return nil, fmt.Errorf("camera %q: %w", cam.ID, err)
			}
			s, ok := byCamera[set.Name]
			if !ok {
				if s, err = defects.Prepare(set, cache, model, model.Digest, model.LogitScale); err != nil {
					return nil, fmt.Errorf("camera %q region %q: %w", cam.ID, r.Name, err)
				}
				byCamera[set.Name] = s
			}
			scorers[inspect.RegionKey(cam.ID, r.Name)] = s
		}
		if len(cam.Regions) > 0 {
			continue
		}
		set, err := classes.SetFor(cam.Name(cfg.Line))
		if err != nil {
			return nil, fmt.Errorf("camera %q: %w", cam.ID, err)
		}
		s, ok := byCamera[set.Name]
		if !ok {
			s, err = defects.Prepare(set, cache, model, model.Digest, model.LogitScale)
			if err != nil {
				return nil, fmt.Errorf("camera %q: %w", cam.ID, err)
			}
			byCamera[set.Name] = s
		}
		scorers[cam.ID] = s
	}
	return scorers, nil
}
