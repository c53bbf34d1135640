package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vimsim/vimsim/hw/rtl"
	"github.com/vimsim/vimsim/traces"
)

var (
	mutantsFlag    = flag.String("mutants", "all", "TestMutants: all, or comma-separated mutant IDs")
	mutationReport = flag.String("mutation-report", "", "TestMutants: write the table of mutants (markdown) to this file")
)

// mutantResult is what the vectors did to one mutant.
type mutantResult struct {
	m      rtl.Mutant
	set    string // the first failing set ("" if none failed)
	check  string // the kind of the first error: value, flag, timing, drain order, X/reset, watchdog
	detail string // its first message line
	err    error  // a harness error (the mutant did not build, make did not run)
}

var (
	failSetRe = regexp.MustCompile(`(?m)^FAIL: (\S+)( \(build\))?$`)
	checkRes  = []struct {
		kind string
		re   *regexp.Regexp
	}{
		{"flag", regexp.MustCompile(`FLAG MISMATCH .*`)},
		{"value", regexp.MustCompile(`MISMATCH .*`)},
		{"drain order", regexp.MustCompile(`DRAIN .*`)},
		{"timing", regexp.MustCompile(`TIMING .*|FAIL: output .* before its (input|job|row was complete).*|FAIL: fold_done .*|FAIL: beat taken .*|FAIL: .* rows drained.*|FAIL: results .*`)},
		{"X/reset", regexp.MustCompile(`FAIL: \S+ is [xz01]+ at cycle.*|FAIL: \S+ is high during reset.*`)},
		{"watchdog", regexp.MustCompile(`FAIL: watchdog.*`)},
	}
)

// harnessOrder returns the sets of the testbenches, corner sets first (the
// small sets built to reach corners), then by size: the order in which
// the harness runs them until one fails.
func harnessOrder(m traces.Manifest, benches []string) []string {
	want := map[string]bool{}
	for _, b := range benches {
		want[b] = true
	}
	var sets []traces.SetInfo
	for _, s := range m.Sets {
		if want[s.Testbench] {
			sets = append(sets, s)
		}
	}
	corner := isCornerSet
	sort.SliceStable(sets, func(i, j int) bool {
		ci, cj := corner(sets[i]), corner(sets[j])
		if ci != cj {
			return ci
		}
		if sets[i].Vectors != sets[j].Vectors {
			return sets[i].Vectors < sets[j].Vectors
		}
		return sets[i].Name < sets[j].Name
	})
	names := make([]string, len(sets))
	for i, s := range sets {
		names[i] = s.Name
	}
	return names
}

// isCornerSet reports whether s is one of traces.Corners' sets (the edge
// and boundary sets, the exponent sweep, the int16 softplus table).
func isCornerSet(s traces.SetInfo) bool {
	return strings.HasPrefix(s.Op, "edge") || strings.HasPrefix(s.Op, "exp2") || strings.HasSuffix(s.Op, "_int16")
}

// runMutant runs the ordered sets of vec against m planted in a copy of
// hw/rtl until the first set fails.
func runMutant(m rtl.Mutant, vec string, sets []string, tmp string) mutantResult {
	res := mutantResult{m: m}
	rtlDir := filepath.Join(tmp, "rtl")
	if err := os.MkdirAll(rtlDir, 0o755); err != nil {
		res.err = err
		return res
	}
	if err := rtl.WriteMutated(rtlDir, m); err != nil {
		res.err = err
		return res
	}
	if len(sets) == 0 {
		res.err = fmt.Errorf("no sets for testbenches %v", m.Benches)
		return res
	}
	args := append([]string{"-C", vec, "RTL_DIR=" + rtlDir, "BUILD=" + filepath.Join(tmp, "build")}, sets...)
	out, err := exec.Command("make", args...).CombinedOutput()
	log := string(out)
	if err == nil {
		return res // survived
	}
	f := failSetRe.FindStringSubmatch(log)
	if f == nil {
		res.err = fmt.Errorf("make failed without a failing set: %v\n%s", err, log)
		return res
	}
	if f[2] != "" {
		res.err = fmt.Errorf("set %s does not build\n%s", f[1], log)
		return res
	}
	res.set = f[1]
	var setLog []string
	for _, l := range strings.Split(log, "\n") {
		if rest, ok := strings.CutPrefix(l, res.set+": "); ok {
			setLog = append(setLog, rest)
		}
	}
	text := strings.Join(setLog, "\n")
	first := len(text) + 1
	for _, c := range checkRes {
		if loc := c.re.FindStringIndex(text); loc != nil && loc[0] < first {
			first, res.check, res.detail = loc[0], c.kind, text[loc[0]:loc[1]]
		}
	}
	if res.check == "" {
		res.check, res.detail = "other", strings.TrimSpace(text)
	}
	if len(res.detail) > 110 {
		res.detail = res.detail[:107] + "..."
	}
	return res
}

