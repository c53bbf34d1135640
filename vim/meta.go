package vim

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// metaValue is one checkpoint metadata value as an exporter wrote it: a
// value of the "config" JSON object, or a top-level metadata string (which
// may or may not hold JSON).
type metaValue struct {
	where string // how to name it in messages: `metadata config "img_size"`
	raw   string
}

// String names the value for messages: where it is and what it holds, as
// written (JSON for a config value, a quoted string at the top level),
// shortened.
func (v metaValue) String() string {
	s := strings.TrimSpace(v.raw)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	if !strings.HasPrefix(v.where, "metadata config") {
		s = strconv.Quote(s)
	}
	return v.where + " " + s
}

// hxw matches an image size written "224x224".
var hxw = regexp.MustCompile(`^\s*\d+\s*[xX]\s*\d+\s*$`)

// maxMetaDepth bounds how many times a value may be a string holding JSON.
const maxMetaDepth = 3

// tokens returns the scalars of the value as strings: a number, a string,
// or a flat list of numbers or strings, where a string may itself hold JSON
// ("[0.485, 0.456]"), a Python tuple ("(224, 224)"), a comma list or, when
// sepX, "HxW".
func (v metaValue) tokens(sepX bool) ([]string, error) {
	return splitScalars(v.raw, sepX, 0)
}

func splitScalars(s string, sepX bool, depth int) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty")
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&x); err == nil && !dec.More() {
		switch x := x.(type) {
		case json.Number:
			return []string{x.String()}, nil
		case string:
			if depth >= maxMetaDepth {
				return nil, fmt.Errorf("nested too deeply")
			}
			return splitScalars(x, sepX, depth+1)
		case bool:
			return []string{strconv.FormatBool(x)}, nil
		case []any:
			var out []string
			for _, e := range x {
				switch e := e.(type) {
				case json.Number:
					out = append(out, e.String())
				case string:
					out = append(out, strings.TrimSpace(e))
				default:
					return nil, fmt.Errorf("list element %v is not a number or a string", e)
				}
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("empty list")
			}
			return out, nil
		}
		return nil, fmt.Errorf("not a number, a string or a list")
	}
	// Not JSON: a Python tuple or list repr, a comma list, or HxW.
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "("), ")"))
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	sep := ","
	if sepX && hxw.MatchString(s) {
		s, sep = strings.ToLower(s), "x"
	}
	parts := strings.Split(strings.TrimSuffix(s, sep), sep)
	for i := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(parts[i]), `'"`)
		if parts[i] == "" {
			return nil, fmt.Errorf("empty item")
		}
	}
	return parts, nil
}

// parseTokens returns the scalars of the value (see tokens) parsed by
// parse, which reports whether a token is acceptable; what names an
// acceptable token in errors.
func parseTokens[T any](v metaValue, sepX bool, what string, parse func(string) (T, bool)) ([]T, error) {
	toks, err := v.tokens(sepX)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", v, err)
	}
	out := make([]T, len(toks))
	for i, t := range toks {
		x, ok := parse(t)
		if !ok {
			return nil, fmt.Errorf("%s: %q is not %s", v, t, what)
		}
		out[i] = x
	}
	return out, nil
}

// ints returns the value as a list of integers (a number written as
// "224", 224 or 224.0 is one integer).
func (v metaValue) ints() ([]int, error) {
	return parseTokens(v, true, "an integer", func(t string) (int, bool) {
		f, err := strconv.ParseFloat(t, 64)
		return int(f), err == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<40
	})
}

