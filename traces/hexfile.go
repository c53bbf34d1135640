package traces

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// hexDigits is the number of hex digits of a bits-wide word.
func hexDigits(bits int) int { return (bits + 3) / 4 }

// appendHex appends the two's-complement bit pattern of v, masked to bits
// (1..64), as exactly hexDigits(bits) lowercase hex digits.
func appendHex(b []byte, v int64, bits int) []byte {
	u := uint64(v)
	if bits < 64 {
		u &= 1<<uint(bits) - 1
	}
	n := hexDigits(bits)
	var tmp [16]byte
	s := strconv.AppendUint(tmp[:0], u, 16)
	for i := len(s); i < n; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// hexWriter builds a $readmemh file: a header of // comment lines, then one
// word per line.
type hexWriter struct {
	buf   []byte
	words int
}

func (w *hexWriter) comment(format string, args ...any) {
	w.buf = append(w.buf, "// "...)
	w.buf = append(w.buf, strings.TrimRight(fmt.Sprintf(format, args...), " ")...)
	w.buf = append(w.buf, '\n')
}

// word appends one word of the given width.
func (w *hexWriter) word(v int64, bits int) {
	w.buf = appendHex(w.buf, v, bits)
	w.buf = append(w.buf, '\n')
	w.words++
}

// lanes appends one packed word of len(v) lanes of the given width (a
// multiple of 4), lane 0 in the least significant bits (rightmost digits).
func (w *hexWriter) lanes(v []int64, bits int) {
	for i := len(v) - 1; i >= 0; i-- {
		w.buf = appendHex(w.buf, v[i], bits)
	}
	w.buf = append(w.buf, '\n')
	w.words++
}

// ReadMemH parses the $readmemh subset the vector files use: hex words
// separated by white space, // line and /* block */ comments, and _
// separators inside words. Every word must fit in bits (1..64) bits;
// address jumps (@hex) are rejected. It returns the words as unsigned bit
// patterns; Signed sign-extends one.
func ReadMemH(data []byte, bits int) ([]uint64, error) {
	if bits < 1 || bits > 64 {
		return nil, fmt.Errorf("readmemh: width %d out of [1, 64]", bits)
	}
	var out []uint64
	line := 1
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			end := bytes.Index(data[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("readmemh: line %d: unterminated /* comment", line)
			}
			line += bytes.Count(data[i:i+2+end], []byte("\n"))
			i += end + 4
		case c == '@':
			return nil, fmt.Errorf("readmemh: line %d: address jumps (@) are not supported", line)
		default:
			var v uint64
			digits := 0
			j := i
			for ; j < len(data); j++ {
				d := data[j]
				var x uint64
				switch {
				case d >= '0' && d <= '9':
					x = uint64(d - '0')
				case d >= 'a' && d <= 'f':
					x = uint64(d-'a') + 10
				case d >= 'A' && d <= 'F':
					x = uint64(d-'A') + 10
				case d == '_':
					continue
				default:
					x = 16
				}
				if x == 16 {
					break
				}
				if v>>60 != 0 {
					return nil, fmt.Errorf("readmemh: line %d: word wider than 64 bits", line)
				}
				v = v<<4 | x
				digits++
			}
			if j < len(data) && !isSpace(data[j]) && data[j] != '/' {
				return nil, fmt.Errorf("readmemh: line %d: invalid character %q", line, data[j])
			}
			if digits == 0 {
				return nil, fmt.Errorf("readmemh: line %d: invalid character %q", line, c)
			}
			if bits < 64 && v>>uint(bits) != 0 {
				return nil, fmt.Errorf("readmemh: line %d: word %x wider than %d bits", line, v, bits)
			}
			out = append(out, v)
			i = j
		}
	}
	return out, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// Signed returns the bits-wide two's-complement value of the pattern v.
func Signed(v uint64, bits int) int64 {
	s := uint(64 - bits)
	return int64(v<<s) >> s
}
