package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/vim"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// calibFlags are the quantization flags shared by calibrate, sim and eval:
// method, calibration size, bits and search settings.
type calibFlags struct {
	method            string
	calib             int
	prec              precisionFlags
	k, rounds         int
	searchRows        int
	weightSearchRows  int
	ssmImages         int
	weightGranularity string
	searchAll         bool
}

func (f *calibFlags) register(cmd *cobra.Command) {
	d := quant.DefaultOptions()
	fl := cmd.Flags()
	fl.StringVar(&f.method, "method", d.Method, "quantization method: "+strings.Join(quant.Methods(), ", "))
	fl.IntVar(&f.calib, "calib", 256, "calibration images, drawn (seeded by --seed) from the dataset's train split")
	f.prec.register(fl, "")
	fl.IntVar(&f.k, "k", d.K, "groups of the k-scaled quantizers")
	fl.IntVar(&f.rounds, "rounds", d.Rounds, "rounds of the coordinate-descent scale search")
	fl.IntVar(&f.searchRows, "search-rows", d.SearchRows, "token rows sampled for the output scale search")
	fl.IntVar(&f.weightSearchRows, "weight-search-rows", d.WeightSearchRows, "of those, rows on which each weight-scale candidate is evaluated")
	fl.IntVar(&f.ssmImages, "ssm-images", d.SSMImages, "calibration images of the hidden-state and SSM-output search")
	fl.StringVar(&f.weightGranularity, "weight-granularity", "tensor", "weight scales: tensor (the method's) or channel (one per output row)")
	fl.BoolVar(&f.searchAll, "search-all-outputs", false, "also search the patch-embedding and RMSNorm output scales (min-max in the method; helps 4-bit activations)")
}

// options returns the quant.Options the flags select.
func (f *calibFlags) options(seed uint64) (quant.Options, error) {
	o := quant.DefaultOptions()
	o.Method = f.method
	if err := f.prec.apply(&o); err != nil {
		return o, err
	}
	o.K, o.Rounds, o.SearchRows, o.WeightSearchRows = f.k, f.rounds, f.searchRows, f.weightSearchRows
	o.SSMImages, o.Seed, o.SearchMinMaxPoints = f.ssmImages, seed, f.searchAll
	switch f.weightGranularity {
	case "tensor":
	case "channel":
		o.PerChannelWeights = true
	default:
		return o, fmt.Errorf("--weight-granularity %q: want tensor or channel", f.weightGranularity)
	}
	if f.calib < 1 {
		return o, fmt.Errorf("--calib %d: must be at least 1", f.calib)
	}
	return o, nil
}

// readQModel reads the quantized-model file of --qmodel and checks it
// against m's configuration.
func readQModel(path string, m *vim.Model) (*quant.QModel, error) {
	qm, err := quant.ReadModel(path)
	if err != nil {
		return nil, err
	}
	if err := qm.CheckConfig(m.Config); err != nil {
		return nil, fmt.Errorf("--qmodel %s: %w", path, err)
	}
	return qm, nil
}

// calibrationImages draws n calibration images for cfg from the split of
// spec ("": train, or test for the embedded sample, which has no other)
// and describes them. countFlag names the flag of n, refused when the
// split has fewer images.
func calibrationImages(spec, split string, n int, cfg vim.Config, seed uint64, countFlag string) (quant.SliceImages, string, error) {
	if split == "" {
		split = "train"
		if spec == "sample" {
			split = "test"
		}
	}
	ds, err := data.Open(spec, split)
	if err != nil {
		return quant.SliceImages{}, "", err
	}
	defer ds.Close()
	if n > ds.Len() {
		return quant.SliceImages{}, "", fmt.Errorf("%s %d: dataset %s has %d %s images", countFlag, n, spec, ds.Len(),
			strings.ToLower(strings.TrimSpace(split)))
	}
	imgs, err := quant.CalibrationSet(ds, cfg, n, seed)
	if err != nil {
		return quant.SliceImages{}, "", fmt.Errorf("calibration data %s: %w", spec, err)
	}
	return imgs, fmt.Sprintf("%s (%s, %d images, seed %d)", spec, split, imgs.Len(), seed), nil
}

