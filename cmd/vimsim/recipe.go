package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/quant"
)

// precisionFlags select the precision recipe of a calibration: a recipe
// file (--recipe, docs/QUANT.md §11) or the uniform bits --wbits, --abits
// and --hbits.
type precisionFlags struct {
	recipe              string
	wbits, abits, hbits int
	fl                  *pflag.FlagSet
	what                string // "" or a prefix of the help ("of methods calibrated on the fly")
}

// register adds the flags to fl with the defaults of quant.DefaultOptions.
func (p *precisionFlags) register(fl *pflag.FlagSet, what string) {
	d := quant.DefaultOptions()
	p.fl, p.what = fl, what
	sfx := ""
	if what != "" {
		sfx = " " + what
	}
	fl.StringVar(&p.recipe, "recipe", "", "precision recipe file (YAML or JSON: default w/a/h, per-op and per-layer bits, docs/QUANT.md)"+sfx+"; replaces --wbits/--abits/--hbits")
	fl.IntVar(&p.wbits, "wbits", d.WBits, "weight bits (4-8)"+sfx)
	fl.IntVar(&p.abits, "abits", d.ABits, "activation bits (4-8)"+sfx)
	fl.IntVar(&p.hbits, "hbits", 0, "hidden-state bits (4-8 or 16; 0: same as --abits)"+sfx)
}

// apply sets the precision of o: the recipe of --recipe, or the uniform
// bits.
func (p *precisionFlags) apply(o *quant.Options) error {
	o.WBits, o.ABits, o.HBits, o.Precision = p.wbits, p.abits, p.hbits, nil
	if p.recipe == "" {
		return nil
	}
	for _, name := range []string{"wbits", "abits", "hbits"} {
		if p.fl != nil && p.fl.Changed(name) {
			return fmt.Errorf("--recipe %s: give the bits in the recipe, not with --%s", p.recipe, name)
		}
	}
	rec, err := quant.ReadPrecision(p.recipe)
	if err != nil {
		return fmt.Errorf("--recipe: %w", err)
	}
	o.Precision = &rec
	return nil
}

// checkQModel refuses precision flags given with --qmodel FILE: the
// quantized model carries its recipe, which the flags cannot change.
func (p *precisionFlags) checkQModel(qmodel string) error {
	if qmodel == "" {
		return nil
	}
	if p.recipe != "" {
		return fmt.Errorf("--recipe %s: --qmodel %s carries its own recipe (calibrate with --recipe instead)", p.recipe, qmodel)
	}
	for _, name := range []string{"wbits", "abits", "hbits"} {
		if p.fl != nil && p.fl.Changed(name) {
			return fmt.Errorf("--%s: --qmodel %s carries its own recipe (calibrate with --%s instead)", name, qmodel, name)
		}
	}
	return nil
}

// modelRecipeName names the recipe of q for reports: "" for the default
// W8A8 with an 8-bit hidden state, so that default reports stay as they
// were.
func modelRecipeName(q *quant.QModel) string {
	if q == nil {
		return ""
	}
	pl, err := q.Precision.Resolve(q.Config.Depth)
	if err != nil {
		return q.Precision.String()
	}
	if w, a, h, ok := pl.Uniform(); ok && w == 8 && a == 8 && h == 8 {
		return ""
	}
	return q.Precision.String()
}

// plan returns the recipe the flags select resolved for a model of depth
// blocks, checked against the integer datapath, with its name; given is
// false (and the plan empty) when neither --recipe nor a bit flag was set,
// so that the default reports stay as they were.
func (p *precisionFlags) plan(depth int) (pl quant.Plan, name string, given bool, err error) {
	given = p.recipe != ""
	for _, n := range []string{"wbits", "abits", "hbits"} {
		given = given || (p.fl != nil && p.fl.Changed(n))
	}
	if !given {
		return quant.Plan{}, "", false, nil
	}
	var o quant.Options
	if err := p.apply(&o); err != nil {
		return quant.Plan{}, "", true, err
	}
	rec := o.Precision
	flag := "--recipe " + p.recipe
	if rec == nil {
		h := o.HBits
		if h == 0 {
			h = o.ABits
		}
		u := quant.Uniform(o.WBits, o.ABits, h)
		rec, flag = &u, "--wbits/--abits/--hbits"
	}
	if pl, err = rec.Resolve(depth); err == nil {
		err = pl.CheckDatapath()
	}
	if err != nil {
		return quant.Plan{}, "", true, fmt.Errorf("%s: %w", flag, err)
	}
	return pl, rec.String(), true, nil
}
