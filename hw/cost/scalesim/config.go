package scalesim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// SCALE-Sim reads its .cfg file with Python's configparser: "[section]"
// headers, "key = value" or "key: value" options whose keys are
// case-insensitive, comment lines starting with '#' or ';', continuation
// lines indented under an option, a [DEFAULT] section whose options every
// section inherits, and no inline comments. It then reads these fields
// (section names are case-sensitive):
//
//	[general]               run_name
//	[run_presets]           InterfaceBandwidth (USER or CALC)
//	[architecture_presets]  ArrayHeight, ArrayWidth, IfmapSramSzkB,
//	                        FilterSramSzkB, OfmapSramSzkB, IfmapOffset,
//	                        FilterOffset, OfmapOffset, Dataflow, and
//	                        Bandwidth (a comma-separated list; USER only)
//	[network_presets]       TopologyCsvLoc (optional, a quoted path)
//
// Other keys (MemoryBanks, for one) are read by nobody and ignored.

// CfgFile is a parsed SCALE-Sim .cfg file.
type CfgFile struct {
	Config Config
	// Topology is [network_presets] TopologyCsvLoc with its quotes removed,
	// or "" when the file names none.
	Topology string
}

// ReadConfig parses the SCALE-Sim .cfg file at path.
func ReadConfig(path string) (CfgFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return CfgFile{}, err
	}
	defer f.Close()
	return ParseConfig(f, path)
}

