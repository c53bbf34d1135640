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
)

// Units lists the units in the fixed order used in reports and for
// tie-breaking.
func Units() []Unit {
	return []Unit{UnitArray, UnitScan, UnitDWConv, UnitVector, UnitNorm, UnitDRAM}
}
