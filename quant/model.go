package quant

import (
	"fmt"
	"sync"

	"github.com/vimsim/vimsim/vim"
)

// QModel is a post-training-quantized Vim: integer weight codes with their
// scales, the activation quantizers of every quantization point, the float
// tensors that stay float in the method (biases, cls token, position
// embedding, A_log, D), and the hidden-state reparameterization. It holds
// everything the integer datapath needs; Forward runs it fake-quantized.
//
// A QModel is immutable once built; Forward and Infer may be called
// concurrently.
type QModel struct {
	Config vim.Config
	Method string
	// WBits, ABits and HBits are the default weight, activation and
	// hidden-state bits of the recipe (Precision.W, A, H); the bits of
	// each point are its quantizer's (QWeight.Bits, ActQuant.Bits,
	// QSSM.Bits), as Precision resolves them (Plan).
	WBits     int
	ABits     int
	HBits     int
	Precision Precision
	Calib     CalibInfo

	Patch  QLinear   // patch_embed.proj: W is D × C·P·P, Out on the M×D patch tokens
	Cls    []float64 // cls_token, D (float)
	Pos    []float64 // pos_embed, L × D (float)
	Layers []QLayer
	NormF  QNorm   // norm_f, applied to the cls token only
	Head   QLinear // head: W is classes × D

	// Datapath extras: calibration ranges of tensors the method keeps in
	// float (ptq-method.md §3.2) but an integer datapath must give a format
	// (docs/DATAPATH.md §11). The fake-quant forward does not apply them.
	Input       *ActQuant // the preprocessed image: 8-bit per-tensor min-max
	ResidualMax []float64 // max |residual| entering each layer's norm, and norm_f (depth+1)

	once sync.Once
	net  *network
}

// CalibInfo records how a QModel was calibrated.
type CalibInfo struct {
	Images           int    `json:"images"`
	Seed             uint64 `json:"seed"`
	Data             string `json:"data,omitempty"`
	K                int    `json:"k"`
	Rounds           int    `json:"rounds"`
	SearchRows       int    `json:"search_rows"`
	WeightSearchRows int    `json:"weight_search_rows"`
	SSMImages        int    `json:"ssm_images"`
	PerChannel       bool   `json:"weight_per_channel"`
	// SearchMinMaxPoints records Options.SearchMinMaxPoints.
	SearchMinMaxPoints bool `json:"search_minmax_points,omitempty"`
}

// QLinear is a quantized linear (or convolution) layer: its weight, its
// float bias (nil when it has none) and the quantizer of its output (nil:
// output stays float).
type QLinear struct {
	W    QWeight
	Bias []float64
	Out  *ActQuant
}

// QNorm is a quantized RMSNorm: its weight γ (1 × D) and output quantizer.
type QNorm struct {
	Gamma QWeight
	Out   *ActQuant
}

// QLayer is one quantized block.
type QLayer struct {
	Norm    QNorm
	InProj  QLinear   // 2E × D, no bias
	ActZ    *ActQuant // SiLU(z), shared by both directions (§3.1)
	Dir     [2]QDir   // vim.Fwd, vim.Bwd
	OutProj QLinear   // D × E, no bias; Out is k-scaled token-wise in paper
	// Merge quantizes the merged gated output (y_f + flip(y_b))/2, the
	// out_proj input: per tensor, searched like the other outputs. A
	// datapath extra: the method (and the fake-quant forward) keep it float.
	Merge *ActQuant
}

// QDir is one scan direction of a quantized mixer.
type QDir struct {
	Conv   QLinear   // depthwise conv1d: W is E × K, float bias, Out on the conv output
	Act    *ActQuant // SiLU output x (x_proj input, SSM input)
	XProj  QLinear   // (R+2N) × E; the B rows carry 1/r_D, the C rows r_D (§5.6)
	DtProj QLinear   // E × R, bias corrected (§2.2)
	Delta  *ActQuant // softplus output Δ
	ALog   []float64 // E × N, float
	D      []float64 // E, float
	SSM    QSSM
}

// QSSM is the quantization of one selective scan (§5.7).
type QSSM struct {
	// RC (E), RL (L), RD (N) are the reparameterization factors (§5.4), nil
	// when the method does not reparameterize. RD is already folded into
	// the x_proj weights; it is kept for reference.
	RC, RL, RD []float64
	// HScale (L) are the per-step scales of the carried hidden state h′,
	// a Bits-bit code (4–8 or 16).
	HScale []float64
	Bits   int
	// Y quantizes the scan output y′ = y/r_C; its token axis is the scan
	// position (the backward direction's groups are in flipped order).
	Y *ActQuant
}

// CheckConfig reports whether q was calibrated for a model of
// configuration c: same input, shapes and class count (names aside).
func (q *QModel) CheckConfig(c vim.Config) error {
	a := q.Config
	if a.ImgH != c.ImgH || a.ImgW != c.ImgW || a.Channels != c.Channels || a.Patch != c.Patch ||
		a.Stride != c.Stride || a.Dim != c.Dim || a.Depth != c.Depth || a.DInner != c.DInner ||
		a.DState != c.DState || a.DConv != c.DConv || a.DtRank != c.DtRank || a.Classes != c.Classes {
		return fmt.Errorf("quantized model is for %dx%dx%d input, D %d, depth %d, E %d, N %d, %d classes; model %s is %dx%dx%d, D %d, depth %d, E %d, N %d, %d classes",
			a.Channels, a.ImgH, a.ImgW, a.Dim, a.Depth, a.DInner, a.DState, a.Classes,
			c.Name, c.Channels, c.ImgH, c.ImgW, c.Dim, c.Depth, c.DInner, c.DState, c.Classes)
	}
	return nil
}

