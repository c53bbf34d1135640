package main

// Parsers of the list and shape flags of vimsim sweep and vimsim cycles.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
)

// parseIntList parses a comma-separated list of integers and ranges:
// "8,16,32", "8:64:*2" (geometric), "100:400:+100" or "1:4" (step 1).
// Ranges include their end when reached exactly. At most 10,000 values.
func parseIntList(s string) ([]int, error) {
	var out []int
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("list %q: empty item", s)
		}
		parts := strings.Split(item, ":")
		if len(parts) == 1 {
			v, err := strconv.Atoi(item)
			if err != nil {
				return nil, fmt.Errorf("list %q: %q is not an integer", s, item)
			}
			out = append(out, v)
			continue
		}
		if len(parts) > 3 {
			return nil, fmt.Errorf("list %q: range %q: want A:B[:+S|:*F]", s, item)
		}
		a, err1 := strconv.Atoi(parts[0])
		b, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("list %q: range %q: want integers A <= B", s, item)
		}
		step, geometric := 1, false
		if len(parts) == 3 {
			st := parts[2]
			switch {
			case strings.HasPrefix(st, "*"):
				geometric = true
				st = st[1:]
			case strings.HasPrefix(st, "+"):
				st = st[1:]
			}
			v, err := strconv.Atoi(st)
			if err != nil || v < 1 || (geometric && v < 2) {
				return nil, fmt.Errorf("list %q: range %q: bad step %q", s, item, parts[2])
			}
			step = v
		}
		if geometric && a < 1 {
			return nil, fmt.Errorf("list %q: range %q: geometric ranges start at 1 or more", s, item)
		}
		for v := a; v <= b; {
			out = append(out, v)
			if len(out) > 10000 {
				return nil, fmt.Errorf("list %q: more than 10000 values", s)
			}
			var next int
			if geometric {
				if v > math.MaxInt/step {
					break
				}
				next = v * step
			} else {
				if v > math.MaxInt-step {
					break
				}
				next = v + step
			}
			v = next
		}
	}
	return out, nil
}

// parseFloatList parses a comma-separated list of positive numbers and
// ranges "A:B:+S" or "A:B:*F" (values A + i·S or A·F^i up to B·(1+1e-9)).
func parseFloatList(s string) ([]float64, error) {
	var out []float64
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		parts := strings.Split(item, ":")
		bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
		if len(parts) == 1 {
			v, err := strconv.ParseFloat(item, 64)
			if err != nil || bad(v) {
				return nil, fmt.Errorf("list %q: %q is not a number", s, item)
			}
			out = append(out, v)
			continue
		}
		if len(parts) != 3 || len(parts[2]) < 2 || (parts[2][0] != '+' && parts[2][0] != '*') {
			return nil, fmt.Errorf("list %q: range %q: want A:B:+S or A:B:*F", s, item)
		}
		a, err1 := strconv.ParseFloat(parts[0], 64)
		b, err2 := strconv.ParseFloat(parts[1], 64)
		st, err3 := strconv.ParseFloat(parts[2][1:], 64)
		geometric := parts[2][0] == '*'
		if err1 != nil || err2 != nil || err3 != nil || bad(a) || bad(b) || bad(st) || a > b ||
			(!geometric && !(st > 0)) || (geometric && (!(st > 1) || !(a > 0))) {
			return nil, fmt.Errorf("list %q: range %q: want numbers A <= B and a step > 0 (factor > 1)", s, item)
		}
		for i := 0; ; i++ {
			v := a + float64(i)*st
			if geometric {
				v = a * math.Pow(st, float64(i))
			}
			if v > b*(1+1e-9) || len(out) > 10000 {
				break
			}
			out = append(out, v)
		}
		if len(out) > 10000 {
			return nil, fmt.Errorf("list %q: more than 10000 values", s)
		}
	}
	return out, nil
}

// parseArrayList parses array sizes: "16x16,32x8" or a range of square
// arrays "8:64:*2".
func parseArrayList(s string) ([][2]int, error) {
	var out [][2]int
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if strings.Contains(item, ":") {
			ns, err := parseIntList(item)
			if err != nil {
				return nil, err
			}
			for _, n := range ns {
				if n < 1 || n > arch.MaxArrayDim {
					return nil, fmt.Errorf("array list %q: %d out of [1, %d]", s, n, arch.MaxArrayDim)
				}
				out = append(out, [2]int{n, n})
			}
			continue
		}
		r, c, err := parseArray(item)
		if err != nil {
			return nil, fmt.Errorf("array list %q: %w", s, err)
		}
		out = append(out, [2]int{r, c})
	}
	return out, nil
}

// parseGEMM parses "M,K,N" (also accepting 'x' as separator).
func parseGEMM(s string) (cost.GEMM, error) {
	parts := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ',' || r == 'x' })
	if len(parts) != 3 {
		return cost.GEMM{}, fmt.Errorf("gemm %q: want M,K,N", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return cost.GEMM{}, fmt.Errorf("gemm %q: %q is not an integer", s, p)
		}
		v[i] = n
	}
	g := cost.GEMM{M: v[0], K: v[1], N: v[2]}
	if err := g.Validate(); err != nil {
		return cost.GEMM{}, fmt.Errorf("gemm %q: %w", s, err)
	}
	return g, nil
}

// parseArray parses "RxC" (rows × columns) or a single "N" for N×N.
func parseArray(s string) (rows, cols int, err error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "x")
	if len(parts) == 1 {
		parts = append(parts, parts[0])
	}
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("array %q: want RxC", s)
	}
	r, err1 := strconv.Atoi(strings.TrimSpace(parts[0]))
	c, err2 := strconv.Atoi(strings.TrimSpace(parts[1]))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("array %q: want RxC with integers", s)
	}
	if r < 1 || r > arch.MaxArrayDim || c < 1 || c > arch.MaxArrayDim {
		return 0, 0, fmt.Errorf("array %q: rows and cols must be in [1, %d]", s, arch.MaxArrayDim)
	}
	return r, c, nil
}
