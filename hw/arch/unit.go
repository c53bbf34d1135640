package arch

// Unit names a hardware unit; UnitDRAM is the memory interface, which can
// be the bottleneck too.
type Unit string

// Units of the accelerator.
const (
	UnitArray  Unit = "array"
	UnitScan   Unit = "scan"
	UnitDWConv Unit = "dwconv"
	UnitVector Unit = "vector"
	UnitNorm   Unit = "norm"
	UnitDRAM   Unit = "dram"
	// UnitHost is the host that feeds the accelerator: the work it does
	// (the conversion of the input image to int8 codes) is outside the
	// accelerator, so it is not in Units and costs nothing in the model.
	UnitHost Unit = "host"
)

// Units lists the units of the accelerator in the fixed order used in
// reports and for tie-breaking.
func Units() []Unit {
	return []Unit{UnitArray, UnitScan, UnitDWConv, UnitVector, UnitNorm, UnitDRAM}
}
