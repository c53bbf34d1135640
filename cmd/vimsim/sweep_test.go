package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vimsim/vimsim/hw/arch"
	"github.com/vimsim/vimsim/hw/cost"
	"github.com/vimsim/vimsim/vim"
)

func TestSweepWritesFiles(t *testing.T) {
	dir := t.TempDir()
	outA, outB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	args := []string{"sweep", "--model", "vim-ti", "--arch", "systolic16,systolic32", "--array", "8:32:*2",
		"--dataflow", "os,ws", "--scan-lanes", "8,32", "--dram-bw", "6.4,25.6", "--fpga", "zcu102"}
	out, err := perfCLI(t, append(args, "--out", outA, "--jobs", "1")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "48 designs") || !strings.Contains(out, "Pareto front") {
		t.Errorf("summary:\n%s", out)
	}
	if _, err := perfCLI(t, append(args, "--out", outB, "--jobs", "2")...); err != nil {
		t.Fatal(err)
	}
	for _, name := range sweepFiles {
		a, err := os.ReadFile(filepath.Join(outA, name))
		if err != nil || len(a) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := os.ReadFile(filepath.Join(outB, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between --jobs 1 and 2", name)
		}
	}
	f, _ := os.Open(filepath.Join(outA, "sweep.csv"))
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 49 {
		t.Fatalf("sweep.csv: %v, %d rows", err, len(rows))
	}
	pareto := 0
	for _, r := range rows[1:] {
		if r[len(r)-1] == "true" {
			pareto++
		}
	}
	if pareto == 0 || pareto == 48 {
		t.Errorf("%d designs on the front", pareto)
	}
	png, _ := os.ReadFile(filepath.Join(outA, "pareto.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("pareto.png is not a PNG")
	}
}

func TestSweepErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	tests := []struct {
		want string
		args []string
	}{
		{"--out", []string{"sweep"}},
		{"--array", []string{"--array", "8x"}},
		{"--array", []string{"--array", "64:8:*2"}},
		{"--scan-lanes", []string{"--scan-lanes", "8,x"}},
		{"--scan-mode", []string{"--scan-mode", "tree"}},
		{"--clock", []string{"--clock", "fast"}},
		{"--dram-bw", []string{"--dram-bw", "1:2"}},
		{"--buffer-kib", []string{"--buffer-kib", "1.5"}},
		{"--act-kib", []string{"--act-kib", "-"}},
		{"--tech", []string{"--tech", "horowitz45,7nm"}},
		{"--overlap", []string{"--overlap", "both"}},
		{"--dataflow", []string{"--dataflow", "os,xs"}},
		{"--arch", []string{"--arch", "systolic16,,systolic8"}},
		{"--arch", []string{"--arch", "systolic3"}},
		{"--fpga", []string{"--fpga", "arty"}},
		{"--model", []string{"--model", "vim-huge"}},
		{"--jobs", []string{"--jobs", "-1"}},
		{"scan.lanes", []string{"--scan-lanes", "0"}},
		{"designs", []string{"--scan-lanes", "1:1000", "--buffer-kib", "1:1000"}},
	}
	for _, tc := range tests {
		args := tc.args
		if len(args) == 0 || args[0] != "sweep" {
			args = append([]string{"sweep", "--out", out}, args...)
		}
		wantErr(t, tc.want, args...)
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: output directory created by a failing sweep", args)
		}
	}
}

