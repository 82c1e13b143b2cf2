package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Floating-point dtypes this package reads (as float32) and writes.
const (
	F32  = "F32"
	F16  = "F16"
	BF16 = "BF16"
)

// dtypeBits is the storage size of every dtype the format defines. Only F32,
// F16 and BF16 convert to float32; the others are known so that a file holding
// them (e.g. I64 position_ids) still parses and their byte ranges still check.
var dtypeBits = map[string]int{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, F16: 16, BF16: 16,
	"I32": 32, "U32": 32, F32: 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// elementSize is the byte size of one element of a float dtype we convert.
func elementSize(dtype string) (int, bool) {
	switch dtype {
	case F32:
		return 4, true
	case F16, BF16:
		return 2, true
	}
	return 0, false
}

// decode converts little-endian raw values of dtype into dst.
func decode(dtype string, raw []byte, dst []float32) {
	switch dtype {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BFloat16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
}

// encode appends values as little-endian dtype.
func encode(dtype string, values []float32, out []byte) []byte {
	switch dtype {
	case F32:
		for _, v := range values {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	case F16:
		for _, v := range values {
			out = binary.LittleEndian.AppendUint16(out, Float32ToHalf(v))
		}
	case BF16:
		for _, v := range values {
			out = binary.LittleEndian.AppendUint16(out, Float32ToBFloat16(v))
		}
	}
	return out
}

func checkWritableDType(dtype string) error {
	if _, ok := elementSize(dtype); !ok {
		return fmt.Errorf("dtype %q cannot be written (F32, F16, BF16)", dtype)
	}
	return nil
}
