package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/reference"
)

var (
	ortOnce sync.Once
	ortErr  error
)

// needORT loads ONNX Runtime once. Without the library the test is skipped,
// or fails under LINESIGHT_REQUIRE_REFERENCE=1 (testenv.RequireORT); a
// library that is there but does not load fails it. (The package cannot use
// engine.Init: the engine imports it.)
func needORT(tb testing.TB) {
	tb.Helper()
	path := testenv.RequireORT(tb)
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			ortErr = fmt.Errorf("load ONNX Runtime from %s: %w", path, err)
		}
	})
	if ortErr != nil {
		tb.Fatal(ortErr)
	}
}

// destroy frees what ONNX Runtime holds for d, failing the test if it cannot.
func destroy(tb testing.TB, what string, d interface{ Destroy() error }) {
	tb.Helper()
	if err := d.Destroy(); err != nil {
		tb.Errorf("destroying %s: %v", what, err)
	}
}

// session is a loaded model plus its output names.
type session struct {
	s       *ort.DynamicAdvancedSession
	inputs  []string
	outputs []string
}

// newSession saves m to a temporary file (with opts) and opens it in ORT
// with two intra-op threads, like the appliance's CPU fallback.
func newSession(tb testing.TB, m *onnxproto.Model, opts onnxproto.SaveOptions) *session {
	tb.Helper()
	needORT(tb)
	path := filepath.Join(tb.TempDir(), "model.onnx")
	if err := m.Save(path, opts); err != nil {
		tb.Fatal(err)
	}
	return openSession(tb, path, m)
}

func openSession(tb testing.TB, path string, m *onnxproto.Model) *session {
	tb.Helper()
	so, err := ort.NewSessionOptions()
	if err != nil {
		tb.Fatal(err)
	}
	defer destroy(tb, "the session options", so)
	if err := so.SetIntraOpNumThreads(2); err != nil {
		tb.Fatal(err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		tb.Fatal(err)
	}
	var ins, outs []string
	for _, v := range m.Graph.Inputs {
		ins = append(ins, v.Name)
	}
	for _, v := range m.Graph.Outputs {
		outs = append(outs, v.Name)
	}
	s, err := ort.NewDynamicAdvancedSession(path, ins, outs, so)
	if err != nil {
		tb.Fatalf("ONNX Runtime rejected the model: %v", err)
	}
	tb.Cleanup(func() { destroy(tb, "the session", s) })
	return &session{s: s, inputs: ins, outputs: outs}
}

// run feeds inputs in graph-input order and returns every output by name.
func (s *session) run(tb testing.TB, inputs ...ort.Value) map[string][]float32 {
	tb.Helper()
	outs := make([]ort.Value, len(s.outputs))
	if err := s.s.Run(inputs, outs); err != nil {
		tb.Fatalf("run: %v", err)
	}
	got := map[string][]float32{}
	for i, o := range outs {
		t, ok := o.(*ort.Tensor[float32])
		if !ok {
			tb.Fatalf("output %s is %T, want float32", s.outputs[i], o)
		}
		got[s.outputs[i]] = append([]float32(nil), t.GetData()...)
		destroy(tb, "output "+s.outputs[i], o)
	}
	return got
}

func floatInput(tb testing.TB, shape []int64, data []float32) ort.Value {
	tb.Helper()
	t, err := ort.NewTensor(ort.NewShape(shape...), data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { destroy(tb, "the input tensor", t) })
	return t
}

// idsInput makes input_ids (or attention_mask) of the requested type.
func idsInput(tb testing.TB, rows [][]int64, dt onnxproto.DataType) ort.Value {
	tb.Helper()
	shape := ort.NewShape(int64(len(rows)), int64(len(rows[0])))
	var flat64 []int64
	for _, r := range rows {
		flat64 = append(flat64, r...)
	}
	var v ort.Value
	var err error
	if dt == onnxproto.Int32 {
		flat32 := make([]int32, len(flat64))
		for i, x := range flat64 {
			flat32[i] = int32(x)
		}
		v, err = ort.NewTensor(shape, flat32)
	} else {
		v, err = ort.NewTensor(shape, flat64)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { destroy(tb, "the ids tensor", v) })
	return v
}

func randomPixels(cfg arch.Config, batch int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	vc := cfg.VisionConfig
	px := make([]float32, batch*vc.NumChannels*vc.ImageSize*vc.ImageSize)
	for i := range px {
		px[i] = float32(rng.NormFloat64()) // normalised pixels are roughly unit scale
	}
	return px
}

func pixelShape(cfg arch.Config, batch int) []int64 {
	vc := cfg.VisionConfig
	return []int64{int64(batch), int64(vc.NumChannels), int64(vc.ImageSize), int64(vc.ImageSize)}
}

// tokenRows makes prompts of OpenAI's shape: SOT, random tokens, EOT (the
// highest id) at eot[i], then zero padding to length seq.
func tokenRows(cfg arch.Config, seq int, eot []int, seed uint64) [][]int64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	tc := cfg.TextConfig
	rows := make([][]int64, len(eot))
	for i, e := range eot {
		row := make([]int64, seq)
		row[0] = int64(tc.BOSTokenID)
		for j := 1; j < e; j++ {
			row[j] = int64(rng.IntN(tc.VocabSize - 2))
		}
		row[e] = int64(tc.EOSTokenID)
		rows[i] = row
	}
	return rows
}

func toFloat64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// compareRows checks got against want row by row ([rows, width]): the
// largest absolute difference relative to the row's largest magnitude, and
// the cosine of each row.
func compareRows(tb testing.TB, what string, got []float32, want []float64, width int, maxRel, minCos float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d values, reference has %d", what, len(got), len(want))
	}
	for r := 0; r < len(want)/width; r++ {
		g := toFloat64(got[r*width : (r+1)*width])
		w := want[r*width : (r+1)*width]
		var peak, diff float64
		for i := range w {
			peak = math.Max(peak, math.Abs(w[i]))
			diff = math.Max(diff, math.Abs(g[i]-w[i]))
		}
		if cos := reference.Cosine(g, w); cos < minCos || diff > maxRel*math.Max(peak, 1e-6) || math.IsNaN(cos) {
			tb.Fatalf("%s row %d: cosine %.6f (want >= %g), max abs diff %.3g with peak %.3g (want <= %g relative)",
				what, r, cos, minCos, diff, peak, maxRel)
		}
	}
}

// minCosine is the smallest cosine over the rows of two [rows, width] sets.
func minCosine(got []float32, want []float64, width int) float64 {
	worst := 1.0
	for r := 0; r < len(want)/width; r++ {
		worst = math.Min(worst, reference.Cosine(toFloat64(got[r*width:(r+1)*width]), want[r*width:(r+1)*width]))
	}
	return worst
}
