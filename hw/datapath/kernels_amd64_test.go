//go:build amd64 && !purego

package datapath

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadTime returns the CPU time of the calling thread: unlike the wall
// time it does not count the time the thread waits for a core on a shared
// machine.
func threadTime(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkVNNIPeak sets the GEMM unit against this CPU's single-core int8
// peak, measured in the same loop in thread CPU time: the Vim-Ti in_proj
// GEMM (197×192×768), register-only VPDPBUSD on 512-bit vectors (64 int8
// MACs each, 24 independent accumulators: the instruction's throughput
// bound), and a chain of dependent 1-cycle adds (the core clock).
// "peak-GMAC/s" is the measured VPDPBUSD bound, "MAC/cycle" that bound per
// clock (the architectural figure is 64 per VPDPBUSD per 512-bit pipe),
// "of-peak" the GEMM's share of it.
func BenchmarkVNNIPeak(b *testing.B) {
	if !useVNNI {
		b.Skip("no AVX-512 VNNI")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a, wd := benchOperands()
	w, err := NewWeights(benchN, benchK, wd)
	if err != nil {
		b.Fatal(err)
	}
	dst := NewMatrix[int32](benchM, benchN)
	const n, reps = 1 << 14, 8
	var gemm, peak, clock time.Duration
	for b.Loop() {
		t0 := threadTime(b)
		for range reps {
			if err := GEMM(dst, a, w, nil); err != nil {
				b.Fatal(err)
			}
		}
		t1 := threadTime(b)
		vnniPeak(n)
		t2 := threadTime(b)
		addChain(n)
		t3 := threadTime(b)
		gemm, peak, clock = gemm+t1-t0, peak+t2-t1, clock+t3-t2
	}
	N := float64(b.N)
	gemmRate := N * reps * benchM * benchN * benchK / gemm.Seconds() / 1e9
	peakRate := N * n * 24 * 64 / peak.Seconds() / 1e9
	ghz := N * n * 8 / clock.Seconds() / 1e9
	b.ReportMetric(gemmRate, "GMAC/s")
	b.ReportMetric(peakRate, "peak-GMAC/s")
	b.ReportMetric(ghz, "GHz")
	b.ReportMetric(peakRate/ghz, "MAC/cycle")
	b.ReportMetric(gemmRate/peakRate, "of-peak")
}
