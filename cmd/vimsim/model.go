package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/vim"
)

// modelFlags are the flags that name a model: --model, --img-size, --stride,
// --seed.
type modelFlags struct {
	model   string
	imgSize string
	stride  int
	seed    uint64
}

func (f *modelFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", vim.DefaultModel, "embedded model, preset (vim-ti, vim-s, vim-b, …) or checkpoint path (.safetensors, .pth)")
	fl.StringVar(&f.imgSize, "img-size", "", "input image size HxW (default: from the checkpoint, else square)")
	fl.IntVar(&f.stride, "stride", 0, "patch-embedding stride (default: from the checkpoint, else the patch size)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of the synthetic weights of a preset")
}

func (f *modelFlags) options() (vim.LoadOptions, error) {
	opt := vim.LoadOptions{Stride: f.stride, Seed: f.seed}
	if f.stride < 0 {
		return opt, fmt.Errorf("--stride %d: must be positive", f.stride)
	}
	if f.imgSize != "" {
		h, w, err := vim.ParseImgSize(f.imgSize)
		if err != nil {
			return opt, fmt.Errorf("--img-size: %w", err)
		}
		opt.ImgH, opt.ImgW = h, w
	}
	return opt, nil
}

// load returns the model the flags name.
func (f *modelFlags) load() (*vim.Model, error) {
	opt, err := f.options()
	if err != nil {
		return nil, err
	}
	return vim.Load(f.model, opt)
}

// config returns the configuration of the model the flags name, without
// drawing synthetic weights for a preset.
func (f *modelFlags) config() (vim.Config, error) {
	opt, err := f.options()
	if err != nil {
		return vim.Config{}, err
	}
	return vim.LoadConfig(f.model, opt)
}
