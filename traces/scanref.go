package traces

import (
	"fmt"
	"math"

	"github.com/vimsim/vimsim/hw/datapath"
)

// Scan flag bits of the scan lane's out_flags (docs/RTL.md §7): which of a
// job's values clamped.
const (
	scanFlagXu   = 1 << iota // Xu to int32
	scanFlagExp              // some state's exponent input to ExpZMax
	scanFlagQ                // some carried state to int8
	scanFlagH                // some H to int20
	scanFlagYacc             // Yacc left int32 (wraps; an Overflow)
	scanFlagY                // y′ to int8
	scanFlagOut              // the gated output to int16
)

// scanFlagBits is the width of out_flags; scanStateFlagBits of st_flags
// ({H, q, exponent input} of one state).
const (
	scanFlagBits      = 7
	scanStateFlagBits = 3
)

// scanTrace is one direction's scan recomputed step by step: per job
// (t, d) the flags, per state (t, d, n) Ā′, the new carried state, H and
// the state's flags (exponent input, q, H clamped: bits 0, 1, 2).
type scanTrace struct {
	flags       []int64 // L·E
	a, q, h, sf []int64 // L·E·N
}

// traceScan recomputes the scan of DATAPATH.md §8.3 (§8.6 for the int16 state) with the datapath's
// primitives (Multiplier.Apply, Exp2Unit.Eval, RoundShift, ShiftRound,
// Saturate) to expose what datapath.Scan only counts: the saturation and
// overflow events of every job and the per-state values. Every y′, V and
// gated output and both counters must agree with the datapath's run (out,
// taps, k), so the trace is the datapath's arithmetic, not a second opinion.
func traceScan(in datapath.ScanInputs, p *datapath.ScanParams, u *datapath.Exp2Unit, out datapath.Matrix[int16], taps *datapath.ScanTaps, k datapath.Counters) (*scanTrace, error) {
	E, N, L := p.Channels, p.States, p.Steps
	sf := p.StateFormat() // int8 or int16 state (DATAPATH.md §8.6)
	tr := &scanTrace{flags: make([]int64, L*E), a: make([]int64, L*E*N), q: make([]int64, L*E*N),
		h: make([]int64, L*E*N), sf: make([]int64, L*E*N)}
	state := make([]int64, E*N)
	var sats, ovfs int64
	flag := func(i int, bit int64, on bool) {
		if on {
			tr.flags[i] |= bit
			sats++
		}
	}
	const zMin = -26 << datapath.ExpInFrac // below: Ā′ = 0 (DATAPATH §5.2)
	for t := 0; t < L; t++ {
		eg := int(p.GroupShift[p.TokenGroup[t]])
		for d := 0; d < E; d++ {
			j := t*E + d
			delta, x, z := int64(in.Delta.At(t, d)), int64(in.X.At(t, d)), int64(in.Z.At(t, d))
			y1 := p.UChan[d].Apply(int32(delta*x), 0)
			xu, sat := datapath.Saturate(p.UStep[t].Apply(int32(y1), int(p.UChanNorm[d])-datapath.ScanAccFrac), 32)
			flag(j, scanFlagXu, sat)
			var yacc int64
			for n := 0; n < N; n++ {
				s := j*N + n
				ze := int64(p.StepLog2[t]) - delta*int64(p.ANeg[d*N+n])
				if ze > datapath.ExpZMax {
					ze = datapath.ExpZMax
					tr.sf[s] |= 1
				}
				var a int64
				if ze >= zMin {
					v, _ := u.Eval(int32(ze))
					a = int64(v)
				}
				hacc := a*state[d*N+n] + xu*int64(in.B.At(t, n))<<sf.XuShift
				q, qs := datapath.Saturate(datapath.RoundShift(hacc, datapath.ScanAccFrac), sf.Bits)
				h, hs := datapath.Saturate(datapath.RoundShift(hacc, uint(datapath.ScanAccFrac-sf.HFrac)), datapath.ScanHBits)
				if qs {
					tr.sf[s] |= 2
				}
				if hs {
					tr.sf[s] |= 4
				}
				for b, bit := range []int64{scanFlagExp, scanFlagQ, scanFlagH} {
					if tr.sf[s]&(1<<b) != 0 {
						tr.flags[j] |= bit
						sats++
					}
				}
				state[d*N+n] = q
				tr.a[s], tr.q[s], tr.h[s] = a, q, h
				yacc += h * int64(in.C.At(t, n))
			}
			if yacc > math.MaxInt32 || yacc < math.MinInt32 {
				tr.flags[j] |= scanFlagYacc
				ovfs++
			}
			yq, sat := datapath.Saturate(p.YStep[t].Apply(int32(yacc), eg), datapath.ScanYBits)
			flag(j, scanFlagY, sat)
			v := datapath.ShiftRound(yq, eg+int(p.SkipShift[d])) + int64(p.SkipD[d])*x
			o, sat := datapath.Saturate(p.Gate[d].Apply(int32(v*z), 0), datapath.GateBits)
			flag(j, scanFlagOut, sat)
			if yq != int64(taps.Y.Data[j]) || v != int64(taps.Skip.Data[j]) || o != int64(out.Data[j]) {
				return nil, fmt.Errorf("flag model: step %d channel %d: y′ %d V %d out %d; datapath %d, %d, %d",
					t, d, yq, v, o, taps.Y.Data[j], taps.Skip.Data[j], out.Data[j])
			}
		}
	}
	if sats != k.Saturations || ovfs != k.Overflows {
		return nil, fmt.Errorf("flag model: %d saturations, %d overflows; datapath %d, %d", sats, ovfs, k.Saturations, k.Overflows)
	}
	return tr, nil
}
