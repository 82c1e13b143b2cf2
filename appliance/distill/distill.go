// Package distill makes a student model bundle whose image embeddings
// imitate a teacher's (docs/distill.md): the teacher's embeddings of the
// line's images come from LineSight's own engine, the student's vision
// tower is trained offline with PyTorch (trainer.py, run with python3), and
// the student bundle keeps the teacher's text tower as it is, so every
// defect-class file works with it unchanged.
package distill

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linesight/linesight/appliance/offline"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/clip"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/engine"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"github.com/linesight/linesight/pipeline/clip/toolchain/graph"
	"github.com/linesight/linesight/pipeline/clip/toolchain/prune"
	"github.com/linesight/linesight/pipeline/clip/toolchain/safetensors"
)

//go:embed trainer.py
var trainerSource []byte

// Options say what to distil and how long.
type Options struct {
	Teacher        string // the teacher's bundle
	TeacherVariant string // the variant whose embeddings are learnt; fp32 when empty
	// Student is a preset (vit-b-16, vit-b-32, ...) or WIDTHxLAYERSxHEADS/PATCH
	// (e.g. 256x6x4/16); its image size is the teacher's.
	Student string
	// Prune, instead of Student, makes the student the teacher's own vision
	// tower with this share of every MLP's hidden units cut (prune.MLP) and
	// PruneHeads of every layer's attention heads (prune.Heads; 0 keeps
	// them all), starting from the teacher's weights: training recovers the
	// cut.
	Prune      float64
	PruneHeads float64
	// Init is a Hugging Face CLIP checkpoint directory whose vision
	// weights start the student where their shapes fit; empty: random.
	Init     string
	Images   []string // image files; HeldOut of them are never trained on
	HeldOut  float64  // fraction held out; 0.1 when 0
	Out      string   // the student bundle
	Variants []graph.Variant
	Epochs   int     // or
	Minutes  float64 // training time; one of them, unless
	// Untrained, with Prune, writes and measures the cut tower as it is,
	// without training: what the cut alone costs.
	Untrained bool
	Batch     int
	LR        float64
	Seed      uint64
	Threads   int    // ONNX Runtime's and PyTorch's; 0: all cores
	Python    string // an interpreter with torch; found when empty
	// Classes, when set, judges the held-out images with the default set
	// for the report's verdict agreement.
	Classes *defects.File
	// Progress hears what is being done.
	Progress func(string)
}

// Report is what `linesight model distill` prints at the end, on the
// held-out images.
type Report struct {
	CosineBefore float64 `json:"cosine_before"` // the untrained student's mean cosine to the teacher
	CosineAfter  float64 `json:"cosine_after"`  // the student bundle's, by LineSight's engine
	// VerdictAgreement is the share of held-out images whose verdict the
	// student and the teacher agree on; null without --classes.
	VerdictAgreement *float64 `json:"verdict_agreement"`
	TeacherImgS      float64  `json:"teacher_img_s"`
	StudentImgS      float64  `json:"student_img_s"`
	Images           int      `json:"images"`
	HeldOut          int      `json:"held_out"`
	Steps            int      `json:"steps"`
	Seconds          float64  `json:"seconds"`
}

var specPattern = regexp.MustCompile(`^(\d+)x(\d+)x(\d+)/(\d+)$`)

// StudentConfig is the student's architecture: the teacher's config with
// the student's vision tower at the teacher's image size and the
// teacher's projection (so its embeddings live in the teacher's space).
func StudentConfig(teacher arch.Config, spec string) (arch.Config, error) {
	var v arch.VisionConfig
	if m := specPattern.FindStringSubmatch(spec); m != nil {
		n := func(i int) int { x, _ := strconv.Atoi(m[i]); return x }
		v = teacher.VisionConfig
		v.HiddenSize, v.NumHiddenLayers, v.NumAttentionHeads, v.PatchSize = n(1), n(2), n(3), n(4)
		v.IntermediateSize = 4 * v.HiddenSize
	} else {
		p, err := arch.Preset(spec)
		if err != nil {
			return arch.Config{}, fmt.Errorf("student %q: a preset or WIDTHxLAYERSxHEADS/PATCH such as 256x6x4/16: %w", spec, err)
		}
		v = p.VisionConfig
	}
	v.ImageSize = teacher.VisionConfig.ImageSize
	c := teacher
	c.VisionConfig = v
	if err := c.Validate(); err != nil {
		return arch.Config{}, fmt.Errorf("student %q: %w", spec, err)
	}
	return c, nil
}

