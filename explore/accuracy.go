package explore

import (
	"math"

	"github.com/vimsim/vimsim/sim"
)

// Accuracy is the accuracy of a recipe (or of the float reference) over
// images: counts against the labels and against the float reference.
type Accuracy struct {
	Images int `json:"images"`
	// Top1 and Top5 count the images whose label is the top-1 class, or
	// among the top 5 (ties ranked as sim.Evaluate ranks them).
	Top1 int `json:"top1"`
	Top5 int `json:"top5"`
	// Agree counts the images whose top-1 class is the reference's.
	Agree int `json:"agree"`
	// Signal and Noise are Σ ref² and Σ (logit − ref)² over all logits.
	Signal float64 `json:"signal"`
	Noise  float64 `json:"noise"`
}

// accuracyOf converts sim's statistics of one method.
func accuracyOf(n int, st sim.MethodStats) Accuracy {
	return Accuracy{Images: n, Top1: st.Top1, Top5: st.Top5, Agree: st.Agree, Signal: st.Signal, Noise: st.Noise}
}

// Add adds the counts of b (images disjoint from a's).
func (a *Accuracy) Add(b Accuracy) {
	a.Images += b.Images
	a.Top1 += b.Top1
	a.Top5 += b.Top5
	a.Agree += b.Agree
	a.Signal += b.Signal
	a.Noise += b.Noise
}

func rate(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// Top1Rate is the top-1 accuracy, a fraction.
func (a Accuracy) Top1Rate() float64 { return rate(a.Top1, a.Images) }

// Top5Rate is the top-5 accuracy, a fraction.
func (a Accuracy) Top5Rate() float64 { return rate(a.Top5, a.Images) }

// Agreement is the fraction of images whose top-1 class is the float
// reference's.
func (a Accuracy) Agreement() float64 { return rate(a.Agree, a.Images) }

// SQNRdB is the signal-to-quantization-noise ratio of the logits against
// the reference's, 10·log10(Signal/Noise) in dB (+Inf when they are equal).
func (a Accuracy) SQNRdB() float64 {
	if a.Noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(a.Signal/a.Noise)
}
