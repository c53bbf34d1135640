package vim

// OpKind classifies the computations of one Vim inference.
type OpKind int

// Operation kinds. GEMM and DWConv run on a MAC array; Scan on the SSM scan
// unit; the others on vector/nonlinear/norm units.
const (
	OpGEMM     OpKind = iota // dense matrix product M×K times K×N
	OpDWConv                 // depthwise causal conv: M positions, N channels, K taps
	OpScan                   // selective scan: M steps, N channels (E), K states (N)
	OpSoftplus               // elementwise softplus on M×N
	OpSiLU                   // elementwise SiLU on M×N
	OpGate                   // D-skip, gating and direction merge on M×N
	OpNorm                   // RMSNorm (with residual add) on M rows of N
	OpAdd                    // elementwise add on M×N (embedding + position)
)

var opKindNames = [...]string{"gemm", "dwconv", "scan", "softplus", "silu", "gate", "norm", "add"}

// String returns the short lower-case name of k.
func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return "unknown"
}

// Op is one computation of the network, with the shape fields whose meaning
// depends on Kind (see OpKind). Layer is the block index, or -1 for the
// patch embedding and -2 for the final norm and head.
type Op struct {
	Layer int    `json:"layer"`
	Name  string `json:"name"` // e.g. "in_proj", "x_proj_b", "scan_f"
	Kind  OpKind `json:"-"`
	M     int    `json:"m"`
	K     int    `json:"k"`
	N     int    `json:"n"`
}

// Layer indices of the non-block operations in Op.Layer.
const (
	LayerEmbed = -1
	LayerHead  = -2
)

// MACs is the multiply-accumulate count of op under the convention of
// vim-forward.md §6: GEMM M·K·N, depthwise conv M·N·K, scan 3·M·N·K (the dA
// multiply, the state update and the C·h product); elementwise ops count 0.
func (op Op) MACs() int64 {
	m, k, n := int64(op.M), int64(op.K), int64(op.N)
	switch op.Kind {
	case OpGEMM, OpDWConv:
		return m * k * n
	case OpScan:
		return 3 * m * k * n
	}
	return 0
}

// Elements is the number of elementwise results op produces: the M·N output
// of GEMMs, convs, elementwise units and norms, and the M·N·K exponentials
// exp(Δ·A) of a scan.
func (op Op) Elements() int64 {
	if op.Kind == OpScan {
		return int64(op.M) * int64(op.N) * int64(op.K)
	}
	return int64(op.M) * int64(op.N)
}

// Workload lists, in execution order, every operation of one image's
// inference. Per block: norm, in_proj, then for each direction (f, b) the
// conv, its SiLU, x_proj, dt_proj, softplus and scan; then SiLU(z) (shared
// by both directions), the gate/merge and out_proj. Only the cls row of the
// final norm is needed by the head, so the final norm is one row.
func (c Config) Workload() []Op {
	L, D, E, N, R, K := c.Tokens(), c.Dim, c.DInner, c.DState, c.DtRank, c.DConv
	ops := []Op{
		{LayerEmbed, "patch_embed", OpGEMM, c.Patches(), c.Channels * c.Patch * c.Patch, D},
		{LayerEmbed, "pos_embed", OpAdd, L, 0, D},
	}
	for i := 0; i < c.Depth; i++ {
		ops = append(ops,
			Op{i, "norm", OpNorm, L, 0, D},
			Op{i, "in_proj", OpGEMM, L, D, 2 * E})
		for _, d := range []string{"", "_b"} {
			ops = append(ops,
				Op{i, "conv1d" + d, OpDWConv, L, K, E},
				Op{i, "silu" + d, OpSiLU, L, 0, E},
				Op{i, "x_proj" + d, OpGEMM, L, E, R + 2*N},
				Op{i, "dt_proj" + d, OpGEMM, L, R, E},
				Op{i, "softplus" + d, OpSoftplus, L, 0, E},
				Op{i, "scan" + d, OpScan, L, N, E})
		}
		ops = append(ops,
			Op{i, "silu_z", OpSiLU, L, 0, E},
			Op{i, "gate", OpGate, L, 0, E},
			Op{i, "out_proj", OpGEMM, L, E, D})
	}
	ops = append(ops,
		Op{LayerHead, "norm_f", OpNorm, 1, 0, D},
		Op{LayerHead, "head", OpGEMM, 1, D, c.Classes})
	return ops
}

// TotalMACs is the sum of Op.MACs over the workload.
func (c Config) TotalMACs() int64 {
	var t int64
	for _, op := range c.Workload() {
		t += op.MACs()
	}
	return t
}

// ParamCount is the number of parameters of the official state_dict.
func (c Config) ParamCount() int64 {
	D, E, N, R, K := int64(c.Dim), int64(c.DInner), int64(c.DState), int64(c.DtRank), int64(c.DConv)
	perDir := E*N + E + E*K + E + (R+2*N)*E + E*R + E // A_log, D, conv w+b, x_proj, dt_proj w+b
	perLayer := 2*perDir + 2*E*D + E*D + D            // in_proj, out_proj, norm
	other := D + int64(c.Tokens())*D + D*int64(c.Channels*c.Patch*c.Patch) + D +
		int64(c.Classes)*D + int64(c.Classes) + D
	return int64(c.Depth)*perLayer + other
}
