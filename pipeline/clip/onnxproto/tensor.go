package onnxproto

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// hostIsLittleEndian lets float32 data be viewed as raw_data without a copy.
var hostIsLittleEndian = func() bool {
	var probe uint16 = 1
	return *(*byte)(unsafe.Pointer(&probe)) == 1
}()

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, s := range shape {
		d[i] = int64(s)
	}
	return d
}

// FloatTensor makes a float32 tensor. On little-endian hosts Raw shares memory
// with data (no copy), so data must not change until the model is saved.
func FloatTensor(name string, shape []int, data []float32) *Tensor {
	var raw []byte
	if len(data) > 0 && hostIsLittleEndian {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	} else {
		raw = make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	}
	return &Tensor{Name: name, DataType: Float, Dims: dims64(shape), Raw: raw}
}

// Float16Tensor makes a float16 tensor, rounding each value to nearest even.
func Float16Tensor(name string, shape []int, data []float32) *Tensor {
	raw := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(raw[2*i:], Float16Bits(v))
	}
	return &Tensor{Name: name, DataType: Float16, Dims: dims64(shape), Raw: raw}
}

// Int8Tensor makes an int8 tensor.
func Int8Tensor(name string, shape []int, data []int8) *Tensor {
	raw := make([]byte, len(data))
	for i, v := range data {
		raw[i] = byte(v)
	}
	return &Tensor{Name: name, DataType: Int8, Dims: dims64(shape), Raw: raw}
}

// Int32Tensor makes an int32 tensor.
func Int32Tensor(name string, shape []int, data []int32) *Tensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return &Tensor{Name: name, DataType: Int32, Dims: dims64(shape), Raw: raw}
}

// Int64Tensor makes an int64 tensor.
func Int64Tensor(name string, shape []int, data []int64) *Tensor {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &Tensor{Name: name, DataType: Int64, Dims: dims64(shape), Raw: raw}
}

// NumElements is the product of the dimensions.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Floats decodes the raw data of a float32 or float16 tensor.
func (t *Tensor) Floats() []float32 {
	switch t.DataType {
	case Float:
		out := make([]float32, len(t.Raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
		}
		return out
	case Float16:
		out := make([]float32, len(t.Raw)/2)
		for i := range out {
			out[i] = Float16ToFloat32(binary.LittleEndian.Uint16(t.Raw[2*i:]))
		}
		return out
	}
	return nil
}

// Float16Bits converts a float32 to IEEE 754 half precision, rounding to
// nearest even; values beyond the half range become infinities.
func Float16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff

	switch {
	case exp == 0xff: // Inf or NaN; keep NaNs quiet and non-zero.
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // too large for half
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		halfExp := uint32(exp-127+15) << 10
		v := halfExp | mant>>13
		// Round to nearest even on the 13 dropped bits; a carry into the
		// exponent is correct (it may round up to infinity).
		rest := mant & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && v&1 == 1) {
			v++
		}
		return sign | uint16(v)
	case exp-127 >= -25: // subnormal half
		m := mant | 0x800000 // implicit leading one
		shift := uint32(-14-(exp-127)) + 13
		v := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && v&1 == 1) {
			v++
		}
		return sign | uint16(v)
	}
	return sign // underflows to zero
}

// Float16ToFloat32 widens an IEEE 754 half precision value exactly.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(mant) / (1 << 24) // subnormal: mant * 2^-24
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
