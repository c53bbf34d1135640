package quant

import (
	"fmt"
	"math"
	"slices"
)

// calibrateLayer builds the quantized layer i from its statistics, module
// by module in the official order (§3.1).
func (c *calibrator) calibrateLayer(i int, st *layerStats) (QLayer, error) {
	cfg, opt := c.cfg, c.opt
	D, E, L, N, K, R := cfg.Dim, cfg.DInner, cfg.Tokens(), cfg.DState, cfg.DConv, cfg.DtRank
	XO := cfg.XProjOut()
	ml := &c.m.Layers[i]
	imgTokens := float64(st.images * L)
	var ql QLayer
	bp := &c.plan.Blocks[i]
	ob := bp.Other
	op := func(o OpName) OpBits { return bp.Ops[o] }

	// RMSNorm: γ and output min-max.
	ql.Norm = QNorm{Gamma: c.minMaxWeight(ml.Norm, 1, D, ob.W), Out: c.perTensor(st.normMax, ob.A)}
	c.searchMinMaxPoint(&st.inRows, D, ql.Norm.Out)

	// in_proj: per-tensor weight and output, searched.
	in := newLinProblem(st.inRows.rows(), D, 2*E, st.inRows.data, ml.InProj, nil, st.inRows.tok)
	ql.InProj = c.linear(in, op(OpInProj).W, c.perTensor(st.inMax, op(OpInProj).A), false, nil)

	// SiLU(z): k-scaled channel-wise, 1 round, shared by both directions.
	zq, err := c.grouped(PerChannel, st.zg.profile(imgTokens), st.zg.max, ob.A)
	if err != nil {
		return ql, fmt.Errorf("act_z: %w", err)
	}
	c.searchOut(&actProblem{rows: st.zgRows.rows(), cols: E, target: st.zgRows.data, values: st.zgRows.data}, zq, 1, false)
	ql.ActZ = zq

	for d := range ql.Dir {
		ds := &st.dir[d]
		md := &ml.Dir[d]
		qd := &ql.Dir[d]
		name := [2]string{"fwd", "bwd"}[d]

		// conv1d: min-max weight; output k-scaled channel-wise, 3 rounds.
		cq, err := c.grouped(PerChannel, ds.conv.profile(imgTokens), ds.conv.max, op(OpConv1d).A)
		if err != nil {
			return ql, fmt.Errorf("%s conv1d: %w", name, err)
		}
		c.searchOut(&actProblem{rows: ds.convFP.rows(), cols: E, target: ds.convFP.data, values: ds.convQW.data}, cq, opt.Rounds, false)
		qd.Conv = QLinear{W: c.minMaxWeight(md.ConvW, E, K, op(OpConv1d).W), Bias: slices.Clone(md.ConvB), Out: cq}

		// SiLU: k-scaled channel-wise, 1 round.
		aq, err := c.grouped(PerChannel, ds.act.profile(imgTokens), ds.act.max, ob.A)
		if err != nil {
			return ql, fmt.Errorf("%s act: %w", name, err)
		}
		c.searchOut(&actProblem{rows: ds.actRows.rows(), cols: E, target: ds.actRows.data, values: ds.actRows.data}, aq, 1, false)
		qd.Act = aq

		// Reparameterization factors (§5.4) and the r_D fold into x_proj (§5.6).
		var f factors
		if c.rec.reparam {
			f = determineFactors(ds.h.sum, float64(st.images), L, E, N)
		}
		xp := slices.Clone(md.XProj)
		colMax := slices.Clone(ds.xpColMax)
		if f.rD != nil {
			foldRD(xp, colMax, f.rD, R, N, E)
		}
		xprob := newLinProblem(ds.actRows.rows(), E, XO, ds.actRows.data, xp, nil, ds.actRows.tok)
		qd.XProj = c.linear(xprob, op(OpXProj).W, c.perTensor(slices.Max(colMax), op(OpXProj).A), false, nil)

		// dt_proj: searched, bias corrected with the mean dt input.
		dprob := newLinProblem(ds.dtRows.rows(), R, E, ds.dtRows.data, md.DtW, md.DtB, ds.dtRows.tok)
		meanDt := make([]float64, R)
		for j, v := range ds.dtSum {
			meanDt[j] = v / imgTokens
		}
		qd.DtProj = c.linear(dprob, op(OpDtProj).W, c.perTensor(ds.dtMax, op(OpDtProj).A), false, meanDt)

		// softplus (Δ): k-scaled channel-wise, 1 round.
		dq, err := c.grouped(PerChannel, ds.delta.profile(imgTokens), ds.delta.max, ob.A)
		if err != nil {
			return ql, fmt.Errorf("%s softplus: %w", name, err)
		}
		c.searchOut(&actProblem{rows: ds.deltaRows.rows(), cols: E, target: ds.deltaRows.data, values: ds.deltaRows.data}, dq, 1, false)
		qd.Delta = dq

		qd.ALog = slices.Clone(md.ALog)
		qd.D = slices.Clone(md.D)
		ssm, err := c.calibrateSSM(ds, md.ALog, md.D, f, float64(st.images), bp.H, ob.A)
		if err != nil {
			return ql, fmt.Errorf("%s ssm: %w", name, err)
		}
		qd.SSM = ssm
	}

	// Datapath extra: the merged gated output (out_proj input), per tensor.
	ql.Merge = c.perTensor(st.mrgMax, ob.A)
	c.searchOut(&actProblem{rows: st.outRows.rows(), cols: E, target: st.outRows.data, values: st.outRows.data}, ql.Merge, 1, false)

	// out_proj: output k-scaled token-wise with power-of-two scales.
	oq, err := c.grouped(PerToken, st.out.profile(float64(st.images*D)), st.out.max, op(OpOutProj).A)
	if err != nil {
		return ql, fmt.Errorf("out_proj: %w", err)
	}
	outp := newLinProblem(st.outRows.rows(), E, D, st.outRows.data, ml.OutProj, nil, st.outRows.tok)
	ql.OutProj = c.linear(outp, op(OpOutProj).W, oq, true, nil)
	return ql, nil
}