// Run distils and writes the student bundle.
func Run(ctx context.Context, o Options) (Report, error) {
	start := time.Now()
	say := o.Progress
	if say == nil {
		say = func(string) {}
	}
	if o.TeacherVariant == "" {
		o.TeacherVariant = bundle.FP32
	}
	if o.HeldOut <= 0 {
		o.HeldOut = 0.1
	}
	switch {
	case o.Untrained && o.Prune == 0:
		return Report{}, errors.New("distill: no training (--epochs 0) goes with --prune")
	case o.Epochs <= 0 && o.Minutes <= 0 && !o.Untrained:
		return Report{}, errors.New("distill: give --epochs N or --minutes M")
	}
	if len(o.Images) < 4 {
		return Report{}, fmt.Errorf("distill: %d images; give at least 4 (some are held out)", len(o.Images))
	}
	if _, err := os.Stat(o.Out); err == nil {
		return Report{}, fmt.Errorf("distill: %s already exists (remove it or choose another --out)", o.Out)
	}
	python, err := findPython(o.Python)
	if err != nil {
		return Report{}, err
	}
	teacher, err := clip.Open(o.Teacher, clip.Options{Variant: o.TeacherVariant, NoText: o.Classes == nil,
		Session: engine.SessionOptions{IntraOpThreads: o.Threads}})
	if err != nil {
		return Report{}, fmt.Errorf("distill: teacher: %w", err)
	}
	defer teacher.Close()
	cfg, init, err := student(o, teacher.Bundle.Config)
	if err != nil {
		return Report{}, err
	}

	// The images as both models see them (the student keeps the
	// teacher's preprocessing), and the teacher's embeddings.
	size := teacher.Bundle.Preprocess.CropHeight
	per := 3 * size * size
	pixels, err := offline.Pixels(o.Images, teacher.Bundle.Preprocess, func(done, total int) {
		if done%100 == 0 {
			say(fmt.Sprintf("preprocessed %d of %d images", done, total))
		}
	})
	if err != nil {
		return Report{}, fmt.Errorf("distill: %w", err)
	}
	say(fmt.Sprintf("teacher embeddings of %d images (%s, %s)", len(o.Images), o.Teacher, teacher.Variant))
	teacherEmb, teacherRate, err := embedAll(teacher.Vision, pixels, len(o.Images), per)
	if err != nil {
		return Report{}, fmt.Errorf("distill: teacher: %w", err)
	}
	dim := teacher.Vision.Dim()
	train, held := split(len(o.Images), o.HeldOut)

	work, err := os.MkdirTemp(filepath.Dir(filepath.Clean(o.Out)), ".distill-")
	if err != nil {
		return Report{}, fmt.Errorf("distill: %w", err)
	}
	defer os.RemoveAll(work)
	if err := safetensors.Write(filepath.Join(work, "init.safetensors"), init, "F32", nil); err != nil {
		return Report{}, fmt.Errorf("distill: %w", err)
	}
	if err := writeFloats(filepath.Join(work, "pixels.f32"), pixels); err != nil {
		return Report{}, err
	}
	if err := writeFloats(filepath.Join(work, "teacher.f32"), normalised(teacherEmb, dim)); err != nil {
		return Report{}, err
	}
	job := map[string]any{
		"config": cfg.VisionConfig, "projection_dim": cfg.ProjectionDim,
		"init": filepath.Join(work, "init.safetensors"), "out": filepath.Join(work, "student.safetensors"),
		"pixels": filepath.Join(work, "pixels.f32"), "teacher": filepath.Join(work, "teacher.f32"),
		"count": len(o.Images), "size": size, "train": train, "held_out": held,
		"epochs": o.Epochs, "minutes": o.Minutes, "batch": max(1, o.Batch), "lr": o.LR, "seed": o.Seed,
		"threads": o.Threads, "augment": map[string]float64{"shift": float64(size) / 28, "rotate": 3, "brightness": 0.15},
	}
	if o.LR <= 0 {
		job["lr"] = 1e-3
	}
	if o.Batch <= 0 {
		job["batch"] = 32
	}
	result, err := runTrainer(ctx, python, work, job, say)
	if err != nil {
		return Report{}, err
	}

	// The student bundle: its vision tower from the trained weights, the
	// teacher's text tower and logit scale, tokenizer and preprocessing.
	w, err := safetensors.Load(filepath.Join(work, "student.safetensors"), nil)
	if err != nil {
		return Report{}, fmt.Errorf("distill: the trained weights: %w", err)
	}
	w[arch.LogitScaleParam.Name] = &arch.Tensor{Shape: []int{}, Data: []float32{float32(math.Log(teacher.LogitScale))}}
	tok, err := teacher.Bundle.Tokenizer()
	if err != nil {
		return Report{}, err
	}
	digest, _ := teacher.Bundle.Digest(teacher.Variant)
	// The training images calibrate int8static, when asked for.
	var calib []float32
	var calibN int
	if slices.Contains(o.Variants, graph.INT8Static) {
		calib, calibN = gather(pixels, train, per), len(train)
	}
	say(fmt.Sprintf("writing the student bundle %s", o.Out))
	err = bundlewrite.Write(o.Out, cfg, w, tok, teacher.Bundle.Preprocess, bundlewrite.Options{
		Variants: o.Variants, TextFrom: o.Teacher, Threads: o.Threads, CalibrationPixels: calib, CalibrationImages: calibN,
		Provenance: bundle.Provenance{Distilled: &bundle.Distillation{Teacher: o.Teacher, TeacherDigest: digest, TeacherVariant: teacher.Variant,
			Student: studentName(o), Init: o.Init, Images: len(train), HeldOut: len(held), Steps: result.Steps, CosineAfter: result.CosineAfter}},
	})
	if err != nil {
		return Report{}, fmt.Errorf("distill: %w", err)
	}

	// The report, on the held-out images, by LineSight's engine.
	student, err := clip.Open(o.Out, clip.Options{NoText: true, Session: engine.SessionOptions{IntraOpThreads: o.Threads}})
	if err != nil {
		return Report{}, fmt.Errorf("distill: the student bundle: %w", err)
	}
	defer student.Close()
	heldPix := gather(pixels, held, per)
	studentEmb, studentRate, err := embedAll(student.Vision, heldPix, len(held), per)
	if err != nil {
		return Report{}, fmt.Errorf("distill: student: %w", err)
	}
	heldTeacher := gather(teacherEmb, held, dim)
	rep := Report{CosineBefore: result.CosineBefore, CosineAfter: meanCosine(heldTeacher, studentEmb, dim),
		TeacherImgS: teacherRate, StudentImgS: studentRate, Images: len(train), HeldOut: len(held), Steps: result.Steps}
	if o.Classes != nil {
		agree, err := agreement(o.Classes, teacher, heldTeacher, studentEmb, dim)
		if err != nil {
			return Report{}, err
		}
		rep.VerdictAgreement = &agree
	}
	rep.Seconds = math.Round(time.Since(start).Seconds()*10) / 10
	return rep, nil
}

