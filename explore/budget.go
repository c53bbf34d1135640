package explore

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vimsim/vimsim/hw/cost"
)

// Budget metrics.
const (
	MetricEnergy  = "energy"  // µJ per image
	MetricLatency = "latency" // ms per image
	MetricDSP     = "dsp"     // DSP slices (needs an FPGA target)
)

// Budget bounds one cost metric of a design: Limit in the metric's unit
// (µJ per image, ms per image, DSP slices), or, when Percent > 0, Percent
// per cent of the search's base recipe on the same design.
type Budget struct {
	Metric  string  `json:"metric"`
	Limit   float64 `json:"limit,omitempty"`
	Percent float64 `json:"percent,omitempty"`
}

// unit scales of the metrics' accepted units, to µJ, ms and slices.
var budgetUnits = map[string]map[string]float64{
	MetricEnergy:  {"": 1, "uj": 1, "µj": 1, "nj": 1e-3, "mj": 1e3, "j": 1e6},
	MetricLatency: {"": 1, "ms": 1, "us": 1e-3, "µs": 1e-3, "s": 1e3},
	MetricDSP:     {"": 1},
}

// ParseBudget parses a comma-separated budget list: energy=40uJ (also nJ,
// mJ; a bare number is µJ per image), latency=1.5ms (also us, s; bare: ms),
// dsp=200 (slices), or any of them as a percentage of the base recipe's
// cost: energy=70%.
func ParseBudget(s string) ([]Budget, error) {
	var out []Budget
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		k, v, ok := strings.Cut(item, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		units, known := budgetUnits[k]
		switch {
		case !ok || !known:
			return nil, fmt.Errorf("budget %q: want energy=µJ, latency=ms or dsp=N (or a percentage)", item)
		case seen[k]:
			return nil, fmt.Errorf("budget %q: %s given twice", item, k)
		}
		seen[k] = true
		b := Budget{Metric: k}
		if p, isPct := strings.CutSuffix(v, "%"); isPct {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || !(f > 0) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("budget %q: %q is not a positive percentage", item, v)
			}
			b.Percent = f
			out = append(out, b)
			continue
		}
		num := strings.TrimRightFunc(v, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
		unit := strings.ToLower(strings.TrimSpace(v[len(num):]))
		scale, ok := units[unit]
		if !ok {
			return nil, fmt.Errorf("budget %q: unknown unit %q for %s", item, v[len(num):], k)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("budget %q: %q is not a positive number", item, v)
		}
		b.Limit = f * scale
		out = append(out, b)
	}
	return out, nil
}

// String formats b with its unit.
func (b Budget) String() string {
	if b.Percent > 0 {
		return fmt.Sprintf("%s ≤ %g%% of the base", b.Metric, b.Percent)
	}
	return fmt.Sprintf("%s ≤ %g %s", b.Metric, b.Limit, metricUnit(b.Metric))
}

func metricUnit(m string) string {
	switch m {
	case MetricEnergy:
		return "µJ/image"
	case MetricLatency:
		return "ms/image"
	}
	return "DSP"
}

// metricValue is the value of metric m of design point d.
func metricValue(m string, d cost.DesignPoint) (float64, error) {
	switch m {
	case MetricEnergy:
		return d.UJPerImage, nil
	case MetricLatency:
		return d.LatencyMS, nil
	case MetricDSP:
		if d.Resources == nil {
			return 0, fmt.Errorf("budget dsp: design %s has no FPGA target (give --fpga)", d.Name)
		}
		return float64(d.Resources.DSP), nil
	}
	return 0, fmt.Errorf("budget metric %q", m)
}

// limits resolves the budgets against the base recipe's cost.
func limits(bs []Budget, base cost.DesignPoint) ([]float64, error) {
	out := make([]float64, len(bs))
	for i, b := range bs {
		if b.Percent == 0 {
			out[i] = b.Limit
			continue
		}
		v, err := metricValue(b.Metric, base)
		if err != nil {
			return nil, err
		}
		out[i] = v * (b.Percent / 100) // 100 %: the base's value exactly
	}
	return out, nil
}

// budgetTolerance is the relative excess below which a budget is met: the
// rounding of costs that sum the same terms in another order.
const budgetTolerance = 1e-12

// excess is how far d is over the limits: Σ max(0, value/limit − 1) over
// the budgets exceeded by more than budgetTolerance; 0 when every budget is
// met.
func excess(bs []Budget, lim []float64, d cost.DesignPoint) (float64, error) {
	e := 0.0
	for i, b := range bs {
		v, err := metricValue(b.Metric, d)
		if err != nil {
			return 0, err
		}
		if x := v/lim[i] - 1; x > budgetTolerance {
			e += x
		}
	}
	return e, nil
}
