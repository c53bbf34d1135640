package explore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vimsim/vimsim/quant/intprog"
)

// outputs runs x on sp and returns the table's JSON and CSV.
func outputs(t *testing.T, x *Explorer, sp Space) []byte {
	t.Helper()
	p, err := x.Run(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	return tableBytes(t, []*Partial{p})
}

func tableBytes(t *testing.T, parts []*Partial) []byte {
	t.Helper()
	tab, err := Assemble(parts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tab.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if err := tab.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// counting counts the calls of an evaluator.
type counting struct {
	Evaluator
	compiles, runs, refs atomic.Int64
}

func (c *counting) Compile(r Recipe) (*intprog.Program, error) {
	c.compiles.Add(1)
	return c.Evaluator.Compile(r)
}

func (c *counting) Run(p *intprog.Program, imgs []float64, n int) ([]float64, error) {
	c.runs.Add(1)
	return c.Evaluator.Run(p, imgs, n)
}

func (c *counting) Reference(imgs []float64, n int) ([]float64, error) {
	c.refs.Add(1)
	return c.Evaluator.Reference(imgs, n)
}

// cancelAfter cancels a context after a number of progress steps of the
// evaluate stage.
type cancelAfter struct {
	stage  string
	left   int
	cancel context.CancelFunc
}

func (c *cancelAfter) Start(stage string, _ int) { c.stage = stage }
func (c *cancelAfter) Add(n int) {
	if c.stage != "evaluate" {
		return
	}
	if c.left -= n; c.left <= 0 {
		c.cancel()
	}
}
func (c *cancelAfter) Finish() {}

func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	m := toyModel(t)
	sp := testSpace(t, m, "W8A8H8,W4A8H8", "zcu102")
	var out [][]byte
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		out = append(out, outputs(t, newTestExplorer(t, m, 12, 5, nil), sp))
		runtime.GOMAXPROCS(prev)
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatalf("outputs differ between GOMAXPROCS 1 and 2:\n%s\n---\n%s", out[0], out[1])
	}
}

func TestResumeAfterInterrupt(t *testing.T) {
	m := toyModel(t)
	sp := testSpace(t, m, "W8A8H8,W4A8H8", "")
	want := outputs(t, newTestExplorer(t, m, 12, 5, nil), sp)

	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Interrupt during the first chunk (after 10 image steps): its
	// reference and both recipes are stored as they finish, the other two
	// chunks are not started.
	x := newTestExplorer(t, m, 12, 5, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x.opt.Progress = &cancelAfter{left: 10, cancel: cancel}
	if _, err := x.Run(ctx, sp); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: error %v, want ErrInterrupted", err)
	}
	// The restart recompiles nothing (both programs are cached) and runs the
	// 5 missing recipe chunks and 2 missing references.
	x = newTestExplorer(t, m, 12, 5, c)
	ce := &counting{Evaluator: x.opt.Evaluator}
	x.opt.Evaluator = ce
	got := outputs(t, x, sp)
	if !bytes.Equal(got, want) {
		t.Fatalf("resumed run differs from an uninterrupted one:\n%s\n---\n%s", got, want)
	}
	if n, r, f := ce.compiles.Load(), ce.runs.Load(), ce.refs.Load(); n != 0 || r != 4 || f != 2 {
		t.Errorf("resumed run: %d compiles, %d recipe chunk runs, %d reference runs; want 0, 4, 2", n, r, f)
	}
	// A third run finds everything.
	x = newTestExplorer(t, m, 12, 5, c)
	ce = &counting{Evaluator: x.opt.Evaluator}
	x.opt.Evaluator = ce
	if got := outputs(t, x, sp); !bytes.Equal(got, want) {
		t.Fatal("cached run differs")
	}
	if n, r, f := ce.compiles.Load(), ce.runs.Load(), ce.refs.Load(); n+r+f != 0 {
		t.Errorf("cached run: %d compiles, %d runs, %d references; want none", n, r, f)
	}
}

func TestShardsAssembleToTheWholeRun(t *testing.T) {
	m := toyModel(t)
	sp := testSpace(t, m, "W8A8H8,W4A8H8", "zcu102")
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := outputs(t, newTestExplorer(t, m, 12, 5, c), sp)
	for _, n := range []int{2, 3, 7} {
		var parts []*Partial
		for i := n - 1; i >= 0; i-- { // any order
			x := newTestExplorer(t, m, 12, 5, c)
			x.opt.Shard = Shard{Index: i, Count: n}
			p, err := x.Run(context.Background(), sp)
			if err != nil {
				t.Fatal(err)
			}
			// Through the file form.
			var b bytes.Buffer
			if err := WritePartial(&b, p); err != nil {
				t.Fatal(err)
			}
			if p, err = ReadPartial(b.Bytes(), "shard"); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p)
		}
		if got := tableBytes(t, parts); !bytes.Equal(got, want) {
			t.Errorf("%d shards: assembled table differs from the whole run", n)
		}
		if _, err := Assemble(parts[1:]); err == nil {
			t.Errorf("%d shards: a missing shard was accepted", n)
		}
		if _, err := Assemble(append(parts, parts[0])); err == nil {
			t.Errorf("%d shards: a repeated shard was accepted", n)
		}
	}
}

func TestCacheEntriesAreAtomicAndChecked(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.put("accuracy", "k1", Accuracy{Images: 3, Top1: 2}); err != nil {
		t.Fatal(err)
	}
	var a Accuracy
	if !c.get("accuracy", "k1", &a) || a.Top1 != 2 {
		t.Fatalf("get k1 = %+v", a)
	}
	if c.get("accuracy", "k2", &a) {
		t.Fatal("k2 found")
	}
	// A damaged entry, or one holding another key, is missing.
	p := c.path("accuracy", "k1", ".json")
	if err := os.WriteFile(p, []byte(`{"key":"k1","value":{"ima`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c.get("accuracy", "k1", &a) {
		t.Fatal("truncated entry read")
	}
	if err := os.WriteFile(p, []byte(`{"key":"other","value":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c.get("accuracy", "k1", &a) {
		t.Fatal("entry of another key read")
	}
	// No temporary file is left behind.
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".*tmp*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if _, err := OpenCache(p); err == nil {
		t.Fatal("a file accepted as the cache directory")
	}
}
