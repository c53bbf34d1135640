package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/sim"
)

func TestRunFidelitySummary(t *testing.T) {
	out, errOut, code := vimsim(t, "run", "--arch", "systolic16", "--fidelity", "8", "--fidelity-calib", "8")
	if code != 0 {
		t.Fatal(errOut)
	}
	for _, want := range []string{"fidelity (paper W8A8 on the int8 datapath, 8 images of sample)", "int8", "fake-quant", "accumulator overflows 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("run output lacks %q:\n%s", want, out)
		}
	}
	js, errOut, code := vimsim(t, "run", "--arch", "systolic16", "--fidelity", "8", "--fidelity-calib", "8", "--format", "json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var rep struct {
		Fidelity *sim.FidelitySummary `json:"fidelity"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Fidelity == nil || rep.Fidelity.Images != 8 || len(rep.Fidelity.Paths) != 3 || rep.Fidelity.Overflows != 0 {
		t.Fatalf("fidelity JSON %+v", rep.Fidelity)
	}
	// Presets have no matching dataset: off unless asked.
	out, _, code = vimsim(t, "run", "--model", "vim-ti", "--arch", "systolic16")
	if code != 0 || strings.Contains(out, "fidelity (") {
		t.Fatalf("vim-ti run printed a fidelity summary or failed (%d)", code)
	}
	for _, args := range [][]string{{"--fidelity", "-3"}, {"--fidelity", "4", "--fidelity-calib", "0"}, {"--fidelity", "4", "--fidelity-data", "nosuch"}} {
		_, errOut, code := vimsim(t, append([]string{"run", "--arch", "systolic16"}, args...)...)
		if code == 0 || !strings.Contains(errOut, "--fidelity") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
}
