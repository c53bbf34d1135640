package explore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/vimsim/vimsim/hw/datapath"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/sim"
	"github.com/vimsim/vimsim/vim"
)

// Evaluator builds and runs the integer programs of recipes: the accuracy
// half of the exploration.
type Evaluator interface {
	// Key identifies everything a program depends on besides its recipe
	// (the model, the calibration, the compiler): the cache keys of
	// programs and accuracies start with it.
	Key() string
	// Config is the model's configuration.
	Config() vim.Config
	// Check refuses, before any work, a recipe the datapath cannot run,
	// naming the recipe and the op.
	Check(r Recipe) error
	// Compile calibrates the model for recipe r and compiles its integer
	// program.
	Compile(r Recipe) (*intprog.Program, error)
	// Reference returns the float reference logits of n images (n·classes
	// values), against which the programs are compared.
	Reference(imgs []float64, n int) ([]float64, error)
	// Run returns the logits of program p on n images.
	Run(p *intprog.Program, imgs []float64, n int) ([]float64, error)
}

// Datapath is vimsim's Evaluator: a float model calibrated with quant.Build
// on calibration images, its programs run by sim.Run on the bit-accurate
// units, against the float32 forward pass.
type Datapath struct {
	Model *vim.Model
	// Calib returns the calibration images; it is called once, when the
	// first recipe is compiled (a run that finds every program in its cache
	// reads no calibration data). CalibKey describes them (the dataset,
	// split, count and seed of the draw: part of the cache keys).
	Calib    func() (quant.Images, error)
	CalibKey string
	// Quant are the calibration settings (method, search sizes, seed); the
	// bits come from each recipe.
	Quant quant.Options
	// MergeGroups is quant.BuildOptions.MergeGroups (0: the method's).
	MergeGroups int
	// Build identifies the vimsim build (see BuildKey), so that entries of
	// another build are not read.
	Build string

	once  sync.Once
	calib quant.Images
	err   error
}

// Key implements Evaluator.
func (d *Datapath) Key() string {
	o := d.Quant
	settings, _ := json.Marshal(struct {
		Method                       string
		K, Rounds, SearchRows        int
		WeightSearchRows, SSMImages  int
		SearchMinMaxPoints, PerChanW bool
		Seed                         uint64
		MergeGroups, ProgramVersion  int
		CacheVersion                 int
		ArtifactVersion              int
		ProgramFormat                string
	}{o.Method, o.K, o.Rounds, o.SearchRows, o.WeightSearchRows, o.SSMImages, o.SearchMinMaxPoints,
		o.PerChannelWeights, o.Seed, d.MergeGroups, intprog.FileVersion, CacheVersion, quant.ArtifactVersion, intprog.FileFormat})
	return fmt.Sprintf("model %s\ncalibration %s\nquant %s\nbuild %s", ModelKey(d.Model), d.CalibKey, settings, d.Build)
}

// Config implements Evaluator.
func (d *Datapath) Config() vim.Config { return d.Model.Config }

// Check implements Evaluator: it refuses, naming the op, a recipe the
// integer datapath cannot run (see CheckDatapath).
func (d *Datapath) Check(r Recipe) error {
	if err := CheckDatapath(r.Plan); err != nil {
		return fmt.Errorf("recipe %s: %w", r.Name, err)
	}
	return nil
}

// CheckDatapath checks, before any calibration, that the integer datapath
// runs every precision of plan, as quant.Compile checks the calibrated
// model (DATAPATH.md): weights of 4–8 bits (int4 MAC operands at 4 bits,
// int8 containers otherwise); 4–8-bit outputs where a requantizer forms
// them (patch_embed, in_proj, conv1d, x_proj, dt_proj, out_proj; the
// head's output quantizer is not applied, its logits are int32); 8-bit
// outputs of the norm unit, the SiLU and softplus tables, the scan and the
// merge (a block's other points, norm_f); an 8- or 16-bit hidden state.
func CheckDatapath(plan quant.Plan) error {
	w := func(where string, b int) error {
		if b < quant.MinBits || b > quant.MaxBits {
			return fmt.Errorf("%s: %d-bit weights: the datapath's MAC operands are int4 or int8 (4-8 bits)", where, b)
		}
		return nil
	}
	a := func(where string, b int) error {
		if b < quant.MinBits || b > quant.MaxBits {
			return fmt.Errorf("%s: %d-bit activations: the datapath's requantizers output 4-8 bits", where, b)
		}
		return nil
	}
	int8Out := func(where string, b int) error {
		if b != 8 {
			return fmt.Errorf("%s: %d-bit activations: the datapath's norm unit, SiLU/softplus tables, scan output and merge are int8 "+
				"(activations of 4-7 bits run on the outputs of patch_embed, in_proj, conv1d, x_proj, dt_proj and out_proj)", where, b)
		}
		return nil
	}
	errs := []error{w("patch_embed", plan.Embed.W), a("patch_embed", plan.Embed.A)}
	for i, b := range plan.Blocks {
		at := func(what string) string { return fmt.Sprintf("layer %d %s", i, what) }
		errs = append(errs, w(at("norm"), b.Other.W), int8Out(at("norm, tables, scan and merge outputs"), b.Other.A))
		for _, o := range quant.BlockOps() {
			errs = append(errs, w(at(string(o)), b.Ops[o].W), a(at(string(o)), b.Ops[o].A))
		}
		if b.H != datapath.ScanStateBits && b.H != datapath.ScanWideStateBits {
			errs = append(errs, fmt.Errorf("%s: %d-bit hidden state: the scan unit's state is int%d or int%d",
				at("scan"), b.H, datapath.ScanStateBits, datapath.ScanWideStateBits))
		}
	}
	errs = append(errs, w("norm_f", plan.Final.W), int8Out("norm_f", plan.Final.A), w("head", plan.Head.W))
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Compile implements Evaluator: quant.Build with the recipe's precision.
func (d *Datapath) Compile(r Recipe) (*intprog.Program, error) {
	if err := d.Check(r); err != nil {
		return nil, err
	}
	d.once.Do(func() {
		if d.calib, d.err = d.Calib(); d.err != nil {
			d.err = fmt.Errorf("calibration images: %w", d.err)
		}
	})
	if d.err != nil {
		return nil, d.err
	}
	opt := d.Quant
	prec := r.Precision
	opt.Precision = &prec
	b, err := quant.Build(d.Model, d.calib, quant.BuildOptions{Quant: opt, Data: d.CalibKey, MergeGroups: d.MergeGroups})
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", r.Name, err)
	}
	return b.Program, nil
}

// Reference implements Evaluator: the float32 forward pass.
func (d *Datapath) Reference(imgs []float64, n int) ([]float64, error) {
	return d.Model.Infer(imgs, n, vim.F32)
}

// Run implements Evaluator.
func (d *Datapath) Run(p *intprog.Program, imgs []float64, n int) ([]float64, error) {
	res, err := sim.Run(p, imgs, n, sim.Options{})
	if err != nil {
		return nil, err
	}
	return res.Logits, nil
}

// ModelKey is a fingerprint of a model: the SHA-256 of its configuration
// (but its name) and of every weight, whatever file it was read from.
func ModelKey(m *vim.Model) string {
	h := sha256.New()
	f := m.ToFile()
	c := m.Config
	c.Name = ""
	cfg, _ := json.Marshal(c)
	h.Write(cfg)
	var buf [8]byte
	for _, t := range f.Tensors {
		fmt.Fprintf(h, "\n%s %v\n", t.Name, t.Shape)
		for _, v := range t.Data {
			binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
			h.Write(buf[:])
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
