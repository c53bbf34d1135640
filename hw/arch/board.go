package arch

import (
	"fmt"
	"strings"
)

// Board is an FPGA board and the programmable-logic resources of its device
// (AMD product tables: DS891 Zynq UltraScale+ MPSoC, DS987 Kria K26,
// DS950 Versal AI Core, DS963 Alveo U280).
type Board struct {
	Name   string `json:"name"`
	Device string `json:"device"`
	// Family is "ultrascale+" (DSP48E2) or "versal" (DSP58).
	Family string `json:"family"`
	LUT    int    `json:"lut"`
	FF     int    `json:"ff"`
	DSP    int    `json:"dsp"`
	BRAM36 int    `json:"bram36"`
	URAM   int    `json:"uram"`
}

var boards = [...]Board{
	{Name: "zcu102", Device: "XCZU9EG", Family: "ultrascale+", LUT: 274080, FF: 548160, DSP: 2520, BRAM36: 912, URAM: 0},
	{Name: "zcu104", Device: "XCZU7EV", Family: "ultrascale+", LUT: 230400, FF: 460800, DSP: 1728, BRAM36: 312, URAM: 96},
	{Name: "kv260", Device: "XCK26", Family: "ultrascale+", LUT: 117120, FF: 234240, DSP: 1248, BRAM36: 144, URAM: 64},
	{Name: "vck190", Device: "XCVC1902", Family: "versal", LUT: 899840, FF: 1799680, DSP: 1968, BRAM36: 967, URAM: 463},
	{Name: "u280", Device: "XCU280", Family: "ultrascale+", LUT: 1303680, FF: 2607360, DSP: 9024, BRAM36: 2016, URAM: 960},
}

// BoardNames lists the known boards.
func BoardNames() []string {
	n := make([]string, len(boards))
	for i, b := range boards {
		n[i] = b.Name
	}
	return n
}

// LookupBoard returns the named board (case-insensitive).
func LookupBoard(name string) (Board, error) {
	for _, b := range boards {
		if strings.EqualFold(b.Name, strings.TrimSpace(name)) {
			return b, nil
		}
	}
	return Board{}, fmt.Errorf("unknown FPGA board %q (known: %s)", name, strings.Join(BoardNames(), ", "))
}

// DSPPacking is how many int8 MACs one DSP slice performs per cycle.
type DSPPacking string

// DSP packing options.
const (
	// PackNone maps one int8 MAC to one DSP.
	PackNone DSPPacking = "none"
	// PackDual puts two int8 MACs sharing an operand into one 27×18 DSP48E2
	// (AMD WP486) or DSP58.
	PackDual DSPPacking = "dual"
	// PackDot3 uses the DSP58's three-element INT8 dot-product mode (Versal).
	PackDot3 DSPPacking = "dot3"
)

// ParseDSPPacking accepts none, dual (alias wp486) or dot3.
func ParseDSPPacking(s string) (DSPPacking, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "1":
		return PackNone, nil
	case "dual", "wp486", "2":
		return PackDual, nil
	case "dot3", "3":
		return PackDot3, nil
	}
	return "", fmt.Errorf("dsp packing %q: want none, dual or dot3", s)
}

// MACsPerDSP is the int8 MACs per DSP of p ("" means dual).
func (p DSPPacking) MACsPerDSP() int {
	switch p {
	case PackNone:
		return 1
	case PackDot3:
		return 3
	}
	return 2
}

// CheckPacking reports whether packing p is possible on b ("" always is).
func (b Board) CheckPacking(p DSPPacking) error {
	if p == "" {
		return nil
	}
	q, err := ParseDSPPacking(string(p))
	if err != nil {
		return err
	}
	if q == PackDot3 && b.Family != "versal" {
		return fmt.Errorf("dsp packing dot3 needs a Versal DSP58; %s is %s", b.Name, b.Family)
	}
	return nil
}
