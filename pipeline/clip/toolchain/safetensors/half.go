package safetensors

import "math"

// IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
// float32: 1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits.

// HalfToFloat32 converts an IEEE 754 half-precision value exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN; keep the payload so a NaN stays a NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: 0.mant * 2^-14. float32 represents it as a normal number,
		// so shift the leading one into the implicit-bit position.
		e := int32(-14)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | uint32(e+127)<<23 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}

// Float32ToHalf rounds a float32 to the nearest half-precision value, ties to
// even; values beyond 65504 (after rounding) become infinity.
func Float32ToHalf(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127
	switch {
	case e > 15:
		return sign | 0x7c00
	case e >= -14: // a normal half, maybe rounding up into the next binade or to inf
		h := uint16(e+15)<<10 | uint16(mant>>13)
		rest := mant & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++
		}
		return sign | h
	}
	// Subnormal half: the value is m * 2^(e-23) and the half counts units of
	// 2^-24, so it holds m * 2^(e+1), rounded.
	m := mant | 0x800000
	shift := uint32(-(e + 1))
	if shift > 24 {
		return sign // below half of the smallest subnormal
	}
	h := uint16(m >> shift)
	rest := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rest > half || (rest == half && h&1 == 1) {
		h++
	}
	return sign | h
}

// BFloat16ToFloat32 converts a bfloat16 (the top half of a float32) exactly.
func BFloat16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// Float32ToBFloat16 rounds a float32 to the nearest bfloat16, ties to even.
func Float32ToBFloat16(f float32) uint16 {
	bits := math.Float32bits(f)
	if bits&0x7fffffff > 0x7f800000 {
		return uint16(bits>>16) | 0x40 // NaN: keep it a (quiet) NaN after truncation
	}
	lsb := (bits >> 16) & 1
	return uint16((bits + 0x7fff + lsb) >> 16)
}
