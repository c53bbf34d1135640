package traces

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vimsim/vimsim/hw/rtl"
	"github.com/vimsim/vimsim/internal/atomicfile"
	"github.com/vimsim/vimsim/vim"
)

// File is one file of a vector directory.
type File struct {
	Path string // slash-separated, relative to the directory
	Data []byte
}

// Bundle is a complete vector directory in memory: the vector sets, their
// testbenches, a Makefile and manifest.json.
type Bundle struct {
	Files    []File // sorted by path, manifest.json included
	Manifest Manifest
}

// Manifest describes every file of a vector directory (manifest.json).
type Manifest struct {
	Generator string       `json:"generator"`
	Format    int          `json:"format"`
	Model     string       `json:"model"`
	Source    string       `json:"source"`
	Recipe    string       `json:"recipe,omitempty"`
	Arch      ManifestArch `json:"arch"`
	RTLDir    string       `json:"rtl_dir"`
	Units     []Unit       `json:"units"`
	Layers    []string     `json:"layers"`
	Sets      []SetInfo    `json:"sets"`
	Files     []FileInfo   `json:"files"`
}

// ManifestArch is the accelerator the GEMM vectors were laid out for.
type ManifestArch struct {
	Name     string  `json:"name"`
	Rows     int     `json:"rows"`
	Cols     int     `json:"cols"`
	Dataflow string  `json:"dataflow"`
	ClockMHz float64 `json:"clock_mhz"`
}

// SetInfo is one testbench run: the directory of its files, its
// testbench module and the number of vectors its PASS line counts.
type SetInfo struct {
	Name      string  `json:"name"`
	Unit      Unit    `json:"unit"`
	Testbench string  `json:"testbench"`
	Layer     int     `json:"layer"`
	LayerName string  `json:"layer_name"`
	Op        string  `json:"op"`
	Kind      string  `json:"kind"`
	Vectors   int     `json:"vectors"`
	Cycles    *Cycles `json:"cycles,omitempty"`
	// Defines are the `define lines of the set's params.vh: the widths of
	// a set that differs from the 8-bit default (VIMSIM_WBITS 4 for int4
	// weights, VIMSIM_SBITS 16 for an int16 scan state).
	Defines map[string]int64 `json:"defines,omitempty"`
}

// FileInfo describes one file: its kind (vectors, params, testbench,
// makefile, rtl), for vectors the tensor it holds, and its SHA-256.
type FileInfo struct {
	Path      string           `json:"path"`
	Kind      string           `json:"kind"`
	Set       string           `json:"set,omitempty"`
	Unit      Unit             `json:"unit,omitempty"`
	Layer     *int             `json:"layer,omitempty"`
	Op        string           `json:"op,omitempty"`
	Tensor    string           `json:"tensor,omitempty"`
	Role      Role             `json:"role,omitempty"`
	Shape     []int            `json:"shape,omitempty"`
	DType     string           `json:"dtype,omitempty"`
	Bits      int              `json:"bits,omitempty"`
	Lanes     int              `json:"lanes,omitempty"`
	Layout    string           `json:"layout,omitempty"`
	Words     int              `json:"words,omitempty"`
	Constants map[string]int64 `json:"constants,omitempty"`
	SHA256    string           `json:"sha256"`
}

// BundleOptions configure the files around the vector sets.
type BundleOptions struct {
	// RTLDir is the default RTL_DIR of the Makefile, the RTL under test
	// (absolute, or relative to the vector directory). Empty: the bundle
	// carries a copy of the reference RTL in rtl/ and defaults to it.
	RTLDir string
}

