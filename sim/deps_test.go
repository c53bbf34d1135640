package sim

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies checks that the functional model links neither the
// timing model (hw/cost) nor the RTL sources (hw/rtl) nor the vector
// writer (traces, which imports both and implements Recorder).
func TestDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the dependencies: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, forbidden := range []string{"hw/cost", "hw/rtl", "traces"} {
		for _, d := range deps {
			if d == "github.com/vimsim/vimsim/"+forbidden {
				t.Errorf("sim depends on %s", d)
			}
		}
	}
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/vimsim/vimsim/sim" {
		t.Errorf("go list -deps . did not list sim last: %v", deps)
	}
}