// ParseConfig parses a SCALE-Sim .cfg file; name labels errors, which name
// the file, the section and the field:
//
//	scale.cfg: [architecture_presets] ArrayHeight: "32x" is not an integer
func ParseConfig(r io.Reader, name string) (CfgFile, error) {
	ini, err := parseINI(r)
	if err != nil {
		return CfgFile{}, fmt.Errorf("%s: %w", name, err)
	}
	var out CfgFile
	c := &out.Config
	c.WordBytes = 1
	get := func(section, key string) (string, error) {
		v, ok, err := ini.get(section, key)
		if err != nil {
			return "", fmt.Errorf("%s: [%s] %s: %w", name, section, key, err)
		}
		if !ok {
			if !ini.has(section) {
				return "", fmt.Errorf("%s: no [%s] section (needed for %s)", name, section, key)
			}
			return "", fmt.Errorf("%s: [%s] %s: missing", name, section, key)
		}
		return v, nil
	}
	integer := func(section, key string) (int64, error) {
		v, err := get(section, key)
		if err != nil {
			return 0, err
		}
		n, ok := pyInt(v)
		if !ok {
			return 0, fmt.Errorf("%s: [%s] %s: %q is not an integer", name, section, key, v)
		}
		return n, nil
	}

	if c.RunName, err = get("general", "run_name"); err != nil {
		return CfgFile{}, err
	}
	mode, err := get("run_presets", "InterfaceBandwidth")
	if err != nil {
		return CfgFile{}, err
	}
	switch mode {
	case "USER":
		c.UserBandwidth = true
	case "CALC":
	default:
		return CfgFile{}, fmt.Errorf("%s: [run_presets] InterfaceBandwidth: %q is neither USER nor CALC", name, mode)
	}

	const arch = "architecture_presets"
	ints := []struct {
		key string
		dst *int64
	}{
		{"IfmapOffset", &c.IfmapOffset}, {"FilterOffset", &c.FilterOffset}, {"OfmapOffset", &c.OfmapOffset},
	}
	small := []struct {
		key string
		dst *int
		min int64
		max int64
	}{
		{"ArrayHeight", &c.Rows, 1, maxArrayDim},
		{"ArrayWidth", &c.Cols, 1, maxArrayDim},
		{"IfmapSramSzkB", &c.IfmapKiB, 1, maxSRAMKiB},
		{"FilterSramSzkB", &c.FilterKiB, 1, maxSRAMKiB},
		{"OfmapSramSzkB", &c.OfmapKiB, 1, maxSRAMKiB},
	}
	for _, f := range small {
		n, err := integer(arch, f.key)
		if err != nil {
			return CfgFile{}, err
		}
		if n < f.min || n > f.max {
			return CfgFile{}, fmt.Errorf("%s: [%s] %s: must be in [%d, %d], got %d", name, arch, f.key, f.min, f.max, n)
		}
		*f.dst = int(n)
	}
	for _, f := range ints {
		n, err := integer(arch, f.key)
		if err != nil {
			return CfgFile{}, err
		}
		if n < 0 || n > maxAddrOffset {
			return CfgFile{}, fmt.Errorf("%s: [%s] %s: must be in [0, %d], got %d", name, arch, f.key, int64(maxAddrOffset), n)
		}
		*f.dst = n
	}
	df, err := get(arch, "Dataflow")
	if err != nil {
		return CfgFile{}, err
	}
	if c.Dataflow, err = ParseDataflow(df); err != nil {
		return CfgFile{}, fmt.Errorf("%s: [%s] Dataflow: %q is not os, ws or is", name, arch, df)
	}
	if c.UserBandwidth {
		v, err := get(arch, "Bandwidth")
		if err != nil {
			return CfgFile{}, err
		}
		// SCALE-Sim splits the list on commas and uses the first entry.
		first := strings.Split(strings.TrimSpace(v), ",")
		var bws []int64
		for _, s := range first {
			n, ok := pyInt(s)
			if !ok {
				return CfgFile{}, fmt.Errorf("%s: [%s] Bandwidth: %q is not a comma-separated list of integers", name, arch, v)
			}
			bws = append(bws, n)
		}
		if bws[0] < 1 || bws[0] > maxBandwidth {
			return CfgFile{}, fmt.Errorf("%s: [%s] Bandwidth: must be in [1, %d] words per cycle, got %d", name, arch, maxBandwidth, bws[0])
		}
		c.Bandwidth = int(bws[0])
	}
	if ini.has("network_presets") {
		// SCALE-Sim means to read this key here (its code looks in
		// [architecture_presets] by mistake); the quotes are optional.
		v, err := get("network_presets", "TopologyCsvLoc")
		if err != nil {
			return CfgFile{}, err
		}
		out.Topology = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out, nil
}

// iniFile holds sections of options with lower-cased keys, in the manner
// of Python's configparser with its default settings.
type iniFile struct {
	sections map[string]map[string]string
	defaults map[string]string
}

func (f iniFile) has(section string) bool { _, ok := f.sections[section]; return ok }

// raw returns an option's value before interpolation.
func (f iniFile) raw(section, key string) (string, bool) {
	key = strings.ToLower(key)
	if s, ok := f.sections[section]; ok {
		if v, ok := s[key]; ok {
			return v, true
		}
	} else if section != "DEFAULT" {
		return "", false
	}
	v, ok := f.defaults[key]
	return v, ok
}

// get returns an option's value with configparser's basic interpolation:
// "%%" is a percent sign and "%(key)s" another option of the section.
func (f iniFile) get(section, key string) (string, bool, error) {
	v, ok := f.raw(section, key)
	if !ok {
		return "", false, nil
	}
	out, err := f.interpolate(section, v, 0)
	return out, true, err
}

func (f iniFile) interpolate(section, v string, depth int) (string, error) {
	if !strings.Contains(v, "%") {
		return v, nil
	}
	if depth > 10 {
		return "", fmt.Errorf("%%(…)s references nest too deep")
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '%')
		if i < 0 {
			b.WriteString(v)
			return b.String(), nil
		}
		b.WriteString(v[:i])
		v = v[i:]
		switch {
		case strings.HasPrefix(v, "%%"):
			b.WriteByte('%')
			v = v[2:]
		case strings.HasPrefix(v, "%("):
			j := strings.Index(v, ")s")
			if j < 0 {
				return "", fmt.Errorf("bad interpolation %q", v)
			}
			ref, ok := f.raw(section, v[2:j])
			if !ok {
				return "", fmt.Errorf("%%(%s)s names no option", v[2:j])
			}
			sub, err := f.interpolate(section, ref, depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(sub)
			v = v[j+2:]
		default:
			return "", fmt.Errorf("'%%' must be followed by '%%' or '(' in %q", v)
		}
	}
}

// maxCfgLine bounds one line of a .cfg file.
const maxCfgLine = 1 << 20

func parseINI(r io.Reader) (iniFile, error) {
	f := iniFile{sections: map[string]map[string]string{}, defaults: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxCfgLine)
	var (
		cur     map[string]string // current section's options, nil before the first header
		curName string
		lastKey string // option a continuation line extends
		indent  int    // indentation of lastKey's line
		blanks  int    // blank lines since lastKey's last line
		lineNo  int
	)
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), " \t\r\f\v")
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" {
			blanks++
			continue
		}
		if trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if lineIndent := len(line) - len(trimmed); cur != nil && lastKey != "" && lineIndent > indent {
			cur[lastKey] += strings.Repeat("\n", blanks+1) + trimmed
			blanks = 0
			continue
		}
		blanks = 0
		if j := strings.LastIndexByte(trimmed, ']'); trimmed[0] == '[' && j > 1 {
			curName = trimmed[1:j]
			if curName == "DEFAULT" {
				cur = f.defaults
			} else {
				if _, dup := f.sections[curName]; dup {
					return iniFile{}, fmt.Errorf("line %d: section [%s] appears twice", lineNo, curName)
				}
				cur = map[string]string{}
				f.sections[curName] = cur
			}
			lastKey = ""
			continue
		}
		if cur == nil {
			return iniFile{}, fmt.Errorf("line %d: %q comes before any [section] header", lineNo, trimmed)
		}
		i := strings.IndexAny(trimmed, "=:")
		if i < 0 {
			return iniFile{}, fmt.Errorf("line %d: [%s] %q is not a key = value line", lineNo, curName, trimmed)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:i]))
		if key == "" {
			return iniFile{}, fmt.Errorf("line %d: [%s] %q has no key", lineNo, curName, trimmed)
		}
		if _, dup := cur[key]; dup {
			return iniFile{}, fmt.Errorf("line %d: [%s] %s appears twice", lineNo, curName, key)
		}
		cur[key] = strings.TrimSpace(trimmed[i+1:])
		lastKey, indent = key, len(line)-len(trimmed)
	}
	if err := sc.Err(); err != nil {
		return iniFile{}, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	return f, nil
}

