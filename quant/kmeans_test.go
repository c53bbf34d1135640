package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestKMeans1DKnownClusters(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	centers := []float64{0.1, 2, 9, 40}
	var v []float64
	var want []int
	for g, c := range centers {
		for i := 0; i < 5+7*g; i++ {
			v = append(v, c*(1+0.05*(rng.Float64()-0.5)))
			want = append(want, g)
		}
	}
	perm := rng.Perm(len(v))
	shuffled, wantS := make([]float64, len(v)), make([]int, len(v))
	for i, p := range perm {
		shuffled[i], wantS[i] = v[p], want[p]
	}
	labels, cents, err := KMeans1D(shuffled, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(labels, wantS) {
		t.Fatalf("labels %v, want %v", labels, wantS)
	}
	for g := range centers {
		var sum float64
		var n int
		for i, l := range wantS {
			if l == g {
				sum += shuffled[i]
				n++
			}
		}
		if math.Abs(cents[g]-sum/float64(n)) > 1e-12*sum {
			t.Errorf("centroid %d = %g, want the mean %g", g, cents[g], sum/float64(n))
		}
	}
}

func TestKMeans1DCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v      []float64
		k      int
		labels []int
		cents  []float64
	}{
		{"k=1", []float64{3, 1, 2}, 1, []int{0, 0, 0}, []float64{2}},
		{"fewer distinct than k", []float64{5, 5, 1, 1, 5}, 4, []int{1, 1, 0, 0, 1}, []float64{1, 5}},
		{"one value", []float64{7}, 4, []int{0}, []float64{7}},
		{"all equal", []float64{2, 2, 2}, 3, []int{0, 0, 0}, []float64{2}},
		{"two pairs", []float64{10, 0, 11, 1}, 2, []int{1, 0, 1, 0}, []float64{0.5, 10.5}},
		{"k = n", []float64{3, 1, 2}, 3, []int{2, 0, 1}, []float64{1, 2, 3}},
	} {
		labels, cents, err := KMeans1D(tc.v, tc.k)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(labels, tc.labels) || !slices.Equal(cents, tc.cents) {
			t.Errorf("%s: labels %v centroids %v, want %v %v", tc.name, labels, cents, tc.labels, tc.cents)
		}
	}
	for _, tc := range []struct {
		name string
		v    []float64
		k    int
	}{{"empty", nil, 2}, {"k=0", []float64{1}, 0}, {"nan", []float64{1, math.NaN()}, 2}, {"inf", []float64{math.Inf(1)}, 1}} {
		if _, _, err := KMeans1D(tc.v, tc.k); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestKMeans1DProperties checks on random profiles (heavy-tailed, like the
// mean |activation| profiles) that no cluster is empty or NaN, that the
// centroids are sorted and are the means of their members, that every
// value sits in the cluster of its nearest centroid (a Lloyd fixed point),
// and that the result is deterministic.
func TestKMeans1DProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for trial := 0; trial < 500; trial++ {
		n := 1 + rng.IntN(400)
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Exp(rng.NormFloat64() * 2)
			if rng.IntN(10) == 0 && i > 0 {
				v[i] = v[rng.IntN(i)] // duplicates
			}
		}
		k := 1 + rng.IntN(6)
		labels, cents, err := KMeans1D(v, k)
		if err != nil {
			t.Fatal(err)
		}
		distinct := len(slices.Compact(slices.Sorted(slices.Values(v))))
		if len(cents) != min(k, distinct) {
			t.Fatalf("%d clusters for k=%d and %d distinct values", len(cents), k, distinct)
		}
		sums := make([]float64, len(cents))
		counts := make([]int, len(cents))
		for i, l := range labels {
			sums[l] += v[i]
			counts[l]++
		}
		for g := range cents {
			if counts[g] == 0 || math.IsNaN(cents[g]) {
				t.Fatalf("cluster %d empty or NaN: %v", g, cents)
			}
			if g > 0 && !(cents[g] > cents[g-1]) {
				t.Fatalf("centroids not increasing: %v", cents)
			}
			if m := sums[g] / float64(counts[g]); math.Abs(m-cents[g]) > 1e-12*math.Abs(m) {
				t.Fatalf("centroid %d = %g, mean of members %g", g, cents[g], m)
			}
		}
		converged := true
		for i, x := range v {
			for g := range cents {
				if math.Abs(x-cents[g]) < math.Abs(x-cents[labels[i]])*(1-1e-12) {
					converged = false
				}
			}
		}
		l2, c2, _ := KMeans1D(v, k)
		if !slices.Equal(labels, l2) || !slices.Equal(cents, c2) {
			t.Fatal("k-means is not deterministic")
		}
		if !converged {
			t.Fatalf("value not in its nearest cluster (n = %d, k = %d)", n, k)
		}
	}
}

// sse is the k-means objective of a labelling.
func sse(v []float64, labels []int, k int) float64 {
	sum := make([]float64, k)
	cnt := make([]float64, k)
	for i, l := range labels {
		sum[l] += v[i]
		cnt[l]++
	}
	var s float64
	for i, l := range labels {
		d := v[i] - sum[l]/cnt[l]
		s += d * d
	}
	return s
}

// TestKMeans1DGlobalOptimum compares the objective with the best of every
// labelling of small inputs (the slow obvious reference).
func TestKMeans1DGlobalOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(7)
		k := 1 + rng.IntN(3)
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(math.Exp(rng.NormFloat64())*8) / 4
		}
		labels, cents, err := KMeans1D(v, k)
		if err != nil {
			t.Fatal(err)
		}
		got := sse(v, labels, len(cents))
		best := math.Inf(1)
		lab := make([]int, n)
		total := int(math.Pow(float64(k), float64(n)))
		for code := 0; code < total; code++ {
			c := code
			used := make([]bool, k)
			for i := range lab {
				lab[i] = c % k
				used[lab[i]] = true
				c /= k
			}
			nonEmpty := 0
			for _, u := range used {
				if u {
					nonEmpty++
				}
			}
			if nonEmpty != len(cents) {
				continue
			}
			// Relabel to 0..nonEmpty−1 for sse.
			idx := map[int]int{}
			rel := make([]int, n)
			for i, l := range lab {
				if _, ok := idx[l]; !ok {
					idx[l] = len(idx)
				}
				rel[i] = idx[l]
			}
			best = math.Min(best, sse(v, rel, nonEmpty))
		}
		if got > best+1e-9*(1+best) {
			t.Fatalf("v = %v, k = %d: SSE %g, optimum %g (labels %v)", v, k, got, best, labels)
		}
	}
}