// network returns the fake-quant forward pass of q, built on first use.
func (q *QModel) network() *network {
	q.once.Do(func() { q.net = q.buildNetwork() })
	return q.net
}

func (q *QModel) buildNetwork() *network {
	ssm := make([][2]ssmSpec, len(q.Layers))
	for i := range q.Layers {
		for d := range q.Layers[i].Dir {
			s := &q.Layers[i].Dir[d].SSM
			ssm[i][d] = ssmSpec{rC: s.RC, rL: s.RL, hScale: s.HScale, hBits: s.Bits}
		}
	}
	return &network{net: vim.NewNet[float64](q.floatModel()), act: q.actQuant, ssm: ssm}
}

// floatModel returns the dequantized weights of q as a float model (x_proj
// with r_D folded).
func (q *QModel) floatModel() *vim.Model {
	m := &vim.Model{Config: q.Config, PatchW: q.Patch.W.Dequantize(), PatchB: q.Patch.Bias,
		ClsToken: q.Cls, PosEmbed: q.Pos, NormF: q.NormF.Gamma.Dequantize(),
		HeadW: q.Head.W.Dequantize(), HeadB: q.Head.Bias, Layers: make([]vim.Layer, len(q.Layers))}
	for i := range q.Layers {
		l := &q.Layers[i]
		ml := &m.Layers[i]
		ml.Norm, ml.InProj, ml.OutProj = l.Norm.Gamma.Dequantize(), l.InProj.W.Dequantize(), l.OutProj.W.Dequantize()
		for d := range l.Dir {
			qd := &l.Dir[d]
			ml.Dir[d] = vim.Direction{ConvW: qd.Conv.W.Dequantize(), ConvB: qd.Conv.Bias,
				XProj: qd.XProj.W.Dequantize(), DtW: qd.DtProj.W.Dequantize(), DtB: qd.DtProj.Bias,
				ALog: qd.ALog, D: qd.D}
		}
	}
	return m
}

// actQuant returns the quantizer the method applies at pt (nil: the tensor
// stays float): the outputs of the patch embedding, the norms, the linear
// layers, the conv, SiLU, softplus and the scan (§3.1), and the head.
func (q *QModel) actQuant(pt vim.Point) *ActQuant {
	switch pt.Site {
	case vim.SitePatchEmbed:
		return q.Patch.Out
	case vim.SiteFinalNorm, vim.SiteFeatures:
		return q.NormF.Out
	case vim.SiteLogits:
		return q.Head.Out
	}
	if !pt.Site.InLayer() {
		return nil
	}
	l := &q.Layers[pt.Layer]
	qd := &l.Dir[pt.Dir]
	switch pt.Site {
	case vim.SiteNormOut:
		return l.Norm.Out
	case vim.SiteXZ:
		return l.InProj.Out
	case vim.SiteZGate:
		return l.ActZ
	case vim.SiteOut:
		return l.OutProj.Out
	case vim.SiteConv:
		return qd.Conv.Out
	case vim.SiteConvSiLU:
		return qd.Act
	case vim.SiteXDbl:
		return qd.XProj.Out
	case vim.SiteDt:
		return qd.DtProj.Out
	case vim.SiteDelta:
		return qd.Delta
	case vim.SiteSSMY:
		return qd.SSM.Y
	}
	return nil
}

// Forward runs the fake-quantized model on one image (C,H,W, normalised)
// and returns its logits.
func (q *QModel) Forward(img []float64) ([]float64, error) {
	return q.ForwardTap(img, nil)
}

// ForwardTap is Forward that also hands every intermediate tensor, as
// fake-quantized, to tap (when not nil): the tensor of every vim.Site but
// the conv input and the logits, named and laid out as vim.Tap. Beyond the
// fixture's tensors that vim.Model.Forward taps, these are
// "layers.{i}.mixer.z_gate" (L,E: SiLU(z)), ".mixer.{fwd,bwd}.conv" (E,L:
// the conv output before SiLU), ".dt" (E,L: the dt_proj output) and
// ".ssm_y" (E,L: the quantized scan output y′ = y/r_C, before the D skip
// and the gate); the backward direction's tensors are in scan order.
func (q *QModel) ForwardTap(img []float64, tap vim.Tap) ([]float64, error) {
	c := q.Config
	if want := c.Channels * c.ImgH * c.ImgW; len(img) != want {
		return nil, fmt.Errorf("quantized forward %s: input has %d values, want %d (%dx%dx%d)",
			c.Name, len(img), want, c.Channels, c.ImgH, c.ImgW)
	}
	return q.network().newPass(tap).Forward(img)
}

// Infer runs Forward on n images stored back to back in imgs and returns
// the n×classes logits. Images are spread over all cores; the result does
// not depend on GOMAXPROCS.
func (q *QModel) Infer(imgs []float64, n int) ([]float64, error) {
	c := q.Config
	size := c.Channels * c.ImgH * c.ImgW
	if n < 0 || len(imgs) != n*size {
		return nil, fmt.Errorf("quantized infer %s: %d values for %d images of %d", c.Name, len(imgs), n, size)
	}
	net := q.network()
	return net.net.Infer(imgs, n, func() vim.Hooks[float64] { return net.hooks(nil) })
}
