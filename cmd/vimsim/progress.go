package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/internal/progress"
)

// newBar returns a progress bar over total steps on cmd's stderr: drawn
// only on a terminal and only for steps longer than progress.DefaultDelay.
func newBar(cmd *cobra.Command, total int, label, unit string) *progress.Bar {
	return progress.New(cmd.ErrOrStderr(), total, progress.Options{Label: label, Unit: unit})
}

// calibrationBar returns a progress bar over the calibration of a model of
// depth blocks (the patch embedding, each block, the head and, with merge,
// the merge scales that quant.Build calibrates next) and the quant.Options
// Progress callback that moves it.
func calibrationBar(cmd *cobra.Command, depth int, merge bool) (*progress.Bar, func(stage string, done, total int)) {
	total := depth + 2
	if merge {
		total++
	}
	bar := newBar(cmd, total, "calibrate", "")
	bar.Stage("patch_embed")
	return bar, func(stage string, done, _ int) {
		switch stage {
		case "patch_embed":
			bar.Set(1)
			bar.Stage(fmt.Sprintf("layer 1/%d", depth))
		case "layer":
			bar.Set(1 + done)
			if done < depth {
				bar.Stage(fmt.Sprintf("layer %d/%d", done+1, depth))
			} else {
				bar.Stage("head")
			}
		case "head":
			bar.Set(depth + 2)
			if merge {
				bar.Stage("merge scales")
			}
		}
	}
}
