package vim

// Layer indices of the operations outside the blocks: the patch embedding
// (and the construction of the residual stream) and the final norm and
// head.
const (
	LayerEmbed = -1
	LayerHead  = -2
)

// TotalMACs is the multiply-accumulate count of one inference under the
// convention of vim-forward.md §6: the patch-embedding GEMM, per block
// in_proj, out_proj and, per direction, the depthwise conv (L·E·K), x_proj,
// dt_proj and the scan (3·L·E·N: the dA multiply, the state update and the
// C·h product), and the head on the cls token. Elementwise operations and
// norms count 0. It equals the sum of the MACs of the op list
// (intprog.Lower).
func (c Config) TotalMACs() int64 {
	L, D, E, N, R, K := int64(c.Tokens()), int64(c.Dim), int64(c.DInner), int64(c.DState), int64(c.DtRank), int64(c.DConv)
	perDir := L*E*K + L*E*(R+2*N) + L*R*E + 3*L*E*N
	perBlock := L*D*2*E + 2*perDir + L*E*D
	return int64(c.Patches())*int64(c.Channels*c.Patch*c.Patch)*D + int64(c.Depth)*perBlock + D*int64(c.Classes)
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
