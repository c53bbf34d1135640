package vim

// Model is a Vim network: its configuration and float64 weights, in the
// layouts of the official state_dict (row-major, output rows first).
// A Model is immutable once built; Forward may be called concurrently.
type Model struct {
	Config   Config
	PatchW   []float64 // patch_embed.proj.weight, D × (C·P·P)
	PatchB   []float64 // patch_embed.proj.bias, D
	ClsToken []float64 // cls_token, D
	PosEmbed []float64 // pos_embed, L × D
	Layers   []Layer
	NormF    []float64 // norm_f.weight, D
	HeadW    []float64 // head.weight, classes × D
	HeadB    []float64 // head.bias, classes

	cache cache // per-precision parameter sets, built on first use
}

// Layer holds the weights of one block: its RMSNorm and bidirectional mixer.
type Layer struct {
	Norm    []float64    // layers.i.norm.weight, D
	InProj  []float64    // in_proj.weight, 2E × D (rows 0..E-1 → x, E..2E-1 → z)
	OutProj []float64    // out_proj.weight, D × E
	Dir     [2]Direction // Dir[Fwd], Dir[Bwd]
}

// Scan directions of the bidirectional mixer.
const (
	Fwd = 0 // forward scan: conv1d, x_proj, dt_proj, A_log, D
	Bwd = 1 // backward scan on the flipped sequence: conv1d_b, x_proj_b, dt_proj_b, A_b_log, D_b
)

// Direction holds the per-direction parameters of the mixer.
type Direction struct {
	ConvW []float64 // conv1d.weight, E × K (tap K-1 multiplies the current step)
	ConvB []float64 // conv1d.bias, E
	XProj []float64 // x_proj.weight, (R+2N) × E, rows [dt | B | C]
	DtW   []float64 // dt_proj.weight, E × R
	DtB   []float64 // dt_proj.bias, E
	ALog  []float64 // A_log, E × N (A = -exp(A_log))
	D     []float64 // D, E
}

// Precision selects the arithmetic of the float reference.
type Precision int

// Precisions of the float reference forward pass.
const (
	F64 Precision = iota // float64 throughout (the reference)
	F32                  // float32 throughout, as the official code runs at eval
)

// String returns "f64" or "f32".
func (p Precision) String() string {
	if p == F32 {
		return "f32"
	}
	return "f64"
}

// Tap receives a named intermediate tensor of one image's forward pass
// (TapHook). The name is the tensor's Point ("layers.3.mixer.fwd.conv_silu",
// Point.String) and the layout that of the vim-toy fixture without the
// batch axis: "patch_embed" (M,D), "tokens" (L,D), "layers.{i}.residual",
// ".norm_out", ".out" (L,D), "layers.{i}.mixer.xz" (2E,L),
// "layers.{i}.mixer.{fwd,bwd}.conv_silu", ".delta", ".y" (E,L, bwd in scan
// order), ".x_dbl" (L,R+2N), "layers.{i}.mixer.y_comb" (L,E),
// "final_residual", "final_norm" (L,D), "features" (D); the other sites
// (Site) alike, (E,L) for the per-direction L×E tensors. The callee must not
// retain data after it returns.
type Tap func(name string, shape []int, data []float64)
