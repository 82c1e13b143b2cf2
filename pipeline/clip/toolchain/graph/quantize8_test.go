package graph

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/onnxproto"
	"github.com/linesight/linesight/pipeline/clip/toolchain/reference"
)

var newVariants = []Variant{INT8Weights, INT8Blocks, INT8VNNI}

// TestNewVariantsAgreeWithFP32 runs every new variant through ONNX Runtime
// and compares its embeddings with the fp32 graph's, as `bench models`
// does, and with the float64 reference.
func TestNewVariantsAgreeWithFP32(t *testing.T) {
	for _, md := range accuracyModels(t) {
		px := randomPixels(md.cfg, 3, 31)
		ids := tokenRows(md.cfg, 77, []int{9, 40, 76}, 32)
		fv := newSession(t, build(t, md.cfg, md.w, arch.Vision, Options{}), onnxproto.SaveOptions{})
		fimg := toFloat64(fv.run(t, floatInput(t, pixelShape(md.cfg, 3), px))["image_embeds"])
		ft := newSession(t, build(t, md.cfg, md.w, arch.Text, Options{}), onnxproto.SaveOptions{})
		ftxt := toFloat64(ft.run(t, idsInput(t, ids, onnxproto.Int64))["text_embeds"])
		vref, err := reference.Vision(md.cfg, md.w, px, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range newVariants {
			t.Run(md.name+"_"+v.String(), func(t *testing.T) {
				vm := build(t, md.cfg, md.w, arch.Vision, Options{Variant: v})
				checkQuantizedOps(t, vm.Graph, v)
				checkInitializerNames(t, md.cfg, arch.Vision, vm.Graph, v)
				if v == INT8VNNI && !cpuHasVNNI() {
					// Without VNNI, MLAS's uint8 x int8 kernel adds pairs of
					// products in saturating int16, and 127-range weights
					// overflow it: the variant is for VNNI CPUs only, and its
					// accuracy can be measured on one only.
					t.Skipf("no VNNI on this CPU (no avx512_vnni or avx_vnni in /proc/cpuinfo): the graph of %s is checked, its accuracy is not", v)
				}
				img := newSession(t, vm, onnxproto.SaveOptions{}).run(t, floatInput(t, pixelShape(md.cfg, 3), px))["image_embeds"]
				ts := newSession(t, build(t, md.cfg, md.w, arch.Text, Options{Variant: v}), onnxproto.SaveOptions{})
				txt := ts.run(t, idsInput(t, ids, onnxproto.Int64))["text_embeds"]
				vcos, tcos := minCosine(img, fimg, vref.Dim), minCosine(txt, ftxt, len(ftxt)/3)
				rcos := minCosine(img, vref.Embeds, vref.Dim)
				t.Logf("cosine to fp32: vision %.6f, text %.6f; vision to float64 reference %.6f", vcos, tcos, rcos)
				// Weight-only and block-wise int8 lose less than per-column
				// dynamic int8, whose bar (0.99) TestVariantsAgreeWithReference sets.
				minCos := 0.99
				if v == INT8Weights || v == INT8Blocks {
					minCos = 0.995
				}
				if vcos < minCos || tcos < minCos || rcos < minCos {
					t.Errorf("cosine vision %.6f text %.6f reference %.6f, want >= %g", vcos, tcos, rcos, minCos)
				}
			})
		}
	}
}

// checkQuantizedOps checks that every constant-weight MatMul became the
// variant's operator and that the float32-only operations stayed float32.
func checkQuantizedOps(t *testing.T, g *onnxproto.Graph, v Variant) {
	t.Helper()
	inits := map[string]*onnxproto.Tensor{}
	for _, init := range g.Initializers {
		inits[init.Name] = init
	}
	want := map[Variant]string{INT8Weights: "DequantizeLinear", INT8Blocks: "MatMulNBits", INT8VNNI: "DynamicQuantizeMatMul"}[v]
	counts := map[string]int{}
	for _, n := range g.Nodes {
		counts[n.OpType]++
		if n.OpType == "MatMul" && inits[n.Inputs[1]] != nil {
			t.Errorf("%s graph keeps float MatMul %s with constant weight %s", v, n.Name, n.Inputs[1])
		}
		if n.OpType == "LayerNormalization" && inits[n.Inputs[1]].DataType != onnxproto.Float {
			t.Errorf("%s: layer norm weight is %s, want float32", n.Name, inits[n.Inputs[1]].DataType)
		}
	}
	if counts[want] == 0 {
		t.Errorf("%s graph has no %s", v, want)
	}
	for _, init := range g.Initializers {
		if init.DataType == onnxproto.Float16 {
			t.Errorf("%s graph has float16 initializer %s", v, init.Name)
		}
	}
}

func TestParseNewVariants(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   Variant
		suffix string
	}{{"int8w", INT8Weights, "_int8w"}, {"INT8B", INT8Blocks, "_int8b"}, {"int8vnni", INT8VNNI, "_int8vnni"}} {
		v, err := ParseVariant(c.in)
		if err != nil || v != c.want || v.Suffix() != c.suffix {
			t.Errorf("ParseVariant(%q) = %v, %v (suffix %q)", c.in, v, err, v.Suffix())
		}
		if !v.quantized() {
			t.Errorf("%s is not marked quantized", v)
		}
	}
}