// Bundle renders the recorded sets into a vector directory.
func (r *Recorder) Bundle(opt BundleOptions) (*Bundle, error) {
	sets := r.sorted()
	if len(sets) == 0 {
		return nil, fmt.Errorf("vectors: nothing recorded (check --units and --layers)")
	}
	o := r.opt
	m := Manifest{
		Generator: o.Generator, Format: FormatVersion, Model: o.Model, Source: o.Source, Recipe: o.Recipe,
		Arch: ManifestArch{Name: o.Arch.Name, Rows: o.Arch.Array.Rows, Cols: o.Arch.Array.Cols,
			Dataflow: string(o.Arch.Array.Dataflow), ClockMHz: o.Arch.ClockMHz},
		RTLDir: opt.RTLDir,
		Units:  o.Units,
	}
	if m.Units == nil {
		m.Units = AllUnits()
	}
	if o.Layers == nil {
		m.Layers = []string{"all"}
	}
	for _, l := range o.Layers {
		m.Layers = append(m.Layers, vim.LayerName(l))
	}
	var files []File
	var infos []FileInfo
	add := func(f File, info FileInfo) {
		sum := sha256.Sum256(f.Data)
		info.Path, info.SHA256 = f.Path, hex.EncodeToString(sum[:])
		files = append(files, f)
		infos = append(infos, info)
	}
	benches := map[string]bool{}
	for _, s := range sets {
		layer := s.layer
		m.Sets = append(m.Sets, SetInfo{Name: s.name, Unit: s.unit, Testbench: s.bench, Layer: s.layer,
			LayerName: vim.LayerName(s.layer), Op: s.op, Kind: s.kind, Vectors: s.vectors, Cycles: s.cycles, Defines: s.defineMap()})
		benches[s.bench] = true
		consts := s.constants()
		for _, t := range s.tensors {
			add(File{Path: s.name + "/" + t.file(), Data: t.data}, FileInfo{Kind: "vectors", Set: s.name, Unit: s.unit,
				Layer: &layer, Op: s.op, Tensor: t.name, Role: t.role, Shape: t.shape, DType: t.dtype, Bits: t.bits,
				Lanes: t.lanes, Layout: t.layout, Words: t.words, Constants: consts})
		}
		add(File{Path: s.name + "/params.vh", Data: s.renderParams(o.Generator)}, FileInfo{Kind: "params", Set: s.name,
			Unit: s.unit, Layer: &layer, Op: s.op, Constants: consts})
	}
	names := make([]string, 0, len(benches))
	for b := range benches {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		src, ok := rtl.Testbench(b)
		if !ok {
			return nil, fmt.Errorf("vectors: testbench %s is missing from hw/rtl", b)
		}
		add(File{Path: src.Name, Data: src.Data}, FileInfo{Kind: "testbench"})
	}
	for _, src := range rtl.TestbenchIncludes() {
		add(File{Path: src.Name, Data: src.Data}, FileInfo{Kind: "testbench"})
	}
	rtlDir := opt.RTLDir
	if rtlDir == "" {
		rtlDir = "rtl"
		for _, src := range rtl.Modules() {
			add(File{Path: "rtl/" + src.Name, Data: src.Data}, FileInfo{Kind: "rtl"})
		}
	}
	add(File{Path: "Makefile", Data: makefile(m, sets, rtlDir)}, FileInfo{Kind: "makefile"})

	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return files[order[a]].Path < files[order[b]].Path })
	b := &Bundle{Manifest: m}
	for _, i := range order {
		b.Files = append(b.Files, files[i])
		b.Manifest.Files = append(b.Manifest.Files, infos[i])
	}
	js, err := json.MarshalIndent(b.Manifest, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("vectors: manifest: %w", err)
	}
	b.Files = append(b.Files, File{Path: "manifest.json", Data: append(js, '\n')})
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Path < b.Files[j].Path })
	return b, nil
}

// WriteDir writes the bundle into dir atomically: the files go to a hidden
// temporary directory next to dir, which is renamed into place once
// complete, so that an interrupted or failed run leaves no partial
// directory. An existing non-empty dir is refused unless force, in which
// case it is replaced. ctx cancels the write.
func (b *Bundle) WriteDir(ctx context.Context, dir string, force bool) error {
	dir = filepath.Clean(dir)
	err := atomicfile.WriteDir(dir, force, func(tmp string) error {
		for _, f := range b.Files {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("output %s: %w", dir, err)
			}
			if strings.Contains(f.Path, "..") || filepath.IsAbs(f.Path) {
				return fmt.Errorf("bad file path %q", f.Path)
			}
			p := filepath.Join(tmp, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("output %s: %w", dir, err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				return fmt.Errorf("output %s: %w", dir, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("output %s: %w", dir, err)
		}
		return nil
	})
	switch {
	case errors.Is(err, atomicfile.ErrNotEmpty):
		return fmt.Errorf("vectors: %w (use --force to replace it)", err)
	case err != nil:
		return fmt.Errorf("vectors: %w", err)
	}
	return nil
}
