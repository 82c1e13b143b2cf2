// Package config reads the appliance's YAML configuration. Decoding is strict:
// unknown keys and wrong types are errors naming the file and line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/linesight/linesight/pipeline/clip/engine"
)

// Model selects and tunes the CLIP model.
type Model struct {
	// Bundle is the model bundle directory.
	Bundle string `yaml:"bundle"`
	// Variant is the bundle variant: fp32 (default), fp16, int8, ...
	Variant string `yaml:"variant"`
	// ORTLibrary is the path of libonnxruntime.so.1; empty means
	// $LINESIGHT_ORT_LIB, then engine.DefaultLibraryPath.
	ORTLibrary string `yaml:"ort_library"`
	// Threads is ONNX Runtime's intra-op thread count; 0 lets it choose.
	Threads int `yaml:"threads"`
	// Providers are tried in order; the CPU is always the last resort.
	Providers []engine.Provider `yaml:"providers"`
}

// Config is the appliance configuration file.
type Config struct {
	Model Model `yaml:"model"`
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates configuration YAML.
func Parse(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate reports every invalid value at once.
func (c *Config) Validate() error {
	var errs []string
	if c.Model.Threads < 0 {
		errs = append(errs, fmt.Sprintf("model.threads: %d is negative (0 lets ONNX Runtime choose)", c.Model.Threads))
	}
	for i, p := range c.Model.Providers {
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Sprintf("model.providers[%d]: %v", i, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
