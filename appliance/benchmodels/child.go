package benchmodels

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/preprocess/cvmat"
)

// Each variant is measured in a process of its own, so that one variant's
// peak resident memory (VmHWM, a high-water mark the kernel never lowers)
// does not hide inside another's, and so that the allocator's and ONNX
// Runtime's caches start cold for every variant alike.

// Spec is what one child process measures: one variant of one bundle.
type Spec struct {
	Bundle     string        `json:"bundle"`
	Variant    string        `json:"variant"`
	ORTLibrary string        `json:"ort_library,omitempty"`
	Threads    int           `json:"threads"`
	Batches    []int         `json:"batches"`
	Duration   time.Duration `json:"duration_ns"` // at least this long per batch size
	MinRuns    int           `json:"min_runs"`    // and at least this many calls
	Images     []string      `json:"images"`      // image files to embed for agreement
	Prompts    []string      `json:"prompts"`     // defect-class prompts to embed
	// Dense times the patch outputs' cost at batch 1 (DenseCost) when the
	// model has patch outputs.
	Dense bool `json:"dense,omitempty"`
}

// BatchResult is the speed of the vision session at one batch size.
type BatchResult struct {
	Batch      int           `json:"batch"`
	Runs       int           `json:"runs"`
	ImagesPerS float64       `json:"images_per_s"`
	P50        time.Duration `json:"latency_p50_ns"` // per call (a whole batch)
	P99        time.Duration `json:"latency_p99_ns"`
	// CPUImagesPerS is images per second of this process's CPU time, times
	// the threads it runs: the rate the box would give with no other load
	// on it. It is an estimate, and a slight underestimate: ONNX Runtime's
	// threads spin while they wait, and spinning counts as busy.
	CPUImagesPerS float64 `json:"cpu_images_per_s"`
}

// ChildResult is what a child reports back.
type ChildResult struct {
	ORTVersion string        `json:"ort_version"`
	Provider   string        `json:"provider"`
	Digest     string        `json:"digest"`
	LoadTime   time.Duration `json:"load_ns"`
	// PeakRSS is VmHWM after loading the vision tower and running every
	// batch size: the process's peak resident memory on the hot path (the
	// text tower, loaded afterwards for prompts, is not in it).
	PeakRSS      int64         `json:"peak_rss_bytes"`
	Batches      []BatchResult `json:"batches"`
	ImageEmbeds  [][]float32   `json:"image_embeds"` // nil row: the image could not be read
	PromptEmbeds [][]float32   `json:"prompt_embeds"`
	LogitScale   float64       `json:"logit_scale"`
	// Dense is the patch outputs' cost; nil when not asked for or when the
	// model has no patch outputs.
	Dense *DenseCost `json:"dense,omitempty"`
}

// Command starts a child: a program whose standard input takes a JSON
// request and whose standard output gives a JSON answer. The linesight
// binary runs itself as `linesight bench models <ChildArg>`.
type Command struct {
	Path string
	Args []string
	Env  []string // added to the parent's environment
}

// ChildArg is the hidden argument of `linesight bench models` that makes
// the process a measuring child.
const ChildArg = "__measure-variant"

// runChild runs cmd with in as JSON on its stdin and decodes its stdout into
// out. The child's stderr (its logs) goes to stderr.
func runChild(ctx context.Context, cmd Command, in, out any, stderr io.Writer) error {
	req, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode child request: %w", err)
	}
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args...)
	c.Env = append(os.Environ(), cmd.Env...)
	c.Stdin = bytes.NewReader(req)
	var stdout bytes.Buffer
	c.Stdout = &stdout
	c.Stderr = stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("child %s %s: %w", cmd.Path, strings.Join(cmd.Args, " "), err)
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("child %s: decode its answer: %w", cmd.Path, err)
	}
	return nil
}

// ChildMain is the child's side: it reads a Spec from stdin, measures, and
// writes a ChildResult to stdout. Logs go to log.
func ChildMain(ctx context.Context, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	var spec Spec
	if err := json.NewDecoder(stdin).Decode(&spec); err != nil {
		return fmt.Errorf("read measurement spec: %w", err)
	}
	r, err := measure(ctx, spec, log)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(r)
}

