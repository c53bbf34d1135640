package sim

import (
	"math"
)

// EvalReport is the report of an evaluation (vimsim eval); its JSON form
// is {"model", "data", "images", "results": [{"method", "top1", "top5",
// "images_per_s", "agreement", "sqnr_db"}, …]}.
type EvalReport struct {
	Model   string       `json:"model"`
	Data    string       `json:"data"`
	Images  int          `json:"images"`
	Results []EvalResult `json:"results"`
}

// EvalResult is one method's row. Agreement (the fraction of images whose
// top-1 prediction equals the reference's) and SQNRdB (10·log10 of Σref² /
// Σ(logit-ref)² over all logits; null when the logits are identical) are
// given for every method but the reference; ImagesPerS (inference only)
// when timed.
type EvalResult struct {
	Method     string   `json:"method"`
	Top1       float64  `json:"top1"`
	Top5       float64  `json:"top5"`
	ImagesPerS *float64 `json:"images_per_s,omitempty"`
	Agreement  *float64 `json:"agreement,omitempty"`
	SQNRdB     *DB      `json:"sqnr_db,omitempty"`
}

// Report returns the report of e on the model and data named, with the
// throughput of each method (rounded to 0.1 image/s) when timing; without
// it the report does not depend on the run.
func (e *Evaluation) Report(model, data string, timing bool) EvalReport {
	n := e.Images
	rep := EvalReport{Model: model, Data: data, Images: n}
	for i, st := range e.Methods {
		res := EvalResult{Method: st.Name}
		if n > 0 {
			res.Top1 = float64(st.Top1) / float64(n)
			res.Top5 = float64(st.Top5) / float64(n)
		}
		if timing {
			ips := 0.0
			if s := st.Elapsed.Seconds(); s > 0 {
				ips = math.Round(float64(n)/s*10) / 10
			}
			res.ImagesPerS = &ips
		}
		if i > 0 && n > 0 {
			agree := float64(st.Agree) / float64(n)
			db := DB(math.Inf(1))
			if st.Noise > 0 {
				db = DB(10 * math.Log10(st.Signal/st.Noise))
			}
			res.Agreement, res.SQNRdB = &agree, &db
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}

// DatasetReport is a fidelity Report over a dataset with the names of what
// was run (vimsim sim): Model and Data as the user gave them, Program the
// program's Source.
type DatasetReport struct {
	Model   string `json:"model"`
	Data    string `json:"data"`
	Program string `json:"program"`
	// Recipe names the precision recipe when it is not the default W8A8
	// with an 8-bit hidden state.
	Recipe string `json:"recipe,omitempty"`
	*Report
}

// FidelitySummary is the short form of a Report (vimsim run's fidelity
// summary): the execution paths and the datapath's overflow and saturation
// counts.
type FidelitySummary struct {
	Method string `json:"method"`
	// Recipe names the precision recipe when it is not the default W8A8
	// with an 8-bit hidden state.
	Recipe      string      `json:"recipe,omitempty"`
	Data        string      `json:"data"`
	Images      int         `json:"images"`
	Paths       []PathStats `json:"paths"`
	Overflows   int64       `json:"accumulator_overflows"`
	Saturations int64       `json:"saturations"`
}

// Summary returns the summary of r, run on the dataset named data.
func (r *Report) Summary(data string) FidelitySummary {
	return FidelitySummary{Method: r.Method, Data: data, Images: r.Images, Paths: r.Paths,
		Overflows: r.Total.Overflows, Saturations: r.Total.Saturations}
}