// factors are the reparameterization factors of one scan; nil slices mean
// no reparameterization.
type factors struct {
	rC, rL, rD []float64
}

// reparamEps is added to every factor, as the official code does (§5.4).
const reparamEps = 1e-15

// factorFloor bounds each factor below, relative to the largest of its
// vector.
const factorFloor = 1e-9

// determineFactors computes r_C, r_L, r_D from hSum (L×E×N, the sum over
// images of |h_t[e,n]|) as ptq-method.md §5.4: M = mean over images;
// representatives = means of M over the two other axes; dispersions =
// unbiased standard deviations of the representatives; exponents
// p_X = σ_X/(σ_C+σ_L+σ_D); r_X = rep_X^{p_X} + 1e-15.
func determineFactors(hSum []float64, images float64, L, E, N int) factors {
	cRep := make([]float64, E)
	lRep := make([]float64, L)
	dRep := make([]float64, N)
	for t := 0; t < L; t++ {
		for e := 0; e < E; e++ {
			row := hSum[(t*E+e)*N : (t*E+e+1)*N]
			for n, v := range row {
				m := v / images
				cRep[e] += m
				lRep[t] += m
				dRep[n] += m
			}
		}
	}
	for e := range cRep {
		cRep[e] /= float64(L * N)
	}
	for t := range lRep {
		lRep[t] /= float64(E * N)
	}
	for n := range dRep {
		dRep[n] /= float64(L * E)
	}
	sC, sL, sD := stdUnbiased(cRep), stdUnbiased(lRep), stdUnbiased(dRep)
	sum := sC + sL + sD
	pC, pL, pD := 1.0/3, 1.0/3, 1.0/3
	if sum > 0 {
		pC, pL, pD = sC/sum, sL/sum, sD/sum
	}
	pow := func(rep []float64, p float64) []float64 {
		r := make([]float64, len(rep))
		for i, v := range rep {
			r[i] = math.Pow(v, p)
		}
		// A dead index (representative 0) would get the factor 1e-15 and
		// blow its normalised state up by 10^15: floor at 10^−9 of the
		// largest factor (inactive unless a representative is that small).
		floor := slices.Max(r) * factorFloor
		for i, v := range r {
			r[i] = math.Max(v, floor) + reparamEps
		}
		return r
	}
	return factors{rC: pow(cRep, pC), rL: pow(lRep, pL), rD: pow(dRep, pD)}
}

// stdUnbiased is the sample standard deviation (N−1), 0 for one value.
func stdUnbiased(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)-1))
}

// foldRD scales x_proj's rows (R+2N)×E by [1]*R ++ 1/r_D ++ r_D (§5.6), and
// the per-column output maxima alike.
func foldRD(w, colMax, rD []float64, R, N, E int) {
	for n, r := range rD {
		bRow, cRow := R+n, R+N+n
		for j := 0; j < E; j++ {
			w[bRow*E+j] /= r
			w[cRow*E+j] *= r
		}
		colMax[bRow] /= r
		colMax[cRow] *= r
	}
}
