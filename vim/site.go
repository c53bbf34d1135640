package vim

import "strconv"

// Site is a hook point of the forward pass: a tensor it computes once per
// image (the embedding and head sites), once per layer (the layer sites) or
// once per layer and scan direction (the direction sites). Its String is the
// tensor's name in every tap (vim, quant, sim); a Point adds the layer and
// direction. The constants are in execution order.
//
// A tensor reaches the hooks as the pass holds it, one row per token:
// rows × cols below, the direction sites in scan order (the backward
// direction's row s is token L−1−s). Taps get the sites marked "tap E,L"
// transposed.
type Site int

// The sites of the forward pass (vim-forward.md §2–3). D is the model
// width, E the inner width, N the state size, R the dt rank, M the patches
// and L the tokens.
const (
	SitePatchEmbed Site = iota // "patch_embed" M×D: the patch embedding, bias added
	SiteTokens                 // "tokens" L×D: cls token inserted, position embedding added

	SiteResidual // "layers.{i}.residual" L×D: the residual stream entering layer i's norm
	SiteNormOut  // "layers.{i}.norm_out" L×D: the RMSNorm output (the in_proj input)
	SiteXZ       // "layers.{i}.mixer.xz" L×2E (tap 2E,L): the in_proj output [x | z]
	SiteZGate    // "layers.{i}.mixer.z_gate" L×E: the gate SiLU(z), shared by both directions

	SiteConvIn   // "layers.{i}.mixer.{fwd,bwd}.conv_in" L×E (tap E,L): x, the conv input
	SiteConv     // ".conv" L×E (tap E,L): the causal depthwise conv output, bias added
	SiteConvSiLU // ".conv_silu" L×E (tap E,L): SiLU(conv), the x_proj and scan input x
	SiteXDbl     // ".x_dbl" L×(R+2N): the x_proj output [dt | B | C]
	SiteDt       // ".dt" L×E (tap E,L): the dt_proj output, bias added, before softplus
	SiteDelta    // ".delta" L×E (tap E,L): Δ = softplus(dt)
	SiteSSMY     // ".ssm_y" L×E (tap E,L): the scan output y′ = C·h, before the D skip and the gate
	SiteY        // ".y" L×E (tap E,L): the gated output (y′ + D⊙x)⊙SiLU(z)

	SiteYComb // "layers.{i}.mixer.y_comb" L×E: (y_fwd + flip(y_bwd))/2, the out_proj input
	SiteOut   // "layers.{i}.out" L×D: the mixer output (out_proj)

	SiteFinalResidual // "final_residual" L×D: the residual stream entering norm_f
	SiteFinalNorm     // "final_norm" L×D: norm_f of every token (computed only for an At hook)
	SiteFeatures      // "features" 1×D (tap D): norm_f of the cls token, the head input
	SiteLogits        // "logits" 1×classes (tap classes): the head output

	numSites
)

var siteNames = [numSites]string{"patch_embed", "tokens", "residual", "norm_out", "xz", "z_gate",
	"conv_in", "conv", "conv_silu", "x_dbl", "dt", "delta", "ssm_y", "y", "y_comb", "out",
	"final_residual", "final_norm", "features", "logits"}

// Sites returns every site in execution order.
func Sites() []Site {
	s := make([]Site, numSites)
	for i := range s {
		s[i] = Site(i)
	}
	return s
}

// String returns the site's part of the tap name ("conv_silu").
func (s Site) String() string {
	if s < 0 || s >= numSites {
		return "site(" + strconv.Itoa(int(s)) + ")"
	}
	return siteNames[s]
}

// InLayer reports whether s is computed once per layer (or per layer and
// direction).
func (s Site) InLayer() bool { return s >= SiteResidual && s <= SiteOut }

// InDir reports whether s is computed once per layer and scan direction.
func (s Site) InDir() bool { return s >= SiteConvIn && s <= SiteY }

// inMixer reports whether the tap name of s has the "mixer." part.
func (s Site) inMixer() bool { return s >= SiteXZ && s <= SiteYComb }

// tapTransposed reports whether taps get s as columns × rows.
func (s Site) tapTransposed() bool {
	switch s {
	case SiteXZ, SiteConvIn, SiteConv, SiteConvSiLU, SiteDt, SiteDelta, SiteSSMY, SiteY:
		return true
	}
	return false
}

// InFixture reports whether the vim-toy fixture holds the tensor of s: the
// sites Model.Forward taps.
func (s Site) InFixture() bool {
	switch s {
	case SiteZGate, SiteConvIn, SiteConv, SiteDt, SiteSSMY, SiteLogits:
		return false
	}
	return s >= 0 && s < numSites
}

// Point is a site of one layer and direction: what a hook is called at.
type Point struct {
	Site  Site
	Layer int // the block index for the layer sites; LayerEmbed or LayerHead for the others
	Dir   int // Fwd or Bwd for the direction sites, else 0
}

// String returns the tap name of p, e.g. "layers.3.mixer.fwd.conv_silu",
// "layers.0.residual", "patch_embed".
func (p Point) String() string {
	if !p.Site.InLayer() {
		return p.Site.String()
	}
	name := "layers." + strconv.Itoa(p.Layer) + "."
	if p.Site.inMixer() {
		name += "mixer."
	}
	if p.Site.InDir() {
		name += [2]string{"fwd", "bwd"}[p.Dir&1] + "."
	}
	return name + p.Site.String()
}
