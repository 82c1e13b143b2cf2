package engine

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// SessionOptions are the knobs shared by the vision and text sessions.
type SessionOptions struct {
	// IntraOpThreads is ORT's thread count per operator; 0 lets ORT pick
	// (one per physical core).
	IntraOpThreads int
	// Providers in order of preference; the CPU provider is always the last
	// resort even when not listed.
	Providers []Provider
	Logger    *slog.Logger
	// SpinWait lets ORT's threads spin between operators: a little faster
	// when inference has the cores to itself, slower when capture and
	// preprocessing share them, so it is off unless asked for.
	SpinWait bool
}

// session is an ORT session over one model file, bound to the provider that
// could load it.
type session struct {
	path     string
	provider string
	ort      *ort.DynamicAdvancedSession
}

// modelIO lists a model's declared inputs and outputs without optimising it.
func modelIO(path string) ([]ort.InputOutputInfo, []ort.InputOutputInfo, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("create session options: %w", err)
	}
	defer so.Destroy()
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
		return nil, nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, nil, fmt.Errorf("read inputs and outputs of %s: %w", path, err)
	}
	return ins, outs, nil
}

// openSession tries each provider in order and returns the first session that
// loads. A provider that fails is logged with its reason and skipped.
// batchInput and item describe the batched input for TensorRT's profile.
func openSession(path string, inputs, outputs []string, opts SessionOptions, batchInput string, item []int64) (*session, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	providers := opts.Providers
	if len(providers) == 0 || providers[len(providers)-1].Name != "cpu" {
		providers = append(append([]Provider{}, providers...), Provider{Name: "cpu"})
	}
	var failures []string
	for i, p := range providers {
		s, err := trySession(path, inputs, outputs, opts, providers[i:], batchInput, item, log)
		if err != nil {
			log.Warn("execution provider unavailable, trying the next", "provider", p.Name, "model", path, "reason", err)
			failures = append(failures, fmt.Sprintf("%s: %v", p.Name, err))
			continue
		}
		log.Info("model loaded", "model", path, "provider", p.Name)
		s.provider = p.Name
		return s, nil
	}
	return nil, fmt.Errorf("load %s: no execution provider could run it (%s)", path, strings.Join(failures, "; "))
}

// trySession appends providers[0] (required) and any later ones (optional
// fallbacks for the nodes the first cannot run), then creates the session.
func trySession(path string, inputs, outputs []string, opts SessionOptions, providers []Provider, batchInput string, item []int64, log *slog.Logger) (*session, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("set intra-op threads: %w", err)
		}
	}
	if !opts.SpinWait {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return nil, fmt.Errorf("turn off spin-waiting: %w", err)
		}
	}
	if err := providers[0].apply(so, batchInput, item); err != nil {
		return nil, err
	}
	for _, p := range providers[1:] {
		if err := p.apply(so, batchInput, item); err != nil {
			log.Debug("fallback provider not added", "provider", p.Name, "reason", err)
		}
	}

	// A TensorRT engine build can take minutes; say so while it runs.
	done := make(chan struct{})
	if providers[0].Name == "tensorrt" {
		go reportProgress(log, path, done)
	}
	s, err := ort.NewDynamicAdvancedSession(path, inputs, outputs, so)
	close(done)
	if err != nil {
		return nil, err
	}
	return &session{path: path, ort: s}, nil
}

func reportProgress(log *slog.Logger, path string, done <-chan struct{}) {
	start := time.Now()
	log.Info("building TensorRT engine; the first build can take minutes, cached engines load fast", "model", path)
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			log.Info("still building TensorRT engine", "model", path, "elapsed", time.Since(start).Round(time.Second))
		}
	}
}

func (s *session) close() {
	if s != nil && s.ort != nil {
		s.ort.Destroy()
		s.ort = nil
	}
}

// describe formats a model's inputs or outputs for error messages.
func describe(infos []ort.InputOutputInfo) string {
	parts := make([]string, len(infos))
	for i, in := range infos {
		parts[i] = fmt.Sprintf("%s %s %v", in.Name, in.DataType, in.Dimensions)
	}
	return strings.Join(parts, ", ")
}

// pickOutput finds the embedding output: the preferred name, else the only
// output, else the only rank-2 output.
func pickOutput(outs []ort.InputOutputInfo, preferred string) (ort.InputOutputInfo, error) {
	for _, o := range outs {
		if o.Name == preferred {
			return o, nil
		}
	}
	if len(outs) == 1 {
		return outs[0], nil
	}
	var rank2 []ort.InputOutputInfo
	for _, o := range outs {
		if len(o.Dimensions) == 2 {
			rank2 = append(rank2, o)
		}
	}
	if len(rank2) == 1 {
		return rank2[0], nil
	}
	return ort.InputOutputInfo{}, fmt.Errorf("no output named %q and no single embedding output among: %s", preferred, describe(outs))
}
