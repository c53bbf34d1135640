package scalesim

import (
	"bytes"
	"strings"
	"testing"
)

const sampleCfg = `[general]
run_name = vim_ti_16

[architecture_presets]
ArrayHeight:    16
ArrayWidth:     32
IfmapSramSzkB:   64
FilterSramSzkB:  128
OfmapSramSzkB:   32
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 16
Dataflow : ws
MemoryBanks:   1

[run_presets]
InterfaceBandwidth: USER
`

func TestParseConfig(t *testing.T) {
	f, err := ParseConfig(strings.NewReader(sampleCfg), "a.cfg")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig(16, 32, WeightStationary, 64, 128, 32, 16)
	want.RunName = "vim_ti_16"
	if f.Config != want {
		t.Errorf("got %+v\nwant %+v", f.Config, want)
	}
	if f.Topology != "" {
		t.Errorf("topology %q, want none", f.Topology)
	}
}

// TestParseConfigSyntax covers what Python's configparser accepts: '='
// delimiters, any key case, comments, [DEFAULT], continuation lines, a
// bandwidth list (SCALE-Sim uses its first entry), interpolation.
func TestParseConfigSyntax(t *testing.T) {
	in := "; leading comment\n[DEFAULT]\nifmapoffset = 5\n\n[general] trailing junk\nrun_name = a\n  b\n\n  c\n" +
		"[architecture_presets]\n# comment\narrayheight=8\nARRAYWIDTH = 4\nIfmapSramSzkB:1\nFilterSramSzkB : 2_0\n" +
		"OfmapSramSzkB: +3\nFilterOffset: %(ofmapoffset)s\nOfmapOffset: 7\nBandwidth: 12, 24,  36\nDataflow: is\n" +
		"[run_presets]\nInterfaceBandwidth : USER\n[network_presets]\nTopologyCsvLoc: \"topologies/x.csv\"\n"
	f, err := ParseConfig(strings.NewReader(in), "b.cfg")
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	if c.RunName != "a\nb\n\nc" || c.Rows != 8 || c.Cols != 4 || c.IfmapKiB != 1 || c.FilterKiB != 20 || c.OfmapKiB != 3 ||
		c.IfmapOffset != 5 || c.FilterOffset != 7 || c.OfmapOffset != 7 || c.Bandwidth != 12 || c.Dataflow != InputStationary ||
		!c.UserBandwidth {
		t.Errorf("got %+v", c)
	}
	if f.Topology != "topologies/x.csv" {
		t.Errorf("topology %q", f.Topology)
	}
	// CALC parses (SCALE-Sim then ignores Bandwidth) but cannot run.
	calc := strings.Replace(sampleCfg, "InterfaceBandwidth: USER", "InterfaceBandwidth: CALC", 1)
	calc = strings.Replace(calc, "Bandwidth : 16\n", "", 1)
	f, err = ParseConfig(strings.NewReader(calc), "c.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Config.Validate(); err == nil || !strings.Contains(err.Error(), "CALC") {
		t.Errorf("CALC config validates: %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	sub := func(old, new string) string { return strings.Replace(sampleCfg, old, new, 1) }
	cases := []struct {
		in, want string
	}{
		{sub("ArrayHeight:    16", "ArrayHeight:    16x"), `a.cfg: [architecture_presets] ArrayHeight: "16x" is not an integer`},
		{sub("ArrayHeight:    16", "ArrayHeight:    0"), `a.cfg: [architecture_presets] ArrayHeight: must be in [1, 65536], got 0`},
		{sub("IfmapSramSzkB:   64\n", ""), `a.cfg: [architecture_presets] IfmapSramSzkB: missing`},
		{sub("Dataflow : ws", "Dataflow : WS"), `a.cfg: [architecture_presets] Dataflow: "WS" is not os, ws or is`},
		{sub("InterfaceBandwidth: USER", "InterfaceBandwidth: user"), `a.cfg: [run_presets] InterfaceBandwidth: "user" is neither USER nor CALC`},
		{sub("[run_presets]", "[run]"), `a.cfg: no [run_presets] section (needed for InterfaceBandwidth)`},
		{sub("Bandwidth : 16", "Bandwidth : 16,"), `a.cfg: [architecture_presets] Bandwidth: "16," is not a comma-separated list of integers`},
		{sub("Bandwidth : 16", "Bandwidth : 0"), `a.cfg: [architecture_presets] Bandwidth: must be in [1, 1048576] words per cycle, got 0`},
		{sub("IfmapOffset:    0", "IfmapOffset:    -1"), `a.cfg: [architecture_presets] IfmapOffset: must be in [0,`},
		{sub("IfmapOffset:    0", "IfmapOffset:    5%"), `a.cfg: [architecture_presets] IfmapOffset: '%' must be followed`},
		{sub("MemoryBanks:   1", "MemoryBanks:   1\nArrayHeight: 3"), `a.cfg: line 16: [architecture_presets] arrayheight appears twice`},
		{sub("[run_presets]", "[general]"), `a.cfg: line 17: section [general] appears twice`},
		{"run_name = x\n" + sampleCfg, `a.cfg: line 1: "run_name = x" comes before any [section] header`},
		{sub("MemoryBanks:   1", "MemoryBanks"), `a.cfg: line 15: [architecture_presets] "MemoryBanks" is not a key = value line`},
		{sub("ArrayWidth:     32", "ArrayWidth:     32 ; inline"), `a.cfg: [architecture_presets] ArrayWidth: "32 ; inline" is not an integer`},
		{"", `a.cfg: no [general] section (needed for run_name)`},
	}
	for _, c := range cases {
		_, err := ParseConfig(strings.NewReader(c.in), "a.cfg")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %v\nwant prefix %q", err, c.want)
		}
	}
}

func TestWriteConfigRoundTrip(t *testing.T) {
	c := DefaultConfig(12, 7, InputStationary, 3, 5, 9, 33)
	c.RunName, c.IfmapOffset = "rt", 42
	var b bytes.Buffer
	if err := WriteConfig(&b, c); err != nil {
		t.Fatal(err)
	}
	f, err := ParseConfig(&b, "rt.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if f.Config != c {
		t.Errorf("round trip %+v, want %+v", f.Config, c)
	}
	c.WordBytes = 2
	if err := WriteConfig(&b, c); err == nil {
		t.Error("2-byte words written to a .cfg")
	}
}

// FuzzParseConfig: the parser never panics, and a config it accepts that
// validates writes out and reads back the same.
func FuzzParseConfig(f *testing.F) {
	f.Add(sampleCfg)
	f.Add("[general]\nrun_name=x\n[run_presets]\nInterfaceBandwidth=CALC\n[architecture_presets]\n")
	f.Add("[DEFAULT]\na=%(b)s\nb=%(a)s\n[general]\nrun_name=%(a)s\n")
	f.Fuzz(func(t *testing.T, in string) {
		cf, err := ParseConfig(strings.NewReader(in), "fuzz.cfg")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.cfg: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if cf.Config.Validate() != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteConfig(&b, cf.Config); err != nil {
			return // a run name a .cfg line cannot hold
		}
		back, err := ParseConfig(&b, "back.cfg")
		if err != nil {
			t.Fatalf("written config does not parse: %v\n%s", err, b.String())
		}
		if back.Config != cf.Config {
			t.Fatalf("round trip %+v, want %+v", back.Config, cf.Config)
		}
	})
}
