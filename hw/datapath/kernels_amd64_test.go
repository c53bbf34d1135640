//go:build amd64 && !purego

package datapath

import (
	"testing"
	"time"
)

// BenchmarkVNNIPeak measures the single-core int8 peak of this CPU: the
// throughput of register-only VPDPBUSD on 512-bit vectors (64 int8 MACs
// each) with 24 independent accumulators, and the core clock from a chain
// of dependent 1-cycle adds. "MAC/cycle" is the peak per clock.
func BenchmarkVNNIPeak(b *testing.B) {
	if !useVNNI {
		b.Skip("no AVX-512 VNNI")
	}
	const n = 1 << 20
	var busy, clock time.Duration
	for b.Loop() {
		t0 := time.Now()
		vnniPeak(n)
		t1 := time.Now()
		addChain(n)
		busy += t1.Sub(t0)
		clock += time.Since(t1)
	}
	macs := float64(b.N) * n * 24 * 64
	cycles := float64(b.N) * n * 8 // per second of clock
	ghz := cycles / clock.Seconds() / 1e9
	b.ReportMetric(macs/busy.Seconds()/1e9, "GMAC/s")
	b.ReportMetric(ghz, "GHz")
	b.ReportMetric(macs/busy.Seconds()/1e9/ghz, "MAC/cycle")
}
