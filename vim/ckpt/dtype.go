package ckpt

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
)

// dtype describes one element type of a tensor file.
type dtype struct {
	name string
	size int // bytes per element
	// decode reads one element from the first size bytes of b.
	decode func(b []byte, o binary.ByteOrder) float64
	// encode writes v as one little-endian element into the first size
	// bytes of b. It fails when v is not representable: a non-integral or
	// out-of-range value for an integer type, a finite value that would
	// overflow to ±Inf for a float type.
	encode func(b []byte, v float64) error
}

// dtypes lists the element types read and written, under their safetensors
// names. The 8-bit float formats (F8_E4M3, F8_E5M2) are not supported.
var dtypes = map[string]*dtype{
	"BOOL": {name: "BOOL", size: 1,
		decode: func(b []byte, _ binary.ByteOrder) float64 {
			if b[0] != 0 {
				return 1
			}
			return 0
		},
		encode: func(b []byte, v float64) error {
			switch v {
			case 0:
				b[0] = 0
			case 1:
				b[0] = 1
			default:
				return fmt.Errorf("value %v is not 0 or 1", v)
			}
			return nil
		}},
	"U8": {name: "U8", size: 1,
		decode: func(b []byte, _ binary.ByteOrder) float64 { return float64(b[0]) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, 0, 1<<8); err != nil {
				return err
			}
			b[0] = uint8(v)
			return nil
		}},
	"I8": {name: "I8", size: 1,
		decode: func(b []byte, _ binary.ByteOrder) float64 { return float64(int8(b[0])) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, -1<<7, 1<<7); err != nil {
				return err
			}
			b[0] = uint8(int8(v))
			return nil
		}},
	"U16": {name: "U16", size: 2,
		decode: func(b []byte, o binary.ByteOrder) float64 { return float64(o.Uint16(b)) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, 0, 1<<16); err != nil {
				return err
			}
			binary.LittleEndian.PutUint16(b, uint16(v))
			return nil
		}},
	"I16": {name: "I16", size: 2,
		decode: func(b []byte, o binary.ByteOrder) float64 { return float64(int16(o.Uint16(b))) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, -1<<15, 1<<15); err != nil {
				return err
			}
			binary.LittleEndian.PutUint16(b, uint16(int16(v)))
			return nil
		}},
	"U32": {name: "U32", size: 4,
		decode: func(b []byte, o binary.ByteOrder) float64 { return float64(o.Uint32(b)) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, 0, 1<<32); err != nil {
				return err
			}
			binary.LittleEndian.PutUint32(b, uint32(v))
			return nil
		}},
	"I32": {name: "I32", size: 4,
		decode: func(b []byte, o binary.ByteOrder) float64 { return float64(int32(o.Uint32(b))) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, -1<<31, 1<<31); err != nil {
				return err
			}
			binary.LittleEndian.PutUint32(b, uint32(int32(v)))
			return nil
		}},
	"U64": {name: "U64", size: 8,
		decode: func(b []byte, o binary.ByteOrder) float64 { return float64(o.Uint64(b)) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, 0, 1<<64); err != nil {
				return err
			}
			binary.LittleEndian.PutUint64(b, uint64(v))
			return nil
		}},
	"I64": {name: "I64", size: 8,
		decode: func(b []byte, o binary.ByteOrder) float64 { return float64(int64(o.Uint64(b))) },
		encode: func(b []byte, v float64) error {
			if err := checkInt(v, -1<<63, 1<<63); err != nil {
				return err
			}
			binary.LittleEndian.PutUint64(b, uint64(int64(v)))
			return nil
		}},
	"F16": {name: "F16", size: 2,
		decode: func(b []byte, o binary.ByteOrder) float64 { return F16ToFloat64(o.Uint16(b)) },
		encode: func(b []byte, v float64) error {
			h := Float64ToF16(v)
			if h&0x7fff == 0x7c00 && !math.IsInf(v, 0) {
				return fmt.Errorf("value %v overflows F16", v)
			}
			binary.LittleEndian.PutUint16(b, h)
			return nil
		}},
	"BF16": {name: "BF16", size: 2,
		decode: func(b []byte, o binary.ByteOrder) float64 { return BF16ToFloat64(o.Uint16(b)) },
		encode: func(b []byte, v float64) error {
			h := Float64ToBF16(v)
			if h&0x7fff == 0x7f80 && !math.IsInf(v, 0) {
				return fmt.Errorf("value %v overflows BF16", v)
			}
			binary.LittleEndian.PutUint16(b, h)
			return nil
		}},
	"F32": {name: "F32", size: 4,
		decode: func(b []byte, o binary.ByteOrder) float64 {
			return float64(math.Float32frombits(o.Uint32(b)))
		},
		encode: func(b []byte, v float64) error {
			f := float32(v)
			if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
				return fmt.Errorf("value %v overflows F32", v)
			}
			binary.LittleEndian.PutUint32(b, math.Float32bits(f))
			return nil
		}},
	"F64": {name: "F64", size: 8,
		decode: func(b []byte, o binary.ByteOrder) float64 { return math.Float64frombits(o.Uint64(b)) },
		encode: func(b []byte, v float64) error {
			binary.LittleEndian.PutUint64(b, math.Float64bits(v))
			return nil
		}},
}

