package shard

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/vimsim/vimsim/internal/atomicfile"
)

// Format identifies a partial file; it is its header's "format".
const Format = "vimsim-partial/1"

// Header describes a partial file: the command that wrote it, which part
// of the run it holds and what the run depends on.
type Header struct {
	Format  string `json:"format"`
	Command string `json:"command"` // "eval", "sim", "sweep", …
	Shard   Spec   `json:"shard"`
	// Items is the item count of the whole run; First and End bound this
	// part's items, Shard.Range(Items).
	Items int `json:"items"`
	First int `json:"first"`
	End   int `json:"end"`
	// Fingerprint is Inputs.Fingerprint().
	Fingerprint string `json:"fingerprint"`
	Inputs      Inputs `json:"inputs"`
}

// NewHeader returns the header of part s of a run of command over items.
func NewHeader(command string, s Spec, items int, in Inputs) Header {
	first, end := s.Range(items)
	return Header{Format: Format, Command: command, Shard: s, Items: items, First: first, End: end,
		Fingerprint: in.Fingerprint(), Inputs: in}
}

// Partial is a partial file as read: its header and the command's result,
// still encoded.
type Partial struct {
	Path string `json:"-"`
	Header
	Result json.RawMessage `json:"result"`
}

// Write stores the header and the command's result (encoded as JSON) at
// path, through a temporary file renamed into place: a killed shard leaves
// no partial file.
func Write(path string, h Header, result any) error {
	b, err := json.Marshal(struct {
		Header
		Result any `json:"result"`
	}{h, result})
	if err != nil {
		return fmt.Errorf("write partial %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// Read reads and checks a partial file written by Write.
func Read(path string) (*Partial, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read partial: %w", err)
	}
	var p Partial
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) || json.Unmarshal(b, &p) != nil || p.Format == "" {
		return nil, fmt.Errorf("%s: not a vimsim partial result file (written by --shard)", path)
	}
	p.Path = path
	if p.Format != Format {
		return nil, fmt.Errorf("%s: partial format %q, this vimsim reads %q", path, p.Format, Format)
	}
	s := p.Shard
	if s.Count < 1 || s.Count > MaxCount || s.Index < 0 || s.Index >= s.Count || p.Items < 0 || p.Command == "" {
		return nil, fmt.Errorf("%s: bad partial header (command %q, shard %d/%d, %d items)", path, p.Command, s.Index, s.Count, p.Items)
	}
	if first, end := s.Range(p.Items); p.First != first || p.End != end {
		return nil, fmt.Errorf("%s: shard %s of %d items holds items %d..%d, want %d..%d", path, s, p.Items, p.First, p.End, first, end)
	}
	if p.Inputs == nil || p.Inputs.Fingerprint() != p.Fingerprint {
		return nil, fmt.Errorf("%s: the fingerprint does not match the inputs (file edited?)", path)
	}
	if len(p.Result) == 0 || string(p.Result) == "null" {
		return nil, fmt.Errorf("%s: no result", path)
	}
	return &p, nil
}

// Assemble checks that parts are every shard of one run exactly once (the
// same command, shard count, item count and inputs) and returns them in
// shard order. Its errors are one line naming the culprit file.
func Assemble(parts []*Partial) ([]*Partial, error) {
	if len(parts) == 0 {
		return nil, errors.New("no partial files")
	}
	ref := parts[0]
	n := ref.Shard.Count
	byIndex := make([]*Partial, n)
	for _, p := range parts {
		switch {
		case p.Command != ref.Command:
			return nil, fmt.Errorf("%s: a partial of vimsim %s, but %s is of vimsim %s", p.Path, p.Command, ref.Path, ref.Command)
		case p.Shard.Count != n:
			return nil, fmt.Errorf("%s: shard %s of a %d-shard run, but %s is of a %d-shard run", p.Path, p.Shard, p.Shard.Count, ref.Path, n)
		case p.Fingerprint != ref.Fingerprint:
			return nil, fmt.Errorf("%s: not the same run as %s: %s", p.Path, ref.Path, p.Inputs.Diff(ref.Inputs))
		case p.Items != ref.Items:
			return nil, fmt.Errorf("%s: a run of %d items, but %s is of %d", p.Path, p.Items, ref.Path, ref.Items)
		}
		if q := byIndex[p.Shard.Index]; q != nil {
			return nil, fmt.Errorf("%s: shard %s given twice (also %s)", p.Path, p.Shard, q.Path)
		}
		byIndex[p.Shard.Index] = p
	}
	var missing []string
	for i, p := range byIndex {
		if p == nil {
			missing = append(missing, Spec{Index: i, Count: n}.String())
		}
	}
	if len(missing) > 0 {
		word := "shard"
		if len(missing) > 1 {
			word = "shards"
		}
		if len(missing) > 8 {
			missing = append(missing[:8], "…")
		}
		return nil, fmt.Errorf("%s %s missing: %d of %d partial files given", word, strings.Join(missing, ", "), len(parts), n)
	}
	return slices.Clip(byIndex), nil
}

// Floats are float64 values stored exactly in JSON (any bits, NaN and
// infinities included): a base64 string of their little-endian IEEE 754
// encodings.
type Floats []float64

// MarshalJSON encodes f as a base64 string.
func (f Floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 8*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes what MarshalJSON writes.
func (f *Floats) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("floats: want a base64 string: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("floats: %w", err)
	}
	if len(b)%8 != 0 {
		return fmt.Errorf("floats: %d bytes, not a multiple of 8", len(b))
	}
	out := make(Floats, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	*f = out
	return nil
}
