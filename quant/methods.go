package quant

import (
	"context"
	"fmt"
	"runtime"
	"strings"
)

// Method names.
const (
	MethodNaive          = "naive"
	MethodPaper          = "paper"
	MethodPaperNoKScale  = "paper-no-kscale"
	MethodPaperNoReparam = "paper-no-reparam"
)

// Methods lists the quantization methods Calibrate knows, in table order.
func Methods() []string {
	return []string{MethodNaive, MethodPaper, MethodPaperNoKScale, MethodPaperNoReparam}
}

// recipe is what a method switches on.
type recipe struct {
	search   bool // cosine-similarity scale search (else min-max scales)
	kscale   bool // k-scaled groups where the paper uses them (else per tensor)
	reparam  bool // hidden-state reparameterization (and the r_D fold)
	biasCorr bool // bias correction of the biased linears
}

func recipeOf(method string) (recipe, error) {
	switch method {
	case MethodNaive:
		return recipe{}, nil
	case MethodPaper:
		return recipe{search: true, kscale: true, reparam: true, biasCorr: true}, nil
	case MethodPaperNoKScale:
		return recipe{search: true, reparam: true, biasCorr: true}, nil
	case MethodPaperNoReparam:
		return recipe{search: true, kscale: true, biasCorr: true}, nil
	}
	return recipe{}, fmt.Errorf("unknown quantization method %q (known: %s)", method, strings.Join(Methods(), ", "))
}

// Options configure Calibrate. The zero value is not valid; start from
// DefaultOptions.
type Options struct {
	Method string // one of Methods()
	WBits  int    // weight bits, 4–8
	ABits  int    // activation bits, 4–8
	HBits  int    // hidden-state bits, 4–8 or 16; 0 means ABits
	// Precision, when not nil, is the precision recipe: per-op weight and
	// activation bits and per-block hidden-state bits. It replaces WBits,
	// ABits and HBits, which otherwise make the uniform recipe
	// Uniform(WBits, ABits, HBits).
	Precision *Precision
	// K is the number of groups of the k-scaled quantizers (§4.1).
	K int
	// Rounds of the coordinate-descent search of the linear, conv1d and SSM
	// output quantizers (the SiLU and softplus quantizers search 1 round).
	Rounds int
	// SearchRows is the number of token rows, sampled evenly over the
	// calibration images, on which the weight and output scales are
	// searched (the min-max initial scales and the k-means profiles use
	// every token of every image).
	SearchRows int
	// WeightSearchRows bounds the rows (every k-th of the SearchRows) on
	// which each weight-scale candidate is evaluated: that is one GEMM per
	// candidate, the costliest part of the search.
	WeightSearchRows int
	// SSMImages is the number of calibration images (the first ones) on
	// which the per-step hidden-state scales and the SSM output scales are
	// searched; the factors and initial scales use every image.
	SSMImages int
	// SearchMinMaxPoints also searches (1 round) the output scales of the
	// patch embedding and of the RMSNorms, which the official code sets by
	// min-max (§2.1); a departure, off by default. It matters at 4-bit
	// activations (docs/QUANT.md §10). Methods without search ignore it.
	SearchMinMaxPoints bool
	// PerChannelWeights gives every weight one scale per output row instead
	// of the method's per-tensor scale (a departure, off by default).
	PerChannelWeights bool
	// Seed selects the sampled token rows.
	Seed uint64
	// Workers bounds the goroutines; 0 means GOMAXPROCS. Results do not
	// depend on it.
	Workers int
	// Data names the calibration data in the artifact (informational).
	Data string
	// Progress, when set, is called after each calibration stage.
	Progress func(stage string, done, total int)
	// Context, when set, stops the calibration with its error once it is
	// done (checked before each image of every stage and between layers).
	Context context.Context
}

// DefaultOptions returns the paper's settings (§8.2): W8A8 with an 8-bit
// hidden state, k = 4, 3 search rounds, and the sampling defaults.
func DefaultOptions() Options {
	return Options{Method: MethodPaper, WBits: 8, ABits: 8, K: 4, Rounds: 3, SearchRows: 512,
		WeightSearchRows: 256, SSMImages: 16}
}

// validate checks o and fills the derived defaults.
func (o Options) validate() (Options, recipe, error) {
	rec, err := recipeOf(o.Method)
	if err != nil {
		return o, rec, err
	}
	if o.Precision == nil {
		if o.HBits == 0 {
			o.HBits = o.ABits
		}
		for _, b := range []struct {
			name string
			v    int
		}{{"weight", o.WBits}, {"activation", o.ABits}, {"hidden-state", o.HBits}} {
			if (b.v < MinBits || b.v > MaxBits) && (b.name != "hidden-state" || b.v != MaxHiddenBits) {
				return o, rec, fmt.Errorf("%s bits %d out of [%d, %d]", b.name, b.v, MinBits, MaxBits)
			}
		}
		u := Uniform(o.WBits, o.ABits, o.HBits)
		o.Precision = &u
	} else {
		if err := o.Precision.Validate(); err != nil {
			return o, rec, err
		}
		p := *o.Precision
		o.Precision = &p
		o.WBits, o.ABits, o.HBits = p.W, p.A, p.H
	}
	switch {
	case o.K < 1 || o.K > 64:
		return o, rec, fmt.Errorf("k = %d groups out of [1, 64]", o.K)
	case o.Rounds < 1 || o.Rounds > 10:
		return o, rec, fmt.Errorf("%d search rounds out of [1, 10]", o.Rounds)
	case o.SearchRows < 1:
		return o, rec, fmt.Errorf("search rows %d must be positive", o.SearchRows)
	case o.WeightSearchRows < 1:
		return o, rec, fmt.Errorf("weight search rows %d must be positive", o.WeightSearchRows)
	case o.SSMImages < 1:
		return o, rec, fmt.Errorf("SSM search images %d must be positive", o.SSMImages)
	case o.Workers < 0:
		return o, rec, fmt.Errorf("workers %d must not be negative", o.Workers)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o, rec, nil
}