// floats returns the value as a list of finite numbers.
func (v metaValue) floats() ([]float64, error) {
	return parseTokens(v, false, "a finite number", func(t string) (float64, bool) {
		f, err := strconv.ParseFloat(t, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	})
}

// bool returns the value as a boolean: true/false in any case, 1/0, or a
// string holding one of those.
func (v metaValue) bool() (bool, error) {
	toks, err := v.tokens(false)
	if err == nil && len(toks) == 1 {
		switch strings.ToLower(toks[0]) {
		case "true", "1", "yes":
			return true, nil
		case "false", "0", "no":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: want true or false", v)
}

// str returns the value as one string (a JSON string, or the raw text).
func (v metaValue) str() string {
	var s string
	if json.Unmarshal([]byte(v.raw), &s) == nil {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(v.raw)
}

// names returns the value as class names: a JSON list of strings, a string
// holding one, or an index→name object such as Hugging Face's id2label
// ({"0": "cat", "1": "dog"}, keys 0..n-1).
func (v metaValue) names() ([]string, error) {
	raw := strings.TrimSpace(v.raw)
	for depth := 0; depth <= maxMetaDepth; depth++ {
		var list []string
		if json.Unmarshal([]byte(raw), &list) == nil {
			return list, nil
		}
		var byIndex map[string]string
		if json.Unmarshal([]byte(raw), &byIndex) == nil {
			out := make([]string, len(byIndex))
			for k, name := range byIndex {
				i, err := strconv.Atoi(strings.TrimSpace(k))
				if err != nil || i < 0 || i >= len(out) || out[i] != "" {
					return nil, fmt.Errorf("%s: key %q is not one of the indices 0..%d", v, k, len(out)-1)
				}
				out[i] = name
			}
			return out, nil
		}
		var s string
		if json.Unmarshal([]byte(raw), &s) != nil {
			break
		}
		raw = strings.TrimSpace(s)
	}
	return nil, fmt.Errorf("%s: want a JSON list of names or an index→name object", v)
}

// metaKeys are the fields vimsim reads from checkpoint metadata, each with
// the names exporters use for it (first = the one vimsim writes).
var metaKeys = map[string][]string{
	"img_size":    {"img_size", "image_size"},
	"input_size":  {"input_size"}, // timm: [C, H, W]
	"patch_size":  {"patch_size"},
	"stride":      {"stride"},
	"embed_dim":   {"embed_dim", "d_model", "hidden_size"},
	"depth":       {"depth", "n_layer", "num_layers", "num_hidden_layers"},
	"d_state":     {"d_state", "state_size"},
	"d_conv":      {"d_conv", "conv_kernel"},
	"d_inner":     {"d_inner", "intermediate_size"},
	"expand":      {"expand"},
	"dt_rank":     {"dt_rank", "time_step_rank"},
	"channels":    {"channels", "in_chans", "in_channels", "num_channels"},
	"num_classes": {"num_classes", "n_classes", "num_labels"},
	"norm_eps":    {"norm_epsilon", "rms_norm_eps", "layer_norm_epsilon"},
	"mean":        {"mean", "image_mean"},
	"std":         {"std", "image_std"},
	"class_names": {"class_names", "id2label"},
	"cls_pos":     {"cls_position", "token_position", "cls_pos"},
	// Switches of the official VisionMamba that change the computation;
	// vimsim implements one setting of each (vim-forward.md §1).
	"if_cls_token":             {"if_cls_token"},
	"use_middle_cls_token":     {"use_middle_cls_token"},
	"use_double_cls_token":     {"use_double_cls_token"},
	"if_abs_pos_embed":         {"if_abs_pos_embed"},
	"if_rope":                  {"if_rope"},
	"rms_norm":                 {"rms_norm"},
	"if_divide_out":            {"if_divide_out"},
	"if_bidirectional":         {"if_bidirectional"},
	"bimamba_type":             {"bimamba_type"},
	"flip_img_sequences_ratio": {"flip_img_sequences_ratio"},
}

// metadata is the checkpoint metadata sorted by field: every value found
// for a field under any of its names, at the top level or in "config".
type metadata map[string][]metaValue

// readMetadata collects the known fields of a checkpoint's metadata. The
// "config" entry must be a JSON object (possibly JSON-encoded twice).
func readMetadata(meta map[string]string) (metadata, error) {
	byName := map[string]string{}
	for field, names := range metaKeys {
		for _, n := range names {
			byName[n] = field
		}
	}
	md := metadata{}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if f, ok := byName[k]; ok {
			md[f] = append(md[f], metaValue{where: fmt.Sprintf("metadata %q", k), raw: meta[k]})
		}
	}
	s, ok := meta["config"]
	if !ok {
		return md, nil
	}
	raw := []byte(strings.TrimSpace(s))
	var obj map[string]json.RawMessage
	for depth := 0; json.Unmarshal(raw, &obj) != nil || obj == nil; depth++ {
		var inner string
		if depth >= maxMetaDepth || json.Unmarshal(raw, &inner) != nil {
			return nil, fmt.Errorf("metadata \"config\" is not a JSON object")
		}
		raw = []byte(strings.TrimSpace(inner))
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if f, ok := byName[k]; ok {
			md[f] = append(md[f], metaValue{where: fmt.Sprintf("metadata config %q", k), raw: string(obj[k])})
		}
	}
	return md, nil
}

// has reports whether the field is present.
func (md metadata) has(field string) bool { return len(md[field]) > 0 }

// conflict is the error of a field stated twice with different values: the
// metadata contradicts itself, which no default can settle.
type conflict struct{ error }

// usable reports whether err leaves the field merely unreadable (a warning
// when the field is not needed) rather than contradictory.
func usable(err error) bool {
	var c conflict
	return !errors.As(err, &c)
}

// valuesOf parses every value of a field with parse and requires them to
// agree; ok is false when the field is absent. mv is the value read (or
// the one that failed).
func valuesOf[T comparable](md metadata, field string, parse func(metaValue) ([]T, error)) (v []T, mv metaValue, ok bool, err error) {
	for _, x := range md[field] {
		xv, err := parse(x)
		if err != nil {
			return nil, x, true, err
		}
		if ok && !slices.Equal(xv, v) {
			return nil, x, true, conflict{fmt.Errorf("%s disagrees with %s", x, mv)}
		}
		v, mv, ok = xv, x, true
	}
	return v, mv, ok, nil
}

// intsOf is valuesOf for integers.
func (md metadata) intsOf(field string) ([]int, metaValue, bool, error) {
	return valuesOf(md, field, metaValue.ints)
}

// floatsOf is valuesOf for numbers.
func (md metadata) floatsOf(field string) ([]float64, metaValue, bool, error) {
	return valuesOf(md, field, metaValue.floats)
}
