package safetensors

import (
	"math"
	"testing"
)

func TestHalfToFloat32KnownPatterns(t *testing.T) {
	cases := []struct {
		name string
		bits uint16
		want float64
	}{
		{"one", 0x3c00, 1},                                 // exp 15 (bias 15), mantissa 0
		{"minus two", 0xc000, -2},                          // sign, exp 16
		{"max", 0x7bff, 65504},                             // (2 - 2^-10) * 2^15
		{"smallest subnormal", 0x0001, math.Ldexp(1, -24)}, // 2^-14 * 2^-10
		{"largest subnormal", 0x03ff, 1023 * math.Ldexp(1, -24)},
		{"smallest normal", 0x0400, math.Ldexp(1, -14)},
		{"one third", 0x3555, 1365.0 / 4096}, // (1 + 341/1024) / 4
		{"minus zero", 0x8000, math.Copysign(0, -1)},
		{"inf", 0x7c00, math.Inf(1)},
		{"minus inf", 0xfc00, math.Inf(-1)},
	}
	for _, c := range cases {
		got := HalfToFloat32(c.bits)
		if float64(got) != c.want || math.Signbit(float64(got)) != math.Signbit(c.want) {
			t.Errorf("%s: HalfToFloat32(%#04x) = %g, want %g", c.name, c.bits, got, c.want)
		}
	}
	for _, nan := range []uint16{0x7e00, 0x7c01, 0xfe00} {
		if got := HalfToFloat32(nan); !math.IsNaN(float64(got)) {
			t.Errorf("HalfToFloat32(%#04x) = %g, want NaN", nan, got)
		}
	}
}

func TestFloat32ToHalfRounding(t *testing.T) {
	cases := []struct {
		name string
		in   float64
		want uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"max", 65504, 0x7bff},
		{"just below the inf tie", 65519, 0x7bff},
		{"tie to even is inf", 65520, 0x7c00}, // halfway between 65504 (odd mantissa) and 65536
		{"huge", 1e10, 0x7c00},
		{"tie down to even", 1 + math.Ldexp(1, -11), 0x3c00},
		{"tie up to even", 1 + 3*math.Ldexp(1, -11), 0x3c02},
		{"above tie rounds up", 1 + math.Ldexp(1, -11) + math.Ldexp(1, -20), 0x3c01},
		{"smallest subnormal", math.Ldexp(1, -24), 0x0001},
		{"half of smallest subnormal ties to zero", math.Ldexp(1, -25), 0x0000},
		{"three quarters of smallest subnormal", 3 * math.Ldexp(1, -26), 0x0001},
		{"one and a half subnormals ties to two", 3 * math.Ldexp(1, -25), 0x0002},
		{"subnormal rounding up into normal", math.Ldexp(1, -14) - math.Ldexp(1, -26), 0x0400},
		{"tiny", 1e-30, 0x0000},
		{"minus tiny keeps sign", -1e-30, 0x8000},
		{"inf", math.Inf(1), 0x7c00},
		{"minus inf", math.Inf(-1), 0xfc00},
	}
	for _, c := range cases {
		if got := Float32ToHalf(float32(c.in)); got != c.want {
			t.Errorf("%s: Float32ToHalf(%g) = %#04x, want %#04x", c.name, c.in, got, c.want)
		}
	}
	if got := Float32ToHalf(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("Float32ToHalf(NaN) = %#04x, not a NaN", got)
	}
}

// Every finite or infinite half survives a trip through float32 unchanged.
func TestHalfRoundTripAllPatterns(t *testing.T) {
	for bits := 0; bits <= 0xffff; bits++ {
		h := uint16(bits)
		f := HalfToFloat32(h)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !math.IsNaN(float64(f)) || !math.IsNaN(float64(HalfToFloat32(Float32ToHalf(f)))) {
				t.Fatalf("NaN %#04x did not stay NaN", h)
			}
			continue
		}
		if back := Float32ToHalf(f); back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

func TestBFloat16KnownPatterns(t *testing.T) {
	decodeCases := []struct {
		bits uint16
		want float64
	}{
		{0x3f80, 1},
		{0xc000, -2},
		{0x3eab, 171.0 / 512}, // (1 + 43/128) / 4
		{0x0001, math.Ldexp(1, -133)},
		{0x7f80, math.Inf(1)},
		{0xff80, math.Inf(-1)},
	}
	for _, c := range decodeCases {
		if got := BFloat16ToFloat32(c.bits); float64(got) != c.want {
			t.Errorf("BFloat16ToFloat32(%#04x) = %g, want %g", c.bits, got, c.want)
		}
	}
	if got := BFloat16ToFloat32(0x7fc0); !math.IsNaN(float64(got)) {
		t.Errorf("BFloat16ToFloat32(0x7fc0) = %g, want NaN", got)
	}

	encodeCases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		// 1/3 is 0x3eaaaaab in float32; the dropped half 0xaaab is above 0x8000, so round up.
		{float32(1.0 / 3), 0x3eab},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even stays
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, odd rounds up
		{math.MaxFloat32, 0x7f80},                  // rounds beyond the largest bfloat16
		{float32(math.Inf(-1)), 0xff80},
	}
	for _, c := range encodeCases {
		if got := Float32ToBFloat16(c.in); got != c.want {
			t.Errorf("Float32ToBFloat16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	// A NaN whose payload lives only in the low 16 bits must not become inf.
	if got := Float32ToBFloat16(math.Float32frombits(0x7f800001)); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("Float32ToBFloat16(NaN) = %#04x, not a NaN", got)
	}
}

func TestBFloat16RoundTripAllPatterns(t *testing.T) {
	for bits := 0; bits <= 0xffff; bits++ {
		b := uint16(bits)
		f := BFloat16ToFloat32(b)
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := Float32ToBFloat16(f); back != b {
			t.Fatalf("%#04x -> %g -> %#04x", b, f, back)
		}
	}
}
