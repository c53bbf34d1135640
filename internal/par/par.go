// Package par runs independent loop iterations on several goroutines.
package par

import (
	"runtime"
	"sync"
)

// For calls f(i) for every i in [0, n) on up to workers goroutines
// (workers <= 0 means GOMAXPROCS) and returns when all calls have returned.
// Iterations must be independent: f writes only to storage indexed by i, so
// the result does not depend on the number of workers.
func For(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
