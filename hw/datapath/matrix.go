package datapath

import (
	"fmt"
	"unsafe"
)

// Integer is the set of element types the units store: int8 for activations
// and weights, int16 for wide activations and gate outputs, int32 for
// accumulators and the residual stream.
type Integer interface {
	~int8 | ~int16 | ~int32
}

// Matrix is a dense row-major matrix of integers: element (i, j) is
// Data[i*Cols+j].
type Matrix[T Integer] struct {
	Rows, Cols int
	Data       []T
}

// NewMatrix returns a zero rows×cols matrix.
func NewMatrix[T Integer](rows, cols int) Matrix[T] {
	return Matrix[T]{Rows: rows, Cols: cols, Data: make([]T, rows*cols)}
}

// Row returns row i as a slice of m.Data.
func (m Matrix[T]) Row(i int) []T { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m Matrix[T]) At(i, j int) T { return m.Data[i*m.Cols+j] }

// check reports an error unless m is a well-formed rows×cols matrix; name
// identifies the operand in the message.
func (m Matrix[T]) check(name string, rows, cols int) error {
	if m.Rows != rows || m.Cols != cols {
		return fmt.Errorf("%s: shape %dx%d, want %dx%d", name, m.Rows, m.Cols, rows, cols)
	}
	return m.valid(name)
}

// valid reports an error if m's data does not match its shape.
func (m Matrix[T]) valid(name string) error {
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("%s: negative shape %dx%d", name, m.Rows, m.Cols)
	}
	if len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("%s: %d elements for shape %dx%d", name, len(m.Data), m.Rows, m.Cols)
	}
	return nil
}

// bitsOf returns the width in bits of T.
func bitsOf[T Integer]() int {
	var z T
	return 8 * int(unsafe.Sizeof(z))
}