func newCalibrateCmd() *cobra.Command {
	var (
		mf       modelFlags
		cf       calibFlags
		dataSpec string
		split    string
		out      string
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Quantize a model (post-training) and write the quantized-model artifact",
		Long: `Quantize a Vim model after training, as Shi et al. (arXiv 2501.16738) do, and
write the quantized model: int weights, activation scales, k-scaled group
tables, hidden-state reparameterization factors and per-step scales
(see docs/QUANT.md).

Methods: naive (per-tensor min-max everywhere, the official BasePTQ), paper
(cosine-similarity scale search, k-scaled quantization, hidden-state
reparameterization with folded factors, bias correction), and the ablations
paper-no-kscale and paper-no-reparam.

The --calib images are drawn from the train split of --data with a seeded
permutation (--seed also seeds the synthetic weights of a preset); the
embedded sample has only test images. The artifact is a safetensors file;
inspect it with "vimsim qmodel info FILE". The same flags give the same file,
byte for byte.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := commandContext(cmd)
			if out == "" {
				return fmt.Errorf("--out: give the file to write the quantized model to")
			}
			if err := checkOutputFile("out", out, force); err != nil {
				return err
			}
			opt, err := cf.options(mf.seed)
			if err != nil {
				return err
			}
			m, err := mf.load()
			if err != nil {
				return err
			}
			calibSplit := ""
			if cmd.Flags().Changed("split") {
				calibSplit = split
			}
			imgs, desc, err := calibrationImages(dataSpec, calibSplit, cf.calib, m.Config, mf.seed, "--calib")
			if err != nil && calibSplit != "" && !strings.Contains(err.Error(), "--calib") {
				return fmt.Errorf("--split %s: %w", calibSplit, err)
			}
			if err != nil {
				return err
			}
			opt.Data = desc
			opt.Context = ctx
			bar, prog := calibrationBar(cmd, m.Config.Depth, false)
			opt.Progress = prog
			start := time.Now()
			q, err := quant.Calibrate(m, imgs, opt)
			bar.Finish()
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			f, err := q.File()
			if err != nil {
				return err
			}
			b, err := ckpt.EncodeSafetensors(f)
			if err != nil {
				return err
			}
			if err := writeOutputs(ctx, nil, force, outputFile{"out", out, b}); err != nil {
				return err
			}
			cost := quant.Cost(m.Config)
			w := cmd.OutOrStdout()
			if o := opt.Precision; o != nil {
				fmt.Fprintf(w, "%s: %s, recipe %s (default W%dA%d, hidden state %d bits), calibrated on %s\n",
					out, q.Method, o, q.WBits, q.ABits, q.HBits, desc)
			} else {
				fmt.Fprintf(w, "%s: %s W%dA%d (hidden state %d bits), calibrated on %s\n",
					out, q.Method, q.WBits, q.ABits, q.HBits, desc)
			}
			fmt.Fprintf(w, "reparameterization: %s multiplies per image applied naively, %s after folding\n",
				commas(cost.NaivePerImage), commas(cost.FoldedPerImage))
			fmt.Fprintf(cmd.ErrOrStderr(), "calibration took %s\n", elapsed.Round(time.Millisecond))
			return nil
		},
	}
	mf.registerSeedDraws(cmd)
	mf.registerNorm(cmd)
	cf.register(cmd)
	registerForce(cmd, &force)
	fl := cmd.Flags()
	fl.StringVar(&dataSpec, "data", "fashion-mnist", "calibration dataset: "+strings.Join(data.KnownSpecs(), ", "))
	fl.StringVar(&split, "split", "train", "dataset split of the calibration images: train or test (the embedded sample has only test)")
	fl.StringVar(&out, "out", "", "quantized-model file to write (safetensors)")
	return cmd
}
