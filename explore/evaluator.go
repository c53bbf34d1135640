package explore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync"

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
// integer datapath cannot run (quant.Plan.CheckDatapath, the compiler's
// checks that depend on the recipe alone).
func (d *Datapath) Check(r Recipe) error {
	if err := r.Plan.CheckDatapath(); err != nil {
		return fmt.Errorf("recipe %s: %w", r.Name, err)
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
