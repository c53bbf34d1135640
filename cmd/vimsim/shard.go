package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vimsim/vimsim/data"
	"github.com/vimsim/vimsim/internal/progress"
	"github.com/vimsim/vimsim/internal/shard"
)

// shardUsage is the help of --shard.
const shardUsage = "compute only shard i/n (i from 0) of the run and write a partial result to --out; `vimsim merge` combines the n partials into the output of the whole run"

// shardRun is the sharding of one run of a command: its shard (the zero
// Spec when unsharded) and the partial file it writes.
type shardRun struct {
	cmd     *cobra.Command
	name    string // the command's name in partial files: eval, sim, sweep
	spec    shard.Spec
	partial string // --out of a sharded run
	skip    []string
}

// newShardRun parses --shard of cmd; out is its --out, the partial file
// of a sharded run. skip lists the flags other than --shard and --out that
// do not change the result (they stay out of the partial's inputs).
func newShardRun(cmd *cobra.Command, name, spec, out string, skip ...string) (*shardRun, error) {
	sp, err := shard.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("--shard %w", err)
	}
	if sp.Sharded() && out == "" {
		return nil, fmt.Errorf("--shard %s needs --out, the partial result file", sp)
	}
	return &shardRun{cmd: cmd, name: name, spec: sp, partial: out, skip: append(skip, "shard", "out", "help")}, nil
}

// sharded reports whether the run is a shard.
func (s *shardRun) sharded() bool { return s.spec.Sharded() }

// restrict narrows l to the shard's images.
func (s *shardRun) restrict(l *data.Loader) error {
	if !s.sharded() {
		return nil
	}
	return l.Restrict(s.spec.Range(l.Len()))
}

// inputs returns what the run's result depends on: every flag of the
// command (set or default) but the skipped ones, the content hashes of the
// files they name, and the build.
func (s *shardRun) inputs() (shard.Inputs, error) {
	in := shard.Inputs{"build": shard.Build()}
	skip := map[string]bool{}
	for _, name := range s.skip {
		skip[name] = true
	}
	var err error
	s.cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err == nil && !skip[f.Name] {
			err = in.AddFlag(f.Name, f.Value.String())
		}
	})
	return in, err
}

// write writes the shard's result, for a run of items in all, to the
// partial file; extra are inputs the command adds to the flags' (e.g. the
// hash of a compiled program).
func (s *shardRun) write(items int, extra shard.Inputs, result any) error {
	in, err := s.inputs()
	if err != nil {
		return err
	}
	for k, v := range extra {
		in.Set(k, v)
	}
	return shard.Write(s.partial, shard.NewHeader(s.name, s.spec, items, in), result)
}

// runProgress is where a long run reports its advance.
type runProgress interface {
	update(done int)
	finish()
}

// newRunProgress returns the progress report of a run over total units
// (e.g. "images") on cmd's stderr: for an unsharded run, the bar of
// newBar, labelled label (drawn on a terminal only); for a shard, lines
// naming it ("shard 2/4: 310/500 images, ETA 12s"), one when it starts,
// one every logEvery and one when it ends, which suit the log files of
// batch jobs.
func newRunProgress(cmd *cobra.Command, sh shard.Spec, label, unit string, total int) runProgress {
	if !sh.Sharded() {
		return barProgress{newBar(cmd, total, label, unit)}
	}
	now := time.Now()
	p := &logProgress{w: cmd.ErrOrStderr(), prefix: "shard " + sh.String() + ": ", unit: unit, total: total, start: now, last: now}
	fmt.Fprintf(p.w, "%s%d %s\n", p.prefix, total, unit)
	return p
}

// barProgress is a progress bar of internal/progress as a run's progress.
type barProgress struct{ bar *progress.Bar }

func (b barProgress) update(done int) { b.bar.Set(done) }
func (b barProgress) finish()         { b.bar.Finish() }

// logEvery is the interval of progress lines.
const logEvery = 10 * time.Second

// logProgress writes progress lines.
type logProgress struct {
	w            io.Writer
	prefix, unit string
	total, done  int
	start, last  time.Time
}

func (p *logProgress) update(done int) {
	p.done = done
	now := time.Now()
	if now.Sub(p.last) < logEvery || done >= p.total {
		return
	}
	p.last = now
	eta := ""
	if done > 0 {
		d := time.Duration(float64(now.Sub(p.start)) * float64(p.total-done) / float64(done))
		eta = fmt.Sprintf(", ETA %s", d.Round(time.Second))
	}
	fmt.Fprintf(p.w, "%s%d/%d %s%s\n", p.prefix, done, p.total, p.unit, eta)
}

func (p *logProgress) finish() {
	el := time.Since(p.start)
	fmt.Fprintf(p.w, "%s%d/%d %s in %s (%.1f %s/s)\n", p.prefix, p.done, p.total, p.unit, el.Round(100*time.Millisecond),
		float64(p.done)/max(el.Seconds(), 1e-9), p.unit)
}
