package vim

// ScanInput are the operands of one direction's selective scan, in scan
// order (vim-forward.md §3).
type ScanInput[T Float] struct {
	Point      Point // the direction's SiteSSMY point: layer and direction
	L, E, N, R int   // tokens, inner width, state size, dt rank
	X          []T   // L×E the scan input x (SiteConvSiLU)
	Delta      []T   // L×E Δ (SiteDelta)
	XDbl       []T   // L×(R+2N) the x_proj output [dt | B | C] (SiteXDbl)
	Z          []T   // L×E the gate SiLU(z) in scan order (SiteZGate)
	A          []T   // E×N A = −exp(A_log)
	D          []T   // E the skip weights D
	// Step, when set, receives the running hidden state h_s (E×N) after
	// every step s (Hooks.Step).
	Step func(pt Point, s int, h []T)
}

// B returns B_s, the N values of step s (shared by every channel).
func (in *ScanInput[T]) B(s int) []T {
	o := s*(in.R+2*in.N) + in.R
	return in.XDbl[o : o+in.N]
}

// C returns C_s, the N values of step s (shared by every channel).
func (in *ScanInput[T]) C(s int) []T {
	o := s*(in.R+2*in.N) + in.R + in.N
	return in.XDbl[o : o+in.N]
}

// A Scanner runs the selective scan of one mixer direction. A Pass calls
// Scan, then the SiteSSMY hook, then Gate.
type Scanner[T Float] interface {
	// Scan writes the scan output y′ (L×E): y′_s[e] = Σ_n C_s[n]·h_s[e,n].
	Scan(in *ScanInput[T], y []T)
	// Gate writes the gated output out (L×E) from y′, in the reference
	// (y′ + D⊙x)⊙SiLU(z).
	Gate(in *ScanInput[T], y, out []T)
}

// RefScan is the reference selective scan (selective_scan_ref, float
// hidden state): the Scanner a Pass runs unless Hooks.Scan replaces it. It
// holds the hidden state of one scan at a time.
type RefScan[T Float] struct {
	h []T
}

// Scan runs the recurrence from h_{−1} = 0 with ScanStep.
func (r *RefScan[T]) Scan(in *ScanInput[T], y []T) {
	E, N := in.E, in.N
	if len(r.h) != E*N {
		r.h = make([]T, E*N)
	}
	h := r.h
	clear(h)
	for s := 0; s < in.L; s++ {
		row := in.Delta[s*E : (s+1)*E]
		ScanStep(in.A, h, h, row, in.X[s*E:(s+1)*E], in.B(s), in.C(s), y[s*E:(s+1)*E])
		if in.Step != nil {
			in.Step(in.Point, s, h)
		}
	}
}

// Gate writes out = (y′ + D⊙x)⊙SiLU(z).
func (RefScan[T]) Gate(in *ScanInput[T], y, out []T) {
	E := in.E
	for s := 0; s < in.L; s++ {
		xr, yr, zr, or := in.X[s*E:(s+1)*E], y[s*E:(s+1)*E], in.Z[s*E:(s+1)*E], out[s*E:(s+1)*E]
		for e := range or {
			or[e] = (yr[e] + in.D[e]*xr[e]) * zr[e]
		}
	}
}

// ScanStep advances the scan by one step for all E channels (simplified
// Euler for B, zero-order hold for A): h[e,n] = exp(Δ[e]·A[e,n])·hPrev[e,n]
// + Δ[e]·x[e]·B[n], and writes y[e] = Σ_n C[n]·h[e,n]. a, hPrev and h are
// E×N; hPrev may be h.
func ScanStep[T Float](a, hPrev, h, delta, x, b, c, y []T) {
	N := len(b)
	for e := range y {
		dt := delta[e]
		dx := dt * x[e]
		he := h[e*N : (e+1)*N]
		hp := hPrev[e*N : (e+1)*N]
		ae := a[e*N : (e+1)*N]
		hp, ae, bn, cn := hp[:len(he)], ae[:len(he)], b[:len(he)], c[:len(he)]
		var acc T
		for n := range he {
			v := exp(dt*ae[n])*hp[n] + dx*bn[n]
			he[n] = v
			acc += v * cn[n]
		}
		y[e] = acc
	}
}

// CausalConv writes the depthwise causal convolution of x (L×E, scan
// order) with the kernel w (E×K, tap K−1 on the current step) and the bias
// b to out (L×E): out[s,e] = b[e] + Σ_k w[e,k]·x[s−K+1+k, e], with x = 0
// before step 0.
func CausalConv[T Float](x, w, b, out []T, E, K int) {
	for s := 0; s < len(x)/E; s++ {
		row := out[s*E : (s+1)*E]
		copy(row, b)
		for k := 0; k < K; k++ {
			src := s - (K - 1) + k
			if src < 0 {
				continue
			}
			xr := x[src*E : (src+1)*E]
			for e := range row {
				row[e] += w[e*K+k] * xr[e]
			}
		}
	}
}
