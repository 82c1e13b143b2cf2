package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/capture/synthetic"
	"github.com/linesight/linesight/pipeline/clip/bundle"
)

// A small generated teacher distilled into a smaller student on synthetic
// line images: the held-out cosine to the teacher rises from the untrained
// student's to at least 0.9 (measured by LineSight's engine on the written
// bundle), the student bundle records where it came from, keeps the
// teacher's text tower, and judges images in the appliance's offline
// inspector. Random weights: cosine is what is measured, not accuracy.
func TestDistilSmallTeacherIntoSmallerStudent(t *testing.T) {
	testenv.RequireORT(t)
	python := testenv.RequirePython(t, "torch, numpy")
	teacher := synth(t, 3, "fp32")
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 20, 2); err != nil {
		t.Fatal(err)
	}
	classes := filepath.Join(t.TempDir(), "classes.yaml")
	if err := os.WriteFile(classes, []byte(offlineDefects), 0o644); err != nil {
		t.Fatal(err)
	}
	student := filepath.Join(t.TempDir(), "student")
	r := mustRun(t, "", "model", "distill", "--teacher", teacher, "--student", "16x1x2/8", "--images", ds,
		"--epochs", "20", "--out", student, "--variants", "fp32,int8", "--classes", classes, "--threads", "2", "--python", python)
	var rep struct {
		CosineBefore     float64  `json:"cosine_before"`
		CosineAfter      float64  `json:"cosine_after"`
		VerdictAgreement *float64 `json:"verdict_agreement"`
		TeacherImgS      float64  `json:"teacher_img_s"`
		StudentImgS      float64  `json:"student_img_s"`
		Images           int      `json:"images"`
		HeldOut          int      `json:"held_out"`
		Steps            int      `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	t.Logf("held-out cosine %.3f -> %.3f, %d steps", rep.CosineBefore, rep.CosineAfter, rep.Steps)
	if rep.CosineAfter < 0.9 || rep.CosineAfter <= rep.CosineBefore {
		t.Errorf("held-out cosine %.3f after training (%.3f before), want at least 0.9 and a rise", rep.CosineAfter, rep.CosineBefore)
	}
	if rep.VerdictAgreement == nil || *rep.VerdictAgreement < 0 || *rep.VerdictAgreement > 1 || rep.Steps == 0 || rep.HeldOut == 0 ||
		rep.Images+rep.HeldOut < 100 || rep.TeacherImgS <= 0 || rep.StudentImgS <= 0 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(r.stder, "epoch 20:") {
		t.Errorf("no progress per epoch on stderr:\n%s", r.stder)
	}

	b, err := bundle.Open(student)
	if err != nil {
		t.Fatal(err)
	}
	d := b.Provenance.Distilled
	if d == nil || d.Teacher != teacher || d.TeacherDigest != digest(t, teacher, "fp32") || d.Student != "16x1x2/8" || d.Steps != rep.Steps {
		t.Errorf("provenance %+v", d)
	}
	if v := b.Config.VisionConfig; v.HiddenSize != 16 || v.NumHiddenLayers != 1 || b.Config.ProjectionDim != 16 {
		t.Errorf("student config %+v, projection %d", v, b.Config.ProjectionDim)
	}
	if got := strings.Join(b.Variants(), ","); got != "fp32,int8" {
		t.Errorf("variants %s", got)
	}
	// The teacher's text tower, as it is; its fp32 one where it has no
	// int8 one.
	want, err := os.ReadFile(filepath.Join(teacher, bundle.ModelDir, "text_model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"text_model.onnx", "text_model_int8.onnx"} {
		got, err := os.ReadFile(filepath.Join(student, bundle.ModelDir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not the teacher's text model: %v", name, err)
		}
	}

	// The student judges images in the appliance's offline inspector.
	cfg := filepath.Join(t.TempDir(), "linesight.yaml")
	if err := os.WriteFile(cfg, []byte("line: l1\ndata_dir: data\ndefects: "+classes+"\nmodel: {bundle: "+student+", threads: 1}\ncameras:\n  - id: cam0\n    source: {kind: synthetic}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "", "inspect", "--config", cfg, filepath.Join(ds, synthetic.Washer, "test", "good")).stdout
	if n := strings.Count(out, `"outcome":`); n != 20 {
		t.Errorf("%d verdicts from the student for 20 images:\n%s", n, out)
	}
}

// --prune makes the student the teacher's own tower with half of every
// MLP's hidden units and half of every layer's attention heads cut,
// starting from the teacher's weights read back from its bundle: the cut
// costs some cosine, training recovers it.
func TestPruneAndRecover(t *testing.T) {
	testenv.RequireORT(t)
	python := testenv.RequirePython(t, "torch, numpy")
	teacher := synth(t, 3, "fp32")
	ds := t.TempDir()
	if err := synthetic.WriteDataset(ds, 10, 2); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pruned")
	r := mustRun(t, "", "model", "distill", "--teacher", teacher, "--prune", "0.5", "--images", ds,
		"--epochs", "8", "--out", out, "--variants", "fp32", "--threads", "2", "--python", python)
	var rep struct {
		CosineBefore float64 `json:"cosine_before"`
		CosineAfter  float64 `json:"cosine_after"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	t.Logf("held-out cosine %.3f pruned, %.3f recovered", rep.CosineBefore, rep.CosineAfter)
	if rep.CosineBefore >= 0.9999 || rep.CosineAfter < 0.9 || rep.CosineAfter <= rep.CosineBefore {
		t.Errorf("cosine %.4f pruned, %.4f after: want a loss from the cut and a recovery to at least 0.9", rep.CosineBefore, rep.CosineAfter)
	}
	b, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := bundle.Open(teacher)
	if err != nil {
		t.Fatal(err)
	}
	pv, tv := b.Config.VisionConfig, tb.Config.VisionConfig
	if pv.NumAttentionHeads != tv.NumAttentionHeads/2 || pv.HeadSize() != tv.HeadSize() {
		t.Errorf("pruned heads: %d of width %d, teacher's %d of width %d", pv.NumAttentionHeads, pv.HeadSize(), tv.NumAttentionHeads, tv.HeadSize())
	}
	if got, full := b.Config.VisionConfig.IntermediateSize, tb.Config.VisionConfig.IntermediateSize; got != full/2 ||
		b.Config.VisionConfig.HiddenSize != tb.Config.VisionConfig.HiddenSize || b.Config.VisionConfig.NumHiddenLayers != tb.Config.VisionConfig.NumHiddenLayers {
		t.Errorf("pruned vision config %+v, teacher's %+v", b.Config.VisionConfig, tb.Config.VisionConfig)
	}
	if d := b.Provenance.Distilled; d == nil || !strings.Contains(d.Student, "pruned 0.50, attention heads 0.50") {
		t.Errorf("provenance %+v", d)
	}
	if r := run(t, "", "model", "distill", "--teacher", teacher, "--prune", "0.5", "--student", "vit-b-32", "--images", ds, "--epochs", "1", "--out", out+"2"); r.code == 0 {
		t.Error("--prune and --student together accepted")
	}
	if r := run(t, "", "model", "distill", "--teacher", teacher, "--student", "vit-b-32", "--prune-heads", "0.5", "--images", ds, "--epochs", "1", "--out", out+"3"); r.code == 0 {
		t.Error("--prune-heads without --prune accepted")
	}
	// --epochs 0 writes and measures the cut as it is: what the report
	// says before training is what the bundle gives after.
	r = mustRun(t, "", "model", "distill", "--teacher", teacher, "--prune", "0.5", "--images", ds,
		"--epochs", "0", "--out", out+"-cut", "--variants", "fp32", "--threads", "2", "--python", python)
	var cut struct {
		CosineBefore float64 `json:"cosine_before"`
		CosineAfter  float64 `json:"cosine_after"`
		Steps        int     `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &cut); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if cut.Steps != 0 || math.Abs(cut.CosineAfter-cut.CosineBefore) > 1e-3 || math.Abs(cut.CosineBefore-rep.CosineBefore) > 1e-4 {
		t.Errorf("untrained cut: %+v; want no steps and the cosine the trained run started from (%.4f)", cut, rep.CosineBefore)
	}
	if r := run(t, "", "model", "distill", "--teacher", teacher, "--student", "16x1x2/8", "--images", ds, "--epochs", "0", "--out", out+"4"); r.code == 0 {
		t.Error("--epochs 0 without --prune accepted")
	}
}