// student is the student's architecture and starting vision weights: the
// teacher's own tower pruned (Prune), or the spec's, random or from a
// checkpoint.
func student(o Options, teacher arch.Config) (arch.Config, map[string]*arch.Tensor, error) {
	if o.Prune > 0 {
		m, err := onnxproto.Load(filepath.Join(o.Teacher, bundle.ModelDir, bundle.ModelFile(arch.Vision, "")))
		if err != nil {
			return arch.Config{}, nil, fmt.Errorf("distill: --prune needs the teacher's fp32 vision model: %w", err)
		}
		w, err := graph.ReadWeights(m, teacher, arch.Vision)
		if err != nil {
			return arch.Config{}, nil, fmt.Errorf("distill: --prune: %w", err)
		}
		cfg, pw, err := prune.MLP(teacher, w, arch.Vision, o.Prune)
		if err != nil {
			return arch.Config{}, nil, fmt.Errorf("distill: %w", err)
		}
		if o.PruneHeads > 0 {
			if cfg, pw, err = prune.Heads(cfg, pw, o.PruneHeads); err != nil {
				return arch.Config{}, nil, fmt.Errorf("distill: %w", err)
			}
		}
		init := map[string]*arch.Tensor{}
		for _, p := range cfg.Params(arch.Vision) {
			init[p.Name] = pw[p.Name]
		}
		return cfg, init, nil
	}
	cfg, err := StudentConfig(teacher, o.Student)
	if err != nil {
		return arch.Config{}, nil, err
	}
	init, err := initialWeights(cfg, o.Init, o.Seed)
	return cfg, init, err
}

