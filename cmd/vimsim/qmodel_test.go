package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestQModelInfoErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"qmodel", "info", toyWeights}, "not a quantized model"},
		{[]string{"qmodel", "info", filepath.Join(dir, "absent")}, "no such file"},
		{[]string{"qmodel", "info"}, "accepts 1 arg"},
		{[]string{"qmodel", "info", toyWeights, "--format", "xml"}, "--format"},
	} {
		_, _, err := quantCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
