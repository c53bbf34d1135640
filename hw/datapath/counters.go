package datapath

// Counters accumulates the work done by the units and the exceptional events
// they meet. Units add to a *Counters owned by the caller; a nil *Counters is
// allowed and counts nothing. The counts are a deterministic function of the
// shapes and the data, whatever the number of goroutines, as long as each
// goroutine uses its own Counters and the caller sums them with Add.
type Counters struct {
	// MACs counts multiplications, each with its accumulation: GEMM and
	// convolution products, the scan's per-state products and the norm's
	// squares and scalings. DATAPATH.md lists what each unit counts.
	MACs int64 `json:"macs"`
	// Requants counts multiplier-based requantizations (one 32×31-bit
	// multiply, a rounding shift and a saturation). Shift-only roundings are
	// not counted.
	Requants int64 `json:"requants"`
	// LUTLookups counts table reads of the SiLU/softplus tables (an
	// interpolated lookup counts one).
	LUTLookups int64 `json:"lut_lookups"`
	// Exps counts evaluations of the base-2 exponent unit.
	Exps int64 `json:"exps"`
	// Rsqrts counts evaluations of the reciprocal-square-root unit.
	Rsqrts int64 `json:"rsqrts"`
	// Saturations counts results clamped to the range of their format.
	Saturations int64 `json:"saturations"`
	// Overflows counts accumulators whose exact value did not fit their
	// register (the stored value then wraps or saturates as documented).
	Overflows int64 `json:"overflows"`
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	c.MACs += o.MACs
	c.Requants += o.Requants
	c.LUTLookups += o.LUTLookups
	c.Exps += o.Exps
	c.Rsqrts += o.Rsqrts
	c.Saturations += o.Saturations
	c.Overflows += o.Overflows
}

// add is Add for a possibly nil receiver.
func (c *Counters) add(o Counters) {
	if c != nil {
		c.Add(o)
	}
}