// trainResult is the trainer's last line.
type trainResult struct {
	CosineBefore float64 `json:"cosine_before"`
	CosineAfter  float64 `json:"cosine_after"`
	Steps        int     `json:"steps"`
}

// runTrainer runs the trainer and relays its progress.
func runTrainer(ctx context.Context, python, work string, job map[string]any, say func(string)) (trainResult, error) {
	script := filepath.Join(work, "trainer.py")
	if err := os.WriteFile(script, trainerSource, 0o644); err != nil {
		return trainResult{}, fmt.Errorf("distill: %w", err)
	}
	data, _ := json.Marshal(job)
	jobPath := filepath.Join(work, "job.json")
	if err := os.WriteFile(jobPath, data, 0o644); err != nil {
		return trainResult{}, fmt.Errorf("distill: %w", err)
	}
	cmd := exec.CommandContext(ctx, python, script, jobPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return trainResult{}, err
	}
	if err := cmd.Start(); err != nil {
		return trainResult{}, fmt.Errorf("distill: start the trainer with %s: %w", python, err)
	}
	var res trainResult
	got := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "PROGRESS "); ok {
			var m struct {
				Device  string  `json:"device"`
				Stage   string  `json:"stage"`
				Epoch   int     `json:"epoch"`
				Steps   int     `json:"steps"`
				Cosine  float64 `json:"held_out_cosine"`
				Loss    float64 `json:"loss"`
				Seconds float64 `json:"seconds"`
			}
			if json.Unmarshal([]byte(p), &m) == nil {
				switch m.Stage {
				case "start":
					say(fmt.Sprintf("training on the %s: untrained student, held-out cosine %.3f", m.Device, m.Cosine))
				case "step":
					say(fmt.Sprintf("epoch %d, step %d: loss %.4f (%.0f s)", m.Epoch, m.Steps, m.Loss, m.Seconds))
				default:
					say(fmt.Sprintf("epoch %d: loss %.4f, held-out cosine %.3f (%.0f s)", m.Epoch, m.Loss, m.Cosine, m.Seconds))
				}
			}
		} else if r, ok := strings.CutPrefix(line, "RESULT "); ok {
			got = json.Unmarshal([]byte(r), &res) == nil
		}
	}
	if err := cmd.Wait(); err != nil {
		return trainResult{}, fmt.Errorf("distill: the trainer failed: %w\n%s", err, lastLines(stderr.String(), 20))
	}
	if !got {
		return trainResult{}, fmt.Errorf("distill: the trainer gave no result\n%s", lastLines(stderr.String(), 20))
	}
	return res, nil
}

