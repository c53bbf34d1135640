package cost

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/quant/intprog"
)

// tensors lists, for one operation, the byte sizes of its activation inputs
// and outputs and of its parameters, packed at the op's storage widths
// (Widths, docs/PERFMODEL.md §3).
type tensors struct {
	in      []int64
	out     []int64
	weights int64
}

func opTensors(op *intprog.Op) tensors {
	M, K, N := int64(op.M), int64(op.K), int64(op.N)
	w := widthsOf(op)
	in := func(n int64) int64 { return packed(n, w.In) }
	out := func(n int64) int64 { return packed(n, w.Out) }
	switch op.Kind {
	case intprog.KindGEMM:
		return tensors{in: []int64{in(M * K)}, out: []int64{out(M * N)}, weights: packed(K*N, w.Weight)}
	case intprog.KindDWConv: // taps at the weight width, one int8-priced bias per channel
		return tensors{in: []int64{in(M * N)}, out: []int64{out(M * N)}, weights: packed(N*K, w.Weight) + N}
	case intprog.KindScan: // u and Δ (M×E), B and C (M×N_state); A is E×N_state
		return tensors{in: []int64{in(M * N), in(M * N), in(M * K), in(M * K)}, out: []int64{out(M * N)}, weights: N * K}
	case intprog.KindSoftplus: // dt_proj bias
		return tensors{in: []int64{in(M * N)}, out: []int64{out(M * N)}, weights: N}
	case intprog.KindSiLU:
		return tensors{in: []int64{in(M * N)}, out: []int64{out(M * N)}}
	case intprog.KindGate: // y_f, y_b, xc_f, xc_b (D skip), SiLU(z); D and D_b
		return tensors{in: []int64{in(M * N), in(M * N), in(M * N), in(M * N), in(M * N)}, out: []int64{out(M * N)}, weights: 2 * N}
	case intprog.KindNorm: // x and residual in; normalised x and new residual out
		return tensors{in: []int64{in(M * N), in(M * N)}, out: []int64{out(M * N), out(M * N)}, weights: N}
	case intprog.KindAdd: // position embedding table and cls token
		return tensors{in: []int64{in(M * N)}, out: []int64{out(M * N)}, weights: M*N + N}
	}
	return tensors{}
}

// residency splits tensor sizes into those resident in the activation
// buffer (no DRAM traffic) and those that go through DRAM; with forceOff
// (the network's input or output) every tensor goes through DRAM. The
// scalesim memory mode has no activation buffer (SCALE-Sim's convention:
// every layer reads and writes DRAM), so there every tensor crosses DRAM.
func residency(s arch.Spec, sizes []int64, forceOff bool) (onChip, offChip int64) {
	act := int64(s.Buffers.ActKiB) * 1024
	if s.SCALESimMemory() {
		act = 0
	}
	for _, b := range sizes {
		if b <= act && !forceOff {
			onChip += b
		} else {
			offChip += b
		}
	}
	return onChip, offChip
}

// streamCost fills the memory side of a streaming (non-array) operation:
// inputs filled into the ifmap buffer and read once, parameters through
// the filter buffer, outputs written to the ofmap buffer and drained.
func streamCost(s arch.Spec, c *OpCost, t tensors, io endpoints) {
	inOn, inOff := residency(s, t.in, io.first)
	outOn, outOff := residency(s, t.out, io.last)
	a := &c.Actions
	a.IfmapWrite += inOn + inOff
	a.IfmapRead += inOn + inOff
	a.ActRead += inOn
	a.FilterWrite += t.weights
	a.FilterRead += t.weights
	a.OfmapWrite += outOn + outOff
	a.OfmapRead += outOn + outOff
	a.ActWrite += outOn
	c.Traffic = Traffic{Weights: t.weights, In: inOff, Out: outOff}
	a.DRAMRead += t.weights + inOff
	a.DRAMWrite += outOff
	// The first token's share of the traffic cannot overlap compute.
	c.firstBytes = ceilDiv(c.Traffic.Total(), int64(max(c.M, 1)))
}

// ksCombines is the number of combine operations of a Kogge-Stone prefix
// over p elements: stage s (2^s < p) combines p − 2^s pairs.
func ksCombines(p int64) (combines, stages int64) {
	for d := int64(1); d < p; d *= 2 {
		combines += p - d
		stages++
	}
	return combines, stages
}

