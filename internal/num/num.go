// Package num holds small numeric helpers shared by the packages.
package num

// Argmax is the index of the largest value of v, the first one on ties (0
// for an empty v). NaN values are never larger than another value, so they
// are chosen only when they come first.
func Argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
