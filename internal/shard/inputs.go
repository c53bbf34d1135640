package shard

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// Inputs are what a run's result depends on, by name: flag values
// ("--limit" → "200"), the content of the files they name ("file
// ckpt.pth" → "sha256:…"), the build of the program ("build") and facts the
// command adds (a compiled program's hash, a dataset's size). Two partial
// files are parts of one run only if their Inputs are equal.
type Inputs map[string]string

// Set records one input.
func (in Inputs) Set(name, value string) { in[name] = value }

// AddFlag records the flag --name=value and the content hash of every
// existing regular file the value names: the value itself, each item of a
// comma-separated list, and what follows a "kind:" prefix (e.g.
// "fashion-mnist:DIR"). Directories are not hashed.
func (in Inputs) AddFlag(name, value string) error {
	in["--"+name] = value
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		cands := []string{item}
		if _, rest, ok := strings.Cut(item, ":"); ok {
			cands = append(cands, rest)
		}
		for _, p := range cands {
			if p == "" {
				continue
			}
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			h, err := HashFile(p)
			if err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
			in["file "+p] = h
		}
	}
	return nil
}

// HashFile returns "sha256:" and the hex SHA-256 of the file's content.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// HashBytes returns "sha256:" and the hex SHA-256 of b.
func HashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Build describes the running program's build: its module version and,
// when built from a version-controlled tree, the revision (with
// "+modified" for uncommitted changes). Results of different builds may
// differ, so it belongs in the Inputs.
func Build() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	s := bi.Main.Path + "@" + bi.Main.Version
	var rev, mod string
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				mod = "+modified"
			}
		}
	}
	if rev != "" {
		s += " " + rev + mod
	}
	return s
}

// names returns the input names in order.
func (in Inputs) names() []string {
	names := make([]string, 0, len(in))
	for k := range in {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Fingerprint is the hex SHA-256 of the inputs, sorted by name, one
// "name\x00value\n" each.
func (in Inputs) Fingerprint() string {
	h := sha256.New()
	for _, k := range in.names() {
		fmt.Fprintf(h, "%s\x00%s\n", k, in[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Diff describes the first input (by name) in which in and o differ, e.g.
// `--limit is 200 here, 100 there`, or "" when they are equal.
func (in Inputs) Diff(o Inputs) string {
	all := Inputs{}
	for k := range in {
		all[k] = ""
	}
	for k := range o {
		all[k] = ""
	}
	for _, k := range all.names() {
		a, okA := in[k]
		b, okB := o[k]
		switch {
		case okA && !okB:
			return fmt.Sprintf("%s is %q here, absent there", k, a)
		case !okA && okB:
			return fmt.Sprintf("%s is absent here, %q there", k, b)
		case a != b:
			return fmt.Sprintf("%s is %q here, %q there", k, a, b)
		}
	}
	return ""
}
