// Package rtl embeds vimsim's reference RTL and the self-checking
// testbenches that the golden vectors of package traces drive (docs/RTL.md),
// and the catalogue of plausible RTL mistakes (Mutants) that the vectors
// must catch.
//
// The Verilog sources (*.v) are synthesizable Verilog-2001 with $clog2; the
// testbenches (tb/*.sv) use the SystemVerilog subset that Icarus Verilog
// (-g2012) and Verilator (--timing) both accept.
package rtl

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed *.v tb/*.sv tb/*.svh
var files embed.FS

// Source is one embedded Verilog file.
type Source struct {
	Name string // path relative to hw/rtl, e.g. "gemm_os.v" or "tb/tb_scan.sv"
	Data []byte
}

func list(pattern string) []Source {
	names, err := fs.Glob(files, pattern)
	if err != nil {
		panic(err) // the patterns are constants
	}
	sort.Strings(names)
	out := make([]Source, len(names))
	for i, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		out[i] = Source{Name: n, Data: b}
	}
	return out
}

// Modules returns the reference RTL sources (*.v), sorted by name.
func Modules() []Source { return list("*.v") }

// Testbenches returns the testbench sources (tb/*.sv), sorted by name.
func Testbenches() []Source { return list("tb/*.sv") }

// TestbenchIncludes returns the files the testbenches include
// (tb/*.svh), sorted by name.
func TestbenchIncludes() []Source { return list("tb/*.svh") }

// Testbench returns the source of the named testbench module (e.g.
// "tb_scan") and whether it exists.
func Testbench(module string) (Source, bool) {
	for _, s := range Testbenches() {
		if s.Name == "tb/"+module+".sv" {
			return s, true
		}
	}
	return Source{}, false
}
