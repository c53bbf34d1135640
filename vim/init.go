package vim

import (
	"math"
	"math/rand/v2"
)

// Synthetic returns a model with deterministic weights drawn, for the given
// seed, from the distributions of the official initialisation
// (vim-forward.md §5). They are not the PyTorch draws bit for bit (a different
// generator), so accuracy is meaningless; shapes, costs and numerics are real.
func Synthetic(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x76696d73696d)) // "vimsim"
	uniform := func(n int, bound float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = (2*rng.Float64() - 1) * bound
		}
		return v
	}
	// truncNormal draws N(0, std²) cut at ±2 absolute (timm's trunc_normal_).
	truncNormal := func(n int, std float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			for {
				x := rng.NormFloat64() * std
				if math.Abs(x) <= 2 {
					v[i] = x
					break
				}
			}
		}
		return v
	}
	fill := func(n int, x float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = x
		}
		return v
	}
	D, E, N, R, K, L := cfg.Dim, cfg.DInner, cfg.DState, cfg.DtRank, cfg.DConv, cfg.Tokens()
	kk := cfg.Channels * cfg.Patch * cfg.Patch
	m := &Model{Config: cfg}
	// lecun_normal: std sqrt(1/fan_in)/0.8796 (timm 0.4.12); patch bias 0.
	m.PatchW = truncNormal(D*kk, math.Sqrt(1/float64(kk))/0.87962566103423978)
	m.PatchB = fill(D, 0)
	m.HeadW = truncNormal(cfg.Classes*D, 0.02)
	m.HeadB = fill(cfg.Classes, 0)
	m.PosEmbed = truncNormal(L*D, 0.02)
	m.ClsToken = truncNormal(D, 0.02)
	m.NormF = fill(D, 1)
	aLog := make([]float64, E*N)
	for e := 0; e < E; e++ {
		for n := 0; n < N; n++ {
			aLog[e*N+n] = math.Log(float64(n + 1))
		}
	}
	const dtMin, dtMax, dtFloor = 0.001, 0.1, 1e-4
	m.Layers = make([]Layer, cfg.Depth)
	for i := range m.Layers {
		l := &m.Layers[i]
		l.Norm = fill(D, 1)
		l.InProj = uniform(2*E*D, 1/math.Sqrt(float64(D)))
		for d := range l.Dir {
			dir := &l.Dir[d]
			dir.ConvW = uniform(E*K, 1/math.Sqrt(float64(K)))
			dir.ConvB = uniform(E, 1/math.Sqrt(float64(K)))
			dir.XProj = uniform((R+2*N)*E, 1/math.Sqrt(float64(E)))
			dir.DtW = uniform(E*R, 1/math.Sqrt(float64(R)))
			dir.DtB = make([]float64, E)
			if d == Fwd {
				// Inverse softplus of dt ~ logU[dt_min, dt_max]. The backward
				// direction's bias is zeroed by _init_weights (§5).
				for e := range dir.DtB {
					dt := math.Exp(rng.Float64()*(math.Log(dtMax)-math.Log(dtMin)) + math.Log(dtMin))
					dt = math.Max(dt, dtFloor)
					dir.DtB[e] = dt + math.Log(-math.Expm1(-dt))
				}
			}
			dir.ALog = append([]float64(nil), aLog...)
			dir.D = fill(E, 1)
		}
		// kaiming_uniform(a=√5) then divided by sqrt(depth).
		l.OutProj = uniform(D*E, 1/math.Sqrt(float64(E))/math.Sqrt(float64(cfg.Depth)))
	}
	return m, nil
}
