package quant

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// KMeans1D groups the values v into at most k clusters minimising the
// within-cluster sum of squared distances to the cluster means (the k-means
// objective), and returns each value's cluster label and the cluster
// centroids sorted ascending (label 0 = smallest centroid, §4.2).
//
// The official code runs Lloyd's algorithm from k random values, which can
// stop in a poor local optimum (two true groups merged) and returns a NaN
// centroid when a cluster empties (§9 item 11). On the line the global
// optimum is computable exactly, so KMeans1D needs no initialisation: it
// solves the k-means problem by dynamic programming over the sorted
// distinct values (Wang & Song, "Ckmeans.1d.dp", R Journal 2011), in
// O(k·n²) for n distinct values. Equal values always share a cluster, no
// cluster is empty, and when v has fewer than k distinct values there is
// one cluster per distinct value. Ties between optimal partitions go to the
// one whose cluster boundaries come first, so the result is deterministic.
func KMeans1D(v []float64, k int) (labels []int, centroids []float64, err error) {
	if len(v) == 0 {
		return nil, nil, errors.New("k-means: no values")
	}
	if k < 1 {
		return nil, nil, fmt.Errorf("k-means: k = %d must be positive", k)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, fmt.Errorf("k-means: value %d is %g", i, x)
		}
	}
	// Distinct sorted values u with their multiplicities w.
	sorted := slices.Sorted(slices.Values(v))
	var u, w []float64
	for _, x := range sorted {
		if len(u) > 0 && u[len(u)-1] == x {
			w[len(w)-1]++
			continue
		}
		u = append(u, x)
		w = append(w, 1)
	}
	n := len(u)
	k = min(k, n)
	// Weighted prefix sums, shifted by the median for accuracy.
	shift := u[n/2]
	W := make([]float64, n+1)
	S1 := make([]float64, n+1)
	S2 := make([]float64, n+1)
	for i, x := range u {
		d := x - shift
		W[i+1] = W[i] + w[i]
		S1[i+1] = S1[i] + w[i]*d
		S2[i+1] = S2[i] + w[i]*d*d
	}
	cost := func(j, i int) float64 { // SSE of the distinct values j..i−1
		s := S1[i] - S1[j]
		c := S2[i] - S2[j] - s*s/(W[i]-W[j])
		return math.Max(c, 0)
	}
	// best[m][i]: least SSE of u[0:i] in m clusters; from[m][i]: start of
	// the last cluster.
	best := make([][]float64, k+1)
	from := make([][]int, k+1)
	for m := range best {
		best[m] = make([]float64, n+1)
		from[m] = make([]int, n+1)
		for i := range best[m] {
			best[m][i] = math.Inf(1)
		}
	}
	best[0][0] = 0
	for m := 1; m <= k; m++ {
		for i := m; i <= n-(k-m); i++ {
			for j := m - 1; j < i; j++ {
				if prev := best[m-1][j]; !math.IsInf(prev, 1) {
					if c := prev + cost(j, i); c < best[m][i] {
						best[m][i], from[m][i] = c, j
					}
				}
			}
		}
	}
	// Back-track the cluster boundaries.
	bounds := make([]int, k+1)
	bounds[k] = n
	for m := k; m > 0; m-- {
		bounds[m-1] = from[m][bounds[m]]
	}
	centroids = make([]float64, k)
	clusterOf := make([]int, n)
	for g := 0; g < k; g++ {
		lo, hi := bounds[g], bounds[g+1]
		var sw, sx float64
		for i := lo; i < hi; i++ {
			clusterOf[i] = g
			sw += w[i]
			sx += w[i] * u[i]
		}
		centroids[g] = sx / sw
	}
	labels = make([]int, len(v))
	for i, x := range v {
		labels[i] = clusterOf[sort.SearchFloat64s(u, x)]
	}
	return labels, centroids, nil
}
