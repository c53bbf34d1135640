package cost

import (
	"fmt"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant/intprog"
)

// CountsOf returns the datapath events of op, counted as the units of
// hw/datapath count them (docs/DATAPATH.md §14.5): a bit-accurate
// simulation of the op (package sim) counts the same, which the
// consistency test checks op by op. Saturations and overflows depend on
// the data and are 0. With M, K, N as op.Kind defines them:
//
//   - GEMM: M·K·N MACs, plus Groups·M·N for a group requantizer (one
//     multiply-accumulate per partial sum); M·N requantizations per
//     requantizer stage (op.Combine);
//   - depthwise conv: M·N·K MACs, M·N requantizations;
//   - scan: per state lane 4 MACs (Δ·A, Ā′·q, Xu·B, H·C) and an
//     exponential, per step and channel 3 MACs (Δ·x, the D skip, the gate)
//     and 4 requantizations (the two Δ·B·x stages, y′, the gate);
//   - SiLU, softplus: one table look-up per element;
//   - norm: per element 3 MACs (square, x·r, n·γ) and a requantization,
//     per row a seed-table look-up and an rsqrt;
//   - embedding add: a requantization per patch-token element ((M−1)·N);
//   - residual add: a requantization per element;
//   - input conversion, merge: nothing counted.
func CountsOf(op *intprog.Op) datapath.Counters {
	M, K, N := int64(op.M), int64(op.K), int64(op.N)
	var c datapath.Counters
	switch op.Kind {
	case intprog.KindGEMM:
		stages, group := op.Combine.Stages()
		c.MACs = M * K * N
		if group {
			c.MACs += int64(op.Groups) * M * N
		}
		c.Requants = int64(stages) * M * N
	case intprog.KindDWConv:
		c.MACs, c.Requants = M*N*K, M*N
	case intprog.KindScan:
		c.MACs = 4*M*N*K + 3*M*N
		c.Requants = 4 * M * N
		c.Exps = M * N * K
	case intprog.KindSiLU, intprog.KindSoftplus:
		c.LUTLookups = M * N
	case intprog.KindNorm:
		c.MACs, c.Requants = 3*M*N, M*N
		c.LUTLookups, c.Rsqrts = M, M
	case intprog.KindAdd:
		c.Requants = (M - 1) * N
	case intprog.KindResidual:
		c.Requants = M * N
	}
	return c
}

// free reports whether ops of kind k cost nothing in the model: the input
// conversion runs on the host, and the residual add (requantization and
// addition) is priced inside the next norm's fused add-norm (docs/
// PERFMODEL.md §4).
func free(k intprog.Kind) bool { return k == intprog.KindInput || k == intprog.KindResidual }

// checkOp rejects an op the model cannot price: an unknown kind, a unit
// other than the kind's, or a shape out of range.
func checkOp(op *intprog.Op) error {
	if op.Kind > intprog.KindResidual {
		return fmt.Errorf("op kind %s has no cost model", op.Kind)
	}
	if op.Unit != op.Kind.Unit() {
		return fmt.Errorf("%s on unit %q: the model runs it on %q", op.Kind, op.Unit, op.Kind.Unit())
	}
	needK := op.Kind == intprog.KindGEMM || op.Kind == intprog.KindDWConv || op.Kind == intprog.KindScan
	if op.M < 1 || op.N < 1 || op.K < 0 || op.M > maxGEMMDim || op.N > maxGEMMDim || op.K > maxGEMMDim || (op.K < 1 && needK) {
		return fmt.Errorf("bad shape M=%d K=%d N=%d", op.M, op.K, op.N)
	}
	if op.Groups < 1 || op.Groups > max(op.K, 1) {
		return fmt.Errorf("%d split-K groups", op.Groups)
	}
	return nil
}