// findPython returns an interpreter that imports torch: the one named,
// else python3, else Debian's /usr/bin/python3.
func findPython(named string) (string, error) {
	candidates := []string{"python3", "/usr/bin/python3"}
	if named != "" {
		candidates = []string{named}
	}
	for _, c := range candidates {
		if exec.Command(c, "-c", "import torch, numpy").Run() == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("distill: no python3 with PyTorch (tried %s): install Debian's python3-torch, or name one with --python; training runs offline, never on the box", strings.Join(candidates, ", "))
}

// initialWeights are the student's starting vision weights: random, or
// the checkpoint's where a tensor's name and shape fit.
func initialWeights(cfg arch.Config, checkpoint string, seed uint64) (map[string]*arch.Tensor, error) {
	random := arch.RandomWeights(cfg, seed)
	out := map[string]*arch.Tensor{}
	for _, p := range cfg.Params(arch.Vision) {
		out[p.Name] = random[p.Name]
	}
	if checkpoint == "" {
		return out, nil
	}
	_, w, err := safetensors.LoadCLIP(checkpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("distill: --init: %w", err)
	}
	for _, p := range cfg.Params(arch.Vision) {
		if t := w[p.Name]; t != nil && slices.Equal(t.Shape, p.Shape) {
			out[p.Name] = t
		}
	}
	return out, nil
}

// split holds out every k-th image (k from the fraction), at least one.
func split(n int, frac float64) (train, held []int) {
	k := max(2, int(math.Round(1/frac)))
	for i := 0; i < n; i++ {
		if i%k == k-1 {
			held = append(held, i)
		} else {
			train = append(train, i)
		}
	}
	return train, held
}

// embedAll embeds n images in batches and measures images a second.
func embedAll(v *engine.Vision, pixels []float32, n, per int) ([]float32, float64, error) {
	step := 16
	switch fb := v.FixedBatch(); {
	case fb == 1:
		step = 1
	case fb > 1:
		return nil, 0, fmt.Errorf("the model takes batches of exactly %d; distil from a variant with any batch size", fb)
	}
	out := make([]float32, 0, n*v.Dim())
	start := time.Now()
	for i := 0; i < n; i += step {
		m := min(step, n-i)
		emb, err := v.Embed(pixels[i*per:(i+m)*per], m)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, emb...)
	}
	return out, float64(n) / time.Since(start).Seconds(), nil
}

func gather(x []float32, idx []int, per int) []float32 {
	out := make([]float32, 0, len(idx)*per)
	for _, i := range idx {
		out = append(out, x[i*per:(i+1)*per]...)
	}
	return out
}

func normalised(x []float32, dim int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < len(x); i += dim {
		var s float64
		for _, v := range x[i : i+dim] {
			s += float64(v) * float64(v)
		}
		n := float32(math.Sqrt(s))
		for j, v := range x[i : i+dim] {
			out[i+j] = v / n
		}
	}
	return out
}

// meanCosine is the mean cosine of paired rows.
func meanCosine(a, b []float32, dim int) float64 {
	a, b = normalised(a, dim), normalised(b, dim)
	var total float64
	rows := len(a) / dim
	for r := 0; r < rows; r++ {
		var dot float64
		for j := 0; j < dim; j++ {
			dot += float64(a[r*dim+j]) * float64(b[r*dim+j])
		}
		total += dot
	}
	return total / float64(rows)
}

// agreement is the share of images whose verdict, by the file's default
// set, is the same from both embeddings. The student has the teacher's
// text tower, so one scorer judges both.
func agreement(f *defects.File, teacher *clip.Model, a, b []float32, dim int) (float64, error) {
	set, err := f.SetFor(defects.DefaultCamera)
	if err != nil {
		return 0, fmt.Errorf("distill: --classes: %w", err)
	}
	s, err := defects.Prepare(set, nil, teacher, teacher.Digest, teacher.LogitScale)
	if err != nil {
		return 0, fmt.Errorf("distill: --classes: %w", err)
	}
	rows, same := len(a)/dim, 0
	for r := 0; r < rows; r++ {
		if s.Score(a[r*dim:(r+1)*dim]).Outcome == s.Score(b[r*dim:(r+1)*dim]).Outcome {
			same++
		}
	}
	return float64(same) / float64(rows), nil
}

func writeFloats(path string, x []float32) error {
	buf := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("distill: %w", err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// studentName says what the student is, for its provenance.
func studentName(o Options) string {
	if o.Prune > 0 {
		if o.PruneHeads > 0 {
			return fmt.Sprintf("the teacher, MLPs pruned %.2f, attention heads %.2f", o.Prune, o.PruneHeads)
		}
		return fmt.Sprintf("the teacher, MLPs pruned %.2f", o.Prune)
	}
	return o.Student
}
