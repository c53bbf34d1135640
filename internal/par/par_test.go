package par

import (
	"sync/atomic"
	"testing"
)

func TestForVisitsEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 0}, {1, 4}, {7, 1}, {100, 3}, {1000, 0}} {
		hits := make([]int32, tc.n)
		var calls atomic.Int64
		For(tc.n, tc.workers, func(i int) {
			atomic.AddInt32(&hits[i], 1)
			calls.Add(1)
		})
		if calls.Load() != int64(tc.n) {
			t.Fatalf("n=%d workers=%d: %d calls", tc.n, tc.workers, calls.Load())
		}
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d workers=%d: index %d visited %d times", tc.n, tc.workers, i, h)
			}
		}
	}
}

func TestForWorkerVisitsEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 0}, {1, 4}, {7, 1}, {100, 3}, {1000, 0}} {
		hits := make([]int32, tc.n)
		limit := tc.workers
		if limit <= 0 {
			limit = 1 << 20
		}
		var bad atomic.Int64
		ForWorker(tc.n, tc.workers, func(w, i int) {
			atomic.AddInt32(&hits[i], 1)
			if w < 0 || w >= limit || w >= max(tc.n, 1) {
				bad.Add(1)
			}
		})
		if bad.Load() != 0 {
			t.Fatalf("n=%d workers=%d: %d calls with a worker index out of range", tc.n, tc.workers, bad.Load())
		}
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d workers=%d: index %d visited %d times", tc.n, tc.workers, i, h)
			}
		}
	}
}
