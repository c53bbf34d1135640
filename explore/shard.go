package explore

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard selects part of a run's jobs, so that n machines share it: shard
// Index of Count (0 ≤ Index < Count) takes the Index-th of Count contiguous,
// nearly equal ranges of the job list, whose order is fixed by the space
// alone. The zero Shard is the whole run.
//
// This is the seam for internal/shard (issue 14): the partition and its
// "i/n" syntax are the only things it decides.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ParseShard parses "i/n", 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	sh := Shard{Index: i, Count: n}
	return sh, sh.check()
}

func (s Shard) check() error {
	if s == (Shard{}) {
		return nil
	}
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n", s.Index, s.Count)
	}
	return nil
}

// Whole reports whether s is the whole run.
func (s Shard) Whole() bool { return s.Count <= 1 }

// Range returns the jobs [lo, hi) of s in a list of n.
func (s Shard) Range(n int) (lo, hi int) {
	if s.Whole() {
		return 0, n
	}
	return s.Index * n / s.Count, (s.Index + 1) * n / s.Count
}

// String returns "i/n", or "all" for the whole run.
func (s Shard) String() string {
	if s.Whole() {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
