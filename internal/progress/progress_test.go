package progress

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the bar's ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	if b := New(&buf, 10, Options{Label: "eval", Delay: -1}); b != nil {
		t.Fatal("a bar on a buffer that is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b := New(f, 10, Options{Label: "eval", Delay: -1}); b != nil {
		t.Fatal("a bar on a regular file")
	}
	var nilBar *Bar
	nilBar.Set(3) // every method of a nil bar does nothing
	nilBar.Add(1)
	nilBar.Stage("x")
	nilBar.Finish()
	nilBar.Abort()
}

func TestDrawsCountRateAndETA(t *testing.T) {
	var buf syncBuffer
	b := New(&buf, 8, Options{Label: "eval", Unit: "images", Shard: 2, Shards: 4, Delay: -1, Terminal: true})
	if b == nil {
		t.Fatal("no bar with Terminal set")
	}
	for i := 1; i <= 4; i++ {
		time.Sleep(60 * time.Millisecond)
		b.Set(i)
	}
	time.Sleep(600 * time.Millisecond) // one tick redraws
	b.Stage("layer 3")
	out := buf.String()
	b.Finish()
	for _, want := range []string{"shard 2/4 eval", "4/8", "images/s", "layer 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q: %q", want, out)
		}
	}
	// The ETA is the second duration of "[elapsed:eta]".
	if !strings.Contains(out, ":") || !strings.Contains(out, "s]") {
		t.Errorf("bar output has no elapsed:ETA bracket: %q", out)
	}
	b.Finish() // twice is fine
}

func TestDelayKeepsShortStepsQuiet(t *testing.T) {
	var buf syncBuffer
	b := New(&buf, 3, Options{Label: "calibrate", Delay: time.Hour, Terminal: true})
	b.Set(1)
	b.Set(3)
	b.Finish()
	if s := buf.String(); s != "" {
		t.Errorf("a step shorter than the delay drew %q", s)
	}
}

func TestNoBarForNothing(t *testing.T) {
	var buf syncBuffer
	if b := New(&buf, 0, Options{Terminal: true}); b != nil {
		t.Error("a bar over 0 steps")
	}
}
