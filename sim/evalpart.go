package sim

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/vimsim/vimsim/internal/shard"
)

// EvalPart is an evaluation of a contiguous run of a dataset's images (a
// shard, vimsim eval --shard): the counts of each method, and what
// floating-point sums need image by image, so that MergeEval combines the
// parts of a dataset into exactly the Evaluation of the whole, bit for bit,
// however the dataset was split.
type EvalPart struct {
	Images  int          `json:"images"`
	Methods []MethodPart `json:"methods"`
	// Predictions are the reference method's top-1 class of each image.
	Predictions []int `json:"predictions"`
}

// MethodPart is one method's results in an EvalPart.
type MethodPart struct {
	Name  string `json:"name"`
	Top1  int    `json:"top1"`
	Top5  int    `json:"top5"`
	Agree int    `json:"agree"`
	// Signal and Noise are each image's Σ ref² and Σ (logit − ref)² (see
	// MethodStats); empty for the reference.
	Signal shard.Floats `json:"signal"`
	Noise  shard.Floats `json:"noise"`
}

// addImage adds one image's sums: the reduction both Evaluate and
// MergeEval perform, in image order.
func (st *MethodStats) addImage(signal, noise float64) {
	st.Signal += signal
	st.Noise += noise
}

// MergeEval combines the parts of an evaluation, in image order, into the
// Evaluation of all their images (without timings) and the reference's
// predictions.
func MergeEval(parts []*EvalPart) (*Evaluation, []int, error) {
	if len(parts) == 0 {
		return nil, nil, fmt.Errorf("merge eval: no part")
	}
	ev := &Evaluation{Methods: make([]MethodStats, len(parts[0].Methods))}
	for i, m := range parts[0].Methods {
		ev.Methods[i].Name = m.Name
	}
	var preds []int
	for k, p := range parts {
		if len(p.Methods) != len(ev.Methods) || len(p.Predictions) != p.Images {
			return nil, nil, fmt.Errorf("merge eval: part %d: %d methods and %d predictions for %d images, want %d methods",
				k, len(p.Methods), len(p.Predictions), p.Images, len(ev.Methods))
		}
		for i, m := range p.Methods {
			st := &ev.Methods[i]
			want := p.Images
			if i == 0 {
				want = 0
			}
			if m.Name != st.Name || len(m.Signal) != want || len(m.Noise) != want {
				return nil, nil, fmt.Errorf("merge eval: part %d: method %d is %s with %d sums, want %s with %d", k, i, m.Name, len(m.Signal), st.Name, want)
			}
			st.Top1 += m.Top1
			st.Top5 += m.Top5
			st.Agree += m.Agree
			for j := range m.Signal {
				st.addImage(m.Signal[j], m.Noise[j])
			}
		}
		ev.Images += p.Images
		preds = append(preds, p.Predictions...)
	}
	return ev, preds, nil
}

// WritePredictions writes one class per line, as Evaluate writes
// EvalOptions.Predictions.
func WritePredictions(w io.Writer, preds []int) error {
	bw := bufio.NewWriter(w)
	for _, p := range preds {
		bw.WriteString(strconv.Itoa(p))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
