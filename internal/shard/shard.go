// Package shard splits a run over many items (the images of an
// evaluation, the designs of a sweep) into parts that separate processes or
// machines compute, and puts the parts back together.
//
// A Spec i/n names part i (counting from 0) of n. Its items are a
// contiguous range that depends only on the item count and i/n, never on
// the number of cores. Each part writes a partial file (Write): a Header
// with the command, the Spec, the item range and the Inputs the result
// depends on (flag values, content hashes of the files they name, the
// build), then the command's result for its items. Assemble checks that a
// set of partial files is every part of one run exactly once, and returns
// them in order, for the command to reduce into the output of the
// unsharded run.
package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxCount bounds the number of shards of a run.
const MaxCount = 1_000_000

// Spec is part Index of Count of a run (0 ≤ Index < Count). The zero Spec
// is the whole run, unsharded.
type Spec struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Parse reads "i/n" (0 ≤ i < n). The empty string is the zero Spec.
func Parse(s string) (Spec, error) {
	if s == "" {
		return Spec{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("%q: want i/n, shard i (from 0) of n, e.g. 0/4", s)
	}
	if n < 1 || n > MaxCount {
		return Spec{}, fmt.Errorf("%q: the shard count must be 1 to %d", s, MaxCount)
	}
	if i < 0 || i >= n {
		return Spec{}, fmt.Errorf("%q: the shard index must be 0 to %d", s, n-1)
	}
	return Spec{Index: i, Count: n}, nil
}

// Sharded reports whether s is a part rather than the whole run.
func (s Spec) Sharded() bool { return s.Count > 0 }

// String is "i/n", or "" for the zero Spec.
func (s Spec) String() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Range returns the items [first, end) of a run of total items that s
// covers: the shards' ranges are contiguous, in order, cover every item
// once and differ in size by at most one. The zero Spec covers them all.
func (s Spec) Range(total int) (first, end int) {
	if !s.Sharded() {
		return 0, total
	}
	t, i, n := int64(total), int64(s.Index), int64(s.Count)
	return int(t * i / n), int(t * (i + 1) / n)
}