// scanCycles returns the cycles and prefix combines of a selective scan of
// M steps over chains = E·N independent recurrences (§4).
//
// Sequential: each lane owns G = ⌈chains/lanes⌉ chains and issues one state
// update per cycle; a chain's next update waits for the depth-stage
// pipeline, so a time step takes max(G, depth) cycles:
// cycles = M·max(G, depth) + depth.
//
// Parallel prefix: blocks of P tokens run a Kogge-Stone network
// (ksCombines(P) combines, ⌈log2 P⌉ stages) and each block after the
// first applies the carried-in state to its P elements; lanes combine
// units and an equally wide element stage (exp, B·Δu, C·h) run pipelined:
// cycles = max(⌈M·chains/lanes⌉, ⌈combines/lanes⌉) + depth·(stages+1).
func scanCycles(s arch.Spec, M, chains int64) (cycles, combines int64) {
	lanes, depth := int64(s.Scan.Lanes), int64(s.Scan.Depth)
	if s.Scan.Mode == arch.ScanSequential {
		g := ceilDiv(chains, lanes)
		return M*max(g, depth) + depth, 0
	}
	p := M
	if s.Scan.PrefixBlock > 0 {
		p = min(p, int64(s.Scan.PrefixBlock))
	}
	full, rem := M/p, M%p
	perFull, stages := ksCombines(p)
	perRem, _ := ksCombines(rem)
	perChain := full*perFull + perRem + (M - p) // carry-in combines of later blocks
	combines = chains * perChain
	cycles = max(ceilDiv(M*chains, lanes), ceilDiv(combines, lanes)) + depth*(stages+1)
	return cycles, combines
}

// addBits adds n operations of the given width to the counters.
func (a *Actions) addMult(bits int, n int64) {
	switch bits {
	case 8:
		a.Mult8 += n
	case 16:
		a.Mult16 += n
	default:
		a.Mult32 += n
	}
}

func (a *Actions) addAdd(bits int, n int64) {
	switch bits {
	case 8:
		a.Add8 += n
	case 16:
		a.Add16 += n
	default:
		a.Add32 += n
	}
}

// streamOpCost is the cost of a non-GEMM operation on its unit.
func streamOpCost(s arch.Spec, op *intprog.Op, io endpoints) OpCost {
	c := OpCost{Layer: op.Layer, Name: op.Name, Kind: op.Kind.String(), Unit: op.Unit, M: op.M, K: op.K, N: op.N, MACs: op.MACs()}
	M, K, N := int64(op.M), int64(op.K), int64(op.N)
	elems := M * N
	a := &c.Actions
	var work, lanes int64 // useful work items and unit width, for Util
	switch op.Kind {
	case intprog.KindDWConv:
		lanes = int64(s.DWConv.Lanes)
		work = M * N * K
		c.ComputeCycles = ceilDiv(work, lanes) + int64(s.DWConv.Latency)
		wd := widthsOf(op)
		a.addMACs(macClass(wd.In, wd.Weight), work)
		a.PsumReg += work // the accumulator of each MAC
		a.Add32 += elems  // bias
		a.Mult32 += elems // requantisation multiply
		a.Add32 += elems  // requantisation rounding shift
	case intprog.KindScan:
		lanes = int64(s.Scan.Lanes)
		chains := N * K
		work = M * chains // state updates
		cycles, combines := scanCycles(s, M, chains)
		c.ComputeCycles = cycles
		bits := scanBits(s, op.Format.State.Bits)
		a.LUT += work           // 2^f of exp(Δ·A)
		a.addMult(bits, elems)  // Δ·u once per (t, e)
		a.addMult(bits, 3*work) // Δ·A, B·(Δu), C·h
		a.addAdd(bits, work)    // Σ_n C·h
		if s.Scan.Mode == arch.ScanSequential {
			a.addMult(bits, work) // dA·h
			a.addAdd(bits, work)  // + dB·u
		} else {
			a.addMult(bits, 2*combines)
			a.addAdd(bits, combines)
		}
		a.Mult32 += elems // requantise y
		a.Add32 += elems
	case intprog.KindSoftplus, intprog.KindSiLU, intprog.KindGate, intprog.KindAdd:
		lanes = int64(s.Vector.Lanes)
		work = elems
		c.ComputeCycles = ceilDiv(work, lanes) + int64(s.Vector.Latency)
		switch op.Kind {
		case intprog.KindSoftplus, intprog.KindSiLU: // ReLU(x) ± LUT(|x|) with linear interpolation
			a.LUT += elems
			a.Mult16 += elems
			a.Add16 += 2 * elems
			if op.Kind == intprog.KindSoftplus {
				a.Add16 += elems // dt bias
			}
		case intprog.KindGate: // (y_f + D_f·xc_f + y_b + D_b·xc_b)·SiLU(z)/2
			a.Mult16 += 3 * elems
			a.Add16 += 3 * elems
		case intprog.KindAdd:
			a.Add16 += elems
		}
	case intprog.KindNorm:
		lanes = int64(s.Norm.Lanes)
		work = 2 * elems // a sum-of-squares pass and a scaling pass
		c.ComputeCycles = 2*M*ceilDiv(N, lanes) + int64(s.Norm.Latency)
		a.Add32 += elems      // residual add
		a.Mult16 += elems     // x²
		a.Add32 += elems      // Σ x²
		a.Mult16 += 2 * elems // x·rsqrt, ·w
		a.LUT += M            // rsqrt seed
		a.Mult32 += 3 * M     // one Newton step
		a.Add32 += M
	}
	streamCost(s, &c, opTensors(op), io)
	if c.ComputeCycles > 0 && lanes > 0 {
		c.Util = float64(work) / (float64(c.ComputeCycles) * float64(lanes))
	}
	return c
}