// pyInt parses an integer as Python's int() does for ASCII text: optional
// surrounding white space, an optional sign, and digits that single
// underscores may separate.
func pyInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '_' {
			continue
		}
		if ch < '0' || ch > '9' {
			return 0, false
		}
		if n > (1<<62)/10 {
			return 0, false // out of range for this package anyway
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// WriteConfig writes c as a SCALE-Sim .cfg file that SCALE-Sim and
// ParseConfig read back to c. SCALE-Sim has no word-size field, so c must
// use 1-byte words.
func WriteConfig(w io.Writer, c Config) error {
	if strings.ContainsAny(c.RunName, "\r\n%") || strings.TrimSpace(c.RunName) != c.RunName || c.RunName == "" {
		return fmt.Errorf("run_name %q: must be non-empty, on one line, without %% or surrounding spaces", c.RunName)
	}
	if c.wordBytes() != 1 {
		return fmt.Errorf("word size %d bytes: a SCALE-Sim .cfg file has 1-byte words", c.WordBytes)
	}
	mode := "CALC"
	if c.UserBandwidth {
		mode = "USER"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[general]\nrun_name = %s\n\n[architecture_presets]\n", c.RunName)
	fmt.Fprintf(&b, "ArrayHeight:    %d\nArrayWidth:     %d\n", c.Rows, c.Cols)
	fmt.Fprintf(&b, "IfmapSramSzkB:   %d\nFilterSramSzkB:  %d\nOfmapSramSzkB:   %d\n", c.IfmapKiB, c.FilterKiB, c.OfmapKiB)
	fmt.Fprintf(&b, "IfmapOffset:    %d\nFilterOffset:   %d\nOfmapOffset:    %d\n", c.IfmapOffset, c.FilterOffset, c.OfmapOffset)
	if c.UserBandwidth {
		fmt.Fprintf(&b, "Bandwidth : %d\n", c.Bandwidth)
	}
	fmt.Fprintf(&b, "Dataflow : %s\n\n[run_presets]\nInterfaceBandwidth: %s\n", c.Dataflow, mode)
	_, err := io.WriteString(w, b.String())
	return err
}