// quickMutants is the -short subset: the first mutant of every module.
func quickMutants(all []rtl.Mutant) []rtl.Mutant {
	seen := map[string]bool{}
	var out []rtl.Mutant
	for _, m := range all {
		if !seen[m.Module] {
			seen[m.Module] = true
			out = append(out, m)
		}
	}
	return out
}

// TestMutants is the mutation harness: every mutant of rtl.Mutants() (the
// first of each module with -short; those -mutants names) is planted in a copy of hw/rtl and the golden
// vectors of the default model's block 0 — the recorded run and the corner
// sets, and the ws GEMM sets for the weight-stationary modules — are run
// against it, corner sets first, until one set fails. Every mutant must
// be caught (a failing set, not a build error), and every set that caught
// one must pass on the unmutated RTL. -mutation-report writes the table
// of mutants by unit (README).
func TestMutants(t *testing.T) {
	requireRTLTools(t, "iverilog", "vvp", "make")
	all := rtl.Mutants()
	var ms []rtl.Mutant
	switch {
	case *mutantsFlag == "all" && testing.Short():
		ms = quickMutants(all)
	case *mutantsFlag == "all":
		ms = all
	default:
		byID := map[string]rtl.Mutant{}
		for _, m := range all {
			byID[m.ID] = m
		}
		for _, id := range strings.Split(*mutantsFlag, ",") {
			m, ok := byID[strings.TrimSpace(id)]
			if !ok {
				t.Fatalf("-mutants: no mutant %q", id)
			}
			ms = append(ms, m)
		}
	}
	tmp := t.TempDir()
	osVec, wsVec := filepath.Join(tmp, "vec"), filepath.Join(tmp, "vec-ws")
	if _, err := rtlCLI(t, "vectors", "--model", vectorsModel(), "--layers", "0", "--out", osVec); err != nil {
		t.Fatal(err)
	}
	if _, err := rtlCLI(t, "vectors", "--model", vectorsModel(), "--layers", "0", "--units", "gemm", "--dataflow", "ws",
		"--synthetic", "--out", wsVec); err != nil {
		t.Fatal(err)
	}
	osMan, wsMan := readManifest(t, osVec), readManifest(t, wsVec)
	vecOf := func(m rtl.Mutant) (string, traces.Manifest) {
		if strings.HasPrefix(m.Benches[0], "tb_gemm_ws") {
			return wsVec, wsMan
		}
		return osVec, osMan
	}

	results := make([]mutantResult, len(ms))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				vec, man := vecOf(ms[i])
				results[i] = runMutant(ms[i], vec, harnessOrder(man, ms[i].Benches), filepath.Join(tmp, "m", ms[i].ID))
				os.RemoveAll(filepath.Join(tmp, "m", ms[i].ID))
			}
		}()
	}
	for i := range ms {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	caught := 0
	killers := map[string][]string{} // vector dir → sets that caught a mutant
	for _, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("mutant %s: %v", r.m.ID, r.err)
		case r.set == "":
			t.Errorf("mutant %s (%s: %s) survived every set of %v", r.m.ID, r.m.Module, r.m.Doc, r.m.Benches)
		default:
			caught++
			vec, _ := vecOf(r.m)
			killers[vec] = append(killers[vec], r.set)
			t.Logf("%-26s caught by %s (%s): %s", r.m.ID, r.set, r.check, r.detail)
		}
	}
	t.Logf("mutation score: %d of %d mutants caught", caught, len(ms))
	// The sets that caught mutants pass on hw/rtl: a kill is the mutant's.
	for vec, sets := range killers {
		sort.Strings(sets)
		sets = compactStrings(sets)
		out, err := exec.Command("make", append([]string{"-C", vec, "-k", "BUILD=" + filepath.Join(tmp, "base")}, sets...)...).CombinedOutput()
		if err != nil {
			t.Errorf("a set that caught a mutant fails on hw/rtl: %v\n%s", err, out)
		}
	}
	if *mutationReport != "" {
		if err := os.WriteFile(*mutationReport, []byte(mutantTable(results)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// mutantTable renders the results as a markdown table by unit.
func mutantTable(rs []mutantResult) string {
	var b strings.Builder
	caught := 0
	for _, r := range rs {
		if r.set != "" && r.err == nil {
			caught++
		}
	}
	fmt.Fprintf(&b, "Mutation score: **%d of %d** mutants caught.\n\n", caught, len(rs))
	b.WriteString("| unit | mutant | kind | the mistake | caught by (set: check) |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		by := "**not caught**"
		if r.err != nil {
			by = "error: " + r.err.Error()
		} else if r.set != "" {
			by = fmt.Sprintf("`%s`: %s", r.set, r.check)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.m.Module, r.m.ID, r.m.Category, r.m.Doc, by)
	}
	return b.String()
}