func TestQuantizeColumnsRange(t *testing.T) {
	// [k=2, n=2]: column 0 peaks at 2, column 1 is all zero.
	q, scales := quantizeColumns([]float32{2, 0, -1, 0}, 2, 2, 127)
	if scales[0] != float32(2.0/127) || scales[1] != 1 {
		t.Fatalf("scales %v", scales)
	}
	if q[0] != 127 || q[2] != -64 || q[1] != 0 || q[3] != 0 { // -1/(2/127) = -63.5 rounds to even -64
		t.Fatalf("codes %v", q)
	}
}

func TestQuantizeBlocks(t *testing.T) {
	// wt is [k=3, n=2]; blocks of 2 along k, so k pads to 4.
	wt := []float32{
		1, -4,
		-0.5, 2,
		3, 0,
	}
	codes, scales, blocks := quantizeBlocks(wt, 3, 2, 2)
	if blocks != 2 || len(codes) != 2*2*2 || len(scales) != 4 {
		t.Fatalf("blocks %d, %d codes, %d scales", blocks, len(codes), len(scales))
	}
	// Dequantize (code-128)*scale and compare with the weight, column-major
	// by block as MatMulNBits reads it.
	for j := 0; j < 2; j++ {
		for i := 0; i < 4; i++ {
			blk, off := i/2, i%2
			got := float64(int(codes[(j*blocks+blk)*2+off])-128) * float64(scales[j*blocks+blk])
			want := 0.0
			if i < 3 {
				want = float64(wt[i*2+j])
			}
			if math.Abs(got-want) > float64(scales[j*blocks+blk])/2+1e-7 {
				t.Errorf("w[%d][%d] = %g after quantization, want %g", i, j, got, want)
			}
		}
	}
	if scales[1*blocks+1] != 1 { // column 1, block 1 holds only 0 and padding
		t.Errorf("all-zero block scale %g, want 1", scales[1*blocks+1])
	}
}

// BenchmarkVisionVariants compares every variant of the vision tower in
// ONNX Runtime at batch 1 (two threads).
func BenchmarkVisionVariants(b *testing.B) {
	for _, preset := range []string{"tiny", "vit-b-32"} {
		for _, v := range append([]Variant{FP32, INT8}, newVariants...) {
			b.Run(preset+"/"+v.String(), func(b *testing.B) {
				if preset != "tiny" && testing.Short() {
					b.Skip("full-size model skipped in -short mode")
				}
				cfg, err := arch.Preset(preset)
				if err != nil {
					b.Fatal(err)
				}
				m, err := Build(cfg, arch.RandomWeights(cfg, 1), arch.Vision, Options{Variant: v})
				if err != nil {
					b.Fatal(err)
				}
				s := newSession(b, m, onnxproto.SaveOptions{})
				in := floatInput(b, pixelShape(cfg, 1), randomPixels(cfg, 1, 1))
				s.run(b, in) // warm-up: plans memory, packs weights
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					s.run(b, in)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}

// cpuHasVNNI reports whether /proc/cpuinfo lists AVX-512 VNNI or AVX-VNNI.
func cpuHasVNNI() bool {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(data)) {
		if f == "avx512_vnni" || f == "avx_vnni" {
			return true
		}
	}
	return false
}