func measure(ctx context.Context, spec Spec, log *slog.Logger) (*ChildResult, error) {
	if err := engine.Init(spec.ORTLibrary); err != nil {
		return nil, err
	}
	session := engine.SessionOptions{IntraOpThreads: spec.Threads, Logger: log}
	start := time.Now()
	m, err := clip.Open(spec.Bundle, clip.Options{Variant: spec.Variant, NoText: true, Session: session})
	if err != nil {
		return nil, err
	}
	r := &ChildResult{ORTVersion: engine.Version(), Provider: m.Vision.Provider(), Digest: m.Digest,
		LoadTime: time.Since(start), LogitScale: m.LogitScale}

	// The agreement images go first: they also warm the session up.
	r.ImageEmbeds, err = embedFiles(m, spec.Images, max(1, maxInt(spec.Batches)))
	if err != nil {
		m.Close()
		return nil, err
	}
	for _, n := range spec.Batches {
		b, err := timeBatch(ctx, m.Vision, n, spec.Duration, spec.MinRuns, threadsUsed(spec.Threads))
		if err != nil {
			m.Close()
			return nil, err
		}
		log.Info("measured", "variant", spec.Variant, "batch", n, "images_per_s", b.ImagesPerS)
		r.Batches = append(r.Batches, b)
	}
	r.PeakRSS, err = peakRSS()
	if err != nil {
		m.Close()
		return nil, err
	}
	// After the peak: the cut-down model is a second copy of the weights.
	if spec.Dense && hasPatchOutputs(m.Vision) {
		files, err := m.Bundle.Files(m.Variant)
		if err == nil {
			r.Dense, err = measureDense(ctx, m.Vision, files.Vision, session, spec.Duration, spec.MinRuns)
		}
		if err != nil {
			m.Close()
			return nil, err
		}
		log.Info("measured the patch outputs' cost", "variant", spec.Variant, "with_patches", r.Dense.WithPatches,
			"embeds_only", r.Dense.EmbedsOnly, "overhead", r.Dense.Overhead)
	}
	m.Close()

	if len(spec.Prompts) > 0 {
		t, err := clip.Open(spec.Bundle, clip.Options{Variant: spec.Variant, NoVision: true, Session: session})
		if err != nil {
			return nil, err
		}
		defer t.Close()
		if r.PromptEmbeds, err = t.EmbedTexts(spec.Prompts); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// embedFiles embeds image files in batches of up to size, as the appliance
// loads them offline. An unreadable image gets a nil row.
func embedFiles(m *clip.Model, paths []string, size int) ([][]float32, error) {
	out := make([][]float32, len(paths))
	for start := 0; start < len(paths); start += size {
		end := min(start+size, len(paths))
		var imgs []imageAt
		for i := start; i < end; i++ {
			img, err := cvmat.LoadImageFile(paths[i])
			if err != nil {
				continue
			}
			imgs = append(imgs, imageAt{i, img})
		}
		if len(imgs) == 0 {
			continue
		}
		embeds, err := m.EmbedImages(images(imgs))
		if err != nil {
			return nil, fmt.Errorf("embed agreement images: %w", err)
		}
		for k, im := range imgs {
			out[im.index] = embeds[k]
		}
	}
	return out, nil
}

// timeBatch calls the vision session on n random images until both the
// duration and the minimum number of calls are reached, after one untimed
// call (the first run at a new shape plans memory).
func timeBatch(ctx context.Context, v *engine.Vision, n int, d time.Duration, minRuns, threads int) (BatchResult, error) {
	h, w := v.InputSize()
	pixels := make([]float32, n*3*h*w)
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range pixels {
		pixels[i] = float32(rng.NormFloat64()) // normalised pixels are about unit scale
	}
	if _, err := v.Embed(pixels, n); err != nil {
		return BatchResult{}, err
	}
	var lat []time.Duration
	var total time.Duration
	cpu0 := cpuTime()
	for len(lat) < max(minRuns, 1) || total < d {
		if err := ctx.Err(); err != nil {
			return BatchResult{}, err
		}
		t0 := time.Now()
		if _, err := v.Embed(pixels, n); err != nil {
			return BatchResult{}, err
		}
		dt := time.Since(t0)
		lat = append(lat, dt)
		total += dt
	}
	r := BatchResult{
		Batch: n, Runs: len(lat),
		ImagesPerS: float64(n*len(lat)) / total.Seconds(),
		P50:        Percentile(lat, 0.50),
		P99:        Percentile(lat, 0.99),
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		r.CPUImagesPerS = float64(n*len(lat)) / (cpu.Seconds() / float64(threads))
	}
	return r, nil
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads this process's VmHWM from /proc/self/status.
func peakRSS() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak memory: %w", err)
	}
	return parseVmHWM(string(data))
}

// parseVmHWM finds "VmHWM:   123 kB" in a /proc/PID/status text.
func parseVmHWM(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("read peak memory: unexpected line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read peak memory: %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("read peak memory: no VmHWM in /proc/self/status")
}

// threadsUsed is the intra-op thread count ONNX Runtime runs with: the
// configured one, or by default one per core (taken as one per CPU here).
func threadsUsed(configured int) int {
	if configured > 0 {
		return configured
	}
	return runtime.NumCPU()
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
