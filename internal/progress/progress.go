// Package progress draws a progress bar with a rate and an estimated time
// to completion on a terminal, for the long steps of the vimsim commands
// (calibration, evaluation, simulation, vectors, sweeps, explorations).
//
// A Bar is quiet unless its writer is a terminal, and stays quiet for the
// first seconds of a step (Options.Delay), so that short runs, pipes, log
// files and tests see nothing. Every method of a nil *Bar does nothing, so
// callers need not check whether a bar is drawn. The drawing is
// github.com/schollz/progressbar's.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// DefaultDelay is how long a bar stays quiet after it starts: steps that
// end sooner draw nothing.
const DefaultDelay = 2 * time.Second

// Options configure a Bar.
type Options struct {
	// Label says what runs ("calibrate", "eval").
	Label string
	// Unit names what is counted ("images", "layers", "designs").
	Unit string
	// Shard and Shards, when Shards > 1, prefix the label with
	// "shard Shard/Shards" (Shard counts from 1), so that the bars of the
	// shards of one job can be told apart.
	Shard, Shards int
	// Delay is the quiet time before the first drawing (0:
	// DefaultDelay; negative: none).
	Delay time.Duration
	// Terminal draws on the writer even when it is not a terminal (for
	// tests and for callers that know better).
	Terminal bool
}

// label returns the text a bar with these options starts its line with.
func (o Options) label() string {
	l := o.Label
	if o.Shards > 1 {
		l = fmt.Sprintf("shard %d/%d %s", o.Shard, o.Shards, l)
	}
	return l
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Bar is a progress bar over a known number of steps.
type Bar struct {
	bar   *progressbar.ProgressBar
	gate  *gate
	label string
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// New returns a bar over total steps drawn on w, or nil (draws nothing)
// when w is not a terminal (unless o.Terminal) or total < 1. It redraws
// itself every half second (elapsed time, ETA) until Finish or Abort.
func New(w io.Writer, total int, o Options) *Bar {
	if total < 1 || w == nil || !(o.Terminal || IsTerminal(w)) {
		return nil
	}
	delay := o.Delay
	if delay == 0 {
		delay = DefaultDelay
	}
	g := &gate{w: w, open: time.Now().Add(delay)}
	label := o.label()
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(g),
		progressbar.OptionSetDescription(label),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
	}
	if o.Unit != "" {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(o.Unit))
	}
	b := &Bar{bar: progressbar.NewOptions(total, opts...), gate: g, label: label, stop: make(chan struct{}), done: make(chan struct{})}
	_ = b.bar.RenderBlank() // starts the clock of the rate and the ETA
	go b.tick()
	return b
}

// tick redraws the bar so that the elapsed time and the ETA move between
// steps.
func (b *Bar) tick() {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	defer close(b.done)
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			_ = b.bar.Add(0)
		}
	}
}

// Set records that done steps are complete.
func (b *Bar) Set(done int) {
	if b == nil {
		return
	}
	_ = b.bar.Set(done)
}

// Add records n more complete steps.
func (b *Bar) Add(n int) {
	if b == nil {
		return
	}
	_ = b.bar.Add(n)
}

// Stage changes the text after the label ("layer 3", "head").
func (b *Bar) Stage(s string) {
	if b == nil {
		return
	}
	if s == "" {
		b.bar.Describe(b.label)
		return
	}
	b.bar.Describe(b.label + " " + s)
}

// Finish erases the bar at the end of the step.
func (b *Bar) Finish() {
	b.end()
}

// Abort erases the bar of a step that failed or was interrupted.
func (b *Bar) Abort() {
	b.end()
}

func (b *Bar) end() {
	if b == nil {
		return
	}
	b.once.Do(func() {
		close(b.stop)
		<-b.done
		_ = b.bar.Exit()
		if b.gate.opened() {
			_ = b.bar.Clear()
		}
	})
}

// gate drops what is written to it until a time, so that a bar stays
// quiet during the first seconds of a step.
type gate struct {
	mu   sync.Mutex
	w    io.Writer
	open time.Time
	seen bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.seen && time.Now().Before(g.open) {
		return len(p), nil
	}
	g.seen = true
	return g.w.Write(p)
}

func (g *gate) opened() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen
}
