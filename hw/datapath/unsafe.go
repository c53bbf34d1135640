package datapath

import "unsafe"

// unsafeSlice is unsafe.Slice, for the kernels' pointer operands.
func unsafeSlice[T any](p *T, n int) []T { return unsafe.Slice(p, n) }