// TestSweepIssue15Commands runs the four sweeps of issue 15 that crashed
// (one design, --array ”, --array 16,16,16, --tech horowitz45,tpuv4i-7nm:
// every design at one latency) and checks their outputs: the designs and
// warnings expected, CSV and JSON rows equal to the library's estimate of
// each design, the Pareto front (the lower energy at equal latency), and
// plots a report can use: PNGs that decode to a picture, well-formed SVGs
// with the title, axis names, at least three labelled latency ticks and
// two energy ticks, every design named in the front plot and the front's
// designs and totals in the energy bars.
func TestSweepIssue15Commands(t *testing.T) {
	cfg, err := vim.LoadConfig(vim.DefaultModel, vim.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type design struct {
		name, label string // label: in the front plot, after the names' common prefix
		spec        arch.Spec
		front       bool
	}
	s16 := arch.Systolic16()
	one := []design{{"systolic16", "systolic16", s16, true}}
	tests := []struct {
		name    string
		flags   []string
		warning string
		designs []design
	}{
		{"one design", nil, "", one},
		{"empty array", []string{"--array", ""}, "warning: --array is empty: the base architectures' value is kept", one},
		{"repeated array", []string{"--array", "16,16,16"}, "warning: --array: 16x16 listed 3 times; swept once",
			[]design{{"systolic16-16x16", "systolic16-16x16", s16, true}}},
		{"two techs", []string{"--tech", "horowitz45,tpuv4i-7nm"}, "", []design{
			{"systolic16-horowitz45", "horowitz45", s16.WithTech("horowitz45"), false},
			{"systolic16-tpuv4i-7nm", "tpuv4i-7nm", s16.WithTech("tpuv4i-7nm"), true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sweep")
			stdout, stderr, code := vimsim(t, append([]string{"sweep", "--out", dir}, tc.flags...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := strings.TrimSpace(stderr); got != tc.warning {
				t.Errorf("stderr %q, want %q", got, tc.warning)
			}
			nFront := 0
			for _, d := range tc.designs {
				if d.front {
					nFront++
				}
			}
			if want := fmt.Sprintf("%s, %d on the Pareto front; wrote %s/", plural(len(tc.designs), "design"), nFront, dir); !strings.HasPrefix(stdout, want) {
				t.Errorf("summary %q, want %q…", stdout, want)
			}

			// sweep.json and sweep.csv against the library's estimates.
			var pts []cost.DesignPoint
			if b, err := os.ReadFile(filepath.Join(dir, "sweep.json")); err != nil {
				t.Fatal(err)
			} else if err := json.Unmarshal(b, &pts); err != nil {
				t.Fatalf("sweep.json: %v", err)
			}
			f, err := os.Open(filepath.Join(dir, "sweep.csv"))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil {
				t.Fatalf("sweep.csv: %v", err)
			}
			if len(pts) != len(tc.designs) || len(rows) != len(tc.designs)+1 {
				t.Fatalf("%d designs in sweep.json, %d rows in sweep.csv, want %d", len(pts), len(rows)-1, len(tc.designs))
			}
			col := map[string]int{}
			for i, h := range rows[0] {
				col[h] = i
			}
			for i, d := range tc.designs {
				p, row := pts[i], rows[i+1]
				est, err := cost.EstimateModel(d.spec, cfg)
				if err != nil {
					t.Fatal(err)
				}
				w := est.Totals
				if p.Name != d.name || p.Spec.Array != d.spec.Array || p.Spec.Tech != d.spec.Tech || p.Pareto != d.front ||
					p.Cycles != w.Cycles || p.LatencyMS != w.LatencyMS || p.UJPerImage != w.UJPerImage || p.Energy != w.Energy {
					t.Errorf("sweep.json design %d: %s %v %s pareto %v, %d cycles, %g ms, %g µJ; want %s %v %s pareto %v, %d cycles, %g ms, %g µJ",
						i, p.Name, p.Spec.Array, p.Spec.Tech, p.Pareto, p.Cycles, p.LatencyMS, p.UJPerImage,
						d.name, d.spec.Array, d.spec.Tech, d.front, w.Cycles, w.LatencyMS, w.UJPerImage)
				}
				ms, _ := strconv.ParseFloat(row[col["latency_ms"]], 64)
				uj, _ := strconv.ParseFloat(row[col["uj_per_image"]], 64)
				if row[col["name"]] != d.name || row[col["tech"]] != d.spec.Tech || row[col["cycles"]] != strconv.FormatInt(w.Cycles, 10) ||
					math.Abs(ms/w.LatencyMS-1) > 1e-5 || math.Abs(uj/w.UJPerImage-1) > 1e-5 || row[col["pareto"]] != strconv.FormatBool(d.front) {
					t.Errorf("sweep.csv row %d: %v", i+1, row)
				}
			}

			// Plots.
			for _, name := range []string{"pareto.png", "energy.png"} {
				checkPNG(t, filepath.Join(dir, name))
			}
			texts, ticksX, ticksY := svgTexts(t, filepath.Join(dir, "pareto.svg"))
			want := []string{fmt.Sprintf("%s: %s", cfg.Name, plural(len(tc.designs), "design")), "latency (ms/image)", "energy (µJ/image)"}
			for _, d := range tc.designs {
				want = append(want, d.label)
			}
			for _, w := range want {
				if !texts[w] {
					t.Errorf("pareto.svg has no text %q: %v", w, texts)
				}
			}
			t.Logf("pareto.svg: %d latency ticks, %d energy ticks", ticksX, ticksY)
			if ticksX < 3 || ticksY < 2 {
				t.Errorf("pareto.svg: %d labelled latency ticks, %d energy ticks; want at least 3 and 2", ticksX, ticksY)
			}
			texts, _, _ = svgTexts(t, filepath.Join(dir, "energy.svg"))
			for _, d := range tc.designs {
				if !d.front {
					continue
				}
				total := fmt.Sprintf("%.1f µJ", pts[slices.IndexFunc(pts, func(p cost.DesignPoint) bool { return p.Name == d.name })].UJPerImage)
				if !texts[d.name] || !texts[total] {
					t.Errorf("energy.svg lacks the front design %s or its total %q: %v", d.name, total, texts)
				}
			}
			for _, d := range tc.designs {
				if !d.front && texts[d.name] {
					t.Errorf("energy.svg shows %s, not on the front", d.name)
				}
			}
		})
	}
}

// checkPNG decodes a plot and checks it is a picture: at least 400×200
// pixels, with more than a background and one ink.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	colors := map[color.RGBA]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			colors[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	if b.Dx() < 400 || b.Dy() < 200 || len(colors) < 3 {
		t.Errorf("%s: %dx%d pixels, %d colours", filepath.Base(path), b.Dx(), b.Dy(), len(colors))
	}
}

// svgTexts parses an SVG plot (it must be well-formed XML) and returns its
// text elements, the number of numeric labels on the row that has most of
// them (the x axis' ticks) and the number of the other numeric labels (the
// y axis' ticks).
func svgTexts(t *testing.T, path string) (texts map[string]bool, ticksX, ticksY int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	texts = map[string]bool{}
	rows := map[string]int{} // numeric labels per y attribute
	numeric := 0
	d := xml.NewDecoder(bytes.NewReader(b))
	var y string
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if inText = e.Name.Local == "text"; inText {
				for _, a := range e.Attr {
					if a.Name.Local == "y" {
						y = a.Value
					}
				}
			}
		case xml.CharData:
			s := strings.TrimSpace(string(e))
			if !inText || s == "" {
				continue
			}
			texts[s] = true
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				numeric++
				rows[y]++
			}
		case xml.EndElement:
			inText = false
		}
	}
	for _, n := range rows {
		ticksX = max(ticksX, n)
	}
	return texts, ticksX, numeric - ticksX
}
