package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/models"
	"github.com/vimsim/vimsim/vim"
)

// modelFlags are the flags that name a model: --model, --img-size,
// --stride, --seed and, on the commands that preprocess images, --mean and
// --std.
type modelFlags struct {
	model     string
	imgSize   string
	stride    int
	seed      uint64
	mean, std string
	// seedDraws is set on the commands whose --seed also draws the
	// calibration images, where it is meaningful for any model.
	seedDraws bool

	cmd    *cobra.Command
	warned map[string]bool
}

func (f *modelFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", vim.DefaultModel, "embedded model, preset (vim-ti, vim-s, vim-b, …) or checkpoint path (.safetensors, .pth)")
	fl.StringVar(&f.imgSize, "img-size", "", "input image size HxW (default: from the checkpoint, else square)")
	fl.IntVar(&f.stride, "stride", 0, "patch-embedding stride (default: from the checkpoint, else the patch size)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the synthetic weights of a preset")
}

// registerSeedDraws registers the model flags of a command whose --seed
// also seeds the draw of the calibration images.
func (f *modelFlags) registerSeedDraws(cmd *cobra.Command) {
	f.register(cmd)
	f.seedDraws = true
	cmd.Flags().Lookup("seed").Usage = "seed of the calibration image draw and of the synthetic weights of a preset"
}

// registerNorm adds --mean and --std, which replace the checkpoint's
// preprocessing normalisation.
func (f *modelFlags) registerNorm(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.mean, "mean", "", "preprocessing mean: one value or one per channel (default: the checkpoint's)")
	fl.StringVar(&f.std, "std", "", "preprocessing std: one value or one per channel (default: the checkpoint's)")
}

// isPreset reports whether spec names a preset (synthetic weights), not an
// embedded model or a checkpoint.
func isPreset(spec string) bool {
	if _, ok := models.Lookup(spec); ok {
		return false
	}
	_, err := vim.Preset(spec)
	return err == nil
}

func (f *modelFlags) options() (vim.LoadOptions, error) {
	opt := vim.LoadOptions{Stride: f.stride, Seed: f.seed, Warn: f.warn}
	if f.stride < 0 {
		return opt, fmt.Errorf("--stride %d: must be positive", f.stride)
	}
	if f.cmd != nil && !f.seedDraws && f.cmd.Flags().Changed("seed") && !isPreset(f.model) {
		return opt, fmt.Errorf("--seed: model %s has trained weights; --seed draws the synthetic weights of a preset (%s)",
			f.model, strings.Join(vim.PresetNames(), ", "))
	}
	if f.imgSize != "" {
		h, w, err := vim.ParseImgSize(f.imgSize)
		if err != nil {
			return opt, fmt.Errorf("--img-size: %w", err)
		}
		opt.ImgH, opt.ImgW = h, w
	}
	var err error
	if f.mean != "" {
		if opt.Mean, err = data.ParseChannelValues("mean", f.mean, 0); err != nil {
			return opt, err
		}
	}
	if f.std != "" {
		if opt.Std, err = data.ParseChannelValues("std", f.std, 0); err != nil {
			return opt, err
		}
	}
	return opt, nil
}

// warn prints a warning of the loader once, on the command's stderr.
func (f *modelFlags) warn(msg string) {
	if f.warned[msg] {
		return
	}
	if f.warned == nil {
		f.warned = map[string]bool{}
	}
	f.warned[msg] = true
	var w io.Writer = io.Discard
	if f.cmd != nil {
		w = f.cmd.ErrOrStderr()
	}
	fmt.Fprintf(w, "warning: %s\n", msg)
}

// flagError names the flag of a load option the model refused.
func (f *modelFlags) flagError(err error) error {
	var oe *vim.OptionError
	if !errors.As(err, &oe) {
		return err
	}
	msg := oe.Msg
	if _, rest, ok := strings.Cut(msg, ": "); ok {
		msg = rest // the values, which the flag's text repeats
	}
	switch oe.Option {
	case "Mean":
		return fmt.Errorf("--mean %s: %s", f.mean, msg)
	case "Std":
		return fmt.Errorf("--std %s: %s", f.std, msg)
	}
	return err
}

// load returns the model the flags name.
func (f *modelFlags) load() (*vim.Model, error) {
	opt, err := f.options()
	if err != nil {
		return nil, err
	}
	m, err := vim.Load(f.model, opt)
	return m, f.flagError(err)
}

// config returns the configuration of the model the flags name, without
// drawing synthetic weights for a preset.
func (f *modelFlags) config() (vim.Config, error) {
	opt, err := f.options()
	if err != nil {
		return vim.Config{}, err
	}
	c, err := vim.LoadConfig(f.model, opt)
	return c, f.flagError(err)
}