// lookupDType returns the description of the named element type.
func lookupDType(name string) (*dtype, error) {
	if dt, ok := dtypes[name]; ok {
		return dt, nil
	}
	names := make([]string, 0, len(dtypes))
	for n := range dtypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unsupported dtype %q (supported: %s)", name, strings.Join(names, ", "))
}

// checkInt reports whether v is an integer in [lo, hi).
func checkInt(v, lo, hi float64) error {
	if v != math.Trunc(v) || v < lo || v >= hi { // NaN fails the first test
		return fmt.Errorf("value %v is not an integer in [%v, %v)", v, lo, hi)
	}
	return nil
}

// F16ToFloat64 returns the value of the IEEE 754 binary16 number with bits h.
// The conversion is exact.
func F16ToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal: mant·2⁻²⁴
		return sign * math.Ldexp(mant, -24)
	case 0x1f:
		if mant != 0 {
			return math.Copysign(math.NaN(), sign)
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1024+mant, exp-25)
}

// BF16ToFloat64 returns the value of the bfloat16 number with bits h (the
// high half of an IEEE 754 binary32). The conversion is exact.
func BF16ToFloat64(h uint16) float64 {
	return float64(math.Float32frombits(uint32(h) << 16))
}

// Float64ToF16 rounds v to the nearest IEEE 754 binary16 number, ties to
// even, in one step (no double rounding through float32). Values beyond the
// largest finite binary16 (65504) round to ±Inf as IEEE 754 prescribes; NaN
// becomes the quiet NaN 0x7e00 with v's sign.
func Float64ToF16(v float64) uint16 {
	return roundFloat(v, 5, 10)
}

// Float64ToBF16 rounds v to the nearest bfloat16 number, ties to even, in one
// step. Overflow gives ±Inf; NaN becomes the quiet NaN 0x7fc0 with v's sign.
func Float64ToBF16(v float64) uint16 {
	return roundFloat(v, 8, 7)
}

// roundFloat rounds v to the nearest number of the binary format with expBits
// exponent bits and mantBits stored mantissa bits (at most 16 bits in all),
// ties to even, and returns its bits.
func roundFloat(v float64, expBits, mantBits int) uint16 {
	var sign uint16
	if math.Signbit(v) {
		sign = 1 << (expBits + mantBits)
	}
	expMask := uint16(1)<<expBits - 1
	inf := sign | expMask<<mantBits
	switch {
	case math.IsNaN(v):
		return inf | 1<<(mantBits-1)
	case math.IsInf(v, 0):
		return inf
	case v == 0:
		return sign
	}
	a := math.Abs(v)
	bias := 1<<(expBits-1) - 1
	minExp := 1 - bias // exponent of the smallest normal number
	_, e := math.Frexp(a)
	e-- // now a = m·2^e with m in [1, 2)
	if e > bias {
		return inf // at least twice the largest finite number
	}
	// q is the spacing of the format's numbers around a: 2^(e-mantBits)
	// for a normal number, the subnormal spacing below the normal range.
	qexp := max(e, minExp) - mantBits
	n := math.RoundToEven(math.Ldexp(a, -qexp)) // exact scaling by 2^-qexp
	r := math.Ldexp(n, qexp)                    // the rounded magnitude, exact
	_, re := math.Frexp(r)
	re--
	if r == 0 {
		return sign
	}
	if re < minExp { // subnormal: r = n·2^(minExp-mantBits)
		return sign | uint16(n)
	}
	biased := re + bias
	if biased >= int(expMask) {
		return inf
	}
	mant := uint16(math.Ldexp(r, -re)*float64(int(1)<<mantBits)) - 1<<mantBits
	return sign | uint16(biased)<<mantBits | mant
}
