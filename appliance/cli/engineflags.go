package cli

import (
	"flag"
	"fmt"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/engine"
)

// engineFlags are the flags of every command that runs a model. Flags win
// over the config file; the config wins over $LINESIGHT_ORT_LIB and defaults.
type engineFlags struct {
	config    string
	bundle    string
	variant   string
	ortLib    string
	threads   int
	providers string
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "appliance config file; its model section supplies defaults for the flags below")
	fs.StringVar(&f.bundle, "bundle", "", "model bundle directory")
	fs.StringVar(&f.variant, "variant", "", "bundle variant: fp32 (default), fp16, int8, ...")
	fs.StringVar(&f.ortLib, "ort-lib", "", "path of libonnxruntime.so.1 (default $"+engine.LibraryEnv+", then "+engine.DefaultLibraryPath+")")
	fs.IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads (0: one per core)")
	fs.StringVar(&f.providers, "providers", "", "execution providers in order of preference, e.g. tensorrt,cuda,cpu (default cpu)")
}

// resolve merges flags over the config file into the model settings.
func (f *engineFlags) resolve() (config.Model, error) {
	var m config.Model
	if f.config != "" {
		c, err := config.Load(f.config)
		if err != nil {
			return m, err
		}
		m = c.Model
	}
	if f.bundle != "" {
		m.Bundle = f.bundle
	}
	if f.variant != "" {
		m.Variant = f.variant
	}
	if f.ortLib != "" {
		m.ORTLibrary = f.ortLib
	}
	if f.threads != 0 {
		m.Threads = f.threads
	}
	if f.providers != "" {
		ps, err := engine.ParseProviders(f.providers)
		if err != nil {
			return m, err
		}
		m.Providers = ps
	}
	if m.Bundle == "" {
		return m, fmt.Errorf("no model bundle: pass --bundle DIR or set model.bundle in --config")
	}
	return m, nil
}

// open loads ONNX Runtime and the model the flags select.
func (f *engineFlags) open(stdio Stdio, noVision, noText bool) (*clip.Model, error) {
	m, err := f.resolve()
	if err != nil {
		return nil, err
	}
	if err := engine.Init(m.ORTLibrary); err != nil {
		return nil, err
	}
	return clip.Open(m.Bundle, clip.Options{
		Variant:  m.Variant,
		NoVision: noVision,
		NoText:   noText,
		Session: engine.SessionOptions{
			IntraOpThreads: m.Threads,
			SpinWait:       m.SpinWait,
			Providers:      m.Providers,
			Logger:         logger(stdio),
		},
	})
}
