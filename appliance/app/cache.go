package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/boltfile"
)

// CacheFile is the prompt-embedding cache in the data directory.
const CacheFile = "text-embeddings.db"

// RepairCache removes a damaged prompt-embedding cache, so that opening it
// makes a new one: it only holds what the text encoder can compute again,
// and bbolt would crash on it. The file is small, so every page is read.
// It returns the damage found, nil when the cache is sound or absent.
func RepairCache(dataDir string, log *slog.Logger) error {
	path := filepath.Join(dataDir, CacheFile)
	// Held while checking and removing: a file another process writes is
	// never judged half-written. If one holds it, opening it says so.
	release, err := boltfile.Lock(path, true, 0)
	if err != nil {
		return nil
	}
	defer release()
	damage := boltfile.Preflight(path)
	if damage == nil {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			damage = walkCache(path)
		}
	}
	if damage == nil {
		return nil
	}
	if !errors.Is(damage, boltfile.ErrDamaged) {
		return fmt.Errorf("check text-embedding cache: %w", damage)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove the damaged text-embedding cache: %w (it is: %v)", err, damage)
	}
	log.Warn("text-embedding cache damaged: removed; the prompts are encoded again", "path", path, "damage", damage)
	return damage
}

func walkCache(path string) error {
	f, err := boltfile.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if problems := f.Walk(func(boltfile.Entry) bool { return true }); len(problems) > 0 {
		return &boltfile.Damage{Path: path, Reason: strings.Join(problems[:min(3, len(problems))], "; ")}
	}
	return nil
}

// openCacheRepaired opens the cache, first removing it if damaged.
func openCacheRepaired(dataDir string, log *slog.Logger) (*defects.Cache, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if err := RepairCache(dataDir, log); err != nil && !errors.Is(err, boltfile.ErrDamaged) {
		return nil, err
	}
	return OpenCache(dataDir)
}
