package scalesim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// TopologyKind says how to read a topology CSV: SCALE-Sim's default
// convolution layout or its GEMM layout (scale.py -i gemm).
type TopologyKind uint8

// The two topology layouts SCALE-Sim reads.
const (
	// ConvTopology rows are: Layer name, IFMAP Height, IFMAP Width, Filter
	// Height, Filter Width, Channels, Num Filter, Strides (one stride for
	// both directions) or Stride Height, Stride Width. A layer whose name
	// contains "DP" is depthwise: SCALE-Sim runs it as Channels layers of
	// one channel each, named <name>Channel_<i>.
	ConvTopology TopologyKind = iota
	// GEMMTopology rows are: Layer name, M, N, K (an M×K ifmap times a K×N
	// filter).
	GEMMTopology
)

// convColumns names the numeric columns of a convolution topology row.
var convColumns = []string{"IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter", "Stride Height", "Stride Width"}

// maxTopologyLine bounds one line of a topology file.
const maxTopologyLine = 1 << 20

// ReadTopology parses the topology CSV at path.
func ReadTopology(path string, kind TopologyKind) ([]Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTopology(f, path, kind)
}

// ParseTopology parses a SCALE-Sim topology CSV; name labels errors, which
// name the file, the line and the column. As SCALE-Sim does, it skips the
// first line (the header) and blank lines, and it ignores whatever follows
// the last comma of a row (so every field, the last included, ends with a
// comma); columns after the ones it needs must be integers in a
// convolution topology and are ignored in a GEMM topology. Unlike SCALE-Sim
// it skips a row of empty fields and lets the columns after the strides be
// empty (some topologies SCALE-Sim ships have such rows, on which it fails).
func ParseTopology(r io.Reader, name string, kind TopologyKind) ([]Layer, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTopologyLine)
	var layers []Layer
	lineNo := 0
	for sc.Scan() {
		lineNo++
		row := strings.TrimSpace(sc.Text())
		if lineNo == 1 || row == "" {
			continue
		}
		// SCALE-Sim ignores the last field of every row: the empty one after
		// the trailing comma, or whatever follows the last comma (a comment).
		fields := strings.Split(row, ",")
		fields = fields[:len(fields)-1]
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if strings.Join(fields, "") == "" {
			continue // a row of empty fields
		}
		at := func(col string) string { return fmt.Sprintf("%s: line %d: %s", name, lineNo, col) }
		num := func(i int, col string) (int, error) {
			n, ok := pyInt(fields[i])
			if !ok {
				return 0, fmt.Errorf("%s: %q is not an integer", at(col), fields[i])
			}
			if n < 1 || n > maxLayerDim {
				return 0, fmt.Errorf("%s: must be in [1, %d], got %d", at(col), maxLayerDim, n)
			}
			return int(n), nil
		}
		if kind == GEMMTopology {
			if len(fields) < 4 {
				return nil, fmt.Errorf("%s: want name, M, N, K, each followed by a comma; got %d fields", at("row"), len(fields))
			}
			var v [3]int
			for i, col := range []string{"M", "N", "K"} {
				n, err := num(i+1, col)
				if err != nil {
					return nil, err
				}
				v[i] = n
			}
			l := GEMMLayer(fields[0], v[0], v[2], v[1])
			if err := l.Validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", at("row"), err)
			}
			layers = append(layers, l)
			continue
		}
		if len(fields) < 8 {
			return nil, fmt.Errorf("%s: want name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides, each followed by a comma; got %d fields",
				at("row"), len(fields))
		}
		// An empty ninth column means one stride for both directions, as a
		// missing one does; columns after the ninth are not used (SCALE-Sim
		// converts them to integers, so they must be integers or empty).
		oneStride := len(fields) == 8 || fields[8] == ""
		var v [8]int
		for i := 1; i < len(fields); i++ {
			col := "extra column " + strconv.Itoa(i+1)
			if i <= len(convColumns) {
				col = convColumns[i-1]
			}
			if i == 7 && oneStride {
				col = "Strides"
			}
			if i > len(v) || (i == 8 && oneStride) {
				if _, ok := pyInt(fields[i]); !ok && fields[i] != "" {
					return nil, fmt.Errorf("%s: %q is not an integer", at(col), fields[i])
				}
				continue
			}
			n, err := num(i, col)
			if err != nil {
				return nil, err
			}
			v[i-1] = n
		}
		if oneStride {
			v[7] = v[6]
		}
		l := Layer{Name: fields[0], IfmapH: v[0], IfmapW: v[1], FilterH: v[2], FilterW: v[3],
			Channels: v[4], Filters: v[5], StrideH: v[6], StrideW: v[7]}
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", at("row"), err)
		}
		if !strings.Contains(l.Name, "DP") {
			layers = append(layers, l)
			continue
		}
		channels := l.Channels
		for ch := 0; ch < channels; ch++ {
			d := l
			d.Name = l.Name + "Channel_" + strconv.Itoa(ch)
			d.Channels = 1
			layers = append(layers, d)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", name, lineNo+1, err)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("%s: no layers (the first line is the header)", name)
	}
	return layers, nil
}

// WriteTopology writes layers as a SCALE-Sim convolution topology with
// separate height and width strides. A name that holds a comma or a line
// break cannot be written.
func WriteTopology(w io.Writer, layers []Layer) error {
	var b strings.Builder
	b.WriteString("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Stride Height, Stride Width,\n")
	for _, l := range layers {
		if strings.ContainsAny(l.Name, ",\r\n") || strings.TrimSpace(l.Name) != l.Name {
			return fmt.Errorf("layer name %q: a topology name cannot hold commas, line breaks or surrounding spaces", l.Name)
		}
		fmt.Fprintf(&b, "%s, %d, %d, %d, %d, %d, %d, %d, %d,\n", l.Name, l.IfmapH, l.IfmapW, l.FilterH, l.FilterW,
			l.Channels, l.Filters, l.StrideH, l.StrideW)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
