package traces

import (
	"fmt"
	"strings"
)

// makefile renders the Makefile of a vector directory: one phony target per
// set, each compiling its testbench with the set's params.vh against the
// RTL in $(RTL_DIR) and running it; `make` fails on the first set that does
// not end with a PASS line (make -k runs them all).
func makefile(m Manifest, sets []*vectorSet, rtlDir string) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# %s golden vectors, format %d: model %s on %s (%dx%d %s array)", m.Generator, FormatVersion, m.Model, m.Arch.Name, m.Arch.Rows, m.Arch.Cols, m.Arch.Dataflow)
	w("# Source: %s", m.Source)
	w("#")
	w("#   make                 run every testbench against the RTL in RTL_DIR; non-zero exit on any mismatch")
	w("#   make -k              keep going after a failing testbench")
	w("#   make SET             run one vector set (make list prints them)")
	w("#   make RTL_DIR=path    test another RTL (it must provide the modules of docs/RTL.md)")
	w("#   make SIM=verilator   simulate with Verilator (--binary --timing) instead of Icarus Verilog")
	w("#   make VCD=1           dump BUILD/SET/TESTBENCH.vcd for every run")
	w("#")
	w("# Verilator compiles its C++ through ccache when it is installed (OBJCACHE=ccache,")
	w("# cache in BUILD/ccache unless CCACHE_DIR is set): sets with the same testbench and")
	w("# params.vh, and every build's Verilator runtime, compile once. OBJCACHE= turns it off.")
	w("")
	w("RTL_DIR ?= %s", rtlDir)
	w("SIM ?= iverilog")
	w("IVERILOG ?= iverilog")
	w("VVP ?= vvp")
	w("VERILATOR ?= verilator")
	w("BUILD ?= build")
	w("OBJCACHE ?= $(shell command -v ccache >/dev/null 2>&1 && echo ccache)")
	w("export CCACHE_DIR ?= $(abspath $(BUILD))/ccache")
	w("RTL_SRCS = $(sort $(wildcard $(RTL_DIR)/*.v $(RTL_DIR)/*.sv))")
	w("")
	names := make([]string, len(sets))
	for i, s := range sets {
		names[i] = s.name
	}
	w("SETS = \\")
	for i, n := range names {
		if i < len(names)-1 {
			w("\t%s \\", n)
		} else {
			w("\t%s", n)
		}
	}
	w("")
	w(".PHONY: all list clean check-rtl $(SETS)")
	w("")
	w("all: $(SETS)")
	w("\t@echo \"ALL PASS: $(words $(SETS)) testbenches\"")
	w("")
	w("list:")
	w("\t@for s in $(SETS); do echo $$s; done")
	w("")
	w("clean:")
	w("\trm -rf $(BUILD)")
	w("")
	w("check-rtl:")
	w("\t@test -n \"$(RTL_SRCS)\" || { echo \"no Verilog sources (*.v, *.sv) in RTL_DIR=$(RTL_DIR)\"; exit 1; }")
	w("")
	w("# $(call run_set,SET,TESTBENCH): compile TESTBENCH with SET/params.vh, run it")
	w("# with +hexdir=SET and require a PASS line and a zero exit status.")
	w("define run_set")
	w("\t@d=$(BUILD)/$(1); mkdir -p $$d; \\")
	w("\tif [ \"$(SIM)\" = verilator ]; then \\")
	w("\t  $(VERILATOR) --binary --timing -Wno-fatal -Wno-lint -Wno-style -j 1 --top-module $(2) -I$(1) -Itb \\")
	w("\t    -MAKEFLAGS \"OBJCACHE=$(OBJCACHE)\" \\")
	w("\t    -Mdir $$d/obj -o sim tb/$(2).sv $(RTL_SRCS) > $$d/build.log 2>&1 || { cat $$d/build.log; echo \"FAIL: $(1) (build)\"; exit 1; }; \\")
	w("\t  run=\"$$d/obj/sim\"; \\")
	w("\telse \\")
	w("\t  $(IVERILOG) -g2012 -I $(1) -I tb -s $(2) -o $$d/sim.vvp tb/$(2).sv $(RTL_SRCS) > $$d/build.log 2>&1 \\")
	w("\t    || { cat $$d/build.log; echo \"FAIL: $(1) (build)\"; exit 1; }; \\")
	w("\t  run=\"$(VVP) -n $$d/sim.vvp\"; \\")
	w("\tfi; \\")
	w("\tvcd=; if [ -n \"$(VCD)\" ]; then vcd=\"+vcd=$$d/$(2).vcd\"; fi; \\")
	w("\trc=0; $$run +hexdir=$(1) $$vcd > $$d/sim.log 2>&1 || rc=$$?; \\")
	w("\tsed 's|^|$(1): |' $$d/sim.log; \\")
	w("\tif [ $$rc -ne 0 ] || ! grep -q '^PASS: ' $$d/sim.log; then echo \"FAIL: $(1)\"; exit 1; fi")
	w("endef")
	for _, s := range sets {
		w("")
		w("%s: check-rtl", s.name)
		w("\t$(call run_set,%s,%s)", s.name, s.bench)
	}
	return []byte(b.String())
}