// gemmOpCost is the cost of a GEMM on the array: SCALE-Sim compute cycles,
// SRAM demand counts, tiling to the buffers and requantisation.
func gemmOpCost(s arch.Spec, op *intprog.Op, io endpoints, tileCache map[tileKey]Tiling) (OpCost, error) {
	g := GEMM{M: op.M, K: op.K, N: op.N}
	comp, err := ComputeCycles(s.Array.Rows, s.Array.Cols, s.Array.Dataflow, g)
	if err != nil {
		return OpCost{}, fmt.Errorf("op %s (layer %d): %w", op.Name, op.Layer, err)
	}
	c := OpCost{Layer: op.Layer, Name: op.Name, Kind: op.Kind.String(), Unit: op.Unit, M: op.M, K: op.K, N: op.N,
		MACs: op.MACs(), ComputeCycles: comp.Cycles, Folds: comp.Folds, Util: comp.Util}
	t := opTensors(op)
	wd := widthsOf(op)
	inOn, inOff := residency(s, t.in, io.first)
	outOn, outOff := residency(s, t.out, io.last)
	key := tileKey{g, inOn > 0, wd}
	tl, ok := tileCache[key]
	if !ok {
		tl = TileGEMMWidths(s, g, inOn > 0, wd)
		tileCache[key] = tl
	}
	c.Tiling = &tl
	M, N := int64(op.M), int64(op.N)
	nK := ceilDiv(int64(op.K), int64(tl.Kt))
	a := &c.Actions
	a.addMACs(macClass(wd.In, wd.Weight), g.MACs())
	a.PsumReg = g.MACs() // each MAC reads and writes its PE's accumulator
	a.Mult32 = M * N     // requantisation
	a.Add32 = M * N
	// The array's demand, in words, read packed at the operands' widths.
	a.IfmapWrite, a.IfmapRead = tl.IfmapBytes, packed(comp.IfmapReads, wd.In)
	a.FilterWrite, a.FilterRead = tl.FilterBytes, packed(comp.FilterReads, wd.Weight)
	if s.Array.Dataflow == arch.OutputStationary {
		if nK == 1 {
			a.OfmapWrite = packed(comp.OfmapWrites, wd.Out)
		} else {
			a.OfmapWrite = 4 * nK * comp.OfmapWrites
			a.OfmapRead = 4 * (nK - 1) * comp.OfmapWrites
		}
	} else {
		// Partial sums of every row fold accumulate in the ofmap buffer.
		a.OfmapWrite = 4 * comp.OfmapWrites
		a.OfmapRead = 4 * (comp.OfmapWrites - M*N)
	}
	a.OfmapRead += packed(M*N, wd.Out) // drain of the requantised outputs
	a.ActWrite = outOn
	tr := Traffic{Weights: t.weights, Out: outOff, Spill: tl.SpillBytes}
	tr.Reread = tl.FilterBytes - t.weights
	if inOn > 0 {
		a.ActRead = tl.IfmapBytes
	} else {
		tr.In = inOff
		tr.Reread += tl.IfmapBytes - inOff
	}
	c.Traffic = tr
	a.DRAMRead = tr.Weights + tr.In + tr.Reread + tr.Spill/2
	a.DRAMWrite = tr.Out + tr.Spill/2
	c.firstBytes = tl.FirstBytes
	return c, nil
}

// endpoints marks the first and last operation of the workload, whose
// input (the image) and output (the logits) always cross DRAM.
type endpoints struct{ first, last bool }

type tileKey struct {
	g       GEMM
	ifmapOn bool
	w       Widths
}
